"""Deduplicating several sources together (linkage/sources.py): priors within and across
sources, and at most one link per record and source."""

from __future__ import annotations

import random

import numpy as np
import polars as pl
import pytest

from linkage import LinkageSettings, Linker
from linkage.cluster import component_minimum
from linkage.errors import InputDataError, SettingsError
from linkage.evaluate import PosteriorSummary
from linkage.sources import (
    LINKED,
    estimate_priors,
    implied_links,
    link_by_source,
    one_link_per_source,
    pairs_by_kind,
    with_sources,
)
from tests.linkage.test_linker import dedupe_settings, people_in_two_files

MODEL = PosteriorSummary(0.0, 0.5, 0.0, 0.0, 0.0)


def _sequential(pairs: pl.DataFrame) -> list[bool]:
    """The one-link rule written as the plain greedy loop (the reference)."""
    order = pairs.with_row_index("row").sort(
        ["match_weight", "id_l", "id_r"], descending=[True, False, False]
    )
    taken: set[tuple[str, str]] = set()
    kept = [False] * pairs.height
    for row, a, b, sa, sb in order.select("row", "id_l", "id_r", "source_l", "source_r").rows():
        if (a, sb) in taken or (b, sa) in taken:
            continue
        taken |= {(a, sb), (b, sa)}
        kept[row] = True
    return kept


def test_a_record_keeps_one_link_per_source_heaviest_first() -> None:
    # c1 and c2 (census) both look like a1 (survey); c1 is the heavier. c2-c3 are a census
    # duplicate pair, and c3 also links to a1's other census candidate c1 more weakly.
    pairs = pl.DataFrame(
        {
            "id_l": ["c1", "c2", "c2", "c1", "a1"],
            "id_r": ["a1", "a1", "c3", "c3", "p1"],
            "source_l": ["census", "census", "census", "census", "acs"],
            "source_r": ["acs", "acs", "census", "census", "cps"],
            "match_weight": [12.0, 9.0, 8.0, 3.0, 7.0],
        }
    )
    kept = one_link_per_source(pairs).to_list()
    assert kept == [True, False, True, False, True]
    assert kept == _sequential(pairs)


def test_one_link_rule_equals_the_sequential_greedy_pass() -> None:
    rng = random.Random(7)
    for _ in range(30):
        n = rng.randint(1, 40)
        ids = [f"{s}{i}" for s in "xyz" for i in range(6)]
        rows = [rng.sample(ids, 2) for _ in range(n)]
        pairs = pl.DataFrame(
            {
                "id_l": [a for a, _ in rows],
                "id_r": [b for _, b in rows],
                "source_l": [a[0] for a, _ in rows],
                "source_r": [b[0] for _, b in rows],
                "match_weight": [float(rng.randint(0, 5)) for _ in rows],
            }
        ).unique(["id_l", "id_r"], keep="first", maintain_order=True)
        assert one_link_per_source(pairs).to_list() == _sequential(pairs)


def test_pairs_by_kind_counts_every_record_pair() -> None:
    within, across = pairs_by_kind(pl.Series([3, 2]))
    assert (within, across) == (3 + 1, 6)


def test_priors_separate_pairs_within_and_across_sources() -> None:
    # 50 likely matches across sources (of 1,000 pairs), none likely within one (of 10^6)
    bayes = np.concatenate([np.full(50, 20.0), np.full(20, 5.0)])
    within = np.concatenate([np.zeros(50, bool), np.ones(20, bool)])
    priors = estimate_priors(bayes, within, 1_000_000, 1_000, 1e-4)
    assert priors.across_sources == pytest.approx(0.05, rel=0.01)
    assert priors.within_source < 1e-6
    assert priors.overall == pytest.approx(
        (priors.within_source * 1e6 + priors.across_sources * 1e3) / (1e6 + 1e3)
    )


def test_with_sources_refuses_a_record_without_one() -> None:
    pairs = pl.DataFrame({"id_l": ["a"], "id_r": ["b"], "match_weight": [1.0]})
    with pytest.raises(InputDataError):
        with_sources(pairs, pl.DataFrame({"id": ["a"], "source": ["x"]}))


def test_the_threshold_applies_before_the_rule() -> None:
    sources = pl.DataFrame({"id": ["c1", "c2", "a1"], "source": ["c", "c", "a"]})
    pairs = pl.DataFrame(
        {
            "id_l": ["c1", "c2"],
            "id_r": ["a1", "a1"],
            "match_weight": [20.0, 19.0],
            "match_probability": [1.0, 1.0],
        }
    )
    decided = link_by_source(pairs, sources, 1e-3, MODEL, threshold=0.5)
    assert decided.pairs[LINKED].to_list() == [True, False]
    assert decided.threshold == 0.5
    assert decided.links.height == 1
    # c1 and c2 are two people: nothing kept joins them, so c2-a1 is not implied either
    above = decided.pairs.with_row_index("__i").filter(pl.col("match_probability") >= 0.5)
    assert implied_links(above, pl.Series("__i", [0], dtype=pl.UInt32)).to_list() == []


