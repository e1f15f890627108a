"""The twin's control plane saved as JSON and created again: what AWS keeps between sessions.

Each part is read through the twin's own API (its Describe and List answers) and restored
through its Create calls, so a restored resource is what the API made of the same request:
IAM roles, the Glue catalog (databases, tables, partitions), the model registry (groups and
their versions in order, with approval and metadata), models, endpoint configurations and
endpoints, state machines, Lambda functions and Model Monitor schedules; and finished
SageMaker jobs
(:mod:`mlaccel_twin.state.jobs`).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any

from mlaccel_twin.state.api import Clients, only, pages, restore_each, tag_arg, tags_of

log = logging.getLogger(__name__)

# The parts, in the order they are restored: roles before what runs as them, models before
# their endpoints.
PARTS = (
    "iam",
    "glue",
    "registry",
    "sagemaker",
    "stepfunctions",
    "lambda",
    "jobs",
    "monitoring",
    "lineage",
)


# -- IAM ------------------------------------------------------------------------------------


def snapshot_iam(client: Clients) -> list[dict[str, Any]]:
    iam = client("iam")
    roles = []
    for role in pages(iam, "list_roles", "Roles"):
        name = role["RoleName"]
        inline = {
            p: iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
            for p in pages(iam, "list_role_policies", "PolicyNames", RoleName=name)
        }
        attached = [
            p["PolicyArn"]
            for p in pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name)
        ]
        roles.append(
            {
                "create": only(
                    {**role, "AssumeRolePolicyDocument": role["AssumeRolePolicyDocument"]},
                    ("RoleName", "Path", "AssumeRolePolicyDocument", "Description"),
                ),
                "inline": inline,
                "attached": attached,
            }
        )
    return roles


def restore_iam(client: Clients, roles: list[dict[str, Any]]) -> None:
    import json

    iam = client("iam")

    def create_role(role: dict[str, Any]) -> None:
        create = dict(role["create"])
        document = create["AssumeRolePolicyDocument"]
        create["AssumeRolePolicyDocument"] = (
            document if isinstance(document, str) else json.dumps(document)
        )
        iam.create_role(**create)
        for name, policy in role["inline"].items():
            iam.put_role_policy(
                RoleName=create["RoleName"],
                PolicyName=name,
                PolicyDocument=policy if isinstance(policy, str) else json.dumps(policy),
            )
        for arn in role["attached"]:
            iam.attach_role_policy(RoleName=create["RoleName"], PolicyArn=arn)

    restore_each("IAM role", roles, create_role)


# -- Glue catalog ---------------------------------------------------------------------------

_DATABASE_KEYS = ("Name", "Description", "LocationUri", "Parameters")
_TABLE_KEYS = (
    "Name",
    "Description",
    "Owner",
    "Retention",
    "StorageDescriptor",
    "PartitionKeys",
    "TableType",
    "Parameters",
    "ViewOriginalText",
    "ViewExpandedText",
)
_PARTITION_KEYS = ("Values", "StorageDescriptor", "Parameters")


def snapshot_glue(client: Clients) -> dict[str, Any]:
    """The catalog (databases, tables, partitions) and the job definitions."""
    glue = client("glue")
    databases = []
    for database in pages(glue, "get_databases", "DatabaseList"):
        tables = []
        for table in pages(glue, "get_tables", "TableList", DatabaseName=database["Name"]):
            partitions = pages(
                glue,
                "get_partitions",
                "Partitions",
                DatabaseName=database["Name"],
                TableName=table["Name"],
            )
            tables.append(
                {
                    "input": only(table, _TABLE_KEYS),
                    "partitions": [only(p, _PARTITION_KEYS) for p in partitions],
                }
            )
        databases.append({"input": only(database, _DATABASE_KEYS), "tables": tables})
    jobs = [only(job, _JOB_KEYS) for job in pages(glue, "get_jobs", "Jobs")]
    return {"databases": databases, "jobs": jobs}


_JOB_KEYS = (
    "Name",
    "Description",
    "Role",
    "Command",
    "DefaultArguments",
    "NonOverridableArguments",
    "ExecutionProperty",
    "MaxRetries",
    "Timeout",
    "MaxCapacity",
    "WorkerType",
    "NumberOfWorkers",
    "GlueVersion",
)


def restore_glue(client: Clients, saved: dict[str, Any] | list[dict[str, Any]]) -> None:
    glue = client("glue")
    # a state saved before jobs were kept is the list of databases alone
    databases = saved if isinstance(saved, list) else saved["databases"]
    jobs = [] if isinstance(saved, list) else saved.get("jobs", [])

    def create_database(database: dict[str, Any]) -> None:
        glue.create_database(DatabaseInput=database["input"])
        name = database["input"]["Name"]
        for table in database["tables"]:
            glue.create_table(DatabaseName=name, TableInput=table["input"])
            if table["partitions"]:
                glue.batch_create_partition(
                    DatabaseName=name,
                    TableName=table["input"]["Name"],
                    PartitionInputList=table["partitions"],
                )

    restore_each("Glue database", databases, create_database)
    restore_each("Glue job", jobs, lambda job: glue.create_job(**job))


# -- model registry -------------------------------------------------------------------------

_PACKAGE_KEYS = (
    "ModelPackageDescription",
    "InferenceSpecification",
    "ValidationSpecification",
    "SourceAlgorithmSpecification",
    "ModelMetrics",
    "MetadataProperties",
    "ModelApprovalStatus",
    "CustomerMetadataProperties",
    "DriftCheckBaselines",
    "Domain",
    "Task",
    "SamplePayloadUrl",
    "AdditionalInferenceSpecifications",
)


def snapshot_registry(client: Clients) -> list[dict[str, Any]]:
    sm = client("sagemaker")
    groups = []
    for summary in pages(sm, "list_model_package_groups", "ModelPackageGroupSummaryList"):
        name = summary["ModelPackageGroupName"]
        described = sm.describe_model_package_group(ModelPackageGroupName=name)
        versions = sorted(
            pages(
                sm,
                "list_model_packages",
                "ModelPackageSummaryList",
                ModelPackageGroupName=name,
            ),
            key=lambda p: int(p.get("ModelPackageVersion") or 0),
        )
        packages = [
            only(sm.describe_model_package(ModelPackageName=p["ModelPackageArn"]), _PACKAGE_KEYS)
            for p in versions
        ]
        groups.append(
            {
                "input": only(described, ("ModelPackageGroupName", "ModelPackageGroupDescription")),
                "tags": tags_of(sm, described["ModelPackageGroupArn"]),
                "packages": packages,
            }
        )
    return groups


def restore_registry(client: Clients, groups: list[dict[str, Any]]) -> None:
    sm = client("sagemaker")

    def create_group(group: dict[str, Any]) -> None:
        sm.create_model_package_group(**group["input"], **tag_arg(group["tags"]))
        for package in group["packages"]:  # in version order: the versions come back the same
            sm.create_model_package(
                ModelPackageGroupName=group["input"]["ModelPackageGroupName"], **package
            )

    restore_each("model package group", groups, create_group)


# -- models, endpoint configurations, endpoints ---------------------------------------------

_MODEL_KEYS = (
    "ModelName",
    "PrimaryContainer",
    "Containers",
    "InferenceExecutionConfig",
    "ExecutionRoleArn",
    "VpcConfig",
    "EnableNetworkIsolation",
)
_CONFIG_KEYS = (
    "EndpointConfigName",
    "ProductionVariants",
    "DataCaptureConfig",
    "KmsKeyId",
    "AsyncInferenceConfig",
)


def snapshot_sagemaker(client: Clients) -> dict[str, list[dict[str, Any]]]:
    sm = client("sagemaker")
    models = []
    for summary in pages(sm, "list_models", "Models"):
        described = sm.describe_model(ModelName=summary["ModelName"])
        models.append(
            {"input": only(described, _MODEL_KEYS), "tags": tags_of(sm, described["ModelArn"])}
        )
    configs = []
    for summary in pages(sm, "list_endpoint_configs", "EndpointConfigs"):
        described = sm.describe_endpoint_config(EndpointConfigName=summary["EndpointConfigName"])
        configs.append(
            {
                "input": only(described, _CONFIG_KEYS),
                "tags": tags_of(sm, described["EndpointConfigArn"]),
            }
        )
    endpoints = []
    for summary in pages(sm, "list_endpoints", "Endpoints"):
        described = sm.describe_endpoint(EndpointName=summary["EndpointName"])
        endpoints.append(
            {
                "input": only(described, ("EndpointName", "EndpointConfigName")),
                "tags": tags_of(sm, described["EndpointArn"]),
            }
        )
    return {"models": models, "endpoint_configs": configs, "endpoints": endpoints}


def restore_sagemaker(client: Clients, saved: dict[str, list[dict[str, Any]]]) -> None:
    sm = client("sagemaker")
    restore_each(
        "model", saved["models"], lambda m: sm.create_model(**m["input"], **tag_arg(m["tags"]))
    )
    restore_each(
        "endpoint configuration",
        saved["endpoint_configs"],
        lambda c: sm.create_endpoint_config(**c["input"], **tag_arg(c["tags"])),
    )
    restore_each(  # their model servers start again
        "endpoint",
        saved["endpoints"],
        lambda e: sm.create_endpoint(**e["input"], **tag_arg(e["tags"])),
    )


# -- Model Monitor schedules ----------------------------------------------------------------


def snapshot_monitoring(client: Clients) -> list[dict[str, Any]]:
    """Each schedule's configuration, status and past executions."""
    from mlaccel_twin.monitoring.seam import executions_by_schedule

    executions = executions_by_schedule()
    sm = client("sagemaker")
    schedules = []
    for summary in sm.list_monitoring_schedules()["MonitoringScheduleSummaries"]:
        described = sm.describe_monitoring_schedule(
            MonitoringScheduleName=summary["MonitoringScheduleName"]
        )
        schedules.append(
            {
                "name": described["MonitoringScheduleName"],
                "config": described["MonitoringScheduleConfig"],
                "status": described["MonitoringScheduleStatus"],
                "executions": executions.get(described["MonitoringScheduleArn"], []),
            }
        )
    return schedules


