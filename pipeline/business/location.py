"""Where a record is against where its candidate is registered: postcode and address as one
comparison (:func:`location_comparison`), aware of offices (:class:`RegisteredOfficeLevel`).

Companies House shows a company's registered office, and many companies are registered at
their accountant's or at a formation agent's office, a postcode that holds tens or hundreds of
register rows (:func:`postcode_counts`), while they trade at their own address. A record of
such a company elsewhere is weak evidence against it, the weaker the larger the office.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from linkage.comparisons import (
    And,
    Comparison,
    ElseLevel,
    ExactMatchLevel,
    JaroWinklerLevel,
    Level,
    Not,
    NullLevel,
    PostcodePartialLevel,
)
from linkage.errors import SettingsError
from linkage.levels.base import check_column
from linkage.sql import RIGHT, Dialect, col

AT_POSTCODE = "postcode_companies"  # how many register rows share the row's postcode


@dataclass(frozen=True)
class RegisteredOfficeLevel(Level):
    """The right-side record is registered at an office: its ``count_column`` (how many
    right-side records share its postcode) is at least ``min_companies``. In a link the right
    side is the register, and a postcode holding many companies is a formation agent's or an
    accountant's office, where the register shows the office and the business trades
    elsewhere: disagreeing on the place says less than at a company's own premises
    (:func:`location_comparison` gives such pairs levels of their own)."""

    count_column: str
    min_companies: int = 10

    def __post_init__(self) -> None:
        check_column(self.count_column)
        count = self.min_companies
        if isinstance(count, bool) or not isinstance(count, int) or count < 2:
            raise SettingsError("RegisteredOfficeLevel min_companies must be an integer >= 2")

    def sql(self, dialect: Dialect) -> str:
        return f"coalesce({col(RIGHT, self.count_column)} >= {int(self.min_companies)}, FALSE)"

    def columns(self) -> tuple[str, ...]:
        return (self.count_column,)

    @property
    def label(self) -> str:
        return f"right side registered at an office ({self.count_column} >= {self.min_companies})"


def location_comparison(
    postcode: str = "postcode_std",
    address: str = "address_std",
    *,
    office_column: str | None = None,
    office_sizes: tuple[int, int] = (10, 100),
) -> Comparison:
    """Postcode and address as one comparison: the address says little once the postcode
    agrees (a building, a formation agent's office, a family of companies share both), so
    counting them as independent would add their evidence twice.

    With ``office_column`` (per register row, how many register rows share its postcode), a
    record in another postcode area than a register row at an office, or without a postcode,
    has a level of its own per size of office (``office_sizes``: at least as many register
    rows at the postcode as the large size, then as the small one;
    :class:`RegisteredOfficeLevel`), placed after level 7 and learnt
    like the others: businesses registered at a formation agent's or an accountant's office
    trade at their own address, so an address elsewhere is weak evidence against them, the
    weaker the more companies the office holds (an accountant's clients are mostly near it, a
    formation agent's anywhere). Sector, district and area keep their levels.
    The levels without offices, in order:

    1. same postcode, address Jaro-Winkler >= 0.9,
    2. same postcode,
    3. same postcode sector, address >= 0.9 (a mistyped postcode),
    4. postcode missing on a side, address >= 0.9,
    5. same postcode sector,
    6. same district,
    7. same area,
    8. postcode missing on a side,
    9. all other.
    """
    close = JaroWinklerLevel(address, 0.9)
    same_area = PostcodePartialLevel(postcode, "area")
    levels: list[Level] = [
        And((ExactMatchLevel(postcode), close)),
        ExactMatchLevel(postcode),
        And((PostcodePartialLevel(postcode, "sector"), close)),
        And((NullLevel(postcode), close)),
        PostcodePartialLevel(postcode, "sector"),
        PostcodePartialLevel(postcode, "district"),
        same_area,
        And((NullLevel(postcode), Not(close))),  # a comparison's null level must come first
        ElseLevel(),
    ]
    if office_column is not None:
        small, large = office_sizes
        offices = [RegisteredOfficeLevel(office_column, n) for n in (large, small)]
        at = levels.index(same_area) + 1  # elsewhere, or no postcode
        levels[at:at] = offices
    return Comparison("location", levels)


def postcode_counts(
    incoming: pl.DataFrame, register: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add :data:`AT_POSTCODE` (register rows at the row's postcode; 0 when none or no
    postcode) to both frames: only the register's is compared, the incoming side's keeps the
    two frames alike."""
    counts = (
        register.drop_nulls("postcode_std")
        .group_by("postcode_std")
        .agg(pl.len().cast(pl.Int64).alias(AT_POSTCODE))
    )

    def add(frame: pl.DataFrame) -> pl.DataFrame:
        joined = frame.join(counts, on="postcode_std", how="left", maintain_order="left")
        return joined.with_columns(pl.col(AT_POSTCODE).fill_null(0))

    return add(incoming), add(register)
