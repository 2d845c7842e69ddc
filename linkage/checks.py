"""Label-free checks of a trained model and of the data it was trained on.

A model can be confidently wrong (on household data, two-class EM takes "same household" for
"same person" and then reports precision 0.9 where it is 0.1), and nothing in its own
posterior shows it. These checks compare what the model says with what the data allow and
with what its own training blocks said; each failure is a training warning
(:mod:`linkage.diagnostics`) and the figures go to ``diagnostics.checks``:

* **lambda bound**: expected matches (lambda x all pairs) at most the records of the smaller
  input (link_only: one-to-one data cannot have more) or the records (dedupe_only), with
  ``BOUND_SLACK`` for the noise of the estimate;
* **records expecting many matches**: more than ``MANY_MATCHES_SHARE`` of the records with
  candidates expect more than ``MANY_MATCHES`` matches each (households taken for people);
* **block consistency**: each prediction block's own EM pass and the final model expect
  about as many matches among that block's pairs (within ``BLOCK_DISAGREEMENT`` times);
* **few matches**: below ``MIN_EXPECTED_MATCHES`` expected matches, a handful of confidently
  wrong pairs moves precision by more than 0.05, which no label-free estimate can see;
* **m not estimated**: a comparison no EM pass could estimate keeps its starting m, which
  is no estimate, so neither is a posterior built on it (census vs W-2/1099 at noise seed 1:
  first name and surname left at their starting m, precision estimate 0.93 where the truth
  was 0.99);
* **links beyond one per record** (link_only): at the automatic threshold, more links go to
  records already linked than the model expects false links (:mod:`linkage.link_checks`;
  always a warning, a reason only when the estimate capped at one match per record is at
  least ``MATERIAL_GAP`` lower).

Any of these makes the unsupervised precision/recall estimate unreliable
(``precision_estimate_unreliable``). The data checks warn about comparison columns that are
null throughout an input and date columns that mostly fail to parse (no ``date_format``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
import polars as pl

from linkage import evaluate as evaluation
from linkage.backend import DuckDBBackend
from linkage.comparisons import Comparison
from linkage.diagnostics import TrainingDiagnostics
from linkage.levels import DateDistanceLevel, Level
from linkage.link_checks import one_to_one_check
from linkage.model import ModelParameters
from linkage.patterns import CandidatePatterns
from linkage.settings import LinkageSettings
from linkage.sql import quote

logger = logging.getLogger(__name__)

#: A block whose own EM pass and the final model differ by more than this factor in the
#: matches they expect among its pairs says the model does not fit that block.
BLOCK_DISAGREEMENT = 1.5
#: Records expecting more than MANY_MATCHES matches each, as a share of records with
#: candidates, above which the model is taken to link groups (households), not people.
MANY_MATCHES = 3.0
MANY_MATCHES_SHARE = 0.02
NEGLIGIBLE_PROBABILITY = 0.001
#: Table of the candidate pairs at or above NEGLIGIBLE_PROBABILITY while the model is checked
LIKELY_PAIRS = "__likely_pairs"
#: Fewer expected matches than this and the precision estimate is unreliable.
MIN_EXPECTED_MATCHES = 200.0
#: Expected matches may exceed the bound by this factor (estimates have noise) before
#: it is a warning; the household failures this catches exceed it two- to threefold.
BOUND_SLACK = 1.1
#: Date columns where fewer than this share of non-null values parse.
MIN_PARSED_DATE_SHARE = 0.5


class CheckedModel(Protocol):
    """What the checks read from a :class:`~linkage.linker.Linker`."""

    settings: LinkageSettings
    backend: DuckDBBackend
    diagnostics: TrainingDiagnostics
    counts: dict[str, int]
    parameters: ModelParameters

    @property
    def comparisons(self) -> list[Comparison]: ...

    @property
    def total_pairs(self) -> int: ...

    def scored_sql(self) -> str: ...

    def posterior_histogram(self) -> pl.DataFrame: ...

    def expected_matches(self) -> float: ...


def check_inputs(model: CheckedModel, tables: list[str]) -> dict[str, Any]:
    """Warn about comparison columns null in every row of an input and date columns whose
    values mostly fail to parse; returns the figures."""
    out: dict[str, Any] = {"all_null": [], "dates": {}}
    for comparison in model.comparisons:
        for column in comparison.columns():
            for table in tables:
                if _non_null(model.backend, table, column) == 0:
                    out["all_null"].append(column)
                    model.diagnostics.warn(
                        logger,
                        "column_all_null",
                        f"column {column!r} of comparison {comparison.name} is null in every "
                        f"record of input {table!r}: the comparison carries no evidence",
                        step="data",
                        comparison=comparison.name,
                        column=column,
                        table=table,
                    )
        for level in _date_levels(comparison.levels):
            share = _parsed_share(model, tables, level)
            out["dates"][level.column] = share
            if share is not None and share < MIN_PARSED_DATE_SHARE:
                model.diagnostics.warn(
                    logger,
                    "dates_unparsed",
                    f"only {share:.0%} of non-null values of column {level.column!r} "
                    f"(comparison {comparison.name}) parse as dates"
                    + ("" if level.date_format else ": give its date_format"),
                    step="data",
                    comparison=comparison.name,
                    column=level.column,
                    parsed_share=round(share, 4),
                )
    return out


def _non_null(backend: DuckDBBackend, table: str, column: str) -> int:
    return int(backend.rows(f"SELECT count({quote(column)}) FROM {quote(table)}")[0][0])


def _date_levels(levels: tuple[Level, ...]) -> Iterator[DateDistanceLevel]:
    """Date-distance levels, also inside ``And``/``Or``/``Not``, each column and format once."""
    seen = set()
    stack = list(levels)
    while stack:
        level = stack.pop(0)
        if isinstance(level, DateDistanceLevel) and (level.column, level.date_format) not in seen:
            seen.add((level.column, level.date_format))
            yield level
        stack += list(getattr(level, "levels", ()))
        inner = getattr(level, "level", None)
        if isinstance(inner, Level):
            stack.append(inner)


def _parsed_share(model: CheckedModel, tables: list[str], level: DateDistanceLevel) -> float | None:
    """Share of non-null values of the level's column that parse (None if all are null)."""
    (parsed_column,) = level.derived_columns(model.backend.dialect)
    raw = parsed = 0
    for table in tables:
        r, p = model.backend.rows(
            f"SELECT count({quote(level.column)}), count({quote(parsed_column)}) "
            f"FROM {quote(table)}"
        )[0]
        raw, parsed = raw + int(r), parsed + int(p)
    return parsed / raw if raw else None