def restore_monitoring(client: Clients, schedules: list[dict[str, Any]]) -> None:
    sm = client("sagemaker")

    def create(saved: dict[str, Any]) -> None:
        sm.create_monitoring_schedule(
            MonitoringScheduleName=saved["name"], MonitoringScheduleConfig=saved["config"]
        )
        if saved["status"] == "Stopped":
            sm.stop_monitoring_schedule(MonitoringScheduleName=saved["name"])

    restore_each("monitoring schedule", schedules, create)
    from mlaccel_twin.monitoring.seam import restore_executions

    arns = {
        s["MonitoringScheduleName"]: s["MonitoringScheduleArn"]
        for s in sm.list_monitoring_schedules()["MonitoringScheduleSummaries"]
    }
    restore_executions(
        {arns[s["name"]]: s.get("executions", []) for s in schedules if s["name"] in arns}
    )


# -- Step Functions -------------------------------------------------------------------------


def snapshot_stepfunctions(client: Clients) -> list[dict[str, Any]]:
    sfn = client("stepfunctions")
    machines = []
    for summary in pages(sfn, "list_state_machines", "stateMachines"):
        described = sfn.describe_state_machine(stateMachineArn=summary["stateMachineArn"])
        tags = sfn.list_tags_for_resource(resourceArn=summary["stateMachineArn"]).get("tags", [])
        machines.append(
            {
                "input": only(
                    described,
                    ("name", "definition", "roleArn", "type", "loggingConfiguration"),
                ),
                "tags": tags,
            }
        )
    return machines


