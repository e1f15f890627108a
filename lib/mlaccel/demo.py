"""The kit's two demo data products, generated deterministically from a seed (no download).

- ``used_cars``: used-car prices (regression).
- ``credit_risk``: loan defaults (binary classification).

They are realistic enough to teach with: skewed numbers, missing values, correlated features and
a learnable but noisy target. Each is registered like any user's table
(:func:`mlaccel.data.register_demo` calls :func:`mlaccel.data.register`), so nothing else in the
kit knows their columns: the contract is inferred from the generated rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

REFERENCE_YEAR = 2025  # fixed, so a seed gives the same rows on any day
MAX_ROWS = 50_000_000


@dataclass(frozen=True)
class Demo:
    """What registering a demo product tells the kit, as a user would: target, problem type,
    id column, documentation."""

    name: str
    description: str
    target: str
    problem_type: str  # "regression" | "binary"
    id_column: str
    columns: tuple[str, ...]
    column_descriptions: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


USED_CARS = Demo(
    name="used_cars",
    description="Used cars sold through the marketplace, with their sale price (regression).",
    target="price",
    problem_type="regression",
    id_column="record_id",
    columns=(
        "record_id",
        "make",
        "model",
        "year",
        "mileage",
        "engine_size",
        "owners",
        "fuel_type",
        "transmission",
        "region",
        "condition",
        "price",
    ),
    column_descriptions={
        "record_id": "Unique listing identifier",
        "make": "Manufacturer",
        "model": "Model name within the make",
        "year": "Year of first registration",
        "mileage": "Odometer reading in km at sale",
        "fuel_type": "petrol, diesel, hybrid or electric",
        "transmission": "manual or automatic",
        "engine_size": "Engine displacement in litres (0 for electric)",
        "owners": "Number of previous owners",
        "region": "Sales region",
        "condition": "Inspector's grade: excellent, good, fair or poor",
        "price": "Sale price in EUR (target)",
    },
    tags={
        "domain": "automotive",
        "owner": "pricing-team",
        "classification": "internal",
        "problem_type": "regression",
    },
)

CREDIT_RISK = Demo(
    name="credit_risk",
    description="Consumer loans with applicant data and whether they defaulted (classification).",
    target="default",
    problem_type="binary",
    id_column="record_id",
    columns=(
        "record_id",
        "age",
        "income",
        "employment_years",
        "loan_amount",
        "loan_term_months",
        "interest_rate",
        "credit_history_years",
        "num_credit_lines",
        "debt_to_income",
        "home_ownership",
        "purpose",
        "employment_type",
        "region",
        "default",
    ),
    column_descriptions={
        "record_id": "Unique loan identifier",
        "age": "Applicant age in years",
        "income": "Yearly income in EUR",
        "employment_years": "Years with the current employer",
        "loan_amount": "Amount borrowed in EUR",
        "loan_term_months": "Loan term in months",
        "interest_rate": "Yearly interest rate in percent",
        "credit_history_years": "Years since the first credit line",
        "num_credit_lines": "Open credit lines",
        "debt_to_income": "Monthly debt payments over monthly income",
        "home_ownership": "rent, own, mortgage or other",
        "purpose": "What the loan is for",
        "employment_type": "salaried, self_employed, unemployed or retired",
        "region": "Applicant region",
        "default": "1 when the loan defaulted within 12 months (target)",
    },
    tags={
        "domain": "lending",
        "owner": "risk-team",
        "classification": "confidential",
        "problem_type": "binary",
    },
)

_DEMOS = {d.name: d for d in (USED_CARS, CREDIT_RISK)}


def list_demos() -> list[str]:
    """Names of the demo data products the kit can generate."""
    return sorted(_DEMOS)


def get_demo(name: str) -> Demo:
    """The demo product ``name``.

    Examples
    --------
    >>> get_demo("used_cars").target
    'price'
    """
    if name not in _DEMOS:
        raise MLAccelInputError(
            f"{name!r} is not one of the kit's demo data products ({', '.join(list_demos())}); "
            "register your own data with a source and a target"
        )
    return _DEMOS[name]


def _check_rows_and_seed(n_rows: Any, seed: Any) -> None:
    if isinstance(n_rows, bool) or not isinstance(n_rows, int) or not 0 < n_rows <= MAX_ROWS:
        raise MLAccelInputError(f"n_rows={n_rows!r} must be a whole number from 1 to {MAX_ROWS:,}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise MLAccelInputError(f"seed={seed!r} must be a non-negative whole number")


def generate(name: str, n_rows: int, *, seed: int = 0) -> pd.DataFrame:
    """Generate ``n_rows`` rows of demo product ``name``, the same rows for the same seed.

    Examples
    --------
    >>> df = generate("credit_risk", 1000, seed=7)
    >>> df.shape
    (1000, 15)
    """
    import numpy as np

    demo = get_demo(name)
    _check_rows_and_seed(n_rows, seed)
    rng = np.random.default_rng([seed, 0 if name == "used_cars" else 1])
    make = _used_cars if name == "used_cars" else _credit_risk
    return make(rng, n_rows)[list(demo.columns)]


def _ids(n: int, prefix: str) -> np.ndarray:
    import numpy as np

    return np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), 8))


def _blank(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    import numpy as np

    out = values.astype("float64", copy=True)
    out[rng.random(len(out)) < share] = np.nan
    return out


_MAKES = {  # make: (base price EUR, engine size, models)
    "toyota": (21000, 1.8, ("corolla", "yaris", "rav4")),
    "volkswagen": (22000, 1.6, ("golf", "polo", "passat")),
    "ford": (18000, 1.5, ("focus", "fiesta", "kuga")),
    "bmw": (34000, 2.2, ("series_3", "series_1", "x3")),
    "mercedes": (36000, 2.2, ("c_class", "a_class", "glc")),
    "renault": (16000, 1.4, ("clio", "megane", "captur")),
    "peugeot": (17000, 1.4, ("208", "308", "3008")),
    "kia": (18500, 1.6, ("ceed", "picanto", "sportage")),
    "skoda": (19000, 1.6, ("octavia", "fabia", "kodiaq")),
    "tesla": (45000, 0.0, ("model_3", "model_y", "model_s")),
}
_MAKE_SHARE = (0.14, 0.15, 0.12, 0.08, 0.07, 0.11, 0.1, 0.08, 0.09, 0.06)
_MODEL_FACTOR = (1.0, 0.8, 1.3)
_CONDITION = ("excellent", "good", "fair", "poor")
_CONDITION_FACTOR = {"excellent": 1.12, "good": 1.0, "fair": 0.85, "poor": 0.68}
_REGIONS = ("north", "south", "east", "west", "central")


def _used_cars(rng: np.random.Generator, n: int) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    makes = np.array(list(_MAKES))
    make = rng.choice(makes, n, p=_MAKE_SHARE)
    model_idx = rng.choice(3, n, p=(0.5, 0.3, 0.2))
    model = np.array([_MAKES[m][2][i] for m, i in zip(make, model_idx, strict=True)])
    age = np.clip(rng.gamma(2.2, 2.6, n), 0, 19)
    age = np.clip(age, 0, 25)
    year = (REFERENCE_YEAR - np.round(age)).astype("int64")
    age = REFERENCE_YEAR - year
    is_tesla = make == "tesla"
    recent = year >= 2018
    fuel = np.where(
        is_tesla,
        "electric",
        np.where(
            rng.random(n) < np.where(recent, 0.18, 0.05),
            rng.choice(["hybrid", "electric"], n, p=(0.7, 0.3)),
            rng.choice(["petrol", "diesel"], n, p=(0.62, 0.38)),
        ),
    ).astype(object)
    transmission = np.where(
        (fuel == "electric") | (rng.random(n) < 0.35 + 0.03 * (year - 2005)), "automatic", "manual"
    )
    base_engine = np.array([_MAKES[m][1] for m in make])
    engine = np.where(fuel == "electric", 0.0, np.round(base_engine * rng.lognormal(0, 0.15, n), 1))
    km_per_year = rng.lognormal(np.log(13000), 0.45, n)
    mileage = np.round(np.maximum(age, 0.3) * km_per_year, -2)
    mileage = np.maximum(mileage, 0)
    owners = np.minimum(1 + rng.poisson(age / 5.0), 6)
    region = rng.choice(_REGIONS, n, p=(0.22, 0.2, 0.18, 0.22, 0.18))
    condition = np.where(
        rng.random(n) < 0.55,
        np.where(age < 4, "excellent", "good"),
        rng.choice(_CONDITION, n, p=(0.15, 0.4, 0.3, 0.15)),
    )
    base = np.array([_MAKES[m][0] for m in make]) * np.array(_MODEL_FACTOR)[model_idx]
    fuel_factor = np.select(
        [fuel == "electric", fuel == "hybrid", fuel == "diesel"], [1.15, 1.08, 0.97], 1.0
    )
    region_factor = np.select([region == "central", region == "south"], [1.06, 0.95], 1.0)
    price = (
        base
        * np.exp(-0.085 * age)
        * np.exp(-0.0000022 * mileage)
        * np.vectorize(_CONDITION_FACTOR.get, otypes=[float])(condition)
        * fuel_factor
        * region_factor
        * (1 - 0.03 * (owners - 1))
        * (1 + 0.04 * (transmission == "automatic"))
        * rng.lognormal(0, 0.09, n)
    )
    return pd.DataFrame(
        {
            "record_id": _ids(n, "car-"),
            "make": make,
            "model": model,
            "year": year,
            "mileage": _blank(rng, mileage, 0.03),
            "engine_size": _blank(rng, engine, 0.02),
            "owners": owners.astype("int64"),
            "fuel_type": fuel.astype(str),
            "transmission": transmission,
            "region": region,
            "condition": pd.Series(condition).mask(rng.random(n) < 0.04).to_numpy(),
            "price": np.round(price, 0),
        }
    )


_PURPOSES = ("car", "education", "home_improvement", "debt_consolidation", "business", "medical")
_PURPOSE_RISK = {
    "car": -0.2,
    "education": 0.1,
    "home_improvement": -0.3,
    "debt_consolidation": 0.35,
    "business": 0.5,
    "medical": 0.25,
}
_EMPLOYMENT_RISK = {"salaried": 0.0, "self_employed": 0.35, "unemployed": 1.2, "retired": 0.1}
_HOME_RISK = {"own": -0.35, "mortgage": -0.15, "rent": 0.2, "other": 0.3}


def _credit_risk(rng: np.random.Generator, n: int) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    age = np.clip(np.round(rng.gamma(6.0, 6.5, n) + 18), 18, 85)
    employment_type = np.where(
        age > 66,
        "retired",
        rng.choice(["salaried", "self_employed", "unemployed"], n, p=(0.78, 0.15, 0.07)),
    )
    income = rng.lognormal(np.log(38000), 0.5, n) * (1 + 0.012 * np.minimum(age - 18, 30))
    income = np.where(employment_type == "unemployed", income * 0.3, income)
    income = np.maximum(income, 3000)
    employment_years = np.where(
        employment_type == "unemployed", 0, np.minimum(rng.exponential(6, n), age - 17)
    )
    loan_amount = np.round(rng.lognormal(np.log(12000), 0.7, n), -2)
    term = rng.choice([12, 24, 36, 48, 60], n, p=(0.1, 0.2, 0.35, 0.15, 0.2))
    credit_history = np.maximum(0, np.minimum(age - 18, rng.gamma(3, 3.5, n)))
    lines = rng.poisson(3 + credit_history / 6)
    debt_to_income = np.clip(rng.beta(2, 6, n) + loan_amount / income / 10, 0, 1.5)
    home = rng.choice(list(_HOME_RISK), n, p=(0.25, 0.35, 0.35, 0.05))
    purpose = rng.choice(_PURPOSES, n, p=(0.2, 0.1, 0.15, 0.35, 0.1, 0.1)).astype(object)
    region = rng.choice(_REGIONS, n)
    interest = np.round(
        4 + 9 * debt_to_income + rng.normal(0, 1.5, n) - 0.1 * credit_history.clip(0, 20), 2
    ).clip(1.5, 29.9)
    debt_to_income = np.clip(debt_to_income, 0, 2.0)
    # Thresholds and interactions, as lenders see them: a linear score cannot capture it all.
    logit = (
        -2.3
        + 1.7 * (debt_to_income > 0.42)
        + 1.2 * np.maximum(debt_to_income - 0.42, 0)
        - 0.6 * np.log(income / 38000)
        + 0.07 * (interest - 8)
        + 0.9 * ((employment_years < 1) & (employment_type != "retired"))
        + 0.7 * (loan_amount / income > 0.4)
        - 0.03 * np.minimum(credit_history, 15)
        + 0.7 * (age < 23)
        + 0.5 * (age > 72)
        + 0.004 * (term - 36)
        + np.vectorize(_PURPOSE_RISK.get, otypes=[float])(purpose)
        + np.vectorize(_EMPLOYMENT_RISK.get, otypes=[float])(employment_type)
        + np.vectorize(_HOME_RISK.get, otypes=[float])(home)
        + rng.normal(0, 0.5, n)
    )
    default = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype("int64")
    return pd.DataFrame(
        {
            "record_id": _ids(n, "loan-"),
            "age": age.astype("int64"),
            "income": _blank(rng, np.round(income, -1), 0.03),
            "employment_years": _blank(rng, np.round(employment_years, 1), 0.05),
            "loan_amount": loan_amount,
            "loan_term_months": term.astype("int64"),
            "interest_rate": interest,
            "credit_history_years": np.round(credit_history, 1),
            "num_credit_lines": lines.astype("int64"),
            "debt_to_income": np.round(debt_to_income, 4),
            "home_ownership": home,
            "purpose": purpose.astype(str),
            "employment_type": employment_type,
            "region": region,
            "default": default,
        }
    )
