"""Data-lake accelerators on the twin: publish, discover, read and query (DuckDB as Athena)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import awswrangler as wr
import numpy as np
import pandas as pd
import pytest

import mlaccel
from mlaccel import data
from mlaccel.errors import MLAccelInputError
from mlaccel_twin._runtime import active_runtime
from mlaccel_twin.athena import engine as twin_athena
from mlaccel_twin.athena import seam as athena_seam


def unique_database(prefix: str) -> str:
    """Tests share one twin: each gets its own database."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def cars(n_rows: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "car_id": np.arange(n_rows, dtype="int64"),
            "make": rng.choice(["audi", "bmw", "fiat"], n_rows),
            "mileage_km": rng.integers(0, 200_000, n_rows),
            "price": rng.normal(20_000, 5_000, n_rows).round(2),
            "year": rng.choice([2019, 2020, 2021], n_rows),
        }
    )


CAR_COMMENTS = {
    "car_id": "Listing identifier",
    "make": "Manufacturer of the car",
    "price": "Sale price in EUR",
    "year": "Model year",
}


def publish_cars(
    conn: mlaccel.Connection,
    database: str,
    df: pd.DataFrame | None = None,
    *,
    table: str = "used_cars",
    tags: dict[str, str] | None = None,
    partition_cols: list[str] | None = None,
    **kwargs: Any,
) -> data.PublishedTable:
    return data.publish_data_product(
        cars() if df is None else df,
        database=database,
        table=table,
        description="Used-car listings with their sale price",
        column_comments=CAR_COMMENTS,
        tags={"domain": "automotive", "owner": "pricing-team"} if tags is None else tags,
        partition_cols=partition_cols,
        connection=conn,
        **kwargs,
    )


def s3_keys(conn: mlaccel.Connection, prefix: str) -> list[str]:
    listed = conn.client("s3").list_objects_v2(Bucket=conn.bucket, Prefix=prefix)
    return sorted(item["Key"] for item in listed.get("Contents", []))


# ----------------------------------------------------------------------------- S3 and publish


def test_awswrangler_parquet_round_trip_on_twin(conn: mlaccel.Connection) -> None:
    df = cars(20)
    path = conn.s3_uri("tests", "data", uuid.uuid4().hex, "cars.parquet")
    wr.s3.to_parquet(df, path=path, boto3_session=conn.boto3_session)
    back = wr.s3.read_parquet(path, boto3_session=conn.boto3_session)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)


def test_publish_registers_a_documented_table(conn: mlaccel.Connection) -> None:
    database = unique_database("publish")
    published = publish_cars(conn, database, partition_cols=["year"])

    assert published.location == conn.s3_uri("lake", database, "used_cars") + "/"
    assert published.n_rows == 60 and published.partition_cols == ("year",)
    assert published.files and all(f.startswith(published.location) for f in published.files)

    listed = data.list_tables(database, connection=conn)
    assert list(listed["table"]) == ["used_cars"]
    row = listed.iloc[0]
    assert row["description"] == "Used-car listings with their sale price"
    assert row["tags"] == {"domain": "automotive", "owner": "pricing-team"}
    assert row["partition_keys"] == ["year"]
    assert row["columns"] == 5
    assert row["location"].rstrip("/") == published.location.rstrip("/")

    described = data.describe_table(database, "used_cars", connection=conn).set_index("column")
    assert described.loc["price", "comment"] == "Sale price in EUR"
    assert described.loc["price", "type"] == "double"
    assert described.loc["mileage_km", "comment"] == ""
    assert bool(described.loc["year", "partition"]) and described.loc["year", "type"] == "bigint"
    assert described.loc["year", "comment"] == "Model year"

    databases = data.list_databases(connection=conn).set_index("database")
    assert databases.loc[database, "tables"] == 1

    # Tags are Glue resource tags too, where the backend supports tagging tables.
    glue = conn.client("glue")
    table = glue.get_table(DatabaseName=database, Name="used_cars")["Table"]
    arn = f"arn:aws:glue:{conn.region}:{table['CatalogId']}:table/{database}/used_cars"
    assert glue.get_tags(ResourceArn=arn)["Tags"] == {
        "domain": "automotive",
        "owner": "pricing-team",
    }