def check_model(
    model: CheckedModel, tables: list[str], candidates: CandidatePatterns
) -> dict[str, Any]:
    """Run the model checks of the module docstring; record and return their figures."""
    diagnostics = model.diagnostics
    diagnostics.clear("evaluate")
    expected = model.expected_matches()
    link = model.settings.link_type == "link_only"
    bound = float(min(model.counts[t] for t in tables) if link else model.counts[tables[0]])
    # the per-record checks read only pairs a record could expect a match from: one scan
    # of every comparison vector keeps them (at 3M x 3M each scan of 328M pairs took ~16 s)
    model.backend.create_table(
        LIKELY_PAIRS,
        f"SELECT rid_l, rid_r, match_probability FROM ({model.scored_sql()}) "
        f"WHERE match_probability >= {NEGLIGIBLE_PROBABILITY}",
    )
    try:
        found = _checks_of_likely_pairs(model, candidates, expected, bound)
    finally:
        model.backend.execute(f"DROP TABLE IF EXISTS {LIKELY_PAIRS}")
    return found


def _checks_of_likely_pairs(
    model: CheckedModel, candidates: CandidatePatterns, expected: float, bound: float
) -> dict[str, Any]:
    """:func:`check_model` once the pairs at or above NEGLIGIBLE_PROBABILITY are stored in
    table LIKELY_PAIRS."""
    diagnostics = model.diagnostics
    link = model.settings.link_type == "link_only"
    found: dict[str, Any] = {
        "expected_matches": expected,
        "expected_matches_bound": bound,
        "blocks": _block_consistency(model, candidates),
        "records": _records_expecting_many(model),
    }
    reasons = []
    if expected > BOUND_SLACK * bound:
        reasons.append("lambda_exceeds_bound")
        diagnostics.warn(
            logger,
            "lambda_exceeds_bound",
            f"the model expects {expected:.0f} matches, more than the {bound:.0f} records "
            + ("of the smaller input" if link else "of the input"),
            step="evaluate",
            expected_matches=round(expected, 1),
            bound=bound,
        )
    reasons += _warn_records(model, found["records"])
    reasons += _warn_blocks(model, found["blocks"])
    if link:
        reasons += _warn_one_to_one(model, found)
    if expected < MIN_EXPECTED_MATCHES:
        reasons.append("few_expected_matches")
    if any(w.code == "m_not_estimated" for w in diagnostics.warnings):
        reasons.append("m_not_estimated")
    found["precision_estimate_reliable"] = not reasons
    found["unreliable_because"] = reasons
    diagnostics.checks = found
    if reasons:
        diagnostics.warn(
            logger,
            "precision_estimate_unreliable",
            "the unsupervised precision and recall estimates are unreliable: " + ", ".join(reasons),
            step="evaluate",
            reasons=", ".join(reasons),
        )
    return found


