"""The near-name blocking key (issue 11, noisy names): a record whose name the register does
not hold gets the register name a keystroke or two from it, the rarest where several are."""

from __future__ import annotations

import polars as pl

from pipeline.business.near_names import MIN_NEAR_LENGTH, NEAR_BLOCK, add_near_name


def _frame(names: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {"uid": range(len(names)), "name_compact": names},
        schema={"uid": pl.Int64, "name_compact": pl.String},
    )


REGISTER = _frame(
    [
        "RTPSOLUTIONS",  # held once
        "KESTRELWAYTRAINING",
        "NORTHMEDIA",  # held twice ...
        "NORTHMEDIA",
        "NORTHMEDIUM",  # ... and a near name held once
        "DAVIDSMITHS",  # held by more than the cap
        *["DAVIDSMITHS"] * 3,
        "SHORTNM",  # shorter than the minimum
        None,
    ]
)


def _near(names: list[str | None]) -> list[str | None]:
    incoming, register = add_near_name(_frame(names), REGISTER, compact="name_compact", cap=3.0)
    assert register[NEAR_BLOCK].null_count() == register.height  # the record side only
    return incoming[NEAR_BLOCK].to_list()


def test_slips_of_one_keystroke_find_the_register_name() -> None:
    assert (
        _near(["RTPSLOUTIONS", "RTPSOLUTION", "RTPSOLUTIONSS", "RTPXOLUTIONS"])
        == ["RTPSOLUTIONS"] * 4
    )  # swapped, dropped, added, substituted
    assert _near(["KETSRELWAYTRAINING"]) == ["KESTRELWAYTRAINING"]  # an early slip


def test_a_name_the_register_holds_gets_no_near_name() -> None:
    assert _near(["RTPSOLUTIONS", "NORTHMEDIA"]) == [None, None]


def test_the_near_name_fewest_rows_hold_is_kept_and_common_ones_are_not() -> None:
    # NORTHMEDIAM is a keystroke from NORTHMEDIA (two rows) and from NORTHMEDIUM (one)
    assert _near(["NORTHMEDIAM"]) == ["NORTHMEDIUM"]
    assert _near(["DAVIDSMITH"]) == [None]  # four register rows hold DAVIDSMITHS: cap 3


def test_short_names_and_far_names_get_none() -> None:
    assert len("SHORTNM") < MIN_NEAR_LENGTH
    assert _near(["SHORTNN", "COMPLETELYOTHER", None]) == [None, None, None]
