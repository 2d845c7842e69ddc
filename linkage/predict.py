"""SQL for comparison vectors and scores.

Comparison vectors are computed once per candidate pair, straight from the blocking join, and
stored as small integer gamma codes (plus a term frequency where a comparison uses one). Scores
come from a lookup of per-level weights inlined as ``CASE`` constants: no per-pair Python, no
string columns kept per pair.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from linkage.blocking import RID
from linkage.comparisons import Comparison
from linkage.model import PROBABILITY_FLOOR, ModelParameters
from linkage.sql import Dialect, quote
from linkage.tables import LEFT_TABLE
from linkage.tf import pair_tf_sql, tf_pair_column, tf_value_column

#: ``Linker.predict``'s default floor: pairs less likely than this are left out. Returning
#: every candidate pair held 7.3 GiB at 1M x 1M records, 2.2 GiB with this floor.
DEFAULT_PREDICT_THRESHOLD = 1e-4


def comparison_select(comparisons: Sequence[Comparison], dialect: Dialect) -> list[str]:
    """Select expressions ``gamma_<name>`` (and ``tf_<name>``) over aliases ``l``/``r``."""
    out = []
    for c in comparisons:
        out.append(f"{c.gamma_sql(dialect)} AS {quote(c.gamma_column)}")
        if c.tf_column:
            out.append(f"{pair_tf_sql(c.tf_column)} AS {quote(tf_pair_column(c.name))}")
    return out


def refreshed_tf_sql(
    gamma_table: str, comparisons: Sequence[Comparison], left_table: str = LEFT_TABLE
) -> str | None:
    """An ``UPDATE`` giving the pairs stored in ``gamma_table`` the term frequencies their
    records now have (None without term-frequency comparisons). A pair has one only where
    its two values agree (:func:`~linkage.tf.pair_tf_sql`), so the left record's is the
    pair's."""
    sets = []
    for c in comparisons:
        if c.tf_column:
            tf = quote(tf_pair_column(c.name))
            now = f"CAST(l.{quote(tf_value_column(c.tf_column))} AS FLOAT)"
            sets.append(f"{tf} = CASE WHEN g.{tf} IS NULL THEN NULL ELSE {now} END")
    if not sets:
        return None
    return (
        f"UPDATE {quote(gamma_table)} AS g SET {', '.join(sets)} "
        f"FROM {quote(left_table)} AS l WHERE l.{quote(RID)} = g.rid_l"
    )


def double(value: float) -> str:
    """A SQL DOUBLE literal: exponent notation, so DuckDB does not type it as DECIMAL (a sum
    of DECIMAL constants would come back from ``predict`` as a DECIMAL column)."""
    return f"{float(value):.17e}"


def weight_sql(comparison: Comparison, params: ModelParameters, *, tf: bool = True) -> str:
    """Match weight contributed by one comparison, as a SQL expression over the gamma table."""
    weights = params.weights(comparison.name)
    tf_gamma = comparison.tf_gamma if tf else None
    whens = []
    for gamma, w in enumerate(weights):
        if gamma == tf_gamma:
            log2_m = math.log2(
                max(params.comparisons[comparison.name].m[gamma] or 0.0, PROBABILITY_FLOOR)
            )
            tf_col = quote(tf_pair_column(comparison.name))
            # an explicit NULL test: DuckDB's greatest() skips NULLs, so greatest(NULL, 1e-12)
            # is 1e-12 and a value missing from the tf table would score about +40 bits
            whens.append(
                f"WHEN {gamma} THEN CASE WHEN {tf_col} IS NULL THEN {double(w)} "
                f"ELSE {double(log2_m)} - log2(greatest({tf_col}, 1e-12)) END"
            )
        else:
            whens.append(f"WHEN {gamma} THEN {double(w)}")
    return f"(CASE {quote(comparison.gamma_column)} {' '.join(whens)} ELSE 0.0 END)"


