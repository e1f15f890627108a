"""Registering any source as a data product on the twin: files, S3, tables, frames; the
contract stored with the table and read back by name."""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd
import pytest
from sklearn import datasets

import mlaccel
from mlaccel import data, demo, products
from mlaccel.errors import MLAccelInputError


def unique_database(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def wine() -> pd.DataFrame:
    return datasets.load_wine(as_frame=True).frame


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_a_local_file_registers_and_its_contract_is_found_by_name(
    conn: mlaccel.Connection, tmp_path: Path, suffix: str
) -> None:
    database = unique_database("files")
    path = tmp_path / f"wine{suffix}"
    if suffix == ".parquet":
        wine().to_parquet(path)
    else:
        wine().to_csv(path, index=False)
    registration = data.register(
        str(path), name="wine", target="target", connection=conn, database=database
    )
    product = registration.product
    assert (product.problem_type, product.classes, product.id_column) == (
        "multiclass",
        ("0", "1", "2"),
        "row_id",
    )
    assert registration.n_rows == 178 and product.source == path.name
    assert data.load_product("wine", connection=conn, database=database) == product
    table = data.read_table(database, "wine", connection=conn)
    assert table["row_id"].is_unique and len(table) == 178
    assert "od280_od315_of_diluted_wines" in table.columns  # the name, made catalog-safe
    assert "registered" in str(registration) and "why: problem type multiclass" in str(registration)


def test_an_s3_prefix_and_a_table_register_like_a_file(conn: mlaccel.Connection) -> None:
    database = unique_database("s3src")
    rows = datasets.load_diabetes(as_frame=True).frame
    s3 = conn.client("s3")
    for i, part in enumerate((rows.iloc[:200], rows.iloc[200:])):
        s3.put_object(
            Bucket=conn.bucket,
            Key=f"landing/{database}/part-{i}.csv",
            Body=part.to_csv(index=False),
        )
    uri = conn.s3_uri("landing", database) + "/"
    first = data.register(uri, name="diabetes", target="target", connection=conn, database=database)
    assert first.n_rows == len(rows) and first.product.problem_type == "regression"
    again = data.register(
        f"{database}.diabetes",
        name="diabetes_copy",
        target="target",
        connection=conn,
        database=database,
    )
    assert again.product.features == first.product.features
    assert data.registered_products(database, connection=conn) == ["diabetes", "diabetes_copy"]


def test_re_registering_replaces_never_duplicates(conn: mlaccel.Connection) -> None:
    database = unique_database("again")
    for _ in range(2):
        data.register(wine(), name="wine", target="target", connection=conn, database=database)
    counted = data.query('SELECT count(*) AS n FROM "wine"', database=database, connection=conn)
    assert int(counted["n"].iloc[0]) == 178


def test_a_demo_product_registers_through_the_same_path(conn: mlaccel.Connection) -> None:
    database = unique_database("demo")
    registration = data.register_product(
        "credit_risk", "", demo_rows=300, seed=3, connection=conn, database=database
    )
    spec = demo.get_demo("credit_risk")
    assert registration.product.target == spec.target
    assert registration.product.classes == ("0", "1")
    assert data.list_tables(database, connection=conn).iloc[0]["tags"]["domain"] == "lending"
    with pytest.raises(MLAccelInputError, match=r"source is empty, so data_product='credit_risk' "):
        data.register_product(
            "credit_risk", "", target="income", connection=conn, database=database
        )


def test_an_edited_contract_is_stored_after_checking_the_table(conn: mlaccel.Connection) -> None:
    database = unique_database("edit")
    product = data.register(
        wine(), name="wine", target="target", connection=conn, database=database
    ).product
    edited = products.with_features(product, product.features[:3])
    data.save_product(edited, connection=conn, database=database)
    assert data.load_product("wine", connection=conn, database=database) == edited
    broken = products.product_from_dict({**product.to_dict(), "numeric_features": ["nope"]})
    with pytest.raises(MLAccelInputError, match=r"names columns \['nope'\] that table"):
        data.save_product(broken, connection=conn, database=database)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "no/such/file.csv",
            r"source='no/such/file.csv' is not a file, an s3:// URI or a database",
        ),
        ("https://example.com/x.csv", r"only s3:// URIs, database.table names and local files"),
        ("", r"source='' must be a table"),
    ],
)
def test_unknown_sources_are_refused_with_the_fix(
    conn: mlaccel.Connection, source: str, message: str
) -> None:
    with pytest.raises(MLAccelInputError, match=message):
        data.register(source, name="x", target="y", connection=conn)


def test_unsupported_and_empty_files_are_refused(conn: mlaccel.Connection, tmp_path: Path) -> None:
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    with pytest.raises(MLAccelInputError, match=r"data.xlsx: unsupported format"):
        data.register(str(tmp_path / "data.xlsx"), name="x", target="y", connection=conn)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(MLAccelInputError, match=r"empty.csv is empty"):
        data.register(str(tmp_path / "empty.csv"), name="x", target="y", connection=conn)


def test_a_product_not_registered_names_the_registered_ones(conn: mlaccel.Connection) -> None:
    database = unique_database("missing")
    data.register(wine(), name="wine", target="target", connection=conn, database=database)
    with pytest.raises(MLAccelInputError, match=r"data_product='houses' is not registered .*wine"):
        data.load_product("houses", connection=conn, database=database)
