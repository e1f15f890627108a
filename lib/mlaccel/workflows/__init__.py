"""Step Functions workflows for the model lifecycle, built with the ``stepfunctions`` SDK.

Three builders return :class:`stepfunctions.workflow.Workflow` objects a notebook renders,
creates or updates, and executes — on the local twin or on a real account, unchanged:

:func:`training_workflow`
    preprocess → train → save model → query training results (Lambda) → metric threshold
    (Choice) → below it: compare with the best registered model (Lambda), notify (SNS), Fail →
    above it: data-quality and model-quality baselines in parallel → endpoint configuration with
    data capture → does the endpoint exist? (Lambda) → create or update it → wait until it is
    in service → export the model, endpoint and endpoint-configuration names to SSM → notify.
:func:`scoring_workflow`
    preprocess the batch with the fitted transform → latest approved (else latest registered)
    model (Lambda) → batch transform with input filter, join with the input and output filter,
    so every score comes back next to its record id → notify.
:func:`monitoring_workflow`
    consolidate the data captured since the last run (Lambda; nothing new → end cleanly) →
    data drift and, when ground truth arrived, model drift against the training workflow's
    baselines → evaluate the violations, store them as rows for SQL and notify (Lambda) →
    commit the run's watermark to SSM. Meant to run on a :func:`schedule`.

Every run reads its settings from the execution input merged over the defaults baked in at
build time (``{"metric_threshold": 900}`` overrides one), and names its jobs after the
execution, so a rerun never collides with an earlier one. Any failed task is caught, notified
and ends the run in a Fail state.

:func:`create_or_update` and :func:`execute` run them; :func:`stage_code`,
:func:`deploy_functions`, :func:`schedule` and :func:`start_on_new_data` put in place what they
need and what starts them; :func:`validate_definition` and :func:`plot_graph` check and show a
definition; :func:`export` writes each definition as JSON and as a CloudFormation template
(account, bucket, role and image URIs as parameters) for a CI/CD pipeline to deploy without the
notebook.

Examples
--------
>>> settings = workflow_settings(product, connection=conn, topic_arn=topic)  # doctest: +SKIP
>>> training = training_workflow(settings)  # doctest: +SKIP
>>> run = execute(training, connection=conn, name=run_name("train"))  # doctest: +SKIP
"""

from __future__ import annotations

# Notebook 04 reads the objective through this package (``workflows.training.objective_for``).
from mlaccel import training as training
from mlaccel.workflows._data import (
    RESULT_COLUMNS,
    ensure_results_table,
    land_data,
    object_exists,
    read_prepared,
    read_scores,
    send_ground_truth,
    upload_ground_truth,
)
from mlaccel.workflows._deploy import deploy_functions, schedule, stage_code, start_on_new_data
from mlaccel.workflows._export import (
    CFN_PARAMETERS,
    cloudformation_template,
    definition_preview,
    export,
    notebook_link,
    portable_definition,
    relative_link,
)
from mlaccel.workflows._jobs import CONTAINER, MODEL_MONITOR_ENV
from mlaccel.workflows._monitoring import monitoring_workflow
from mlaccel.workflows._plot import STATE_COLOURS, graph_alt_text, graph_layers, plot_graph
from mlaccel.workflows._run import (
    RunResult,
    create_or_update,
    execute,
    executions,
    history_table,
    run_name,
    wait_for_execution,
    wait_for_started_execution,
)
from mlaccel.workflows._scoring import scoring_workflow
from mlaccel.workflows._served import (
    ServedModel,
    model_name_parameter,
    registered_places,
    serve_monitored_model,
    stop_serving,
)
from mlaccel.workflows._settings import (
    AWS_ENDPOINT_WAIT_SECONDS,
    FUNCTIONS,
    HANDLERS,
    PipelinePlaces,
    WorkflowSettings,
    code_uri,
    notification_topic_name,
    pipeline_places,
    workflow_settings,
)
from mlaccel.workflows._states import CATCH_ALL, bind
from mlaccel.workflows._traffic import (
    ModelQuality,
    Traffic,
    answer_names,
    endpoint_model_quality,
    read_traffic,
    send_rows,
    send_traffic,
)
from mlaccel.workflows._training import training_workflow
from mlaccel.workflows._validate import SERVICE_ACTIONS, validate_definition
from mlaccel.workflows._validate import _task_requests as _task_requests

__all__ = [
    "AWS_ENDPOINT_WAIT_SECONDS",
    "CATCH_ALL",
    "CFN_PARAMETERS",
    "CONTAINER",
    "FUNCTIONS",
    "HANDLERS",
    "MODEL_MONITOR_ENV",
    "RESULT_COLUMNS",
    "SERVICE_ACTIONS",
    "STATE_COLOURS",
    "ModelQuality",
    "PipelinePlaces",
    "RunResult",
    "ServedModel",
    "Traffic",
    "WorkflowSettings",
    "answer_names",
    "bind",
    "cloudformation_template",
    "code_uri",
    "create_or_update",
    "definition_preview",
    "deploy_functions",
    "endpoint_model_quality",
    "ensure_results_table",
    "execute",
    "executions",
    "export",
    "graph_alt_text",
    "graph_layers",
    "history_table",
    "land_data",
    "model_name_parameter",
    "monitoring_workflow",
    "notebook_link",
    "notification_topic_name",
    "object_exists",
    "pipeline_places",
    "plot_graph",
    "portable_definition",
    "read_prepared",
    "read_scores",
    "read_traffic",
    "registered_places",
    "relative_link",
    "run_name",
    "schedule",
    "scoring_workflow",
    "send_ground_truth",
    "send_rows",
    "send_traffic",
    "serve_monitored_model",
    "stage_code",
    "start_on_new_data",
    "stop_serving",
    "training_workflow",
    "upload_ground_truth",
    "validate_definition",
    "wait_for_execution",
    "wait_for_started_execution",
    "workflow_settings",
]
