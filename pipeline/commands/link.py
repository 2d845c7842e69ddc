"""``pprl link CONFIG``: a standalone linkage or deduplication job (see :mod:`pipeline.linkconfig`).

Reads one or two CSV/Parquet inputs, standardises the configured columns, trains a
Fellegi-Sunter model (or loads a saved one), scores candidate pairs and writes, atomically, into
the output folder: ``pairs.parquet``, ``clusters.parquet``, ``review.csv``, ``model.json``,
``evaluation.json``, ``link-report.html`` and ``link-manifest.json``, plus one audit entry.
Outputs hold the inputs' own ids, scores, gamma levels and level labels; never a name, date,
postcode or address value.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
import duckdb
import polars as pl

from linkage import LinkageSettings, Linker
from linkage.errors import InputDataError, SettingsError
from linkage.standardise import (
    DEFAULT_DATE_FORMATS,
    normalise_address,
    normalise_name,
    normalise_postcode,
    parse_date,
    phonetic,
)
from pipeline import io
from pipeline.atomic import write_text_atomic, write_with_atomic
from pipeline.audit import AuditLog
from pipeline.errors import ConfigError, DataError
from pipeline.io import read_table
from pipeline.linkconfig import (
    ID,
    STD_DATE_FORMAT,
    LinkJobConfig,
    StandardiseSpec,
    build_rule,
    check_inputs,
    load_link_config,
)
from pipeline.manifest import file_entry, write_manifest
from pipeline.report import _CSS, _e, _table, histogram_svg

logger = logging.getLogger(__name__)

SWEEP = [round(0.05 * k, 2) for k in range(1, 20)] + [0.99, 0.999]
SIDES = ("left", "right")


# --- inputs ------------------------------------------------------------------------------
def read_input(cfg: LinkJobConfig, index: int, needed: list[str]) -> pl.DataFrame:
    """The id (as text, renamed to the engine's id) and the needed columns, renamed."""
    spec = cfg.inputs[index]
    path = cfg.resolve(spec.path)
    wanted = {c: spec.columns.get(c, c) for c in needed}
    frame = read_table(
        path,
        file_format="parquet" if spec.file_format == "parquet" else "csv",
        columns=[spec.id_column, *wanted.values()],
        label=f"inputs[{index}]: {path.name}",
    )
    return frame.select(
        pl.col(spec.id_column).cast(pl.String).alias(ID),
        *[pl.col(source).alias(name) for name, source in wanted.items()],
    )


def standardise(frame: pl.DataFrame, spec: StandardiseSpec) -> pl.DataFrame:
    """Standardise columns in place by kind; dates become ISO text (``%Y-%m-%d``)."""
    formats = spec.date_formats or DEFAULT_DATE_FORMATS
    exprs = [normalise_name(pl.col(c).cast(pl.String)).alias(c) for c in spec.names]
    exprs += [normalise_postcode(pl.col(c).cast(pl.String)).alias(c) for c in spec.postcodes]
    exprs += [normalise_address(pl.col(c).cast(pl.String)).alias(c) for c in spec.addresses]
    for c in spec.dates:
        dtype = frame.schema[c]
        date = (
            pl.col(c).cast(pl.Date)
            if dtype in (pl.Date, pl.Datetime)
            else parse_date(pl.col(c).cast(pl.String), formats)
        )
        exprs.append(date.dt.strftime(STD_DATE_FORMAT).alias(c))
    if exprs:
        frame = frame.with_columns(exprs)
    if spec.phonetic:
        frame = frame.with_columns(
            phonetic(pl.col(c).cast(pl.String), "metaphone").alias(f"{c}_phonetic")
            for c in spec.phonetic
        )
    return frame


def read_truth(cfg: LinkJobConfig) -> pl.DataFrame | None:
    """Known links (``id_l``, ``id_r``), when the job gives a truth file."""
    if cfg.truth is None:
        return None
    spec, path = cfg.truth, cfg.resolve(cfg.truth.path)
    columns = {"id_l": spec.left_column, "id_r": spec.right_column}
    return io.read_truth(path, columns, label=f"truth: {path.name}")


def saved_settings(cfg: LinkJobConfig) -> LinkageSettings:
    """Settings stored in the ``model:`` file (checked against the job's mode)."""
    assert cfg.model is not None
    path = cfg.resolve(cfg.model)
    try:
        settings = LinkageSettings.from_dict(json.loads(path.read_text("utf-8"))["settings"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"model: cannot read {path.name!r} ({type(exc).__name__})") from None
    if settings.link_type != cfg.link_type:
        raise ConfigError(f"model: trained for {settings.link_type}, job mode is {cfg.mode!r}")
    if settings.unique_id_column != ID:
        raise ConfigError(f"model: not written by pprl link (id column is not {ID!r})")
    return settings


def with_model_standardisation(cfg: LinkJobConfig, given: bool) -> LinkJobConfig:
    """A job scoring with a saved model standardises as the model's training job did: the
    model's ``standardise`` is used when the job gives none, and must match when it does."""
    if cfg.model is None or not cfg.resolve(cfg.model).is_file():
        return cfg  # a missing model is reported with the other input problems
    saved = saved_settings(cfg).extra.get("standardise")
    if saved is None:
        return cfg
    try:
        trained = StandardiseSpec.model_validate(saved)
    except ValueError:
        raise ConfigError("model: its standardise section is malformed") from None
    if not given:
        return cfg.model_copy(update={"standardise": trained})
    if trained != cfg.standardise:
        raise ConfigError(
            "standardise: differs from the model's training job; remove it to "
            "use the model's, or retrain"
        )
    return cfg


def needed_columns(cfg: LinkJobConfig) -> list[str]:
    """Columns to read from each input (before standardisation adds derived ones)."""
    if cfg.model is None:
        return cfg.used_columns()
    derived = set(cfg.standardise.derived())
    model_cols = [c for c in saved_settings(cfg).required_columns() if c != ID]
    base = [c.removesuffix("_phonetic") if c in derived else c for c in model_cols]
    return list(dict.fromkeys([*cfg.standardise.columns(), *base]))


def check_job(cfg: LinkJobConfig) -> None:
    """Raise one :class:`ConfigError` listing every problem with the inputs the job reads."""
    model_ok = cfg.model is not None and cfg.resolve(cfg.model).is_file()
    problems = check_inputs(cfg, needed=needed_columns(cfg) if model_ok else None)
    if problems:
        raise ConfigError(problems)


# --- the job -----------------------------------------------------------------------------
def build_linker(cfg: LinkJobConfig, frames: list[pl.DataFrame]) -> Linker:
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


def review_table(linker: Linker, review: pl.DataFrame) -> pl.DataFrame:
    """Review pairs with each comparison's level label and weight (explanation API)."""
    base = review.select(
        "id_l", "id_r", pl.col("match_weight").cast(pl.Float64), "match_probability"
    )
    if review.height == 0:
        return base
    return base.join(linker.explain_wide(review), on=["id_l", "id_r"]).sort(
        "match_weight", descending=True
    )


def _parameters_table(linker: Linker) -> list[dict[str, Any]]:
    rows = []
    for c in linker.comparisons:
        p = linker.parameters.comparisons[c.name]
        weights = linker.parameters.weights(c.name)
        rows += [
            {
                "comparison": c.name,
                "gamma": g,
                "label": p.labels[g],
                "m": p.m[g],
                "u": p.u[g],
                "weight": weights[g],
            }
            for g in range(len(p.m))
        ]
    return rows


def run_link_job(cfg: LinkJobConfig, output: Path | None = None) -> dict[str, Any]:
    """Run a job end to end; return its summary (also written as the manifest body)."""
    check_job(cfg)
    out = output or cfg.resolve(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    needed = needed_columns(cfg)
    frames = [
        standardise(read_input(cfg, i, needed), cfg.standardise) for i in range(len(cfg.inputs))
    ]
    truth = read_truth(cfg)
    linker = build_linker(cfg, frames)
    try:
        with engine_errors():
            return _score_and_write(cfg, linker, frames, truth, out)
    finally:
        linker.close()


def _score_and_write(
    cfg: LinkJobConfig,
    linker: Linker,
    frames: list[pl.DataFrame],
    truth: pl.DataFrame | None,
    out: Path,
) -> dict[str, Any]:
    t = cfg.thresholds
    scored = linker.predict()
    summary = linker.posterior_summary()
    match_t = summary.auto_threshold if t.match == "auto" else float(t.match)
    review_t = min(t.review if t.review is not None else match_t, match_t)
    cluster_t = t.cluster if t.cluster is not None else match_t
    kept = scored.filter(pl.col("match_probability") >= review_t)
    if t.one_to_one:
        kept = linker.one_to_one(kept)
    classified = Linker.classify(kept, match_t, review_t)
    # term frequencies describe how common a value is: needed to explain, not delivered
    decided = classified.drop(c for c in kept.columns if c.startswith("tf_")).with_columns(
        pl.col("match_weight").cast(pl.Float64)
    )  # DuckDB returns a DECIMAL
    matches = decided.filter(pl.col("decision") == "match")
    clusters = linker.cluster(decided, threshold=cluster_t)
    review = review_table(linker, classified.filter(pl.col("decision") == "review"))

    evaluation: dict[str, Any] = {
        "thresholds": {
            "match": match_t,
            "match_setting": t.match,
            "review": review_t,
            "cluster": cluster_t,
            "one_to_one": t.one_to_one,
        },
        "blocking": {
            "rules": linker.blocking_report().to_dicts(),
            "candidate_pairs": scored.height,
        },
        "unsupervised": asdict(summary),
        "decisions": {"match": matches.height, "review": review.height},
    }
    if truth is not None:
        evaluation["blocking"]["pair_completeness"] = linker.pair_completeness(truth)
        evaluation["labelled"] = linker.evaluate(matches, truth, match_t).to_dict()
        evaluation["labelled"]["true_links"] = truth.height
        evaluation["threshold_sweep"] = linker.threshold_sweep(scored, truth, SWEEP).to_dicts()

    write_with_atomic(out / "pairs.parquet", decided.write_parquet)
    write_with_atomic(out / "clusters.parquet", clusters.write_parquet)
    write_with_atomic(out / "review.csv", review.write_csv)
    linker.save_model(out / "model.json")
    if cfg.save_model is not None:
        target = cfg.resolve(cfg.save_model)
        target.parent.mkdir(parents=True, exist_ok=True)
        linker.save_model(target)
    write_text_atomic(out / "evaluation.json", json.dumps(evaluation, indent=2) + "\n")
    counts = {f"{SIDES[i]}_rows": f.height for i, f in enumerate(frames)}
    counts |= {
        "candidate_pairs": scored.height,
        "matches": matches.height,
        "review": review.height,
        "clusters": clusters["cluster_id"].n_unique(),
    }
    html = render_link_report(
        cfg, counts, evaluation, _parameters_table(linker), scored["match_probability"]
    )
    write_text_atomic(out / "link-report.html", html)
    return _record(cfg, out, counts, evaluation)


def _record(
    cfg: LinkJobConfig, out: Path, counts: dict[str, int], evaluation: dict[str, Any]
) -> dict[str, Any]:
    """Manifest beside the outputs and one audit entry: checksums, counts, thresholds."""
    inputs = {
        f"{SIDES[i]}:{Path(s.path).name}": file_entry(cfg.resolve(s.path))
        for i, s in enumerate(cfg.inputs)
    }
    if cfg.truth is not None:
        inputs[f"truth:{Path(cfg.truth.path).name}"] = file_entry(cfg.resolve(cfg.truth.path))
    if cfg.model is not None:
        inputs[f"model:{Path(cfg.model).name}"] = file_entry(cfg.resolve(cfg.model))
    names = [
        "pairs.parquet",
        "clusters.parquet",
        "review.csv",
        "model.json",
        "evaluation.json",
        "link-report.html",
    ]
    outputs = {n: file_entry(out / n) for n in names}
    body: dict[str, Any] = {
        "mode": cfg.mode,
        "model": "loaded" if cfg.model else "trained",
        "inputs": inputs,
        "outputs": outputs,
        "counts": counts,
        "thresholds": evaluation["thresholds"],
    }
    if "labelled" in evaluation:
        body["labelled"] = evaluation["labelled"]
    write_manifest(out / "link-manifest.json", "link", body)
    AuditLog(cfg.audit_path(out)).append(
        "link.run",
        inputs={k: str(v["sha256"]) for k, v in inputs.items()},
        outputs={k: str(v["sha256"]) for k, v in outputs.items()},
        details={"mode": cfg.mode, "counts": counts, "thresholds": evaluation["thresholds"]},
    )
    logger.info("link job done: %s", ", ".join(f"{k}={v}" for k, v in counts.items()))
    return body


# --- report ------------------------------------------------------------------------------
def render_link_report(
    cfg: LinkJobConfig,
    counts: dict[str, int],
    evaluation: dict[str, Any],
    parameters: list[dict[str, Any]],
    probabilities: pl.Series,
) -> str:
    """Self-contained HTML: counts, weight histogram, m/u per level, blocking, evaluation."""
    th = evaluation["thresholds"]
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>pprl link report</title><style>{_CSS}</style></head><body>",
        f"<h1>Linkage report ({_e(cfg.mode)})</h1>",
        "<h2>Counts</h2>",
        _table(["what", "count"], list(counts.items())),
        "<h2>Thresholds</h2>",
        _table(
            ["threshold", "probability"],
            [[k, round(float(th[k]), 6)] for k in ("match", "review", "cluster")],
        ),
        f"<p>Match threshold setting: {_e(th['match_setting'])}; one-to-one: "
        f"{_e(th['one_to_one'])}.</p>",
        "<h2>Match weights of candidate pairs</h2>",
        histogram_svg(probabilities, threshold=float(th["match"]), bins=30),
        "<h2>Model: m and u per comparison level</h2>",
        _table(
            ["comparison", "gamma", "level", "m", "u", "match weight"],
            [
                [
                    r["comparison"],
                    r["gamma"],
                    r["label"],
                    _fmt(r["m"]),
                    _fmt(r["u"]),
                    _fmt(r["weight"]),
                ]
                for r in parameters
            ],
        ),
        "<h2>Blocking</h2>",
        _table(
            ["rule", "pairs", "cumulative pairs"],
            [
                [r["rule"], r["pairs"], r["cumulative_pairs"]]
                for r in evaluation["blocking"]["rules"]
            ],
        ),
    ]
    unsup = evaluation["unsupervised"]
    parts += [
        "<h2>Unsupervised estimates</h2>",
        _table(["estimate", "value"], [[k, _fmt(v)] for k, v in unsup.items()]),
    ]
    if "labelled" in evaluation:
        lab = evaluation["labelled"]
        parts += [
            "<h2>Evaluation against known links</h2>",
            f"<p>Pair completeness of blocking: "
            f"{_fmt(evaluation['blocking']['pair_completeness'])}.</p>",
            _table(["metric", "value"], [[k, _fmt(v)] for k, v in lab.items()]),
            "<h3>Threshold sweep</h3>",
            _table(
                ["threshold", "precision", "recall", "F1"],
                [
                    [r["threshold"], _fmt(r["precision"]), _fmt(r["recall"]), _fmt(r["f1"])]
                    for r in evaluation["threshold_sweep"]
                ],
            ),
        ]
    parts.append("</body></html>")
    return "\n".join(parts)


def _fmt(value: object) -> object:
    if isinstance(value, float):
        return float(f"{value:.4g}")
    return value


# --- CLI -----------------------------------------------------------------------------------
@click.command("link")
@click.argument("config_path", metavar="CONFIG", type=click.Path(path_type=Path))
@click.option(
    "--check",
    is_flag=True,
    help="Only validate CONFIG and the input headers; report every problem at once.",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Write outputs here instead of the config's output folder.",
)
def command(config_path: Path, check: bool, output: Path | None) -> None:
    """Link two files, or deduplicate one, as described by a linkage CONFIG (YAML).

    Writes pairs.parquet, clusters.parquet, review.csv, model.json, evaluation.json,
    link-report.html and a manifest into the output folder. Outputs hold record ids and scores,
    never names, dates or addresses. Exit status: 0 done, 2 config error, 3 data error.

    \b
    Example:
        pprl link configs/linkage/link-demo.yaml --check
        pprl link configs/linkage/link-demo.yaml --output /tmp/link-out
    """
    cfg = load_link_config(config_path)
    cfg = with_model_standardisation(cfg, "standardise" in cfg.model_fields_set)
    if check:
        check_job(cfg)
        click.echo(f"{config_path}: OK ({cfg.mode}, {len(cfg.inputs)} input(s))")
        return
    body = run_link_job(cfg, output.resolve() if output else None)
    c = body["counts"]
    line = (
        f"{c['candidate_pairs']} candidate pairs, {c['matches']} matches, "
        f"{c['review']} for review, {c['clusters']} clusters"
    )
    if "labelled" in body:
        lab = body["labelled"]
        line += f"; precision {lab['precision']:.4f} recall {lab['recall']:.4f} F1 {lab['f1']:.4f}"
    click.echo(line)
