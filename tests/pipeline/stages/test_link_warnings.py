"""Training problems logged by linkage reach the link stage's outcome, the manifest, the report
and ``pprl run``'s summary (pipeline/linkage_warnings.py, pipeline/stages/link.py)."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import LinkageSpec
from pipeline.linkage_warnings import capture_warnings, training_warnings
from pipeline.stages.link import UID, link_batch, linkage_view
from pipeline.stages.link_records import LinkRecords
from pipeline.stages.services import LinkResult
from tests.pipeline.runner_support import (
    HEADER,
    fake_services,
    make_keystore,
    people_rows,
    write_config,
    write_csv,
)

SPEC = LinkageSpec.model_validate(
    {"mode": "dedupe", "blocking": ["surname"], "comparisons": {"surname": "exact"}}
)
NOT_CONVERGED = "EM pass %r did not converge in %d iterations"


def _frame() -> pl.DataFrame:
    return pl.DataFrame(
        {"_source": ["s"] * 3, "_file": ["f"] * 3, "_row": [2, 3, 4], "surname": list("aab")}
    )


def _warning_linker(structured: tuple[str, ...] | None = None):  # type: ignore[no-untyped-def]
    """A linker that logs two training problems (one twice) and, when given, also keeps its
    own list of them, as linkage's Linker may."""

    def linker(records: LinkRecords, spec: LinkageSpec, decisions: object) -> LinkResult:
        training = logging.getLogger("linkage.training")
        training.warning(NOT_CONVERGED, "surname", 25)
        training.warning(NOT_CONVERGED, "surname", 25)
        training.info("estimated u from %d random pairs", 10)
        logging.getLogger("linkage.model").warning("m not estimated for %s", "surname")
        logging.getLogger("pipeline.stages.link_engine").warning("identifier constraint: 2")
        clusters = records.ids.select(UID, pl.col(UID).alias("cluster"))
        first, second = records.ids[UID].sort().to_list()[:2]
        pairs = pl.DataFrame({"_uid_l": [first], "_uid_r": [second], "match_probability": [0.5]})
        return LinkResult(clusters, pairs, 0.8, 0.4, {"identifier_links": 0}, structured)

    return linker


def test_warnings_are_captured_once_each_in_order_without_info() -> None:
    outcome = link_batch(linkage_view(_frame()), SPEC, _warning_linker())
    assert outcome.warnings == [
        "EM pass 'surname' did not converge in 25 iterations",
        "m not estimated for surname",
        "identifier constraint: 2",
    ]
    assert (outcome.match_threshold, outcome.review_threshold) == (0.8, 0.4)
    assert outcome.summary()["counts"] == {"identifier_links": 0}


def test_the_linkers_own_list_replaces_its_log_records_but_not_the_pipelines() -> None:
    outcome = link_batch(
        linkage_view(_frame()), SPEC, _warning_linker(("lambda above the one-to-one bound",))
    )
    assert outcome.warnings == ["lambda above the one-to-one bound", "identifier constraint: 2"]


def test_without_linkage_there_are_no_thresholds_and_a_skip_is_a_warning() -> None:
    none = link_batch(linkage_view(_frame()), LinkageSpec(), None)
    assert none.match_threshold is None and none.warnings == []
    one_source = LinkageSpec.model_validate({**SPEC.model_dump(), "mode": "link"})
    skipped = link_batch(linkage_view(_frame()), one_source, None)
    assert skipped.match_threshold is None
    assert skipped.warnings == [
        "linkage skipped: every record (this batch and earlier runs) is from one source; "
        "none is linked"
    ]


def test_a_quiet_log_level_hides_warnings_from_the_log_but_not_from_the_capture() -> None:
    logger = logging.getLogger("linkage")
    stream = io.StringIO()
    shown = logging.StreamHandler(stream)
    before = (logger.level, logger.propagate)
    logger.addHandler(shown)
    logger.setLevel(logging.ERROR)
    logger.propagate = False
    try:
        with capture_warnings(("linkage",)) as found:
            logging.getLogger("linkage.training").warning("m not estimated for %s", "dob")
            logging.getLogger("linkage.training").error("no candidate pairs")
        logging.getLogger("linkage.training").warning("after the block")
    finally:
        logger.removeHandler(shown)
        logger.setLevel(before[0])
        logger.propagate = before[1]
    assert found.messages() == ["m not estimated for dob", "no candidate pairs"]
    assert stream.getvalue() == "no candidate pairs\n"  # the warning was kept, not printed
    assert not shown.filters  # the temporary filter is gone


def _workspace(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Six hospital records, deduplicated on surname; returns the config path."""
    keystore = make_keystore(root, monkeypatch)
    write_csv(root / "in/hospital/a.csv", HEADER, people_rows(0, 6))
    return write_config(root, keystore, linkage=SPEC.model_dump())


def test_run_manifest_report_and_summary_carry_the_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _workspace(tmp_path, monkeypatch)
    monkeypatch.setattr(
        "pipeline.stages.services.Services.default",
        classmethod(lambda cls: fake_services(_warning_linker())),
    )
    result = CliRunner().invoke(cli, ["run", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 warning(s) (see the report)" in result.output
    run = next((tmp_path / "out").glob("run-*"))
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["warnings"][0] == "EM pass 'surname' did not converge in 25 iterations"
    assert len(manifest["warnings"]) == 3
    linkage_facts = manifest["linkage"]
    assert (linkage_facts["match_threshold"], linkage_facts["review_threshold"]) == (0.8, 0.4)
    assert linkage_facts["match_threshold_setting"] == "auto"
    assert (linkage_facts["pairs_matched"], linkage_facts["pairs_for_review"]) == (0, 1)
    report = (run / "report.html").read_text()
    assert "<h2>Warnings</h2>" in report and "3 warning(s)" in report
    assert "EM pass &#x27;surname&#x27; did not converge in 25 iterations" in report


def test_a_run_resumed_after_the_link_stage_still_reports_its_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline import run_stages, runner
    from pipeline.config import load_config

    config = load_config(_workspace(tmp_path, monkeypatch))
    calls: list[int] = []
    warned = _warning_linker()

    def counting(view: pl.DataFrame, spec: LinkageSpec, decisions: object) -> LinkResult:
        calls.append(1)
        return warned(view, spec, decisions)

    original = run_stages.deidentify_stage.deidentify

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(run_stages.deidentify_stage, "deidentify", explode)
    with pytest.raises(RuntimeError):
        runner.run_pipeline(config, services=fake_services(counting))
    monkeypatch.setattr(run_stages.deidentify_stage, "deidentify", original)
    summary = runner.run_pipeline(config, services=fake_services(counting))
    assert calls == [1]  # the link stage was resumed from its checkpoint
    assert len(summary.manifest["warnings"]) == 3
    assert summary.manifest["linkage"]["match_threshold"] == 0.8


def test_a_linkers_own_list_is_read_when_it_keeps_one() -> None:
    class Problem:
        def __init__(self, message: str) -> None:
            self.message = message

    class Listing:
        def __init__(self) -> None:
            self.training_warnings = [Problem("EM did not converge"), "lambda above its bound"]

    assert training_warnings(Listing()) == ("EM did not converge", "lambda above its bound")
    assert training_warnings(object()) is None
