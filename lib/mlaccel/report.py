"""What notebooks show: readable summaries of the SageMaker SDK objects the accelerators build,
Markdown tables and sentences, and figures with alternative text.

A notebook builds an SDK object through an accelerator, shows :func:`sdk_summary` of it, then
runs it, so a reader sees (and can change) the image, instance, hyperparameters and inputs.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

SUMMARY_COLUMNS = ["setting", "value", "what it does"]
# An AWS account id (12 digits), as in an ECR image's registry or an ARN: never shown.
ACCOUNT_ID = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
LONG_VALUE = 1000  # characters of one value shown in a summary table (arguments run long)

# One line per hyperparameter the kit's estimators set: XGBoost's (built-in and script mode)
# and the linear baseline's.
HYPERPARAMETER_MEANINGS = {
    "objective": "the loss XGBoost minimises; set from the product's problem type",
    "num_round": "the most boosting rounds (trees) to grow",
    "max_depth": "the deepest a tree grows: deeper trees fit finer interactions and overfit sooner",
    "eta": "the learning rate: how much each new tree corrects the previous ones",
    "subsample": "the share of rows each tree sees; below 1 it adds randomness against overfitting",
    "colsample_bytree": "the share of columns each tree sees",
    "min_child_weight": "the least weight a leaf needs: larger values make more cautious trees",
    "gamma": "the least loss reduction a split must bring",
    "lambda": "L2 regularisation of the leaf weights",
    "alpha": "L2 penalty of the linear model (0 means none)",
    "early_stopping_rounds": "stop after this many rounds without a better validation metric",
    "eval_metric": "the metric computed on the validation channel each round",
    "num_class": "the number of classes of a multiclass product",
    "seed": "the random seed: the same seed and data train the same model",
    "problem_type": "regression, binary or multiclass: picks the linear model and its loss",
}


def _import_sdk_classes() -> dict[str, Any]:
    from sagemaker.estimator import EstimatorBase
    from sagemaker.model import Model
    from sagemaker.processing import Processor
    from sagemaker.transformer import Transformer
    from sagemaker.tuner import HyperparameterTuner
    from sagemaker.workflow.pipeline import Pipeline

    return {
        "estimator": EstimatorBase,
        "processor": Processor,
        "tuner": HyperparameterTuner,
        "model": Model,
        "pipeline": Pipeline,
        "transformer": Transformer,
    }


def sdk_summary(
    obj: Any,
    *,
    inputs: Any = None,
    outputs: Any = None,
    arguments: Sequence[str] | None = None,
    code: str | None = None,
) -> pd.DataFrame:
    """A table of what ``obj`` will run: one row per setting, its value and what it does.

    ``obj`` is a SageMaker ``Estimator`` (any framework), ``Processor``, ``HyperparameterTuner``,
    ``Model``, ``Pipeline`` or ``Transformer``, or a stepfunctions ``Workflow``. What an object
    receives only when it runs can be passed too:
    ``inputs`` (an estimator's channels as given to ``fit``, a processor's ``ProcessingInput``
    list), ``outputs``, ``arguments`` and ``code`` (a processor's ``run`` arguments).
    Account ids are masked (``<account>``); the execution role is not shown.

    Examples
    --------
    >>> estimator = training.builtin_xgboost_estimator(product, connection=conn)  # doctest: +SKIP
    >>> sdk_summary(estimator, inputs=training.training_inputs(features))  # doctest: +SKIP
    """
    kinds = _import_sdk_classes()
    if isinstance(obj, kinds["tuner"]):
        rows = _tuner_rows(obj)
    elif isinstance(obj, kinds["estimator"]):
        rows = _estimator_rows(obj)
    elif isinstance(obj, kinds["processor"]):
        rows = _processor_rows(obj, code)
    elif isinstance(obj, kinds["model"]):
        rows = _model_rows(obj)
    elif isinstance(obj, kinds["pipeline"]):
        rows = _pipeline_rows(obj)
    elif isinstance(obj, kinds["transformer"]):
        rows = _transformer_rows(obj)
    elif _is_state_machine(obj):
        rows = _state_machine_rows(obj)
    else:
        raise MLAccelInputError(
            f"sdk_summary cannot describe a {type(obj).__name__}; pass a SageMaker Estimator, "
            "Processor, HyperparameterTuner, Model, Pipeline or Transformer, or a stepfunctions "
            "Workflow"
        )
    rows += _io_rows(inputs, "input", "where the job reads from")
    rows += _io_rows(outputs, "output", "where the job writes to")
    if arguments:
        rows.append(("arguments", " ".join(str(a) for a in arguments), "the script's command line"))
    return summary_frame(rows)


def summary_frame(rows: Iterable[tuple[str, Any, str]]) -> pd.DataFrame:
    """``rows`` of (setting, value, what it does) as a table, values as short readable text."""
    import pandas as pd

    table = pd.DataFrame(
        [(setting, readable(value), meaning) for setting, value, meaning in rows],
        columns=SUMMARY_COLUMNS,
    )
    return table.set_index("setting")


def readable(value: Any) -> str:
    """``value`` as one line of text, account ids masked and long values shortened.

    Examples
    --------
    >>> readable("123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1")
    '<account>.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1'
    >>> readable(["a", "b"])
    'a, b'
    """
    if value is None:
        text = "—"
    elif isinstance(value, Mapping):
        text = ", ".join(f"{k}={readable(v)}" for k, v in value.items())
    elif isinstance(value, list | tuple | set):
        text = ", ".join(readable(v) for v in value)
    else:
        text = str(value)
    text = ACCOUNT_ID.sub("<account>", " ".join(text.split()))
    return text if len(text) <= LONG_VALUE else text[: LONG_VALUE - 1] + "…"


def masked(value: Any) -> Any:
    """``value`` as it may be shown: every account id replaced by ``<account>``, in a text, a
    frame or series (each text cell), or a mapping or list of them. Notebooks are shared, so
    tables and messages that carry ARNs go through this before they are displayed.

    Examples
    --------
    >>> masked("arn:aws:sagemaker:us-east-1:123456789012:model-package/cars/1")
    'arn:aws:sagemaker:us-east-1:<account>:model-package/cars/1'
    >>> import pandas as pd
    >>> masked(pd.DataFrame({"arn": ["arn:aws:sns:us-east-1:123456789012:t"], "n": [1]}))
                                 arn  n
    0  arn:aws:sns:us-east-1:<account>:t  1
    """
    import pandas as pd

    if isinstance(value, str):
        return ACCOUNT_ID.sub("<account>", value)
    if isinstance(value, pd.DataFrame | pd.Series):
        return value.map(masked)
    if isinstance(value, Mapping):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(masked(v) for v in value)
    return value


def _instance(obj: Any) -> str:
    count = getattr(obj, "instance_count", None) or 1
    return f"{count} × {getattr(obj, 'instance_type', None)}"


def _hyperparameters(estimator: Any) -> dict[str, Any]:
    # Framework estimators add their own sagemaker_* entries (JSON-encoded) on top.
    own = getattr(estimator, "_hyperparameters", None)
    values = own if isinstance(own, Mapping) else estimator.hyperparameters()
    return {str(k): v for k, v in values.items() if not str(k).startswith("sagemaker_")}


def _hyperparameter_rows(values: Mapping[str, Any]) -> list[tuple[str, Any, str]]:
    return [
        (f"hyperparameter {name}", value, HYPERPARAMETER_MEANINGS.get(name, "passed to the job"))
        for name, value in values.items()
    ]


def _estimator_rows(estimator: Any) -> list[tuple[str, Any, str]]:
    image = estimator.training_image_uri()
    rows: list[tuple[str, Any, str]] = [
        ("class", type(estimator).__name__, "the SageMaker SDK class that runs the training job"),
        ("image", image, "the container the job runs in"),
        ("instance", _instance(estimator), "how many machines of which type train"),
    ]
    entry_point = getattr(estimator, "entry_point", None)
    if entry_point:
        rows.append(("entry point", entry_point, "the script the container runs (script mode)"))
    rows += _hyperparameter_rows(_hyperparameters(estimator))
    metrics = [m["Name"] for m in getattr(estimator, "metric_definitions", None) or []]
    if metrics:
        rows.append(("metrics", metrics, "metrics read from the job's log lines"))
    rows.append(("output path", estimator.output_path, "where the model artifact is written"))
    return rows


def _range_text(parameter_range: Any) -> str:
    values = getattr(parameter_range, "values", None)
    if values is not None:
        return "one of " + ", ".join(str(v) for v in values)
    scale = str(getattr(parameter_range, "scaling_type", "Auto"))
    scale_text = "" if scale == "Auto" else f", {scale.lower()} scale"
    return f"{parameter_range.min_value} to {parameter_range.max_value}{scale_text}"


def _tuner_rows(tuner: Any) -> list[tuple[str, Any, str]]:
    ranges: Mapping[str, Any] = tuner._hyperparameter_ranges or {}
    estimator = tuner.estimator
    static = {k: v for k, v in _hyperparameters(estimator).items() if k not in ranges}
    rows: list[tuple[str, Any, str]] = [
        ("class", type(tuner).__name__, "the SageMaker SDK class that runs the tuning job"),
        (
            "objective",
            f"{tuner.objective_type} {tuner.objective_metric_name}",
            "the metric each trial is ranked on",
        ),
        ("strategy", tuner.strategy, "how the next trial's hyperparameters are chosen"),
        (
            "trials",
            f"{tuner.max_jobs} jobs, {tuner.max_parallel_jobs} at a time",
            "more trials search more of the ranges and cost more",
        ),
        ("random seed", tuner.random_seed, "the same seed samples the same hyperparameters"),
    ]
    rows += [
        (
            f"range {name}",
            _range_text(value),
            HYPERPARAMETER_MEANINGS.get(name, "searched by the tuner"),
        )
        for name, value in ranges.items()
    ]
    rows += [
        ("image", estimator.training_image_uri(), "the container every trial runs in"),
        ("instance", _instance(estimator), "the machines of every trial"),
    ]
    return rows + _hyperparameter_rows(static)


def _processor_rows(processor: Any, code: str | None) -> list[tuple[str, Any, str]]:
    command = getattr(processor, "command", None) or processor.entrypoint
    rows: list[tuple[str, Any, str]] = [
        ("class", type(processor).__name__, "the SageMaker SDK class that runs the processing job"),
        ("image", processor.image_uri, "the container the job runs in"),
        ("instance", _instance(processor), "how many machines of which type process"),
        ("command", command, "the program the container starts"),
    ]
    if code:
        rows.append(("code", code.replace("\\", "/").rsplit("/", 1)[-1], "the script it runs"))
    return rows


def _model_rows(model: Any) -> list[tuple[str, Any, str]]:
    return [
        ("class", type(model).__name__, "the SageMaker SDK class of the deployable model"),
        ("image", model.image_uri, "the serving container"),
        ("model data", model.model_data, "the artifact the container loads"),
        ("environment", model.env or None, "variables the container reads"),
        ("name", model.name, "the model's name in SageMaker"),
    ]


def _pipeline_rows(pipeline: Any) -> list[tuple[str, Any, str]]:
    rows: list[tuple[str, Any, str]] = [
        ("class", type(pipeline).__name__, "the SageMaker SDK class of the pipeline"),
        ("name", pipeline.name, "the pipeline's name in SageMaker"),
    ]
    rows += [
        (f"parameter {p.name}", p.default_value, "set per execution, this is its default")
        for p in pipeline.parameters
    ]
    rows += [
        (f"step {step.name}", getattr(step.step_type, "value", step.step_type), "a step it runs")
        for step in pipeline.steps
    ]
    return rows


def _transformer_rows(transformer: Any) -> list[tuple[str, Any, str]]:
    return [
        ("class", type(transformer).__name__, "the SageMaker SDK class of the batch transform job"),
        ("model", transformer.model_name, "the SageMaker model that scores (no endpoint)"),
        ("instance", _instance(transformer), "how many machines of which type score"),
        ("strategy", transformer.strategy, "MultiRecord: many records per request"),
        ("max payload", f"{transformer.max_payload} MB", "the largest request sent to the model"),
        ("accept", transformer.accept, "the format of the answers"),
        ("assemble with", transformer.assemble_with, "Line: one answer line per input line"),
        ("output path", transformer.output_path, "where the .out files are written"),
    ]


def _is_state_machine(obj: Any) -> bool:
    # the stepfunctions SDK's Workflow, recognised without importing that SDK
    return type(obj).__module__.startswith("stepfunctions") and hasattr(obj, "definition")


def _state_machine_rows(workflow: Any) -> list[tuple[str, Any, str]]:
    definition = workflow.definition.to_dict()
    states = definition["States"]
    nested = len(_all_states(states)) - len(states)
    services = sorted(
        {
            state["Resource"].split(":states:::", 1)[-1].split(".", 1)[0]
            for state in _all_states(states)
            if "Resource" in state
        }
    )
    fails = [name for name, state in states.items() if state["Type"] == "Fail"]
    return [
        ("class", type(workflow).__name__, "the stepfunctions SDK class of the state machine"),
        ("name", workflow.name, "the state machine's name in Step Functions"),
        ("start", definition["StartAt"], "the first state"),
        ("states", f"{len(states)} (+ {nested} in parallel branches)", "steps it can run"),
        ("service calls", services, "the service integrations its tasks call"),
        ("fail states", fails, "where a failed run ends, after its notification"),
    ]


def _all_states(states: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = []
    for state in states.values():
        found.append(state)
        for branch in state.get("Branches", []):
            found += _all_states(branch["States"])
    return found


def _io_rows(items: Any, kind: str, meaning: str) -> list[tuple[str, Any, str]]:
    if not items:
        return []
    pairs = items.items() if isinstance(items, Mapping) else enumerate(items)
    return [(f"{kind} {_io_name(k, v)}", _io_text(v), meaning) for k, v in pairs]


def _io_name(key: Any, item: Any) -> str:
    name = getattr(item, "input_name", None) or getattr(item, "output_name", None)
    return str(key if isinstance(key, str) else name or key)


def _io_text(item: Any) -> str:
    config = getattr(item, "config", None)  # a TrainingInput
    if isinstance(config, Mapping):
        source = config["DataSource"].get("S3DataSource", {}).get("S3Uri")
        content = config.get("ContentType")
        return f"{source} ({content})" if content else str(source)
    dataset: Any = getattr(item, "dataset_definition", None)
    athena = getattr(dataset, "athena_dataset_definition", None)
    if athena is not None:  # SageMaker runs the query and copies its result to local_path
        return f"Athena query {athena.query_string} → {dataset.local_path}"
    source = getattr(item, "source", None)
    destination = getattr(item, "destination", None)
    if source is not None or destination is not None:
        return f"{source} → {destination}"
    return str(item)


def markdown_table(table: pd.DataFrame, *, index: bool = True) -> str:
    """``table`` as a Markdown table (every value in full; ``|``, ``<`` and ``>`` escaped, so a
    value such as ``<account>`` is shown, not read as an HTML tag).

    Examples
    --------
    >>> import pandas as pd
    >>> print(markdown_table(pd.DataFrame({"a": [1]}, index=pd.Index(["x"], name="k"))))
    | k | a |
    |---|---|
    | x | 1 |
    """
    frame = table.reset_index() if index else table

    def cell(value: Any) -> str:
        text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return _breakable(text.replace("|", "\\|").replace("\n", " "))

    lines = [
        "| " + " | ".join(cell(c) for c in frame.columns) + " |",
        "|" + "---|" * len(frame.columns),
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join(lines)


LONG_TOKEN = 40  # characters of a word without spaces that a table cell may break


def _breakable(text: str) -> str:
    """``text`` with invisible break points after the commas and slashes of its long words
    (a list of columns, a URI), so one such word does not squeeze a table's other columns."""
    return " ".join(
        re.sub(r"([,/])", "\\1\u200b", word) if len(word) > LONG_TOKEN else word
        for word in text.split(" ")
    )


def show_markdown(text: str) -> None:
    """Display ``text`` as Markdown in the notebook (computed sentences, tables)."""
    from IPython.display import Markdown, display

    display(Markdown(text))


def show_summary(obj: Any, **run: Any) -> None:
    """Display :func:`sdk_summary` of ``obj`` as a Markdown table (long values in full)."""
    show_markdown(markdown_table(sdk_summary(obj, **run)))


def figure_bundle(fig: Figure, alt: str) -> tuple[dict[str, str], dict[str, Any]]:
    """``fig`` as a display bundle whose image carries ``alt`` as alternative text.

    The PNG's metadata holds ``alt`` (what JupyterLab and nbconvert's classic template read);
    an ``<img alt=...>`` in the HTML form carries it into nbconvert's default (lab) template,
    which ignores the metadata; the plain-text form is the alt text itself.
    """
    if not isinstance(alt, str) or not alt.strip():
        raise MLAccelInputError(
            "alt must describe the figure in a sentence, such as 'Histogram of price per year'"
        )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    text = " ".join(alt.split())
    data = {
        "image/png": png,
        "text/html": f'<img src="data:image/png;base64,{png}" alt="{html.escape(text)}"/>',
        "text/plain": text,
    }
    return data, {"image/png": {"alt": text}}


def show_figure(fig: Figure, alt: str = "") -> None:
    """Display ``fig`` once, with ``alt`` as its alternative text, and close it.

    ``alt`` defaults to the figure's label: the kit's plot functions label each figure with a
    sentence that describes it (``fig.set_label(...)``).
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    data, metadata = figure_bundle(fig, alt or str(fig.get_label()))
    plt.close(fig)  # otherwise the inline backend shows it a second time, without alt text
    display(data, raw=True, metadata=metadata)
