"""Training warnings: logged at WARNING, recorded on the linker, saved with the model, and
free of record values (linkage/diagnostics.py, linkage/checks.py)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import polars as pl
import pytest

from linkage import Linker
from linkage import comparisons as cl
from linkage.diagnostics import CODES, TrainingDiagnostics
from tests.linkage.test_linker import dedupe_settings, make_people


@pytest.fixture(scope="module")
def people() -> pl.DataFrame:
    return make_people(600, seed=5)[0]


def _train(records: pl.DataFrame, caplog: pytest.LogCaptureFixture, **overrides: object) -> Linker:
    linker = Linker(dedupe_settings(**overrides), records)
    with caplog.at_level(logging.WARNING, logger="linkage"):
        linker.train(max_pairs=50_000, seed=3)
    return linker


def test_em_that_does_not_converge_is_a_warning(
    people: pl.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    linker = _train(people, caplog, em_max_iterations=1)
    found = [w for w in linker.training_warnings if w.code == "em_not_converged"]
    assert found and all(w.rule and w.details["iterations"] == 1 for w in found)
    logged = [r for r in caplog.records if "[em_not_converged]" in r.getMessage()]
    assert len(logged) == len(found) and all(r.levelno == logging.WARNING for r in logged)
    assert [p.converged for p in linker.diagnostics.passes] == [False] * len(
        linker.diagnostics.passes
    )


def test_a_column_null_throughout_is_a_warning(
    people: pl.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    blank = people.with_columns(pl.lit(None, dtype=pl.String).alias("postcode"))
    linker = _train(blank, caplog, blocking_rules=dedupe_settings().blocking_rules[:2])
    found = [w for w in linker.training_warnings if w.code == "column_all_null"]
    assert [(w.comparison, w.details["column"]) for w in found] == [("postcode", "postcode")]


def test_dates_that_do_not_parse_are_a_warning(
    people: pl.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    # the dates are written 19850412: without date_format none of them parses
    comparisons = list(dedupe_settings().comparisons)
    comparisons[2] = cl.DateOfBirthComparison("dob")
    linker = _train(people, caplog, comparisons=comparisons)
    found = [w for w in linker.training_warnings if w.code == "dates_unparsed"]
    assert [(w.comparison, w.details["parsed_share"]) for w in found] == [("dob", 0.0)]
    assert "date_format" in found[0].message
    with_format = _train(people, caplog)
    assert "dates_unparsed" not in [w.code for w in with_format.training_warnings]


def test_warnings_are_saved_with_the_model_and_carry_no_values(
    people: pl.DataFrame, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    blank = people.with_columns(pl.lit(None, dtype=pl.String).alias("postcode"))
    linker = _train(blank, caplog, em_max_iterations=2)
    assert linker.training_warnings
    assert {w.code for w in linker.training_warnings} <= set(CODES)
    path = tmp_path / "model.json"
    linker.save_model(path)
    saved = json.loads(path.read_text())["diagnostics"]
    loaded = Linker.load_model(path, blank)
    assert loaded.training_warnings == linker.training_warnings
    assert TrainingDiagnostics.from_dict(saved).to_dict() == linker.diagnostics.to_dict()
    text = json.dumps(saved) + "\n".join(r.getMessage() for r in caplog.records)
    values = {v for c in ("first_name", "surname", "dob") for v in people[c].drop_nulls().to_list()}
    assert not [v for v in values if len(v) >= 4 and v in text]


def test_an_unknown_code_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown training warning code"):
        TrainingDiagnostics().warn(logging.getLogger("linkage"), "nonsense", "x", step="data")
