"""Athena on the twin as awswrangler users call it: Presto functions, qmark parameters,
prepared statements and UNLOAD, on a table written with awswrangler."""

from __future__ import annotations

import uuid

import awswrangler as wr
import pandas as pd
import pytest

import mlaccel
from mlaccel.errors import StatementFailed
from mlaccel_twin.athena.dialect import to_duckdb


@pytest.fixture(scope="module")
def lake(conn: mlaccel.Connection) -> dict[str, str]:
    database = f"dialect_{uuid.uuid4().hex[:8]}"
    wr.catalog.create_database(database, boto3_session=conn.boto3_session)
    orders = pd.DataFrame(
        {
            "order_id": [1, 2, 3, 4],
            "customer": ["ana", "bo", "ana", "cy"],
            "amount": [10.0, 25.5, 7.25, 99.0],
            "ordered_at": pd.to_datetime(
                ["2026-01-30 10:00", "2026-01-31 11:30", "2026-02-01 09:15", "2026-02-02 18:45"]
            ),
        }
    )
    wr.s3.to_parquet(
        orders,
        path=conn.s3_uri("dialect", database, "orders") + "/",
        dataset=True,
        database=database,
        table="orders",
        boto3_session=conn.boto3_session,
    )
    return {"database": database, "output": conn.s3_uri("dialect", database, "results") + "/"}


def _read(conn: mlaccel.Connection, lake: dict[str, str], sql: str, **kwargs: object):  # type: ignore[no-untyped-def]
    return wr.athena.read_sql_query(
        sql,
        database=lake["database"],
        ctas_approach=False,
        s3_output=lake["output"],
        athena_query_wait_polling_delay=0.05,
        boto3_session=conn.boto3_session,
        **kwargs,
    )


def test_presto_functions_run_as_athena_runs_them(
    conn: mlaccel.Connection, lake: dict[str, str]
) -> None:
    df = _read(
        conn,
        lake,
        """
        SELECT order_id,
               date_format(date_add('day', 1, ordered_at), '%Y-%m-%d') AS next_day,
               cardinality(ARRAY['a', 'b', customer]) AS n,
               element_at(ARRAY['first', 'second'], 2) AS second,
               array_join(ARRAY[customer, 'x'], '-') AS joined
        FROM orders
        WHERE order_id = 2
        """,
    )
    assert df.to_dict("records") == [
        {"order_id": 2, "next_day": "2026-02-01", "n": 3, "second": "second", "joined": "bo-x"}
    ]


def test_qmark_parameters_and_prepared_statements(
    conn: mlaccel.Connection, lake: dict[str, str]
) -> None:
    bound = _read(
        conn,
        lake,
        "SELECT order_id FROM orders WHERE customer = ? AND amount > ? ORDER BY order_id",
        params=["'ana'", "8"],
        paramstyle="qmark",
    )
    assert list(bound["order_id"]) == [1]

    name = f"big_orders_{uuid.uuid4().hex[:6]}"
    wr.athena.create_prepared_statement(
        sql="SELECT order_id FROM orders WHERE amount >= ? ORDER BY order_id",
        statement_name=name,
        boto3_session=conn.boto3_session,
    )
    executed = _read(conn, lake, f"EXECUTE {name}", params=["25"], paramstyle="qmark")
    assert list(executed["order_id"]) == [2, 4]
    using = _read(conn, lake, f"EXECUTE {name} USING 50")
    assert list(using["order_id"]) == [4]

    _read(conn, lake, f"PREPARE by_customer_{name} FROM SELECT count(*) AS n FROM orders "
                      "WHERE customer = ?")  # fmt: skip
    counted = _read(conn, lake, f"EXECUTE by_customer_{name} USING 'ana'")
    assert list(counted["n"]) == [2]
    _read(conn, lake, f"DEALLOCATE PREPARE by_customer_{name}")
    with pytest.raises(wr.exceptions.QueryFailed, match=f"by_customer_{name} does not exist"):
        _read(conn, lake, f"EXECUTE by_customer_{name} USING 'ana'")


@pytest.mark.parametrize("file_format", ["PARQUET", "TEXTFILE", "JSON"])
def test_unload_writes_the_rows_in_its_format(
    conn: mlaccel.Connection, lake: dict[str, str], file_format: str
) -> None:
    path = conn.s3_uri("dialect", lake["database"], "unload", file_format.lower()) + "/"
    unloaded = wr.athena.unload(
        "SELECT order_id, customer FROM orders WHERE amount > 9 ORDER BY order_id",
        path=path,
        database=lake["database"],
        file_format=file_format,
        field_delimiter="," if file_format == "TEXTFILE" else None,
        athena_query_wait_polling_delay=0.05,
        boto3_session=conn.boto3_session,
    )
    # the files the query wrote, as its data manifest lists them
    manifest = wr.s3.read_csv(
        unloaded.manifest_location, header=None, boto3_session=conn.boto3_session
    )
    files = list(manifest[0])
    assert files and all(f.startswith(path) for f in files)
    if file_format == "PARQUET":
        rows = wr.s3.read_parquet(files, boto3_session=conn.boto3_session)
    elif file_format == "JSON":
        rows = wr.s3.read_json(
            files, lines=True, compression="gzip", boto3_session=conn.boto3_session
        )
    else:
        rows = wr.s3.read_csv(
            files,
            names=["order_id", "customer"],
            compression="gzip",
            boto3_session=conn.boto3_session,
        )
    assert rows.sort_values("order_id").to_dict("list") == {
        "order_id": [1, 2, 4],
        "customer": ["ana", "bo", "cy"],
    }
    with pytest.raises(wr.exceptions.QueryFailed, match="HIVE_PATH_ALREADY_EXISTS"):
        wr.athena.unload(
            "SELECT 1 AS one",
            path=path,
            database=lake["database"],
            athena_query_wait_polling_delay=0.05,
            boto3_session=conn.boto3_session,
        )


def test_sql_that_is_not_athena_sql_fails_naming_why() -> None:
    with pytest.raises(StatementFailed, match="does not parse as Athena SQL"):
        to_duckdb("SELECT FROM WHERE (")