def dependent_weight_sql(
    comparison: Comparison, anchor: Sequence[Comparison], params: ModelParameters
) -> str:
    """Weight of a comparison with a :class:`~linkage.model.Dependency` on the ``anchor``
    comparisons: the conditional m/u in each anchor state (top, one part missing, partial,
    other), the ordinary weight (with any term-frequency adjustment) in none of them.

    The states are disjoint but for partial, which also takes pairs missing a part after
    its prefix that are not in a missing-part state; the branches are ordered so that a
    pair with its whole anchor known never evaluates a missing-part condition."""
    dep = params.dependencies[comparison.name]
    gamma = quote(comparison.gamma_column)
    parts = list(zip(anchor, dep.anchor_top, strict=True))
    at_top = [f"{quote(a.gamma_column)} >= {t}" for a, t in parts]
    known = " AND ".join(f"{quote(a.gamma_column)} >= 0" for a, _ in parts)

    def case(weights: list[float]) -> str:
        whens = " ".join(f"WHEN {g} THEN {double(w)}" for g, w in enumerate(weights))
        return f"(CASE {gamma} {whens} ELSE 0.0 END)"

    partial = known_partial = ""
    if dep.prefix:
        prefix, then = " AND ".join(at_top[: dep.prefix]), case(dep.weights("partial"))
        partial = f"WHEN {prefix} THEN {then} "
        known_partial = f"WHEN {known} AND {prefix} THEN {then} "
    missing = ""
    for part in dep.missing:
        i = dep.anchor.index(part)
        rest = [t for k, t in enumerate(at_top) if k != i]
        when = " AND ".join([f"{quote(anchor[i].gamma_column)} < 0", *rest])
        missing += f"WHEN {when} THEN {case(dep.missing_weights(part))} "
    return (
        f"(CASE WHEN {' AND '.join(at_top)} THEN {case(dep.weights('top'))} {known_partial}"
        f"WHEN {known} THEN {case(dep.weights('other'))} {missing}{partial}"
        f"ELSE {weight_sql(comparison, params)} END)"
    )


def match_weight_sql(comparisons: Sequence[Comparison], params: ModelParameters) -> str:
    """Total match weight: prior weight plus each comparison's weight."""
    by_name = {c.name: c for c in comparisons}
    terms = [double(params.prior_weight())]
    for c in comparisons:
        dep = params.dependencies.get(c.name)
        if dep is not None and set(dep.anchor) <= set(by_name):
            anchor = [by_name[a] for a in dep.anchor]
            terms.append(dependent_weight_sql(c, anchor, params))
        else:
            terms.append(weight_sql(c, params))
    return " + ".join(terms)


def probability_sql(weight_expr: str) -> str:
    return f"1.0 / (1.0 + pow(2.0, -({weight_expr})))"


def scored_sql(source: str, comparisons: Sequence[Comparison], params: ModelParameters) -> str:
    """Every row of ``source`` (a table or ``read_parquet(...)`` of stored comparison vectors)
    with its ``match_weight`` and ``match_probability``."""
    weight = match_weight_sql(comparisons, params)
    return (
        f"SELECT *, {probability_sql('match_weight')} AS match_probability FROM "
        f"(SELECT *, {weight} AS match_weight FROM {source})"
    )


def pair_columns(comparisons: Sequence[Comparison]) -> list[str]:
    """The per-pair columns scored pairs carry besides ids, weight and probability: each
    comparison's gamma and, where it uses one, its term frequency (quoted)."""
    extra = [quote(c.gamma_column) for c in comparisons]
    return extra + [quote(tf_pair_column(c.name)) for c in comparisons if c.tf_column]


def scored_pairs_sql(
    scored: str,
    id_column: str,
    right_table: str,
    extra: list[str],
    threshold: float | None,
    *,
    left_table: str = LEFT_TABLE,
) -> str:
    """Scored pairs (query ``scored``) with both records' ids, ``match_weight``,
    ``match_probability``, ``match_key`` and the ``extra`` columns; only those with
    probability >= ``threshold`` unless it is None."""
    id_col, rid = quote(id_column), quote(RID)
    where = "" if threshold is None else f"WHERE s.match_probability >= {threshold!r}"
    select = "".join(f", s.{c}" for c in extra)
    return (
        f"SELECT l.{id_col} AS id_l, r.{id_col} AS id_r, s.match_weight, "
        f"s.match_probability, s.match_key{select} FROM ({scored}) s "
        f"JOIN {quote(left_table)} l ON l.{rid} = s.rid_l "
        f"JOIN {quote(right_table)} r ON r.{rid} = s.rid_r {where}"
    )