def test_a_pair_the_kept_links_already_join_is_linked() -> None:
    # the census holds one person twice (c1, c2, linked to each other), the survey once (a1):
    # the rule drops c2-a1 (a1 has its census link, c1-a1), but c2 - c1 - a1 already joins them
    sources = pl.DataFrame({"id": ["c1", "c2", "a1"], "source": ["c", "c", "a"]})
    pairs = pl.DataFrame(
        {
            "id_l": ["c1", "c2", "c1"],
            "id_r": ["a1", "a1", "c2"],
            "match_weight": [20.0, 19.0, 18.0],
            "match_probability": [1.0, 1.0, 1.0],
        }
    )
    decided = link_by_source(pairs, sources, 1e-3, MODEL, threshold=0.5)
    assert decided.pairs[LINKED].to_list() == [True, True, True]


# --- on a trained model ------------------------------------------------------------------


@pytest.fixture(scope="module")
def census_and_survey() -> tuple[pl.DataFrame, pl.DataFrame]:
    """make_people's records: each person's first record in the census, a repeat in the
    survey; and for 60 people a census namesake born a day later (a twin) who also looks
    like that person's survey record."""
    return people_in_two_files(800, 5, column="source", files=("census", "survey"), twins=60)


def _census_links_per_survey_record(links: pl.DataFrame, records: pl.DataFrame) -> int:
    """The most census records linked to one survey record."""
    source = records.select("id", "source")
    both = links.join(source.rename({"id": "id_l", "source": "s_l"}), on="id_l").join(
        source.rename({"id": "id_r", "source": "s_r"}), on="id_r"
    )
    across = both.filter(pl.col("s_l") != pl.col("s_r"))
    survey = pl.when(pl.col("s_l") == "survey").then(pl.col("id_l")).otherwise(pl.col("id_r"))
    return int(across.group_by(survey.alias("s")).len()["len"].max() or 0)  # type: ignore[arg-type]


def _groups(links: pl.DataFrame) -> set[frozenset[int]]:
    """The records joined by ``links``, as sets of ids."""
    ids = pl.concat([links["id_l"], links["id_r"]]).unique().sort()
    a = ids.search_sorted(links["id_l"]).to_numpy()
    b = ids.search_sorted(links["id_r"]).to_numpy()
    smallest = component_minimum(ids.len(), a, b)
    groups: dict[int, set[int]] = {}
    for node, group in zip(ids.to_list(), smallest.tolist(), strict=True):
        groups.setdefault(group, set()).add(node)
    return {frozenset(g) for g in groups.values()}


def test_two_census_records_no_longer_link_to_one_survey_record(
    census_and_survey: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    records, _ = census_and_survey
    linker = Linker(dedupe_settings(source_column="source"), records)
    linker.train(seed=1)
    pairs = linker.predict()
    plain = pairs.filter(pl.col("match_probability") >= linker.auto_threshold())
    assert _census_links_per_survey_record(plain, records) >= 2  # the twins' problem
    decided = linker.link_by_source(pairs)
    above = decided.pairs.filter(pl.col("match_probability") >= decided.threshold)
    by_rule = above.filter(one_link_per_source(above))
    assert _census_links_per_survey_record(by_rule, records) == 1
    # the links the rule dropped and the result keeps are those the kept ones imply: the
    # records fall into the same groups either way
    assert _groups(decided.links) == _groups(by_rule)
    # the survey record keeps the heavier census record: the person, not the twin
    twins = by_rule.filter((pl.col("id_l") >= 100_000) | (pl.col("id_r") >= 100_000))
    survey_ids = set(records.filter(pl.col("source") == "survey")["id"].to_list())
    twin_to_survey = twins.filter(
        pl.col("id_l").is_in(list(survey_ids)) | pl.col("id_r").is_in(list(survey_ids))
    )
    assert twin_to_survey.height < 60 // 4
    assert decided.priors.within_source < decided.priors.across_sources
    linker.close()


def test_source_column_settings_are_checked() -> None:
    with pytest.raises(SettingsError, match="source_column applies to dedupe_only"):
        dedupe_settings(link_type="link_only", source_column="source")
    with pytest.raises(SettingsError, match="source_column must be a non-empty string"):
        dedupe_settings(source_column="")
    settings = dedupe_settings(source_column="source")
    assert LinkageSettings.from_dict(settings.to_dict()).source_column == "source"


def test_a_missing_source_column_is_named(
    census_and_survey: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    records, _ = census_and_survey
    with pytest.raises(InputDataError, match="no column 'file'"):
        Linker(dedupe_settings(source_column="file"), records)


def test_link_by_source_needs_the_setting(
    census_and_survey: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    records, _ = census_and_survey
    linker = Linker(dedupe_settings(), records)
    with pytest.raises(SettingsError, match="source_column"):
        linker.link_by_source(pl.DataFrame())
    linker.close()
