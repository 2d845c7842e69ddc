"""Per-pair explanations: the contribution of each comparison level (waterfall chart data)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

from linkage.comparisons import Comparison
from linkage.model import PROBABILITY_FLOOR, Dependency, ModelParameters
from linkage.tf import tf_pair_column


def waterfall(
    pairs: pl.DataFrame, comparisons: Sequence[Comparison], params: ModelParameters
) -> pl.DataFrame:
    """One row per pair and step: the prior, then each comparison, then term-frequency
    adjustments. Columns: ``id_l, id_r, step, component, gamma, label, bayes_factor,
    match_weight, cumulative_weight, cumulative_probability``. The last step's cumulative
    weight equals the pair's ``match_weight`` from ``predict``.
    """
    keys = pairs.select("id_l", "id_r").with_row_index("__pair")
    no_gamma = pl.lit(None, dtype=pl.Int8)
    steps = [_step(keys, 0, "prior", no_gamma, pl.lit("prior"), pl.lit(params.prior_weight()))]
    by_name = {c.name: c for c in comparisons}
    for i, c in enumerate(comparisons, start=1):
        infos = {info.gamma: info.label for info in c.level_info()}
        gamma = pairs[c.gamma_column]
        label = gamma.replace_strict(infos, return_dtype=pl.String)
        weight = _level_weights(pairs, c, params, by_name)
        steps.append(_step(keys, i, c.name, gamma, label, weight))
    for i, c in enumerate(comparisons, start=len(comparisons) + 1):
        adjust = _tf_adjustment(pairs, c, params, by_name)
        if adjust is not None:
            component, tf_label = f"{c.name} term frequency", pl.lit("term frequency adjustment")
            steps.append(_step(keys, i, component, pairs[c.gamma_column], tf_label, adjust))
    out = pl.concat(steps, how="vertical_relaxed").sort("__pair", "step")
    out = out.with_columns(
        (2.0 ** pl.col("match_weight")).alias("bayes_factor"),
        pl.col("match_weight").cum_sum().over("__pair").alias("cumulative_weight"),
    ).with_columns(
        (1.0 / (1.0 + 2.0 ** (-pl.col("cumulative_weight")))).alias("cumulative_probability")
    )
    return out.select(
        "id_l",
        "id_r",
        "step",
        "component",
        "gamma",
        "label",
        "bayes_factor",
        "match_weight",
        "cumulative_weight",
        "cumulative_probability",
    )


def _step(
    keys: pl.DataFrame,
    step: int,
    component: str,
    gamma: pl.Series | pl.Expr,
    label: pl.Series | pl.Expr,
    weight: pl.Series | pl.Expr,
) -> pl.DataFrame:
    """One waterfall step for every pair."""
    return keys.with_columns(
        pl.lit(step).alias("step"),
        pl.lit(component).alias("component"),
        gamma.cast(pl.Int8).alias("gamma"),
        label.alias("label"),
        weight.alias("match_weight"),
    )


def _tf_adjustment(
    pairs: pl.DataFrame, c: Comparison, params: ModelParameters, by_name: dict[str, Comparison]
) -> pl.Series | None:
    """How far each pair's term frequency moves the weight of ``c``'s exact level (None when
    ``c`` has no term-frequency adjustment)."""
    if not c.tf_column or c.tf_gamma is None or tf_pair_column(c.name) not in pairs.columns:
        return None
    m = max(params.comparisons[c.name].m[c.tf_gamma] or 0.0, PROBABILITY_FLOOR)
    base = params.weights(c.name)[c.tf_gamma]
    tf = pairs[tf_pair_column(c.name)]
    adjust = (
        pl.when(pairs[c.gamma_column] == c.tf_gamma)
        .then(math.log2(m) - tf.clip(lower_bound=1e-12).log(2) - base)
        .otherwise(0.0)
        .fill_null(0.0)
    )
    dep = params.dependencies.get(c.name)
    if dep is not None and set(dep.anchor) <= set(by_name):
        # a dependent comparison is adjusted only outside its anchor states (as in predict)
        states = dep.anchor_states(list(dep.anchor), _anchor_gammas(pairs, dep, by_name))
        assert states is not None
        adjust = pl.when(pl.Series(~states.conditional())).then(adjust).otherwise(0.0)
    return pl.select(adjust.alias("match_weight")).to_series()


def explanation_columns(
    pairs: pl.DataFrame, comparisons: Sequence[Comparison], params: ModelParameters
) -> pl.DataFrame:
    """Wide form of :func:`waterfall` for a review file: ``id_l, id_r``, then each
    comparison's level label (``level_<name>``) and weight (``weight_<name>``, term-frequency
    adjustments as ``weight_<name> term frequency``), one row per pair."""
    keys = ["id_l", "id_r"]
    if pairs.height == 0:
        return pairs.select(keys)
    steps = waterfall(pairs, comparisons, params).filter(pl.col("component") != "prior")
    weights = steps.pivot(on="component", index=keys, values="match_weight")
    weights = weights.rename({c: f"weight_{c}" for c in weights.columns if c not in keys})
    labels = steps.filter(~pl.col("component").str.ends_with(" term frequency")).pivot(
        on="component", index=keys, values="label"
    )
    labels = labels.rename({c: f"level_{c}" for c in labels.columns if c not in keys})
    return labels.join(weights, on=keys)


def _level_weights(
    pairs: pl.DataFrame, c: Comparison, params: ModelParameters, by_name: dict[str, Comparison]
) -> pl.Series:
    """Weight of each pair's level of ``c``; conditional on the anchor for a dependency."""
    gamma = pairs[c.gamma_column]
    plain = {**dict(enumerate(params.weights(c.name))), -1: 0.0}
    out = gamma.replace_strict(plain, return_dtype=pl.Float64)
    dep = params.dependencies.get(c.name)
    if dep is None or not set(dep.anchor) <= set(by_name):
        return out
    states = dep.anchor_states(list(dep.anchor), _anchor_gammas(pairs, dep, by_name))
    assert states is not None
    for weights, rows in dep.weighted_rows(states):
        if rows.any():
            given = {**dict(enumerate(weights)), -1: 0.0}
            weight = gamma.replace_strict(given, return_dtype=pl.Float64)
            out = pl.select(pl.when(pl.Series(rows)).then(weight).otherwise(out)).to_series()
    return out.alias(c.name)


def _anchor_gammas(
    pairs: pl.DataFrame, dep: Dependency, by_name: dict[str, Comparison]
) -> npt.NDArray[np.int64]:
    """Gamma codes of ``dep``'s anchor comparisons, one column each, in its order."""
    columns = [pairs[by_name[a].gamma_column].to_numpy().astype(np.int64) for a in dep.anchor]
    return np.stack(columns, axis=1)
