"""What each notebook needs IAM to allow: the one table ``mlaccel doctor`` simulates.

Each :class:`Need` is one group of actions on one resource, as a policy statement is, for one
notebook and one principal:

- :data:`YOU`: whoever runs the notebook (the caller; in SageMaker Studio, the execution role).
  These are the calls the kit makes from the kernel: boto3, the SageMaker SDK, awswrangler and
  the ``stepfunctions`` SDK, as read from the modules each notebook calls.
- :data:`JOBS`: the execution role as SageMaker assumes it for the jobs, endpoints and
  SageMaker Pipelines executions the notebook starts. ``seedcode/iam/sagemaker-execution-role.json``
  grants every one of these (``tests/mlaccel/test_doctor.py`` holds that).
- :data:`WORKFLOWS`: the execution role as Step Functions assumes it: notebook 04 runs its
  workflows as the connection's role. ``seedcode/iam/stepfunctions-role.json`` grants them.
- :data:`RULES`: the execution role as EventBridge assumes it to start notebook 04's workflows.
  ``seedcode/iam/eventbridge-role.json`` grants it.

Resources are ARN templates with ``{partition}``, ``{region}``, ``{account}``, ``{bucket}``,
``{role_arn}`` (the execution role) and ``{lambda_role_arn}`` (the kit's Lambda role); names
stand for the ones the kit gives things (``mlaccel-*``, the ``mlaccel_lake`` database), so a
policy scoped to the kit's names is simulated as it will be used.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlaccel.data import DEFAULT_DATABASE

YOU = "you"
JOBS = "SageMaker jobs"
WORKFLOWS = "Step Functions workflows"
RULES = "EventBridge rules"

NOTEBOOKS = (
    "01_explore_data",
    "02_engineer_features",
    "03_train_model",
    "04_author_pipelines",
    "05_score_model",
    "06_analyze_drift",
)
# The key of the object the doctor writes, reads and deletes: under the kit's own prefix.
PROBE_PREFIX = "mlaccel-doctor"
# The name that stands for the kit's names (mlaccel-*) in the simulated resources.
SAMPLE = "mlaccel-doctor"
MONITORING_DATABASE = "mlaccel_monitoring"


@dataclass(frozen=True)
class Need:
    """``actions`` on ``resource`` that ``principal`` needs for ``notebook``.

    ``context`` holds the request context IAM sees for these calls (``iam:PassedToService``
    for ``iam:PassRole``), so conditions in the policies are simulated as they will be met.
    """

    notebook: str
    principal: str
    actions: tuple[str, ...]
    resource: str
    context: tuple[tuple[str, str], ...] = ()


def _arn(service: str, resource: str) -> str:
    return f"arn:{{partition}}:{service}:{{region}}:{{account}}:{resource}"


def _sagemaker(resource: str) -> str:
    return _arn("sagemaker", resource)


def _passed_to(service: str) -> tuple[tuple[str, str], ...]:
    return (("iam:PassedToService", f"{service}.amazonaws.com"),)


def _namespace(jobs: str) -> tuple[tuple[str, str], ...]:
    return (("cloudwatch:namespace", f"/aws/sagemaker/{jobs}"),)


BUCKET = "arn:{partition}:s3:::{bucket}"
OBJECTS = f"arn:{{partition}}:s3:::{{bucket}}/{PROBE_PREFIX}/probe"
ROLE = "{role_arn}"
LAMBDA_ROLE = "{lambda_role_arn}"
LAKE = _arn("glue", f"database/{DEFAULT_DATABASE}")
LAKE_TABLE = _arn("glue", f"table/{DEFAULT_DATABASE}/{SAMPLE}")
WORKGROUP = _arn("athena", "workgroup/primary")
FUNCTION = _arn("lambda", f"function:{SAMPLE}")
STATE_MACHINE = _arn("states", f"stateMachine:{SAMPLE}")
EXECUTION = _arn("states", f"execution:{SAMPLE}:run")
MODEL = _sagemaker(f"model/{SAMPLE}")
ENDPOINT = _sagemaker(f"endpoint/{SAMPLE}")
ENDPOINT_CONFIG = _sagemaker(f"endpoint-config/{SAMPLE}")
GROUP = _sagemaker(f"model-package-group/{SAMPLE}")
PACKAGE = _sagemaker(f"model-package/{SAMPLE}/1")


def _bucket_access(notebook: str, principal: str, *object_actions: str) -> list[Need]:
    return [
        Need(notebook, principal, ("s3:ListBucket", "s3:GetBucketLocation"), BUCKET),
        Need(notebook, principal, object_actions, OBJECTS),
    ]


def _publish(notebook: str) -> list[Need]:
    """``data.publish``: Parquet files (awswrangler) and their Glue table, documented."""
    return [
        *_bucket_access(notebook, YOU, "s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
        Need(notebook, YOU, ("glue:CreateDatabase", "glue:GetDatabase", "glue:GetDatabases"), LAKE),
        Need(
            notebook,
            YOU,
            (
                "glue:GetTable",
                "glue:GetTables",
                "glue:CreateTable",
                "glue:UpdateTable",
                "glue:DeleteTable",
                "glue:GetPartitions",
                "glue:BatchDeletePartition",
                "glue:GetTags",
                "glue:TagResource",
                "glue:UntagResource",
            ),
            LAKE_TABLE,
        ),
    ]


def _read_product(notebook: str) -> list[Need]:
    """``data.load_product`` and ``data.read_table``: the contract in the catalog, the rows on
    S3 (registering a missing demo product needs :func:`_publish`'s actions too)."""
    return [
        *_bucket_access(notebook, YOU, "s3:GetObject"),
        Need(notebook, YOU, ("glue:GetDatabase", "glue:GetDatabases"), LAKE),
        Need(notebook, YOU, ("glue:GetTable", "glue:GetTables", "glue:GetPartitions"), LAKE_TABLE),
    ]


def _query(notebook: str) -> list[Need]:
    """``data.query``: Athena SQL (awswrangler), results in the kit's bucket."""
    actions = (
        "athena:StartQueryExecution",
        "athena:GetQueryExecution",
        "athena:GetQueryResults",
        "athena:GetWorkGroup",
    )
    return [Need(notebook, YOU, actions, WORKGROUP)]


def _job_basics(notebook: str, jobs: str) -> list[Need]:
    """What every SageMaker job or endpoint does as the execution role: read and write the
    bucket, write its logs and publish its metrics."""
    logs = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
    return [
        *_bucket_access(notebook, JOBS, "s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"),
        Need(
            notebook,
            JOBS,
            (*logs, "logs:DescribeLogStreams"),
            _arn("logs", f"log-group:/aws/sagemaker/{jobs}"),
        ),
        Need(notebook, JOBS, ("cloudwatch:PutMetricData",), "*", _namespace(jobs)),
    ]


def _start_jobs(notebook: str, kind: str, *actions: str) -> Need:
    return Need(notebook, YOU, (*actions, "sagemaker:AddTags"), _sagemaker(f"{kind}/{SAMPLE}"))


def _pass_role(notebook: str, service: str) -> Need:
    return Need(notebook, YOU, ("iam:PassRole",), ROLE, _passed_to(service))


def _lambda_functions(notebook: str, *more: str) -> list[Need]:
    """``lambdas.deploy_function``: create or update a function running as the Lambda role."""
    actions = (
        "lambda:CreateFunction",
        "lambda:GetFunction",
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
        "lambda:TagResource",
        *more,
    )
    return [
        Need(notebook, YOU, actions, FUNCTION),
        Need(notebook, YOU, ("iam:GetRole",), LAMBDA_ROLE),
        Need(notebook, YOU, ("iam:PassRole",), LAMBDA_ROLE, _passed_to("lambda")),
    ]


def _endpoints(notebook: str) -> list[Need]:
    """``inference.deploy_model``, ``predict`` and ``delete_endpoint``."""
    return [
        Need(
            notebook,
            YOU,
            # DescribeModel: inference.sdk_model shows the served model as the SDK's Model
            (
                "sagemaker:CreateModel",
                "sagemaker:DescribeModel",
                "sagemaker:DeleteModel",
                "sagemaker:AddTags",
            ),
            MODEL,
        ),
        Need(
            notebook,
            YOU,
            (
                "sagemaker:CreateEndpointConfig",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DeleteEndpointConfig",
                "sagemaker:AddTags",
                "sagemaker:ListTags",
            ),
            ENDPOINT_CONFIG,
        ),
        Need(
            notebook,
            YOU,
            (
                "sagemaker:CreateEndpoint",
                "sagemaker:UpdateEndpoint",
                "sagemaker:DescribeEndpoint",
                "sagemaker:DeleteEndpoint",
                "sagemaker:InvokeEndpoint",
                "sagemaker:AddTags",
            ),
            ENDPOINT,
        ),
        _pass_role(notebook, "sagemaker"),
    ]


def _registry_reads(notebook: str) -> list[Need]:
    return [
        Need(notebook, YOU, ("sagemaker:DescribeModelPackageGroup",), GROUP),
        Need(
            notebook,
            YOU,
            ("sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"),
            PACKAGE,
        ),
    ]


def _explore_data() -> list[Need]:
    notebook = "01_explore_data"
    return [*_publish(notebook), *_query(notebook)]


def _engineer_features() -> list[Need]:
    notebook = "02_engineer_features"
    return [
        *_publish(notebook),
        _start_jobs(
            notebook,
            "processing-job",
            "sagemaker:CreateProcessingJob",
            "sagemaker:DescribeProcessingJob",
        ),
        _pass_role(notebook, "sagemaker"),
        *_job_basics(notebook, "ProcessingJobs"),
        # source="athena": the job queries the lake itself
        Need(
            notebook,
            JOBS,
            (
                "athena:StartQueryExecution",
                "athena:GetQueryExecution",
                "athena:GetQueryResults",
                "athena:StopQueryExecution",
            ),
            WORKGROUP,
        ),
        Need(notebook, JOBS, ("glue:GetDatabase",), LAKE),
        Need(notebook, JOBS, ("glue:GetTable", "glue:GetPartitions"), LAKE_TABLE),
    ]


def _train_model() -> list[Need]:
    notebook = "03_train_model"
    return [
        *_read_product(notebook),
        *_bucket_access(notebook, YOU, "s3:GetObject", "s3:PutObject"),
        _start_jobs(
            notebook, "training-job", "sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob"
        ),
        _start_jobs(
            notebook,
            "hyper-parameter-tuning-job",
            "sagemaker:CreateHyperParameterTuningJob",
            "sagemaker:DescribeHyperParameterTuningJob",
            "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
        ),
        _start_jobs(
            notebook,
            "processing-job",
            "sagemaker:CreateProcessingJob",
            "sagemaker:DescribeProcessingJob",
        ),
        Need(
            notebook,
            YOU,
            (
                "sagemaker:CreateModelPackageGroup",
                "sagemaker:DescribeModelPackageGroup",
                "sagemaker:AddTags",
            ),
            GROUP,
        ),
        Need(
            notebook,
            YOU,
            (
                "sagemaker:CreateModelPackage",
                "sagemaker:UpdateModelPackage",
                "sagemaker:DescribeModelPackage",
                "sagemaker:ListModelPackages",
            ),
            PACKAGE,
        ),
        _pass_role(notebook, "sagemaker"),
        *_job_basics(notebook, "TrainingJobs"),
    ]


def _author_pipelines() -> list[Need]:
    notebook = "04_author_pipelines"
    pipeline = _sagemaker(f"pipeline/{SAMPLE}")
    return [
        *_read_product(notebook),
        *_bucket_access(notebook, YOU, "s3:GetObject", "s3:PutObject"),
        Need(
            notebook,
            YOU,
            ("s3:GetBucketNotification", "s3:PutBucketNotification"),
            BUCKET,
        ),
        Need(
            notebook,
            YOU,
            ("sns:CreateTopic", "sns:Subscribe", "sns:ListSubscriptionsByTopic"),
            _arn("sns", SAMPLE),
        ),
        *_lambda_functions(notebook),
        Need(notebook, YOU, ("states:ListStateMachines",), "*"),
        Need(
            notebook,
            YOU,
            (
                "states:CreateStateMachine",
                "states:UpdateStateMachine",
                "states:TagResource",
                "states:StartExecution",
                "states:ListExecutions",
            ),
            STATE_MACHINE,
        ),
        Need(notebook, YOU, ("states:DescribeExecution", "states:GetExecutionHistory"), EXECUTION),
        _pass_role(notebook, "states"),
        _pass_role(notebook, "events"),
        _pass_role(notebook, "sagemaker"),
        Need(
            notebook, YOU, ("ssm:GetParametersByPath",), _arn("ssm", f"parameter/mlaccel/{SAMPLE}")
        ),
        Need(
            notebook,
            YOU,
            (
                "sagemaker:CreatePipeline",
                "sagemaker:UpdatePipeline",
                "sagemaker:DescribePipeline",
                "sagemaker:StartPipelineExecution",
                "sagemaker:AddTags",
                "sagemaker:ListTags",
            ),
            pipeline,
        ),
        Need(
            notebook,
            YOU,
            ("sagemaker:DescribePipelineExecution", "sagemaker:ListPipelineExecutionSteps"),
            f"{pipeline}/execution/run",
        ),
        *_registry_reads(notebook),
        *_endpoints(notebook),
        Need(
            notebook,
            YOU,
            (
                "events:PutRule",
                "events:PutTargets",
                "events:DescribeRule",
                "events:ListTargetsByRule",
                "events:TagResource",
                "events:ListTagsForResource",
            ),
            _arn("events", f"rule/{SAMPLE}"),
        ),
        Need(
            notebook,
            YOU,
            ("glue:CreateDatabase", "glue:GetDatabase"),
            _arn("glue", f"database/{MONITORING_DATABASE}"),
        ),
        Need(
            notebook,
            YOU,
            ("glue:CreateTable", "glue:UpdateTable", "glue:GetTable"),
            _arn("glue", f"table/{MONITORING_DATABASE}/{SAMPLE}"),
        ),
        *_query(notebook),
        # The SageMaker Pipeline's jobs and registration run as the execution role.
        *_job_basics(notebook, "ProcessingJobs"),
        *_job_basics(notebook, "TrainingJobs"),
        *(
            Need(
                notebook,
                JOBS,
                (
                    f"sagemaker:Create{job}",
                    f"sagemaker:Describe{job}",
                    f"sagemaker:Stop{job}",
                    "sagemaker:AddTags",
                    "sagemaker:ListTags",
                ),
                _sagemaker(f"{kind}/pipelines-{SAMPLE}"),
            )
            for job, kind in (("ProcessingJob", "processing-job"), ("TrainingJob", "training-job"))
        ),
        Need(
            notebook,
            JOBS,
            (
                "sagemaker:DescribeModelPackageGroup",
                "sagemaker:CreateModelPackage",
                "sagemaker:AddTags",
            ),
            GROUP,
        ),
        Need(notebook, JOBS, ("sagemaker:DescribeModelPackage",), PACKAGE),
        Need(notebook, JOBS, ("iam:PassRole",), ROLE, _passed_to("sagemaker")),
        *_workflows(notebook),
        Need(notebook, RULES, ("states:StartExecution",), STATE_MACHINE),
    ]


def _workflows(notebook: str) -> list[Need]:
    """What the training, scoring and monitoring workflows call as the execution role."""
    sync_rules = [
        _arn("events", f"rule/StepFunctionsGetEventsForSageMaker{jobs}Rule")
        for jobs in ("TrainingJobs", "ProcessingJobs", "TransformJobs")
    ]
    jobs = [
        Need(
            notebook,
            WORKFLOWS,
            (
                f"sagemaker:Create{job}",
                f"sagemaker:Describe{job}",
                f"sagemaker:Stop{job}",
                "sagemaker:AddTags",
                "sagemaker:ListTags",
            ),
            _sagemaker(f"{kind}/{SAMPLE}"),
        )
        for job, kind in (
            ("TrainingJob", "training-job"),
            ("ProcessingJob", "processing-job"),
            ("TransformJob", "transform-job"),
        )
    ]
    return [
        *jobs,
        Need(notebook, WORKFLOWS, ("sagemaker:CreateModel", "sagemaker:AddTags"), MODEL),
        Need(
            notebook,
            WORKFLOWS,
            ("sagemaker:CreateEndpointConfig", "sagemaker:AddTags"),
            ENDPOINT_CONFIG,
        ),
        Need(
            notebook,
            WORKFLOWS,
            (
                "sagemaker:CreateEndpoint",
                "sagemaker:UpdateEndpoint",
                "sagemaker:DescribeEndpoint",
                "sagemaker:AddTags",
            ),
            ENDPOINT,
        ),
        Need(notebook, WORKFLOWS, ("iam:PassRole",), ROLE, _passed_to("sagemaker")),
        *(
            Need(
                notebook,
                WORKFLOWS,
                ("events:PutTargets", "events:PutRule", "events:DescribeRule"),
                rule,
            )
            for rule in sync_rules
        ),
        Need(notebook, WORKFLOWS, ("lambda:InvokeFunction",), FUNCTION),
        Need(notebook, WORKFLOWS, ("sns:Publish",), _arn("sns", SAMPLE)),
        Need(
            notebook, WORKFLOWS, ("ssm:PutParameter",), _arn("ssm", f"parameter/mlaccel/{SAMPLE}")
        ),
    ]


def _score_model() -> list[Need]:
    notebook = "05_score_model"
    scaling = (
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DeregisterScalableTarget",
        "application-autoscaling:PutScalingPolicy",
        "application-autoscaling:DescribeScalingPolicies",
        "application-autoscaling:DeleteScalingPolicy",
        "application-autoscaling:TagResource",
        "application-autoscaling:ListTagsForResource",
    )
    return [
        *_read_product(notebook),
        *_bucket_access(notebook, YOU, "s3:GetObject", "s3:PutObject"),
        *_registry_reads(notebook),
        *_endpoints(notebook),
        *_lambda_functions(notebook, "lambda:InvokeFunction", "lambda:DeleteFunction"),
        Need(notebook, YOU, scaling, "*"),
        _start_jobs(
            notebook,
            "transform-job",
            "sagemaker:CreateTransformJob",
            "sagemaker:DescribeTransformJob",
        ),
        *_job_basics(notebook, "Endpoints"),
        *_job_basics(notebook, "TransformJobs"),
    ]


def _analyze_drift() -> list[Need]:
    notebook = "06_analyze_drift"
    return [*_read_product(notebook), Need(notebook, YOU, ("s3:PutObject",), OBJECTS)]


NEEDS: tuple[Need, ...] = (
    *_explore_data(),
    *_engineer_features(),
    *_train_model(),
    *_author_pipelines(),
    *_score_model(),
    *_analyze_drift(),
)
