"""Running a link job: train (or load) the model, score, decide, cluster, evaluate, and write
the outputs, the manifest and one audit entry."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from linkage import Linker
from linkage.errors import InputDataError, SettingsError
from linkage.evaluate import PosteriorSummary
from linkage.sources import LINKED, SOURCE_L, SOURCE_R
from pipeline.atomic import write_text_atomic, write_with_atomic
from pipeline.audit import AuditLog
from pipeline.charts import record_training
from pipeline.errors import ConfigError, DataError
from pipeline.linkage_warnings import capture_warnings, combined, training_warnings
from pipeline.linkconfig import LinkJobConfig, build_rule
from pipeline.linkjob.clerical import (
    CLERICAL,
    forced_certain,
    kept_pairs,
    mark_decisions,
    one_to_one_after_decisions,
    read_link_decisions,
    with_decisions_applied,
)
from pipeline.linkjob.html_report import ReportInputs, render_link_report
from pipeline.linkjob.inputs import (
    check_job,
    load_job,
    needed_columns,
    read_input,
    read_truth,
    standardise,
)
from pipeline.linkjob.review_file import review_rows
from pipeline.manifest import file_entry, write_manifest
from pipeline.stages.link_diagnostics import self_match_histogram

logger = logging.getLogger(__name__)

SWEEP = [round(0.05 * k, 2) for k in range(1, 20)] + [0.99, 0.999]
SIDES = ("left", "right")
OUTPUT_FILES = (
    "pairs.parquet",
    "clusters.parquet",
    "review.csv",
    "model.json",
    "evaluation.json",
    "link-report.html",
)
MANIFEST_FILE = "link-manifest.json"
#: The steps a job announces to its ``progress`` callback, in order.
STEPS = ("read", "train", "score", "write")
Progress = Callable[[str, int, int], None]
#: Loggers whose WARNING records the job reports: the engine's and the job's own.
JOB_LOGGERS = ("linkage", "pipeline.linkjob")


@dataclass(frozen=True)
class LinkJobResult:
    """Where a job wrote its outputs, and its manifest body (counts, thresholds, checksums,
    and ``labelled`` precision/recall when the job had known links)."""

    output: Path
    manifest: dict[str, Any]

    def summary_line(self) -> str:
        c = self.manifest["counts"]
        line = (
            f"{c['candidate_pairs']} candidate pairs, {c['matches']} matches, "
            f"{c['review']} for review, {c['clusters']} clusters"
        )
        if "labelled" in self.manifest:
            lab = self.manifest["labelled"]
            line += (
                f"; precision {lab['precision']:.4f} recall {lab['recall']:.4f} F1 {lab['f1']:.4f}"
            )
        if (clerical := self.manifest.get("clerical_decisions")) is not None:
            line += f"; {clerical['applied']} clerical decision(s) applied"
            if clerical["not_candidates"]:
                line += f" ({clerical['not_candidates']} not among the candidate pairs, ignored)"
        warnings = len(self.manifest.get("warnings", []))
        return line + f"; {warnings} warning(s)" + (" (see link-report.html)" if warnings else "")


@dataclass(frozen=True)
class _Decided:
    """Scored pairs and what the thresholds and curators' decisions made of them."""

    thresholds: dict[str, Any]
    summary: PosteriorSummary
    candidate_pairs: int  # every pair the blocking rules made
    scored: pl.DataFrame  # those at or above linkage's probability floor
    decided: pl.DataFrame  # pairs.parquet
    matches: pl.DataFrame  # the matches, those a curator made at probability 1
    clusters: pl.DataFrame
    review: pl.DataFrame  # the grey band's undecided pairs
    for_review_file: pl.DataFrame  # those and the pairs a curator decided, as scored
    clerical: dict[str, int] | None  # counts of the curators' decisions, if any were given


def check_link_job(config: str | Path | LinkJobConfig) -> LinkJobConfig:
    """The job, once every problem with it and its input headers has been ruled out (one
    :class:`ConfigError` lists them all)."""
    cfg = load_job(config)
    check_job(cfg)
    return cfg