def test_republishing_overwrites_and_never_duplicates(conn: mlaccel.Connection) -> None:
    database = unique_database("idempotent")
    first = cars(60, seed=1)
    publish_cars(conn, database, first, partition_cols=["year"])
    publish_cars(conn, database, first, partition_cols=["year"])
    prefix = f"lake/{database}/used_cars/"
    keys_after_rerun = s3_keys(conn, prefix)
    assert len(keys_after_rerun) == 3  # one file per year, not two

    second = cars(30, seed=2)
    second = second[second["year"] != 2021]
    publish_cars(conn, database, second, partition_cols=["year"], tags={"domain": "cars"})

    assert len(data.list_tables(database, connection=conn)) == 1
    partitions = conn.client("glue").get_partitions(DatabaseName=database, TableName="used_cars")
    assert sorted(p["Values"][0] for p in partitions["Partitions"]) == ["2019", "2020"]
    assert not any("year=2021" in key for key in s3_keys(conn, prefix))
    counted = data.query("SELECT count(*) AS n FROM used_cars", database=database, connection=conn)
    assert int(counted["n"].iloc[0]) == len(second)
    assert data.list_tables(database, connection=conn).iloc[0]["tags"] == {"domain": "cars"}


def test_append_mode_adds_rows_and_keeps_metadata_exact(conn: mlaccel.Connection) -> None:
    database = unique_database("append")
    publish_cars(conn, database, cars(10, seed=1))
    publish_cars(conn, database, cars(5, seed=2), mode="append", tags={"domain": "automotive"})
    counted = data.query("SELECT count(*) AS n FROM used_cars", database=database, connection=conn)
    assert int(counted["n"].iloc[0]) == 15
    # The tag the second publish dropped is gone, not merged back in.
    assert data.list_tables(database, connection=conn).iloc[0]["tags"] == {"domain": "automotive"}


# ----------------------------------------------------------------------------- discover


def test_search_tables_by_keyword_and_by_tag(conn: mlaccel.Connection) -> None:
    database = unique_database("search")
    publish_cars(conn, database)
    credit = pd.DataFrame(
        {"applicant_id": [1, 2, 3], "income": [1.0, 2.0, 3.0], "default": [0, 1, 0]}
    )
    data.publish_data_product(
        credit,
        database=database,
        table="credit_risk",
        description="Loan applications and whether the loan defaulted",
        column_comments={"income": "Yearly income in EUR", "default": "1 when the loan defaulted"},
        tags={"domain": "finance", "pii": "none"},
        connection=conn,
    )

    by_column = data.search_tables("price", database=database, connection=conn)
    assert list(by_column["table"]) == ["used_cars"]
    assert "column:price" in by_column.iloc[0]["matched_in"]
    assert "description" in by_column.iloc[0]["matched_in"]

    by_comment = data.search_tables("EUR", database=database, connection=conn)
    assert list(by_comment["table"]) == ["credit_risk", "used_cars"]

    by_tag_value = data.search_tables("finance", database=database, connection=conn)
    assert list(by_tag_value["table"]) == ["credit_risk"]
    assert by_tag_value.iloc[0]["matched_in"] == "tag:domain"

    by_tag = data.search_tables(tags={"domain": "Automotive"}, database=database, connection=conn)
    assert list(by_tag["table"]) == ["used_cars"]
    has_key = data.search_tables(tags={"domain": None}, database=database, connection=conn)
    assert list(has_key["table"]) == ["credit_risk", "used_cars"]
    both = data.search_tables("loan", tags={"domain": "automotive"}, connection=conn)
    assert both.empty

    everywhere = data.search_tables("defaulted", connection=conn)
    assert database in set(everywhere["database"])


# ----------------------------------------------------------------------------- read and query


def test_sql_aggregate_equals_pandas(conn: mlaccel.Connection) -> None:
    database = unique_database("aggregate")
    df = cars(200, seed=3)
    publish_cars(conn, database, df)
    result = data.query(
        "SELECT make, avg(price) AS avg_price, sum(mileage_km) AS km, count(*) AS n "
        "FROM used_cars GROUP BY 1 ORDER BY 1",
        database=database,
        connection=conn,
    )
    expected = (
        df.groupby("make")
        .agg(avg_price=("price", "mean"), km=("mileage_km", "sum"), n=("price", "size"))
        .reset_index()
    )
    assert list(result["make"]) == list(expected["make"])
    np.testing.assert_allclose(result["avg_price"], expected["avg_price"])
    # Athena keeps sums of bigint as bigint (DuckDB would widen them to a float).
    assert result["km"].dtype.kind == "i" and list(result["km"]) == list(expected["km"])
    assert list(result["n"]) == list(expected["n"])