def restore_stepfunctions(client: Clients, machines: list[dict[str, Any]]) -> None:
    sfn = client("stepfunctions")
    restore_each(
        "state machine",
        machines,
        lambda m: sfn.create_state_machine(
            **m["input"], **({"tags": m["tags"]} if m["tags"] else {})
        ),
    )


# -- Lambda ---------------------------------------------------------------------------------

_FUNCTION_KEYS = (
    "FunctionName",
    "Runtime",
    "Role",
    "Handler",
    "Description",
    "Timeout",
    "MemorySize",
    "Environment",
    "PackageType",
    "Architectures",
)


def snapshot_lambda(client: Clients) -> list[dict[str, Any]]:
    """Functions with their code (moto's Code.Location is not fetchable: read its backend)."""
    from moto.awslambda.models import lambda_backends

    functions = []
    lam = client("lambda")
    for configuration in pages(lam, "list_functions", "Functions"):
        arn = configuration["FunctionArn"]
        account, region = arn.split(":")[4], arn.split(":")[3]
        function = lambda_backends[account][region].get_function(configuration["FunctionName"])
        tags = lam.list_tags(Resource=arn).get("Tags", {})
        functions.append(
            {
                "input": only(configuration, _FUNCTION_KEYS),
                "code": base64.b64encode(function.code_bytes).decode(),
                "tags": tags,
            }
        )
    return functions