def run_link_job(
    config: str | Path | LinkJobConfig,
    *,
    output: Path | None = None,
    report_records: bool = False,
    review_records: bool = False,
    decisions: Path | None = None,
    progress: Progress | None = None,
) -> LinkJobResult:
    """Run a job end to end, writing into ``output`` (default: the config's output folder).

    ``report_records`` shows record values in the report's record views (waterfalls,
    comparison viewer, cluster studio); ``review_records`` puts both records' compared
    values side by side in ``review.csv`` (:mod:`pipeline.linkjob.review_file`);
    ``decisions`` is a curator's decision file, applied before clustering
    (:mod:`pipeline.linkjob.clerical`); ``progress`` is told each step as it starts."""
    step = progress or _quiet
    cfg = check_link_job(config)
    clerical = (
        None if decisions is None else read_link_decisions(decisions, dedupe=cfg.mode == "dedupe")
    )
    out = output or cfg.resolve(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    needed = needed_columns(cfg)
    step("read", 1, len(STEPS))
    frames = [
        standardise(read_input(cfg, i, needed), cfg.standardise) for i in range(len(cfg.inputs))
    ]
    truth = read_truth(cfg)
    with capture_warnings(JOB_LOGGERS) as captured:
        step("train", 2, len(STEPS))
        with record_training() as training:
            linker = build_linker(cfg, frames)
        try:
            with engine_errors():
                step("score", 3, len(STEPS))
                decided = _decide(cfg, linker, clerical)
                evaluation = _evaluation(linker, decided, truth)
                evaluation["warnings"] = combined(captured, training_warnings(linker))
                step("write", 4, len(STEPS))
                report = ReportInputs(
                    linker,
                    decided.scored,
                    decided.review,
                    decided.clusters,
                    frames,
                    training if cfg.model is None else None,
                    self_match_histogram(linker, pl.concat(frames, how="diagonal_relaxed")),
                )
                review = review_rows(
                    linker, decided.for_review_file, frames, records=review_records
                )
                counts = _write_outputs(cfg, linker, frames, decided, evaluation, review, out)
                html = render_link_report(cfg, counts, evaluation, report, records=report_records)
                write_text_atomic(out / "link-report.html", html)
        finally:
            linker.close()
    sources = {"decisions": decisions} if decisions is not None else {}
    values = {"review.csv": review_records, "link-report.html": report_records}
    return LinkJobResult(out, _record(cfg, out, counts, evaluation, sources, values))


def _quiet(step: str, number: int, total: int) -> None:
    """No progress display."""


def build_linker(cfg: LinkJobConfig, frames: list[pl.DataFrame]) -> Linker:
    """The job's saved model on these frames, or a new one trained on them."""
    right = frames[1] if len(frames) > 1 else None
    with engine_errors():
        if cfg.model is not None:
            return Linker.load_model(cfg.resolve(cfg.model), frames[0], right)
        linker = Linker(cfg.settings(), frames[0], right)
        rules = [build_rule(r) for r in cfg.training.em_rules] if cfg.training.em_rules else None
        linker.train(
            max_pairs=cfg.training.u_max_pairs, seed=cfg.training.seed, training_rules=rules
        )
        return linker


@contextmanager
def engine_errors() -> Iterator[None]:
    """Engine exceptions as pipeline errors (exit 2 for settings, 3 for data)."""
    try:
        yield
    except InputDataError as exc:
        raise DataError(exc.problems) from None
    except SettingsError as exc:
        raise ConfigError(exc.problems) from None
    except duckdb.Error as exc:  # the message may quote SQL: name the kind only
        raise ConfigError(
            f"a blocking rule or comparison failed in DuckDB "
            f"({type(exc).__name__}); check the SQL and column types"
        ) from None


def _decide(cfg: LinkJobConfig, linker: Linker, decisions: pl.DataFrame | None) -> _Decided:
    """Score the candidate pairs (those below linkage's floor of 1e-4 are dropped), apply the
    curators' decisions and the thresholds, cluster the matches."""
    t = cfg.thresholds
    scored = linker.predict()
    summary = linker.posterior_summary()
    match_t = summary.auto_threshold if t.match == "auto" else float(t.match)
    second_links = None
    if linker.settings.source_column is not None:
        by_source = linker.link_by_source(scored, None if t.match == "auto" else match_t)
        summary, match_t = by_source.summary, by_source.threshold
        scored = by_source.pairs.drop(SOURCE_L, SOURCE_R, LINKED)
        second_links = by_source.pairs.filter(
            (pl.col("match_probability") >= match_t) & ~pl.col(LINKED)
        ).select("id_l", "id_r")
    review_t = min(t.review if t.review is not None else match_t, match_t)
    cluster_t = t.cluster if t.cluster is not None else match_t
    marked, clerical = mark_decisions(scored, decisions, dedupe=cfg.mode == "dedupe")
    kept = kept_pairs(marked, review_t)
    if t.one_to_one:
        kept = one_to_one_after_decisions(kept, linker.one_to_one)
    if second_links is not None:  # a record's second link to one source: dropped
        undecided = pl.col(CLERICAL).is_null()
        dropped = kept.filter(undecided).join(second_links, on=["id_l", "id_r"], how="semi")
        kept = kept.join(dropped.select("id_l", "id_r"), on=["id_l", "id_r"], how="anti")
    classified = with_decisions_applied(Linker.classify(kept, match_t, review_t))
    # term frequencies describe how common a value is: needed to explain, not delivered
    decided = classified.drop(c for c in kept.columns if c.startswith("tf_")).with_columns(
        pl.col("match_weight").cast(pl.Float64)
    )  # DuckDB returns a DECIMAL
    thresholds = {
        "match": match_t,
        "match_setting": t.match,
        "review": review_t,
        "cluster": cluster_t,
        "one_to_one": t.one_to_one,
        "one_link_per_source": second_links is not None,
    }
    certain = forced_certain(decided)
    undecided_band = classified.filter(pl.col("decision") == "review").sort(
        "match_weight", "id_l", "id_r", descending=[True, False, False]
    )
    return _Decided(
        thresholds=thresholds,
        summary=summary,
        candidate_pairs=int(linker.blocking_report()["pairs"].sum()),
        scored=scored,
        decided=decided,
        matches=certain.filter(pl.col("decision") == "match"),
        clusters=linker.cluster(certain, threshold=cluster_t),
        review=undecided_band,
        for_review_file=pl.concat(
            [undecided_band.drop("decision"), marked.filter(pl.col(CLERICAL).is_not_null())],
            how="vertical_relaxed",
        ),
        clerical=clerical,
    )


def _evaluation(linker: Linker, d: _Decided, truth: pl.DataFrame | None) -> dict[str, Any]:
    """Thresholds, blocking, unsupervised estimates; with known links, labelled metrics."""
    evaluation: dict[str, Any] = {
        "thresholds": d.thresholds,
        "blocking": {
            "rules": linker.blocking_report().to_dicts(),
            "candidate_pairs": d.candidate_pairs,
            "scored_pairs": d.scored.height,
        },
        "unsupervised": asdict(d.summary),
        "decisions": {"match": d.matches.height, "review": d.review.height},
    }
    if d.clerical is not None:
        evaluation["clerical_decisions"] = d.clerical
    if truth is not None:
        match_t = d.thresholds["match"]
        evaluation["blocking"]["pair_completeness"] = linker.pair_completeness(truth)
        evaluation["labelled"] = linker.evaluate(d.matches, truth, match_t).to_dict()
        evaluation["labelled"]["true_links"] = truth.height
        evaluation["threshold_sweep"] = linker.threshold_sweep(d.scored, truth, SWEEP).to_dicts()
    return evaluation


def _write_outputs(
    cfg: LinkJobConfig,
    linker: Linker,
    frames: list[pl.DataFrame],
    d: _Decided,
    evaluation: dict[str, Any],
    review: pl.DataFrame,
    out: Path,
) -> dict[str, int]:
    """Write :data:`OUTPUT_FILES` but the report (and the model to ``save_model``); return
    the counts."""
    write_with_atomic(out / "pairs.parquet", d.decided.write_parquet)
    write_with_atomic(out / "clusters.parquet", d.clusters.write_parquet)
    write_with_atomic(out / "review.csv", review.write_csv)
    linker.save_model(out / "model.json")
    if cfg.save_model is not None:
        target = cfg.resolve(cfg.save_model)
        target.parent.mkdir(parents=True, exist_ok=True)
        linker.save_model(target)
    write_text_atomic(out / "evaluation.json", json.dumps(evaluation, indent=2) + "\n")
    counts = {f"{SIDES[i]}_rows": f.height for i, f in enumerate(frames)}
    counts |= {
        "candidate_pairs": d.candidate_pairs,
        "matches": d.matches.height,
        "review": d.review.height,
        "clusters": d.clusters["cluster_id"].n_unique(),
    }
    return counts


def _record(
    cfg: LinkJobConfig,
    out: Path,
    counts: dict[str, int],
    evaluation: dict[str, Any],
    sources: dict[str, Path],
    values: dict[str, bool],
) -> dict[str, Any]:
    """Manifest beside the outputs and one audit entry: checksums (of the inputs and the
    other ``sources`` read, such as a decision file), counts, thresholds, the curators'
    decisions (counts), and which outputs hold record ``values``."""
    inputs = {
        f"{SIDES[i]}:{Path(s.path).name}": file_entry(cfg.resolve(s.path))
        for i, s in enumerate(cfg.inputs)
    }
    inputs |= {f"{kind}:{path.name}": file_entry(path) for kind, path in sources.items()}
    if cfg.truth is not None:
        inputs[f"truth:{Path(cfg.truth.path).name}"] = file_entry(cfg.resolve(cfg.truth.path))
    if cfg.model is not None:
        inputs[f"model:{Path(cfg.model).name}"] = file_entry(cfg.resolve(cfg.model))
    outputs = {n: file_entry(out / n) for n in OUTPUT_FILES}
    body: dict[str, Any] = {
        "mode": cfg.mode,
        "model": "loaded" if cfg.model else "trained",
        "inputs": inputs,
        "outputs": outputs,
        "counts": counts,
        "thresholds": evaluation["thresholds"],
        "record_values": values,
        "warnings": evaluation["warnings"],
    }
    if "clerical_decisions" in evaluation:
        body["clerical_decisions"] = evaluation["clerical_decisions"]
    if "labelled" in evaluation:
        body["labelled"] = evaluation["labelled"]
    write_manifest(out / MANIFEST_FILE, "link", body)
    details = {"mode": cfg.mode, "counts": counts, "thresholds": evaluation["thresholds"]}
    if "clerical_decisions" in body:
        details["clerical_decisions"] = body["clerical_decisions"]
    AuditLog(cfg.audit_path(out)).append(
        "link.run",
        inputs={k: str(v["sha256"]) for k, v in inputs.items()},
        outputs={k: str(v["sha256"]) for k, v in outputs.items()},
        details=details,
    )
    logger.info("link job done: %s", ", ".join(f"{k}={v}" for k, v in counts.items()))
    return body