def test_partitioned_table_query_and_qualified_names(conn: mlaccel.Connection) -> None:
    database = unique_database("partitioned")
    df = cars(90, seed=4)
    publish_cars(conn, database, df, partition_cols=["year", "make"])
    by_year = data.query(
        "SELECT year, count(*) AS n FROM used_cars WHERE year >= :year GROUP BY year ORDER BY year",
        database=database,
        params={"year": 2020},
        connection=conn,
    )
    expected = df[df["year"] >= 2020].groupby("year").size()
    assert list(by_year["year"]) == list(expected.index)
    assert list(by_year["n"]) == list(expected)
    assert by_year["year"].dtype.kind == "i"  # the partition key keeps its Glue type

    columns = data.query(
        f"SELECT * FROM {database}.used_cars LIMIT 1", database=database, connection=conn
    )
    assert list(columns.columns) == ["car_id", "mileage_km", "price", "year", "make"]
    catalog_qualified = data.query(
        f'SELECT count(*) AS n FROM "awsdatacatalog"."{database}"."used_cars" WHERE make = :make',
        database=database,
        params={"make": "audi"},
        connection=conn,
    )
    assert int(catalog_qualified["n"].iloc[0]) == int((df["make"] == "audi").sum())


def test_query_joins_across_databases(conn: mlaccel.Connection) -> None:
    left, right = unique_database("left"), unique_database("right")
    publish_cars(conn, left, cars(12, seed=5))
    makes = pd.DataFrame({"make": ["audi", "bmw", "fiat"], "country": ["de", "de", "it"]})
    data.publish_data_product(
        makes,
        database=right,
        table="makes",
        description="Country of each make",
        column_comments={},
        tags={},
        connection=conn,
    )
    joined = data.query(
        f"SELECT m.country, count(*) AS n FROM used_cars c JOIN {right}.makes m USING (make) "
        "GROUP BY 1 ORDER BY 1",
        database=left,
        connection=conn,
    )
    assert list(joined["country"]) == ["de", "it"]
    assert int(joined["n"].sum()) == 12


def test_query_reads_csv_tables_registered_by_awswrangler(conn: mlaccel.Connection) -> None:
    database = unique_database("csv")
    conn.client("glue").create_database(DatabaseInput={"Name": database})
    df = cars(15, seed=6)
    wr.s3.to_csv(
        df,
        path=conn.s3_uri("lake", database, "cars_csv") + "/",
        dataset=True,
        index=False,
        database=database,
        table="cars_csv",
        partition_cols=["year"],
        boto3_session=conn.boto3_session,
    )
    total = data.query(
        "SELECT sum(price) AS total FROM cars_csv", database=database, connection=conn
    )
    assert total["total"].iloc[0] == pytest.approx(df["price"].sum())


def test_read_table_with_columns_and_partition_filter(conn: mlaccel.Connection) -> None:
    database = unique_database("read")
    df = cars(40, seed=7)
    publish_cars(conn, database, df, partition_cols=["year"])
    whole = data.read_table(database, "used_cars", connection=conn)
    assert len(whole) == 40 and set(whole.columns) == set(df.columns)
    some = data.read_table(
        database,
        "used_cars",
        columns=["car_id", "price", "year"],
        partition_filter={"year": [2019, 2021]},
        connection=conn,
    )
    expected = df[df["year"].isin([2019, 2021])]
    assert sorted(some["car_id"]) == sorted(expected["car_id"])
    assert set(some.columns) == {"car_id", "price", "year"}
    by_callable = data.read_table(
        database, "used_cars", partition_filter=lambda p: p["year"] == "2020", connection=conn
    )
    assert len(by_callable) == int((df["year"] == 2020).sum())


# ------------------------------------------------------------------- Athena API on the twin