def restore_lambda(client: Clients, functions: list[dict[str, Any]]) -> None:
    lam = client("lambda")
    restore_each(
        "Lambda function",
        functions,
        lambda f: lam.create_function(
            **f["input"],
            Code={"ZipFile": base64.b64decode(f["code"])},
            **({"Tags": f["tags"]} if f["tags"] else {}),
        ),
    )


SNAPSHOTS: dict[str, Callable[[Clients], Any]] = {
    "iam": snapshot_iam,
    "glue": snapshot_glue,
    "registry": snapshot_registry,
    "sagemaker": snapshot_sagemaker,
    "stepfunctions": snapshot_stepfunctions,
    "lambda": snapshot_lambda,
    "jobs": lambda client: _jobs().snapshot_jobs(client),
    "monitoring": snapshot_monitoring,
    "lineage": lambda client: _lineage().snapshot(),
}
RESTORES: dict[str, Callable[[Clients, Any], None]] = {
    "iam": restore_iam,
    "glue": restore_glue,
    "registry": restore_registry,
    "sagemaker": restore_sagemaker,
    "stepfunctions": restore_stepfunctions,
    "lambda": restore_lambda,
    "jobs": lambda client, saved: _jobs().restore_jobs(client, saved),
    "monitoring": restore_monitoring,
    "lineage": lambda client, saved: _lineage().restore(saved),
}


def _lineage() -> Any:
    """:mod:`mlaccel_twin.lineage.seam` (the graphs live in the twin's process)."""
    from mlaccel_twin.lineage import seam

    return seam


def _jobs() -> Any:
    """:mod:`mlaccel_twin.state.jobs` (it builds on this module's helpers)."""
    from mlaccel_twin.state import jobs

    return jobs


def parts_changed_by(target: str, method: str, path: str) -> tuple[str, ...]:
    """Which saved parts a request may change, from its ``X-Amz-Target``, method and path.

    Examples
    --------
    >>> parts_changed_by("AWSGlue.CreateTable", "POST", "/")
    ('glue',)
    >>> parts_changed_by("SageMaker.UpdateModelPackage", "POST", "/")
    ('registry',)
    >>> parts_changed_by("SageMaker.DescribeModel", "POST", "/")
    ()
    >>> parts_changed_by("SageMaker.StopMonitoringSchedule", "POST", "/")
    ('monitoring',)
    >>> parts_changed_by("SageMaker.AddAssociation", "POST", "/")
    ('lineage',)
    >>> parts_changed_by("", "POST", "/2015-03-31/functions/f/invocations")
    ()
    >>> parts_changed_by("", "PUT", "/2015-03-31/functions/f/configuration")
    ('lambda',)
    """
    service, _, action = target.partition(".")
    changes = action.startswith(("Create", "Update", "Delete", "Batch", "Put", "Add", "Tag"))
    changes = changes or action.startswith("Untag")
    if service == "AWSGlue" and changes:
        return ("glue",)
    if service == "SageMaker" and (changes or action.startswith(("Start", "Stop"))):
        if action.endswith(("Artifact", "Context", "Action", "Association")):
            return ("lineage",)
        if "MonitoringSchedule" in action:
            return ("monitoring",)
        if "ModelPackage" in action:
            return ("registry",)
        if action in ("AddTags", "DeleteTags"):
            return ("registry", "sagemaker")
        if action.endswith("Endpoint"):  # an endpoint records its deployment's lineage
            return ("sagemaker", "lineage")
        if action.endswith(("Model", "EndpointConfig")):
            return ("sagemaker",)
        return ()
    if service == "AWSStepFunctions" and changes and "Execution" not in action:
        return ("stepfunctions",)
    if "/functions" in path and path.startswith("/20") and method in ("POST", "PUT", "DELETE"):
        return () if path.rstrip("/").endswith("invocations") else ("lambda",)
    return ()