def _warn_one_to_one(model: CheckedModel, found: dict[str, Any]) -> list[str]:
    """The bound of :mod:`linkage.link_checks` at the automatic threshold, a warning when
    the model is overconfident and a reason the estimate is unreliable when by a material
    amount; its figures go to ``found["one_to_one"]``."""
    threshold = evaluation.posterior_summary(model.posterior_histogram()).auto_threshold
    likely = threshold >= NEGLIGIBLE_PROBABILITY
    check = one_to_one_check(
        model.backend, f"SELECT * FROM {LIKELY_PAIRS}" if likely else model.scored_sql(), threshold
    )
    found["one_to_one"] = check.to_dict()
    if not check.overconfident:
        return []
    model.diagnostics.warn(
        logger,
        "links_beyond_one_to_one",
        f"at the automatic threshold {check.surplus} of {check.links} links go to a record "
        f"already linked, where the model expects {check.expected_false_links:.0f} false "
        f"links: if either input lists each person once, precision is at most "
        f"{check.precision_bound:.3f} (the model estimates {check.precision_estimate:.3f}; "
        f"{check.precision_capped:.3f} with each record's expected matches capped at one)",
        step="evaluate",
        links=check.links,
        surplus=check.surplus,
        expected_false_links=round(check.expected_false_links, 1),
        precision_bound=round(check.precision_bound, 4),
        precision_capped=round(check.precision_capped, 4),
    )
    return ["links_beyond_one_to_one"] if check.material else []


def _block_consistency(model: CheckedModel, candidates: CandidatePatterns) -> list[dict[str, Any]]:
    """Per prediction rule with a used EM pass: the matches that pass expected and the
    matches the final model expects among the same pairs (both without term frequencies)."""
    passes = {p.rule: p for p in model.diagnostics.passes if p.kind == "prediction" and p.used}
    params = model.parameters
    names = [c.name for c in model.comparisons]
    out = []
    for k, rule in enumerate(model.settings.blocking_rules):
        if rule.name not in passes:
            continue
        block = candidates.in_rule(k)
        weight = params.log2_bayes_factors(names, block.patterns) + params.prior_weight()
        final = float((block.counts / (1.0 + np.exp2(-np.clip(weight, -1000, 1000)))).sum())
        own = passes[rule.name].expected_matches
        ratio = max(own, final) / max(min(own, final), 1e-9)
        out.append(
            {"rule": rule.name, "pass_expected": own, "model_expected": final, "ratio": ratio}
        )
    return out


def _warn_blocks(model: CheckedModel, blocks: list[dict[str, Any]]) -> list[str]:
    reasons = []
    for b in blocks:
        if b["ratio"] > BLOCK_DISAGREEMENT and max(b["pass_expected"], b["model_expected"]) >= 10:
            reasons.append("blocks_disagree")
            model.diagnostics.warn(
                logger,
                "blocks_disagree",
                f"in block {b['rule']!r} its own EM pass expects {b['pass_expected']:.0f} "
                f"matches and the final model {b['model_expected']:.0f}",
                step="evaluate",
                rule=b["rule"],
                pass_expected=round(b["pass_expected"], 1),
                model_expected=round(b["model_expected"], 1),
            )
    return reasons[:1]


def _records_expecting_many(model: CheckedModel) -> dict[str, Any]:
    """Per input side (link) or over all records (dedupe): records with candidates, those
    expecting more than MANY_MATCHES matches, and the most any record expects. One pass
    over the scored pairs (grouping sets), then a small aggregation per side; pairs below
    NEGLIGIBLE_PROBABILITY are left out (a record has tens of candidates, not thousands,
    so they add less than 0.1 to its sum)."""
    link = model.settings.link_type == "link_only"
    per_side = (
        f"SELECT rid_l, rid_r, sum(match_probability) AS e FROM {LIKELY_PAIRS} "
        f"GROUP BY GROUPING SETS ((rid_l), (rid_r))"
    )
    side = "CASE WHEN rid_l IS NULL THEN 'right' ELSE 'left' END" if link else "'records'"
    records = (
        f"SELECT {side} AS side, coalesce(rid_l, rid_r) AS rid, sum(e) AS e "
        f"FROM ({per_side}) GROUP BY ALL"
    )
    rows = model.backend.rows(
        f"SELECT side, count(*), count(*) FILTER (WHERE e > {MANY_MATCHES}), max(e) "
        f"FROM ({records}) GROUP BY side ORDER BY side"
    )
    return {
        name: {
            "with_candidates": int(n),
            "expecting_many": int(many),
            "most_expected": float(most or 0.0),
        }
        for name, n, many, most in rows
    }


def _warn_records(model: CheckedModel, records: dict[str, Any]) -> list[str]:
    for side, r in records.items():
        share = r["expecting_many"] / max(r["with_candidates"], 1)
        if share > MANY_MATCHES_SHARE:
            model.diagnostics.warn(
                logger,
                "records_expect_many_matches",
                f"{share:.1%} of records ({side}) expect more than {MANY_MATCHES:g} matches "
                f"each (at most {r['most_expected']:.1f})",
                step="evaluate",
                share=round(share, 4),
                most_expected=round(r["most_expected"], 2),
            )
            return ["records_expect_many_matches"]
    return []
