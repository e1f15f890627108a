"""Export definitions for a CI/CD pipeline: JSON and CloudFormation, account values as
parameters."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlaccel.errors import MLAccelInputError
from mlaccel.workflows._settings import AWS_ENDPOINT_WAIT_SECONDS, WorkflowSettings

CFN_PARAMETERS = {
    "Bucket": "S3 bucket the workflow reads and writes",
    "SageMakerRoleArn": "Execution role SageMaker jobs and models assume",
    "StepFunctionsRoleArn": "Role the state machine runs as",
    "TopicArn": "SNS topic for success and failure notifications",
    "XgboostImage": "Built-in XGBoost image URI of the region (sagemaker.image_uris)",
    "SklearnImage": "SKLearn processing image URI of the region",
    "ModelMonitorImage": "Model Monitor analyzer image URI of the region",
}


def with_tokens(text: str, tokens: Mapping[str, str]) -> str:
    """``text`` with each key of ``tokens`` replaced by its value, in order.

    Examples
    --------
    >>> with_tokens("s3://my-bucket/a", {"s3://my-bucket/": "s3://${Bucket}/"})
    's3://${Bucket}/a'
    """
    for value, token in tokens.items():
        text = text.replace(value, token)
    return text


def portable_definition(definition: Mapping[str, Any], settings: WorkflowSettings) -> str:
    """The definition as JSON with account-specific values as ``${Parameter}`` tokens.

    Parameters
    ----------
    definition
        A state machine definition (``workflow.definition.to_dict()``).
    settings
        The settings it was built from: their role, topic, images and bucket become tokens.

    Returns
    -------
    str
        Indented JSON, ending with a newline.
    """
    tokens = {
        settings.role_arn: "${SageMakerRoleArn}",
        settings.topic_arn: "${TopicArn}",
        **{image: f"${{{name}}}" for name, image in settings.images().items()},
        f"s3://{settings.bucket}/": "s3://${Bucket}/",
    }
    return with_tokens(json.dumps(definition, indent=2, sort_keys=False), tokens) + "\n"


def cloudformation_template(workflow: Any, settings: WorkflowSettings) -> str:
    """A CloudFormation template (YAML) deploying the state machine with its parameters.

    The account values of :func:`portable_definition` are the stack's parameters
    (``CFN_PARAMETERS``), given to the definition as substitutions.
    """
    import yaml

    definition = json.loads(portable_definition(workflow.definition.to_dict(), settings))
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"mlaccel Step Functions workflow {workflow.name} (generated; do not edit)",
        "Parameters": {
            name: {"Type": "String", "Description": text} for name, text in CFN_PARAMETERS.items()
        },
        "Resources": {
            "StateMachine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineName": workflow.name,
                    "RoleArn": {"Ref": "StepFunctionsRoleArn"},
                    "Definition": definition,
                    "DefinitionSubstitutions": {
                        name: {"Ref": name}
                        for name in CFN_PARAMETERS
                        if name != "StepFunctionsRoleArn"
                    },
                },
            }
        },
        "Outputs": {"StateMachineArn": {"Value": {"Ref": "StateMachine"}}},
    }
    return str(yaml.safe_dump(template, sort_keys=False, width=100))


def export(
    builder: Callable[[WorkflowSettings], Any], settings: WorkflowSettings, folder: str | Path
) -> list[Path]:
    """Write ``<name>.asl.json`` and ``<name>.cfn.yaml`` into ``folder``.

    The exported files are for AWS, so they wait for endpoints at AWS's pace whatever
    ``settings`` says.

    Parameters
    ----------
    builder
        :func:`training_workflow`, :func:`scoring_workflow` or :func:`monitoring_workflow`.
    settings
        What to build the workflow from.
    folder
        Where to write; created when missing.

    Returns
    -------
    list of Path
        The definition and the template.

    Examples
    --------
    >>> export(training_workflow, settings, "seedcode/workflows")  # doctest: +SKIP
    """
    settings = replace(settings, endpoint_wait_seconds=AWS_ENDPOINT_WAIT_SECONDS)
    workflow = builder(settings)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    asl = out / f"{workflow.name}.asl.json"
    asl.write_text(portable_definition(workflow.definition.to_dict(), settings))
    cfn = out / f"{workflow.name}.cfn.yaml"
    cfn.write_text(cloudformation_template(workflow, settings))
    return [asl, cfn]


PREVIEW_LINES = 20  # lines of a definition shown in a notebook; the rest is in its file


def definition_preview(text: str, *, link: str, lines: int = PREVIEW_LINES) -> str:
    """HTML showing the first ``lines`` of a definition and a link to the whole of it.

    A notebook shows this instead of printing hundreds of lines of JSON: the first lines in a
    ``<pre>``, then how many lines follow and a relative link to the exported file.

    Parameters
    ----------
    text
        The definition (an exported ``.asl.json`` file's text).
    link
        The exported file, relative to the notebook (:func:`relative_link`).
    lines
        Lines shown before the fold (at least 1).

    Examples
    --------
    >>> "2 more lines" in definition_preview("{\\n  1\\n}", link="a.json", lines=1)
    True
    """
    if lines < 1:
        raise MLAccelInputError(f"lines must be 1 or more, got {lines}")
    all_lines = text.rstrip("\n").splitlines()
    head, rest = all_lines[:lines], all_lines[lines:]
    anchor = f'<a href="{html.escape(link)}">{html.escape(link)}</a>'
    parts = [f"<pre>{html.escape(chr(10).join(head), quote=False)}</pre>"]
    if rest:
        parts.append(f"<p>… {len(rest)} more lines; the whole definition: {anchor}</p>")
    else:
        parts.append(f"<p>The whole definition: {anchor}</p>")
    return "\n".join(parts)


def relative_link(path: str | Path, base: str | Path) -> str:
    """``path`` as a link from ``base`` (the notebook's folder): relative when inside it, else
    the file's name alone, so no absolute path reaches an output.

    Examples
    --------
    >>> relative_link("out/workflows/a.asl.json", "out")
    'workflows/a.asl.json'
    >>> relative_link("/elsewhere/a.asl.json", "out")
    'a.asl.json'
    """
    target, folder = Path(path).absolute(), Path(base).absolute()
    if target.is_relative_to(folder):
        return target.relative_to(folder).as_posix()
    return target.name


def notebook_link(path: str | Path) -> str:
    """``path`` as a link from the notebook: the suite runner writes executed notebooks into
    ``MLACCEL_OUTPUT_DIR``; an interactive notebook runs in its own folder."""
    return relative_link(path, os.environ.get("MLACCEL_OUTPUT_DIR") or Path.cwd())
