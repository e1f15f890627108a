"""States that run SageMaker jobs: a seedcode script, a Model Monitor analyzer, a keyed transform.

Job names, models and some S3 URIs are only known when the workflow runs: the builders here
write ``bound-below`` for them and the caller binds them to the state with
:func:`mlaccel.workflows.bind`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from mlaccel import products
from mlaccel.inference import answers_filter
from mlaccel.workflows._settings import WorkflowSettings, code_uri

CONTAINER = "/opt/ml/processing"
MODEL_MONITOR_ENV = {"publish_cloudwatch_metrics": "Disabled"}
# A value the workflow replaces at run time (see mlaccel.workflows.bind).
BOUND_BELOW = "bound-below"
BOUND_BELOW_URI = f"s3://{BOUND_BELOW}"


def processor(settings: WorkflowSettings, image: str, env: Mapping[str, str] | None = None) -> Any:
    """A one-instance processor of ``image`` running as the SageMaker execution role."""
    from sagemaker.processing import Processor

    return Processor(
        role=settings.role_arn,
        image_uri=image,
        instance_count=1,
        instance_type=settings.processing_instance_type,
        env=dict(env or {}),
    )


def script_step(
    state: str,
    settings: WorkflowSettings,
    script: str,
    inputs: list[Any],
    outputs: list[Any],
    arguments: list[str],
    result_path: str,
) -> Any:
    """A processing job running a seedcode ``script`` (staged by ``stage_code``) on SKLearn."""
    from sagemaker.processing import ProcessingInput
    from stepfunctions.steps import ProcessingStep

    code = ProcessingInput(
        source=code_uri(settings, script), destination=f"{CONTAINER}/input/code", input_name="code"
    )
    return ProcessingStep(
        state,
        processor=processor(settings, settings.images()["SklearnImage"]),
        job_name=BOUND_BELOW,
        inputs=[*inputs, code],
        outputs=outputs,
        container_entrypoint=["python3", f"{CONTAINER}/input/code/{PurePosixPath(script).name}"],
        container_arguments=arguments,
        result_path=result_path,
    )


def analyzer_step(
    state: str,
    settings: WorkflowSettings,
    dataset: str,
    output: str,
    env: dict[str, str],
    result_path: str,
    baseline_files: dict[str, str] | None = None,
) -> Any:
    """A Model Monitor analyzer job (the twin runs mlaccel's drift engine in its place).

    ``baseline_files`` maps environment variables (``baseline_constraints``...) to the S3 URIs
    of baseline files, given to the job as inputs.
    """
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from stepfunctions.steps import ProcessingStep

    source = f"{CONTAINER}/input/baseline_dataset_input"
    analyzer_env = {
        **MODEL_MONITOR_ENV,
        "dataset_source": source,
        "output_path": f"{CONTAINER}/output",
        **env,
    }
    extra = []
    for variable, uri in (baseline_files or {}).items():
        folder = f"{CONTAINER}/input/{variable}"
        extra.append(ProcessingInput(source=uri, destination=folder, input_name=variable))
        analyzer_env[variable] = f"{folder}/{PurePosixPath(uri).name}"
    return ProcessingStep(
        state,
        processor=processor(settings, settings.images()["ModelMonitorImage"], analyzer_env),
        job_name=BOUND_BELOW,
        inputs=[
            ProcessingInput(source=dataset, destination=source, input_name="baseline"),
            *extra,
        ],
        outputs=[
            ProcessingOutput(
                source=f"{CONTAINER}/output", destination=output, output_name="monitoring_output"
            )
        ],
        result_path=result_path,
    )


def keyed_transform_step(
    state: str, settings: WorkflowSettings, *, data: str, output: str, result_path: str
) -> Any:
    """A batch transform of CSV rows whose first field is a key (a label or a record id):
    the model sees the other fields, and each output line is ``key, prediction``."""
    from sagemaker.transformer import Transformer
    from stepfunctions.steps import TransformStep

    product = settings.product
    answers = len(product.classes) if product.problem_type == "multiclass" else 1
    transformer = Transformer(
        model_name=BOUND_BELOW,
        instance_count=1,
        instance_type=settings.transform_instance_type,
        strategy="MultiRecord",
        assemble_with="Line",
        accept="text/csv",
        output_path=output,
    )
    return TransformStep(
        state,
        transformer=transformer,
        job_name=BOUND_BELOW,
        model_name=BOUND_BELOW,
        data=data,
        content_type="text/csv",
        split_type="Line",
        input_filter="$[1:]",  # the model sees the features, not the key
        join_source="Input",  # each output line is the input line plus its prediction
        # keep the key and the prediction (each class's probability, for a multiclass model)
        output_filter=answers_filter(answers),
        result_path=result_path,
    )


def multiclass_count(product: products.DataProduct) -> int:
    """How many classes a multiclass model answers probabilities for; 0 for other models.

    Model Monitor's multiclass analysis reads the predicted class as a field of its own, which a
    ``multi:softprob`` model does not answer: the workflows append it (the Lambda
    ``add_predicted_class`` for the baseline, ``consolidate_capture`` for the captured data)
    after the class probabilities.
    """
    return len(product.classes) if product.problem_type == "multiclass" else 0


def model_quality_env(
    product: products.DataProduct, *, dataset_format: str, ground_truth: str, prediction: str
) -> dict[str, str]:
    """The model-quality analyzer's settings for the product's model: its problem type, where
    the label is, and where the model's answer is (a value for regression, a probability cut at
    0.5 for binary classification, the predicted class for multiclass)."""
    env = {
        "analysis_type": "MODEL_QUALITY",
        "dataset_format": dataset_format,
        "problem_type": product.monitor_problem_type,
        "ground_truth_attribute": ground_truth,
    }
    if product.problem_type == "binary":
        return {
            **env,
            "probability_attribute": prediction,
            "probability_threshold_attribute": "0.5",
        }
    return {**env, "inference_attribute": prediction}