def test_awswrangler_athena_runs_on_the_twin(conn: mlaccel.Connection) -> None:
    database = unique_database("athena")
    df = cars(50, seed=8)
    publish_cars(conn, database, df)
    sql = "SELECT make, avg(price) AS avg_price, count(*) AS n FROM used_cars GROUP BY 1 ORDER BY 1"
    local = data.query(sql, database=database, connection=conn)
    output = conn.s3_uri("athena-results", database) + "/"
    for ctas_approach in (False, True):
        through_api = wr.athena.read_sql_query(
            sql,
            database=database,
            ctas_approach=ctas_approach,
            s3_output=output,
            athena_query_wait_polling_delay=0.05,
            boto3_session=conn.boto3_session,
        )
        assert list(through_api["make"]) == list(local["make"])
        np.testing.assert_allclose(through_api["avg_price"], local["avg_price"])
        assert list(through_api["n"]) == list(local["n"])
    # The CTAS approach drops its temporary table afterwards.
    assert list(data.list_tables(database, connection=conn)["table"]) == ["used_cars"]

    with pytest.raises(wr.exceptions.QueryFailed, match="nope"):
        wr.athena.read_sql_query(
            "SELECT nope FROM used_cars",
            database=database,
            ctas_approach=False,
            s3_output=output,
            athena_query_wait_polling_delay=0.05,
            boto3_session=conn.boto3_session,
        )


def test_athena_api_pages_results_and_binds_execution_parameters(
    conn: mlaccel.Connection,
) -> None:
    database = unique_database("pages")
    publish_cars(conn, database, cars(5, seed=9))
    athena = conn.client("athena")
    execution_id = athena.start_query_execution(
        QueryString="SELECT car_id, make FROM used_cars WHERE car_id >= ? ORDER BY car_id",
        QueryExecutionContext={"Database": database},
        ExecutionParameters=["2"],
        ResultConfiguration={"OutputLocation": conn.s3_uri("athena-results", database)},
    )["QueryExecutionId"]
    status = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
    assert status["Status"]["State"] == "SUCCEEDED"
    pages = athena.get_paginator("get_query_results").paginate(
        QueryExecutionId=execution_id, PaginationConfig={"PageSize": 2}
    )
    rows = [
        [cell.get("VarCharValue") for cell in row["Data"]]
        for page in pages
        for row in page["ResultSet"]["Rows"]
    ]
    assert rows == [["car_id", "make"], ["2", rows[1][1]], ["3", rows[2][1]], ["4", rows[3][1]]]
    key = f"athena-results/{database}/{execution_id}.csv"
    csv_text = conn.client("s3").get_object(Bucket=conn.bucket, Key=key)["Body"].read().decode()
    assert csv_text.splitlines()[0] == '"car_id","make"' and len(csv_text.splitlines()) == 4

    failed_id = athena.start_query_execution(
        QueryString="SHOW TABLES", QueryExecutionContext={"Database": database}
    )["QueryExecutionId"]
    failed = athena.get_query_execution(QueryExecutionId=failed_id)["QueryExecution"]["Status"]
    assert failed["State"] == "FAILED" and "do not run on the twin" in failed["StateChangeReason"]


def test_twin_registers_the_athena_query_service(conn: mlaccel.Connection) -> None:
    database = unique_database("service")
    df = cars(25, seed=10)
    publish_cars(conn, database, df)
    run_query = active_runtime().services["athena_query"]
    result = run_query("SELECT max(price) AS top FROM used_cars", database, None)
    assert isinstance(result, pd.DataFrame)
    assert result["top"].iloc[0] == pytest.approx(df["price"].max())
    athena_seam.check_seams()  # the moto internals the seam patches are still there


# ----------------------------------------------------------------------------- errors


def test_unknown_names_list_what_exists(conn: mlaccel.Connection) -> None:
    database = unique_database("errors")
    publish_cars(conn, database)
    with pytest.raises(MLAccelInputError, match=r"used_car.*(?s:.*)Tables in database.*used_cars"):
        data.query("SELECT * FROM used_car", database=database, connection=conn)
    with pytest.raises(MLAccelInputError, match=rf"databases that exist:.*{database}"):
        data.query("SELECT 1", database="no_such_db", connection=conn)
    with pytest.raises(MLAccelInputError, match="no_such_db"):
        data.list_tables("no_such_db", connection=conn)
    with pytest.raises(MLAccelInputError, match="tables that exist there: used_cars"):
        data.describe_table(database, "cars", connection=conn)
    with pytest.raises(MLAccelInputError, match=r"\['colour'\] are not in"):
        data.read_table(database, "used_cars", columns=["colour"], connection=conn)
    with pytest.raises(MLAccelInputError, match="has no partitions"):
        data.read_table(database, "used_cars", partition_filter={"year": 2020}, connection=conn)


