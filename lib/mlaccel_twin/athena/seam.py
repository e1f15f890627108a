"""Seam: Athena runs SQL on the twin, with DuckDB over the Glue catalog.

moto records Athena query executions but runs no SQL. This seam:

- registers :class:`~mlaccel_twin.athena.engine.LakeQueryEngine` as
  ``runtime.services["athena_query"]``,
  a callable ``(query_string, database, catalog) -> pandas.DataFrame`` for the twin's own hooks
  (processing jobs with an Athena dataset definition);
- makes the Athena API answer with real results, so ``awswrangler.athena.read_sql_query``
  (CTAS approach, the default, or ``ctas_approach=False``) and plain boto3 work on the twin:

  * ``StartQueryExecution`` runs the statement
    (:func:`~mlaccel_twin.athena.statements.run_statement`);
  * ``GetQueryExecution`` reports ``SUCCEEDED``, or ``FAILED`` with ``StateChangeReason`` and
    ``AthenaError``, and ``Statistics.DataManifestLocation`` for CTAS;
  * ``GetQueryResults`` pages through the result (``MaxResults``, ``NextToken``), with Athena's
    column types in ``ResultSetMetadata`` (:mod:`mlaccel_twin.athena.results`).

Results configured through moto's own ``/moto-api/static/athena/query-results`` still win.
Statements run synchronously inside ``StartQueryExecution``; clients poll as they do on AWS.

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``); :func:`check_seams` fails
loudly when the moto internals used here change.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable
from typing import Any

from mlaccel.errors import MLAccelError, StatementFailed
from mlaccel_twin._runtime import TwinRuntime, active_runtime
from mlaccel_twin._seam import fail_if_broken, replace, signature_problems
from mlaccel_twin.athena import prepared
from mlaccel_twin.athena.engine import LakeQueryEngine, QueryResult
from mlaccel_twin.athena.results import MAX_RESULTS_PER_PAGE, results_page
from mlaccel_twin.athena.statements import (
    Lake,
    Statement,
    bind_execution_parameters,
    run_statement,
)

# Tests and older callers reach these through the seam.
__all__ = [
    "SERVICE_KEY",
    "StatementFailed",
    "bind_execution_parameters",
    "check_seams",
    "engine",
    "install",
]

log = logging.getLogger(__name__)

SERVICE_KEY = "athena_query"  # pragma: allowlist secret

# moto functions this seam replaces, with the parameters it relies on.
_EXPECTED_SIGNATURES = {
    "AthenaBackend.start_query_execution": [
        "self",
        "query",
        "context",
        "config",
        "workgroup",
        "execution_parameters",
    ],
    "AthenaResponse.get_query_execution": ["self"],
    "AthenaResponse.get_query_results": ["self"],
}


def check_seams() -> None:
    """Raise when the moto internals this seam patches are not what it was written for."""
    from moto.athena import models, responses

    owners: dict[str, Any] = {
        "AthenaBackend": models.AthenaBackend,
        "AthenaResponse": responses.AthenaResponse,
    }
    problems = signature_problems(owners, _EXPECTED_SIGNATURES)
    source = inspect.getsource(models.AthenaBackend.__init__)
    for attribute in ("executions", "query_results", "work_groups", "prepared_statements"):
        if f"self.{attribute}" not in source:
            problems.append(f"AthenaBackend no longer keeps self.{attribute}")
    for method in ("create_prepared_statement", "get_prepared_statement"):
        if not hasattr(models.AthenaBackend, method):
            problems.append(f"AthenaBackend.{method} is gone")
    if not hasattr(responses.AthenaResponse, "get_prepared_statement"):
        problems.append("AthenaResponse.get_prepared_statement is gone")
    if "OutputLocation" not in inspect.getsource(models.Execution.__init__):
        problems.append("Execution no longer derives OutputLocation")
    fail_if_broken("athena", problems)


def install(runtime: TwinRuntime) -> None:
    """Register the DuckDB engine and make moto's Athena API run the SQL it receives."""
    from moto.athena import models, responses

    check_seams()
    runtime.services[SERVICE_KEY] = LakeQueryEngine.for_twin(runtime)
    replace(models.AthenaBackend, "start_query_execution", _start_query_execution)
    replace(responses.AthenaResponse, "get_query_execution", _get_query_execution)
    replace(responses.AthenaResponse, "get_query_results", _get_query_results)
    replace(responses.AthenaResponse, "get_prepared_statement", _missing_prepared_statement)


def engine() -> LakeQueryEngine:
    """The query engine of the twin running in this process."""
    runtime = active_runtime()
    found = runtime.services.get(SERVICE_KEY)
    if not isinstance(found, LakeQueryEngine):
        found = LakeQueryEngine.for_twin(runtime)
        runtime.services[SERVICE_KEY] = found
    return found


# --------------------------------------------------------------------------- moto hooks


