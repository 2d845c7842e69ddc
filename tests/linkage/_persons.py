"""Synthetic person files prepared and linked as the linkage benchmark does (benchmarks/linkage)."""

from __future__ import annotations

import numpy as np
import polars as pl

from linkage import LinkageSettings, Linker, block_on
from linkage import comparisons as cl


def prepare_persons(frame: pl.DataFrame) -> pl.DataFrame:
    """As the linkage benchmark prepares data: trimmed lower case, blanks as null."""
    exprs = [pl.col("record_id")]
    for col in ("first_name", "surname", "dob", "postcode", "house_number", "street", "town"):
        e = pl.col(col).cast(pl.String).str.strip_chars()
        e = e.str.to_uppercase() if col == "postcode" else e.str.to_lowercase()
        exprs.append(pl.when(e == "").then(None).otherwise(e).alias(col))
    out = frame.select(exprs)
    return out.with_columns(dob_year=pl.col("dob").str.slice(0, 4))


def person_settings(*, tf: bool = True) -> LinkageSettings:
    """The comparisons and blocking rules of the linkage benchmark (benchmarks/linkage)."""
    return LinkageSettings(
        link_type="link_only",
        unique_id_column="record_id",
        comparisons=[
            cl.NameComparison("first_name", term_frequency=tf),
            cl.NameComparison("surname", term_frequency=tf),
            cl.DateOfBirthComparison("dob"),
            cl.PostcodeComparison("postcode"),
            cl.ExactComparison("house_number"),
            cl.JaroWinklerAtThresholds("street", (0.9, 0.7)),
            cl.ExactComparison("town", term_frequency=tf),
        ],
        blocking_rules=[
            block_on("postcode"),
            block_on("surname", "dob_year"),
            block_on("first_name", "dob"),
        ],
    )


def household_name_settings(link_type: str) -> LinkageSettings:
    """Names, middle initial and street address of the household generator
    (benchmarks.independent.households), blocked as its refit and fallback-block tests need."""
    return LinkageSettings(
        link_type=link_type,  # type: ignore[arg-type]
        unique_id_column="record_id",
        comparisons=[
            cl.NameComparison("first_name", term_frequency=True),
            cl.ExactComparison("middle_initial"),
            cl.NameComparison("last_name", term_frequency=True),
            cl.ExactComparison("street_number"),
            cl.JaroWinklerAtThresholds("street_name", (0.9, 0.7)),
        ],
        blocking_rules=[
            block_on("street_number", "street_name"),
            block_on("first_name", "last_name"),
            block_on("first_name", "street_name"),
        ],
    )


def household_dedupe_settings() -> LinkageSettings:
    """Deduplicating households of people (benchmarks/independent/households.py): the
    comparisons and blocking rules of the pseudopeople census + ACS + CPS task."""
    return LinkageSettings(
        link_type="dedupe_only",
        unique_id_column="record_id",
        comparisons=[
            cl.NameComparison("first_name", term_frequency=True),
            cl.ExactComparison("middle_initial"),
            cl.NameComparison("last_name", term_frequency=True),
            cl.DateOfBirthComparison("dob"),
            cl.ExactComparison("sex"),
            cl.ExactComparison("street_number"),
            cl.JaroWinklerAtThresholds("street_name", (0.9, 0.7)),
        ],
        blocking_rules=[
            block_on("street_number", "street_name"),
            block_on("first_name", "last_name"),
            block_on("first_name", "dob"),
            block_on("last_name", "dob"),
        ],
    )


#: The name of the first name + surname rule of :func:`household_dedupe_settings`
HOUSEHOLD_NAME_BLOCK = "block_on(first_name, last_name)"

#: The columns of the household generator's records that :func:`household_dedupe_settings` reads
HOUSEHOLD_COLUMNS = (
    "record_id",
    "first_name",
    "middle_initial",
    "last_name",
    "dob",
    "sex",
    "street_number",
    "street_name",
)


def name_pass_dob(records: pl.DataFrame, truth: pl.DataFrame) -> tuple[np.ndarray, pl.Series]:
    """Date of birth's m from the first name + surname pass of a model trained on ``records``
    (:func:`household_dedupe_settings`), and the years between the birth dates of each true
    duplicate pair in ``truth`` (``id_l``, ``id_r``; null where a date does not parse)."""
    linker = Linker(household_dedupe_settings(), records.select(HOUSEHOLD_COLUMNS))
    linker.train(seed=1)
    passes = linker._trainer.pass_estimates["dob"]
    (estimate,) = [p for p in passes if p.rule == HOUSEHOLD_NAME_BLOCK]
    dob = records.select(id_l="record_id", dob_l="dob")
    true = truth.join(dob, on="id_l").join(
        dob.rename({"id_l": "id_r", "dob_l": "dob_r"}), on="id_r"
    )
    born = pl.col("dob_l").str.to_date(strict=False) - pl.col("dob_r").str.to_date(strict=False)
    years = true.drop_nulls().select(born.dt.total_days().abs() / 365.25).to_series()
    return np.asarray(estimate.m, dtype=float), years
