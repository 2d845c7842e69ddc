"""The earlier-delivery summary against re-reading every earlier extract, over several runs.

The same synthetic inputs (seed 5, 1,000 persons, split into four batches) go through two
projects with one keystore: one de-identifies each later batch against the summary in its
state folder (the default), the other against every earlier extract read whole
(:func:`earlier_extracts`, as before the summary). Every run's disclosure figures and
delivered bytes must be equal; the summary must also have given fewer rows than it holds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pipeline.commands.demo import demo_config
from pipeline.config import load_config
from pipeline.runner import run_pipeline
from pipeline.stages import deidentify as deidentify_stage
from pipeline.stages.earlier import earlier_extracts, hashed_key
from pipeline.stages.earlier_summary import Summary
from synthetic import split_demo_sources, write_demo_sources
from tests.pipeline.runner_support import demo_keys, without_chart_rendering

BATCHES = [
    ["hospital/ep-0.csv", "gp/reg-0.parquet"],
    ["hospital/ep-1.csv", "gp/reg-1.parquet"],
    ["hospital/ep-2.csv"],
    ["hospital/ep-3.csv"],
]


def _project(root: Path, name: str) -> Path:
    config = demo_config(".", "../keys", f"out-{name}")
    config["sources"][0]["path"] = "in/hospital/*.csv"  # type: ignore[index]
    config["sources"][1]["path"] = "in/gp/*.parquet"  # type: ignore[index]
    config["sources"][1]["allow_empty"] = True  # type: ignore[index]
    config["delivery"] = {
        "path": f"out-{name}",
        "work_dir": f"work-{name}",
        "state_dir": f"state-{name}",
    }
    config["disclosure"]["suppression_budget"] = 1.0  # type: ignore[index]  # small batches
    path = root / name / "config.yaml"
    path.parent.mkdir()
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def _run_all(root: Path, name: str) -> list[dict[str, Any]]:
    """Every batch in turn; per run, its manifest and extracts' SHA-256s."""
    path = _project(root, name)
    (root / name / "in" / "hospital").mkdir(parents=True)
    (root / name / "in" / "gp").mkdir()
    out = []
    for files in BATCHES:
        for f in files:
            (root / name / "in" / f).write_bytes((root / "split" / f).read_bytes())
        summary = run_pipeline(load_config(path))
        assert summary.delivery_dir is not None
        manifest = json.loads((summary.delivery_dir / "manifest.json").read_text(encoding="utf-8"))
        out.append(manifest)
    return out


def _reread(config: Any, qis: Any, *, exclude: str | None = None) -> Any:
    return earlier_extracts(config, qis, exclude=exclude)


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Any], list[Any], Path]:
    root = tmp_path_factory.mktemp("summary")
    written = write_demo_sources(root / "inputs", n=1000, seed=5)
    (root / "split").mkdir()
    split_demo_sources(written.hospital_path.parent, root / "split", repeat_last=150)
    with pytest.MonkeyPatch.context() as patch:
        demo_keys(root, patch)
        without_chart_rendering(patch)  # the reports are not compared
        patch.chdir(root)
        summarised = _run_all(root, "summary")
        patch.setattr(deidentify_stage, "recipient_holdings", _reread)
        reread = _run_all(root, "reread")
    return summarised, reread, root


def _figures(manifest: dict[str, Any]) -> dict[str, Any]:
    """The disclosure figures, with earlier extracts named by source (run IDs differ)."""
    disclosure = dict(manifest["disclosure"])
    disclosure["linked_earlier"] = [
        re.sub(r"^[^/]+/", "", n) for n in disclosure.get("linked_earlier", [])
    ]
    return disclosure


def test_the_summary_gives_the_same_treatment_and_figures_as_rereading(
    routes: tuple[list[Any], list[Any], Path],
) -> None:
    summarised, reread, _ = routes
    assert len(summarised) == len(reread) == len(BATCHES)
    for mine, theirs in zip(summarised, reread, strict=True):
        assert _figures(mine) == _figures(theirs)
        assert mine["outputs"] == theirs["outputs"]  # same bytes delivered
    later = [m["disclosure"] for m in summarised[1:]]
    assert all(d["linked_earlier"] for d in later)  # earlier extracts did join
    touched = [sum(d["linked_k_anonymity"]["records_touched"].values()) for d in later]
    assert sum(touched) > 0  # and the treatment had work to do


def test_the_summary_covers_every_earlier_extract_and_gives_only_part_of_them(
    routes: tuple[list[Any], list[Any], Path],
) -> None:
    _, _, root = routes
    config = load_config(root / "summary" / "config.yaml")
    state = root / "summary" / "state-summary"
    index = json.loads((state / "earlier" / "summary.json").read_text())
    covered = {f["label"]: f["sha256"] for f in index["files"]}
    last = json.loads((root / "summary" / "out-summary" / "index.json").read_text())["latest"]
    last = last["run_id"]
    listed = earlier_extracts(config, config.disclosure.quasi_identifiers, exclude=last)
    assert covered.keys() >= listed.keys()  # the last run's own extracts join the next run
    held = deidentify_stage.recipient_holdings(
        config, config.disclosure.quasi_identifiers, exclude=last
    )
    assert isinstance(held, Summary)
    total = sum(f.height for f in listed.values())
    keys = sorted({k for f in index["files"] if f["part"] for k in f["keys"]})
    one = next(iter(listed.values())).head(1).select(hashed_key(k) for k in keys)
    relevant = held.relevant(keys, {"x": one})
    assert 0 < sum(f.height for f in relevant.frames.values()) < total
    assert relevant.units_elsewhere > 0