def _start_query_execution(original: Callable[..., str]) -> Callable[..., str]:
    def start_query_execution(
        self: Any,
        query: str,
        context: dict[str, Any] | None,
        config: dict[str, Any] | None,
        workgroup: str | None,
        execution_parameters: list[str] | None,
    ) -> str:
        execution_id = original(
            self,
            query=query,
            context=context,
            config=_with_workgroup_output(self, config, workgroup),
            workgroup=workgroup,
            execution_parameters=execution_parameters,
        )
        if execution_id in self.query_results:
            return execution_id  # results configured through moto's own API
        execution = self.executions[execution_id]
        try:
            sql = _resolve_prepared(self, query, workgroup, execution_parameters)
            statement = Statement(
                sql=sql,
                execution_id=execution_id,
                database=str((context or {}).get("Database") or "default").lower(),
                catalog=(context or {}).get("Catalog"),
                output=(execution.config or {}).get("OutputLocation"),
            )
            outcome = run_statement(_lake(), statement)
            execution._mlaccel_result = outcome.result
            execution._mlaccel_manifest = outcome.manifest
            execution.status = "SUCCEEDED"
        except Exception as exc:
            reason = str(exc) if isinstance(exc, StatementFailed | MLAccelError) else repr(exc)
            log.info("twin Athena query %s failed: %s", execution_id, reason)
            execution._mlaccel_failure = reason
            execution.status = "FAILED"
        return execution_id

    return start_query_execution


def _resolve_prepared(
    backend: Any, query: str, workgroup: str | None, parameters: list[str] | None
) -> str:
    """The SQL to run: an EXECUTE's prepared statement with its values bound. PREPARE and
    DEALLOCATE change the workgroup's prepared statements and run as an empty query."""
    group = workgroup or "primary"
    if match := prepared.PREPARE.match(query):
        backend.create_prepared_statement(match.group("name"), group, match.group("body"), "")
        return "SELECT 1 WHERE false"
    if match := prepared.DEALLOCATE.match(query):
        name = match.group("name")
        if backend.get_prepared_statement(name, group) is None:
            raise StatementFailed(f"Prepared statement {name} does not exist in workgroup {group}")
        del backend.prepared_statements[name]
        return "SELECT 1 WHERE false"
    execute = prepared.parse_execute(query)
    if execute is None:
        return bind_execution_parameters(query, parameters)
    statement = backend.get_prepared_statement(execute.name, group)
    if statement is None:
        raise StatementFailed(
            f"Prepared statement {execute.name} does not exist in workgroup {group}; create "
            "it with PREPARE or CreatePreparedStatement first"
        )
    values = execute.values if execute.values is not None else parameters
    return bind_execution_parameters(statement.query_statement, values)


def _missing_prepared_statement(original: Callable[[Any], str]) -> Callable[[Any], Any]:
    # moto answers HTTP 500 for a name it does not know; AWS answers ResourceNotFoundException.
    def get_prepared_statement(self: Any) -> Any:
        name = self._get_param("StatementName")
        group = self._get_param("WorkGroup")
        if self.athena_backend.get_prepared_statement(name, group) is None:
            body = json.dumps(
                {
                    "__type": "ResourceNotFoundException",
                    "Message": f"Prepared statement {name} does not exist in workgroup {group}",
                }
            )
            return 400, {"status": "400", "x-amzn-ErrorType": "ResourceNotFoundException"}, body
        return original(self)

    return get_prepared_statement


def _with_workgroup_output(
    backend: Any, config: dict[str, Any] | None, workgroup: str | None
) -> dict[str, Any] | None:
    # Without an OutputLocation, Athena falls back to the workgroup's result location.
    if (config or {}).get("OutputLocation"):
        return config
    group = backend.work_groups.get(workgroup or "primary")
    configured = (group.configuration or {}) if group is not None else {}
    output = (configured.get("ResultConfiguration") or {}).get("OutputLocation")
    return {**(config or {}), "OutputLocation": output} if output else config


def _lake() -> Lake:
    return Lake(engine(), active_runtime().client)


def _get_query_execution(original: Callable[[Any], str]) -> Callable[[Any], str]:
    def get_query_execution(self: Any) -> str:
        body = original(self)
        payload = json.loads(body)
        info = payload.get("QueryExecution", {})
        execution = self.athena_backend.executions.get(info.get("QueryExecutionId"))
        if execution is None:
            return body
        failure = getattr(execution, "_mlaccel_failure", None)
        if failure:
            info["Status"]["StateChangeReason"] = failure
            info["Status"]["AthenaError"] = {
                "ErrorCategory": 2,
                "ErrorType": 1301,
                "Retryable": False,
                "ErrorMessage": failure,
            }
        manifest = getattr(execution, "_mlaccel_manifest", None)
        if manifest:
            info["Statistics"]["DataManifestLocation"] = manifest
        return json.dumps(payload)

    return get_query_execution


def _get_query_results(original: Callable[[Any], str]) -> Callable[[Any], str]:
    def get_query_results(self: Any) -> Any:
        execution_id = self._get_param("QueryExecutionId")
        execution = self.athena_backend.executions.get(execution_id)
        result: QueryResult | None = getattr(execution, "_mlaccel_result", None)
        if execution is None or result is None or execution_id in self.athena_backend.query_results:
            return original(self)
        limit = int(self._get_param("MaxResults") or MAX_RESULTS_PER_PAGE)
        if not 1 <= limit <= MAX_RESULTS_PER_PAGE:
            return self.error(f"MaxResults must be between 1 and {MAX_RESULTS_PER_PAGE}", 400)
        return json.dumps(results_page(result, self._get_param("NextToken"), limit))

    return get_query_results
