"""Deduplicating several files together: what knowing each record's source changes.

A user deduplicating a census with two surveys knows which file each record came from
(``LinkageSettings.source_column``). Two facts follow, and :meth:`Linker.link_by_source
<linkage.linker.Linker.link_by_source>` uses both on the scored pairs:

* **A prior per kind of pair.** Two records of different files are the same person far more
  often than two records of one file (a file that lists each person once holds duplicates
  only by mistake). One probability that two random records match, as the model has, is too
  high for pairs within a file and too low for pairs across files: household members within
  one file then link on a shared surname, birth date and address. So the prior is estimated
  twice, for pairs within one source and for pairs across two, each by EM from the model's
  own posterior with the comparisons' m and u held: ``lambda_k = sum of match probabilities
  of the kind's pairs / number of pairs of that kind``, iterated to its fixed point. Each
  pair's weight moves by ``log2`` of its kind's prior odds over the model's.
* **One link per source.** A record links to at most one record of each source (its own
  included): the links at the threshold are taken greedily, heaviest first, and a link is
  dropped when either record already has a heavier link to a record of the other's source.
  A greedy pass restricted to the pairs above a threshold keeps exactly the pairs the pass
  over all pairs keeps above it, so the rule needs only the links at the threshold. A pair
  the rule drops is linked after all when the kept links already join its two records (a
  file that holds one person twice, :func:`implied_links`): the groups of records are the
  same either way, and the links then say what the groups say.

The summary (expected matches, automatic threshold, expected precision and recall) is that of
:func:`linkage.evaluate.posterior_summary` over the reweighted pairs given: pairs the caller
left out (below ``predict``'s floor of 1e-4) are left out of it too.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from linkage.cluster import component_minimum
from linkage.errors import InputDataError
from linkage.evaluate import PosteriorSummary, posterior_summary

#: Column of :meth:`Linker.link_by_source`'s pairs: linked at the threshold under the rule
LINKED = "linked"
SOURCE_L, SOURCE_R = "source_l", "source_r"
#: EM on the two priors stops when neither moves by more than this (relative)
PRIOR_TOLERANCE = 1e-6
PRIOR_MAX_ITERATIONS = 500
#: Floor of a prior (a kind with pairs but no likely match would otherwise reach 0)
MIN_PRIOR = 1e-15


@dataclass(frozen=True)
class SourcePriors:
    """The probability that two random records match, by kind of pair, and how many record
    pairs of each kind there are (all of them, not only the candidate pairs)."""

    within_source: float
    across_sources: float
    pairs_within: int
    pairs_across: int
    model: float  # the model's single prior, for comparison

    @property
    def overall(self) -> float:
        """The prior both imply over all record pairs (comparable with the model's)."""
        total = self.pairs_within + self.pairs_across
        matches = self.within_source * self.pairs_within + self.across_sources * self.pairs_across
        return matches / total if total else self.model


@dataclass(frozen=True)
class SourceLinks:
    """What :meth:`Linker.link_by_source` decided: the reweighted pairs (``match_weight``,
    ``match_probability`` with the source priors; ``match_weight_model`` and
    ``match_probability_model`` without;
    ``source_l``, ``source_r``; :data:`LINKED`), the threshold used, the priors, and the
    summary of the reweighted pairs."""

    pairs: pl.DataFrame
    threshold: float
    priors: SourcePriors
    summary: PosteriorSummary

    @property
    def links(self) -> pl.DataFrame:
        return self.pairs.filter(pl.col(LINKED))


def log2_odds(p: float) -> float:
    return math.log2(p / (1.0 - p))


def pairs_by_kind(source_counts: pl.Series) -> tuple[int, int]:
    """(pairs within one source, pairs across two) among records whose sources have these
    record counts."""
    n = source_counts.cast(pl.Int64).to_numpy()
    within = int((n * (n - 1) // 2).sum())
    total = int(n.sum())
    return within, total * (total - 1) // 2 - within


def estimate_priors(
    bayes_log2: npt.NDArray[np.float64],
    within: npt.NDArray[np.bool_],
    pairs_within: int,
    pairs_across: int,
    model_prior: float,
) -> SourcePriors:
    """EM for the two priors with m and u held (module docstring): ``bayes_log2`` is each
    candidate pair's log2 Bayes factor, ``within`` whether its records share a source."""
    priors = {True: model_prior, False: model_prior}
    counts = {True: pairs_within, False: pairs_across}
    for _ in range(PRIOR_MAX_ITERATIONS):
        moved = 0.0
        for kind in (True, False):
            if not counts[kind]:
                continue
            odds = bayes_log2[within == kind] + log2_odds(priors[kind])
            expected = float((1.0 / (1.0 + np.exp2(-odds))).sum())
            new = min(max(expected / counts[kind], MIN_PRIOR), 0.5)
            moved = max(moved, abs(math.log(new / priors[kind])))
            priors[kind] = new
        if moved < PRIOR_TOLERANCE:
            break
    return SourcePriors(priors[True], priors[False], pairs_within, pairs_across, model_prior)


def with_sources(pairs: pl.DataFrame, sources: pl.DataFrame) -> pl.DataFrame:
    """``pairs`` with ``source_l`` and ``source_r`` from ``sources`` (``id``, ``source``);
    raises :class:`InputDataError` if a record has no source."""
    by_id = sources.select("id", pl.col("source").cast(pl.String))
    out = pairs.join(by_id.rename({"id": "id_l", "source": SOURCE_L}), on="id_l", how="left")
    out = out.join(by_id.rename({"id": "id_r", "source": SOURCE_R}), on="id_r", how="left")
    if out.select(pl.col(SOURCE_L).is_null().any() | pl.col(SOURCE_R).is_null().any()).item():
        raise InputDataError("a scored pair holds a record whose source_column is null")
    return out


def reweight(pairs: pl.DataFrame, priors: SourcePriors) -> pl.DataFrame:
    """``match_weight`` and ``match_probability`` with each kind's prior instead of the
    model's; the model's kept as ``match_weight_model`` and ``match_probability_model``."""
    within = pl.col(SOURCE_L) == pl.col(SOURCE_R)
    prior = pl.when(within).then(pl.lit(log2_odds(priors.within_source)))
    shift = prior.otherwise(pl.lit(log2_odds(priors.across_sources))) - log2_odds(priors.model)
    weight = pl.col("match_weight").cast(pl.Float64) + shift
    return pairs.with_columns(
        pl.col("match_weight").cast(pl.Float64).alias("match_weight_model"),
        pl.col("match_probability").alias("match_probability_model"),
        weight.alias("match_weight"),
        (1.0 / (1.0 + (2.0 ** (-weight)))).alias("match_probability"),
    )


def summary_of(pairs: pl.DataFrame, model: PosteriorSummary) -> PosteriorSummary:
    """:func:`posterior_summary` of these pairs, keeping the model's reliability verdict."""
    histogram = pairs.group_by(pl.col("match_weight").round(2)).agg(
        pl.col("match_probability").min().alias("probability"),
        pl.len().alias("pairs"),
        pl.col("match_probability").sum().alias("sum_probability"),
    )
    own = posterior_summary(histogram)
    return dataclasses.replace(
        own, reliable=model.reliable, unreliable_because=model.unreliable_because
    )


def one_link_per_source(pairs: pl.DataFrame) -> pl.Series:
    """For each pair (``id_l``, ``id_r``, ``source_l``, ``source_r``, ``match_weight``),
    whether the greedy pass keeps it: heaviest first (ties by ids), a pair is kept unless one
    of its records already has a kept pair with a record of the other's source.

    Run as rounds of pairs that are the heaviest remaining for both their slots (a slot is a
    record and the other record's source); this keeps exactly what the sequential pass keeps.
    """
    order = pairs.with_row_index("__row").sort(
        ["match_weight", "id_l", "id_r"], descending=[True, False, False]
    )
    slot_l = pl.concat_str(pl.col("id_l").cast(pl.String), pl.col(SOURCE_R), separator="\x1f")
    slot_r = pl.concat_str(pl.col("id_r").cast(pl.String), pl.col(SOURCE_L), separator="\x1f")
    remaining = order.select("__row", slot_l.alias("__a"), slot_r.alias("__b")).with_row_index(
        "__order"
    )
    kept: list[pl.Series] = []
    while remaining.height:
        slots = pl.concat(
            [
                remaining.select("__order", pl.col("__a").alias("__slot")),
                remaining.select("__order", pl.col("__b").alias("__slot")),
            ]
        )
        first = slots.group_by("__slot").agg(pl.col("__order").min().alias("__first"))
        chosen = (
            remaining.join(first.rename({"__slot": "__a", "__first": "__fa"}), on="__a")
            .join(first.rename({"__slot": "__b", "__first": "__fb"}), on="__b")
            .filter((pl.col("__fa") == pl.col("__order")) & (pl.col("__fb") == pl.col("__order")))
        )
        kept.append(chosen["__row"])
        taken = pl.concat([chosen["__a"], chosen["__b"]]).unique().implode()
        remaining = remaining.filter(~pl.col("__a").is_in(taken) & ~pl.col("__b").is_in(taken))
    rows = pl.concat(kept) if kept else pl.Series("__row", [], dtype=pl.UInt32)
    return pl.Series(LINKED, np.isin(np.arange(pairs.height), rows.to_numpy()))


def implied_links(above: pl.DataFrame, kept: pl.Series) -> pl.Series:
    """``__i`` of the pairs of ``above`` (``__i``, ``id_l``, ``id_r``) the rule dropped whose
    two records the ``kept`` pairs already join, through one or more links.

    The rule stops a record linking two people of one source. When the two records it would
    link are already one person by the kept links (a source that holds someone twice, each
    copy linked to the other), the dropped pair is that person too: the clusters hold it
    either way, and the links should say so. Deduplicating the pseudopeople census, ACS and
    CPS at noise seed 10, the 7 pairs above the threshold the rule dropped were 3 true pairs,
    all within one component of the kept links, and 4 false ones, none within one."""
    is_kept = above["__i"].is_in(kept.implode())
    dropped = above.filter(~is_kept)
    if dropped.height == 0:
        return dropped["__i"]
    ids = pl.concat([above["id_l"], above["id_r"]]).unique().sort()

    def nodes(frame: pl.DataFrame, column: str) -> npt.NDArray[np.int64]:
        return ids.search_sorted(frame[column]).to_numpy().astype(np.int64)

    links = above.filter(is_kept)
    smallest = component_minimum(ids.len(), nodes(links, "id_l"), nodes(links, "id_r"))
    joined = smallest[nodes(dropped, "id_l")] == smallest[nodes(dropped, "id_r")]
    return dropped["__i"].filter(pl.Series(joined))


def link_by_source(
    pairs: pl.DataFrame,
    sources: pl.DataFrame,
    model_prior: float,
    model_summary: PosteriorSummary,
    threshold: float | None = None,
) -> SourceLinks:
    """The decisions of :meth:`Linker.link_by_source <linkage.linker.Linker.link_by_source>`
    on ``pairs`` of records whose ``sources`` (``id``, ``source``) are given, from a model
    with the prior ``model_prior`` and summary ``model_summary``."""
    within, across = pairs_by_kind(sources["source"].value_counts()["count"])
    scored = with_sources(pairs, sources)
    bayes = scored["match_weight"].cast(pl.Float64).to_numpy() - log2_odds(model_prior)
    same = (scored[SOURCE_L] == scored[SOURCE_R]).to_numpy()
    priors = estimate_priors(bayes, same, within, across, model_prior)
    reweighted = reweight(scored, priors).with_row_index("__i")
    summary = summary_of(reweighted, model_summary)
    cut = summary.auto_threshold if threshold is None else float(threshold)
    above = reweighted.filter(pl.col("match_probability") >= cut)
    kept = above["__i"].filter(one_link_per_source(above))
    kept = pl.concat([kept, implied_links(above, kept)])
    linked = reweighted.with_columns(pl.col("__i").is_in(kept.implode()).alias(LINKED))
    return SourceLinks(linked.drop("__i"), cut, priors, summary)
