"""The data-product contract: inferred from any table with its reasons, stored, edited, refused
with a clear message when it cannot be worked with."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets

from mlaccel import products
from mlaccel.errors import MLAccelInputError


def messy(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """A table as users bring them: odd names, numbers stored as text, booleans, dates, an id
    counter, a constant, free text and a copy of the target."""
    rng = np.random.default_rng(seed)
    amount = rng.normal(100, 20, n).round(2)
    text_amount = amount.astype(str).astype(object)
    text_amount[:3] = ["n/a", "12k", "?"]
    return pd.DataFrame(
        {
            "Row Number": np.arange(n),
            "Sale Amount (EUR)": text_amount,
            "Select": rng.choice(["a", "b", "c"], n),
            "from": rng.random(n) < 0.3,
            "Signup Date": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "Country": "fr",
            "Notes": [
                f"customer {i} said something long about the order and delivery" for i in range(n)
            ],
            "Churned": rng.choice(["yes", "no"], n, p=[0.3, 0.7]),
            "churned copy": None,
        }
    ).assign(**{"churned copy": lambda d: d["Churned"]})


def infer(df: pd.DataFrame, **kwargs: str) -> products.Inference:
    df, _ = products.normalize_columns(df)
    return products.infer_product(df, name="shop", **kwargs)


def test_a_messy_table_gets_a_contract_with_every_choice_explained() -> None:
    inference = infer(messy(), target="churned")
    product = inference.product
    assert (product.problem_type, product.classes) == ("binary", ("no", "yes"))
    assert product.id_column == "row_id" and product.id_added
    assert product.numeric_features == ("sale_amount_eur",)
    assert product.categorical_features == ("select", "from")
    assert product.datetime_features == ("signup_date",)
    assert product.excluded == {
        "row_number": "a running number, unique per row: an id, not a feature",
        "country": "constant ('fr' in every row)",
        "notes": "free text (400 distinct values)",
        "churned_copy": "identical to the target churned: it would leak the answer",
    }
    notes = "\n".join(inference.notes)
    assert "problem type binary: churned has exactly 2 distinct values" in notes
    assert "positive class 'yes'" in notes
    assert "sale_amount_eur: numbers stored as text; 3 values are not numbers" in notes
    assert "signup_date: dates stored as text" in notes


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (" Sale Price (EUR) ", "sale_price_eur"),
        ("2nd owner", "c_2nd_owner"),
        ("SELECT", "select"),
        ("a--b__c", "a_b__c"),
        ("Größe", "gr_e"),
    ],
)
def test_column_names_become_catalog_safe(name: str, expected: str) -> None:
    assert products.normalize_column(name) == expected


def test_a_name_without_letters_or_two_names_that_collide_are_refused() -> None:
    with pytest.raises(MLAccelInputError, match=r"column name '\?\?' has no letters or digits"):
        products.normalize_column("??")
    with pytest.raises(MLAccelInputError, match=r"columns 'A b' and 'a_b' both become 'a_b'"):
        products.normalize_columns(pd.DataFrame({"A b": [1], "a_b": [2]}))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (np.bool_(False), "false"),
        (1.0, "1"),
        (2.5, "2.5"),
        (" yes ", "yes"),
        (3, "3"),
    ],
)
def test_label_text_names_classes_the_same_way_everywhere(value: object, text: str) -> None:
    assert products.label_text(value) == text


@pytest.mark.parametrize(
    ("loader", "problem", "classes"),
    [
        (datasets.load_diabetes, "regression", ()),
        (datasets.load_breast_cancer, "binary", ("0", "1")),
        (datasets.load_wine, "multiclass", ("0", "1", "2")),
        (datasets.load_iris, "multiclass", ("0", "1", "2")),
    ],
)
def test_public_data_sets_get_the_problem_type_they_are_known_for(
    loader: object, problem: str, classes: tuple[str, ...]
) -> None:
    frame = loader(as_frame=True).frame  # type: ignore[operator]
    product = infer(frame, target="target").product
    assert (product.problem_type, product.classes) == (problem, classes)
    assert len(product.numeric_features) == frame.shape[1] - 1
    if problem == "regression":
        assert product.target_std == pytest.approx(frame["target"].std(ddof=0), rel=1e-6)


def test_the_problem_type_and_positive_class_can_be_given() -> None:
    rows = pd.DataFrame({"x": [3, 1, 4, 1, 5] * 8, "grade": [1, 2, 3, 4] * 10})
    assert infer(rows, target="grade").product.problem_type == "multiclass"
    given = infer(rows, target="grade", problem_type="regression")
    assert given.product.problem_type == "regression"
    assert "problem type regression, as given" in given.notes
    rows = pd.DataFrame({"x": [3, 1, 4, 1, 5] * 8, "ok": ["good", "bad"] * 20})
    assert infer(rows, target="ok").product.positive_class in {"good", "bad"}
    assert infer(rows, target="ok", positive_class="good").product.classes == ("bad", "good")


@pytest.mark.parametrize(
    ("rows", "kwargs", "message"),
    [
        (pd.DataFrame({"x": [1, 2]}), {"target": "y"}, r"target='y' is not a column"),
        (pd.DataFrame({"x": [1, 2], "y": [None, None]}), {"target": "y"}, r"has no values"),
        (pd.DataFrame({"x": [1, 2], "y": [5, 5]}), {"target": "y"}, r"single value \('5'\)"),
        (
            pd.DataFrame({"x": [1, 2], "y": ["a", "b"]}),
            {"target": "y", "problem_type": "regression"},
            r"needs a numeric target",
        ),
        (
            pd.DataFrame({"x": range(4), "y": ["a", "b", "c", "c"]}),
            {"target": "y"},
            r"classes \['a', 'b'\] of y have a single row",
        ),
        (
            pd.DataFrame({"x": [1, 2], "y": [0, 1]}),
            {"target": "y", "positive_class": "2"},
            r"positive_class='2' is not a value of y",
        ),
        (
            pd.DataFrame({"x": [1, 2], "y": [0, 1]}),
            {"target": "y", "problem_type": "ranking"},
            r"problem_type='ranking' must be one of",
        ),
        (
            pd.DataFrame({"k": ["a", "a"], "x": [1, 2], "y": [0, 1]}),
            {"target": "y", "id_column": "k"},
            r"id column 'k' repeats 1 ids \(e.g. \['a'\]\)",
        ),
        (
            pd.DataFrame({"c": [7, 7], "y": [0, 1]}),
            {"target": "y"},
            r"has no usable feature \(left out: \{'c': \"constant",
        ),
        (pd.DataFrame(), {"target": "y"}, r"the table has no rows"),
    ],
)
def test_tables_that_cannot_be_learned_from_are_refused_with_the_fix(
    rows: pd.DataFrame, kwargs: dict, message: str
) -> None:
    with pytest.raises(MLAccelInputError, match=message):
        infer(rows, **kwargs)


def test_stable_row_ids_do_not_depend_on_row_order_and_tell_copies_apart() -> None:
    rows = pd.DataFrame({"a": [1, 2, 1], "b": ["x", "y", "x"]})
    ids = products.stable_row_ids(rows)
    assert ids.is_unique and ids[2] == f"{ids[0]}-2"
    assert products.stable_row_ids(rows.iloc[[1, 0]]).tolist() == [ids[1], ids[0]]


def test_the_contract_round_trips_through_yaml_and_the_catalog() -> None:
    product = infer(messy(), target="churned").product
    assert products.product_from_yaml(product.to_yaml()) == product
    stored = products.product_from_table_parameters(product.table_parameters(), table="db.shop")
    assert stored == product
    assert products.product_from_table_parameters({}, table="db.t") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "name: shop\ntarget: y\nproblem_type: binary\nid_column: id\nfeatures: [x]\n",
            r"unknown fields \['features'\]",
        ),
        ("name: shop\ntarget: y\n", r"lacks the fields \['id_column', 'problem_type'\]"),
        (
            "name: shop\ntarget: y\nproblem_type: binary\nid_column: id\n"
            "numeric_features: [x]\nclasses: [a]\n",
            r"needs two classes",
        ),
        (
            "name: Shop Data\ntarget: y\nproblem_type: regression\nid_column: id\n"
            "numeric_features: [x]\n",
            r"name 'Shop Data' must be lower case",
        ),
        ("name: [", r"is not valid YAML"),
    ],
)
def test_an_edited_contract_that_cannot_work_is_refused(text: str, message: str) -> None:
    with pytest.raises(MLAccelInputError, match=message):
        products.product_from_yaml(text)
