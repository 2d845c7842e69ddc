"""Term frequencies counted over more records than a linker's inputs
(``Linker.count_term_frequencies``): a linker over part of a larger linkage scores its pairs
as one linker over all of it would."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from linkage import LinkageSettings, Linker
from linkage import comparisons as cl
from linkage.blocking import block_on
from linkage.model import ModelParameters

SURNAMES = ["SMITH", "SMITH", "JONES", "BROWN", "SMITH", "PATEL", "JONES", "SMITH"]


def _settings() -> LinkageSettings:
    return LinkageSettings(
        link_type="link_only",
        comparisons=[
            cl.ExactComparison("surname", term_frequency=True),
            cl.ExactComparison("town"),
        ],
        blocking_rules=[block_on("town")],
        unique_id_column="id",
    )


def _people(ids: range, towns: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": list(ids),
            "surname": [SURNAMES[i % len(SURNAMES)] for i in ids],
            "town": [towns[i % len(towns)] for i in ids],
        }
    )


def _parameters() -> ModelParameters:
    params = ModelParameters.initial(_settings().comparisons, prior=0.01)
    for name in ("surname", "town"):
        params.comparisons[name].m[:] = [0.0, 0.9, 0.1]
        params.comparisons[name].u[:] = [0.0, 0.05, 0.95]
    return params


def _predict(
    left: pl.DataFrame,
    right: pl.DataFrame,
    counted: list[pl.DataFrame] | None,
    *,
    compare_first: bool = False,
) -> pl.DataFrame:
    linker = Linker(_settings(), left, right, parameters=_parameters())
    try:
        if compare_first:  # comparison vectors stored before the frequencies change
            linker.ensure_gammas()
        if counted is not None:
            linker.count_term_frequencies(counted)
        return linker.predict(threshold=None).sort("id_l", "id_r")
    finally:
        linker.close()


@pytest.mark.parametrize("compare_first", [False, True])
def test_a_part_scores_as_the_whole_with_the_whole_counted(compare_first: bool) -> None:
    left, part, rest = (
        _people(range(8), "AB"),
        _people(range(100, 106), "AC"),
        _people(range(200, 230), "ABC"),
    )
    whole = _predict(left, pl.concat([part, rest]), None)
    alone = _predict(left, part, None)
    counted = _predict(left, part, [left, part, rest], compare_first=compare_first)
    expected = whole.filter(pl.col("id_r") < 200)
    assert_frame_equal(counted, expected)
    # without the whole counted, the part scores its exact surnames differently
    assert not alone["match_weight"].equals(expected["match_weight"])


def test_frequencies_can_be_counted_from_parquet(tmp_path: Path) -> None:
    left, right = _people(range(8), "AB"), _people(range(100, 110), "AB")
    path = tmp_path / "more.parquet"
    more = _people(range(300, 320), "C")
    more.write_parquet(path)
    from_frames = _predict(left, right, [left, right, more])
    from_file = _predict(left, right, [left, right, str(path)])
    assert_frame_equal(from_frames, from_file)