def test_sql_errors_show_the_sql(conn: mlaccel.Connection) -> None:
    database = unique_database("sqlerr")
    publish_cars(conn, database, cars(5))
    with pytest.raises(MLAccelInputError, match=r"(?s)SQL:\nSELEC make FROM used_cars"):
        data.query("SELEC make FROM used_cars", database=database, connection=conn)
    with pytest.raises(MLAccelInputError, match="colour"):
        data.query("SELECT colour FROM used_cars", database=database, connection=conn)
    with pytest.raises(MLAccelInputError, match="empty"):
        data.query("  ", database=database, connection=conn)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"df": pd.DataFrame()}, "df is empty"),
        ({"df": [1, 2]}, "must be a pandas DataFrame"),
        ({"df": pd.DataFrame({"Price": [1.0]})}, r"rename them first.*'Price': 'price'"),
        ({"column_comments": {"colour": "Paint"}}, r"does not have: \['colour'\]"),
        ({"partition_cols": ["colour"]}, r"\['colour'\] are not columns of df"),
        ({"database": "Used Cars"}, "such as 'used_cars'"),
        ({"table": "bad-name"}, "such as 'bad_name'"),
        ({"description": ""}, "description must say"),
        ({"tags": ["automotive"]}, "tags must be a dict"),
        ({"mode": "upsert"}, "not a write mode"),
        ({"connection": None}, "pass connection=mlaccel.connect"),
    ],
)
def test_publish_rejects_bad_input(
    conn: mlaccel.Connection, change: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {
        "df": cars(5),
        "database": "never_created",
        "table": "used_cars",
        "description": "Used cars",
        "column_comments": {"price": "Sale price"},
        "tags": {"domain": "automotive"},
        "connection": conn,
    }
    arguments.update(change)
    with pytest.raises(MLAccelInputError, match=message):
        data.publish_data_product(**arguments)
    assert "never_created" not in set(data.list_databases(connection=conn)["database"])


def test_publish_rejects_partition_columns_with_missing_values(conn: mlaccel.Connection) -> None:
    df = cars(5)
    df["make"] = df["make"].where(df.index != 0, None)
    with pytest.raises(MLAccelInputError, match="missing values"):
        publish_cars(conn, "never_created", df, partition_cols=["make"])


# ----------------------------------------------------------------------------- pure helpers


def test_format_sql_quotes_values_like_awswrangler() -> None:
    sql = "SELECT * FROM t WHERE a = :a AND b = :b AND c IS :c AND d = :d AND e = :e AND f > :f"
    formatted = data.format_sql(
        sql,
        {
            "a": "O'Neil",
            "b": np.int64(3),
            "c": None,
            "d": dt.date(2024, 1, 2),
            "e": True,
            "f": dt.datetime(2024, 1, 2, 3, 4, 5),
        },
    )
    assert formatted == (
        "SELECT * FROM t WHERE a = 'O''Neil' AND b = 3 AND c IS NULL AND d = DATE '2024-01-02' "
        "AND e = TRUE AND f > TIMESTAMP '2024-01-02 03:04:05.000'"
    )
    assert data.format_sql("SELECT CAST(x AS int)::text, :a", {"a": [1, 2]}) == (
        "SELECT CAST(x AS int)::text, ARRAY [1, 2]"
    )
    with pytest.raises(MLAccelInputError, match="no placeholder"):
        data.format_sql("SELECT 1", {"year": 2020})
    with pytest.raises(MLAccelInputError, match="not a finite number"):
        data.format_sql("SELECT :x", {"x": float("nan")})


def test_type_mappings_between_glue_duckdb_and_athena() -> None:
    assert twin_athena.duckdb_type("string") == "VARCHAR"
    assert twin_athena.duckdb_type("decimal(10, 2)") == "DECIMAL(10,2)"
    assert twin_athena.duckdb_type("map<string,int>") is None
    assert twin_athena.athena_type("HUGEINT") == "bigint"
    assert twin_athena.glue_type("DOUBLE") == "double"
    assert twin_athena.glue_type("VARCHAR") == "string"


def test_execution_parameters_skip_string_literals() -> None:
    bound = athena_seam.bind_execution_parameters(
        "SELECT '?' AS q FROM t WHERE a = ? AND b = ?", ["'x'", "2"]
    )
    assert bound == "SELECT '?' AS q FROM t WHERE a = 'x' AND b = 2"
    with pytest.raises(athena_seam.StatementFailed, match="1 '\\?' markers but 2"):
        athena_seam.bind_execution_parameters("SELECT ?", ["1", "2"])
