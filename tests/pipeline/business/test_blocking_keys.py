"""Blocking of business records: a record that carries only a register row's trading name (a
sole trader known by its shop's name, registered under the proprietor's) becomes that row's
candidate even when its postcode differs and its words are too common to block on alone."""

from __future__ import annotations

import polars as pl

from linkage import LinkageSettings, Linker
from linkage.comparisons import ExactComparison
from pipeline.business import probabilistic
from pipeline.business.prepare import UID


def _frame(rows: list[tuple[str, str | None, str]]) -> pl.DataFrame:
    """``uid``, the name columns blocking reads (rarest tokens left null: the words are
    common) and a postcode, one row per (legal name, trading name, postcode)."""
    names = [legal for legal, _, _ in rows]
    return pl.DataFrame(
        {
            UID: list(range(len(rows))),
            probabilistic.NAME: names,
            probabilistic.COMPACT: [n.replace(" ", "") for n in names],
            probabilistic.TRADING: [trading for _, trading, _ in rows],
            "postcode_std": [postcode for _, _, postcode in rows],
        },
        schema_overrides={probabilistic.TRADING: pl.String},
    ).with_columns(
        pl.lit(None, pl.String).alias(probabilistic.rarest_column(probabilistic.NAME)),
        pl.lit(None, pl.String).alias(probabilistic.rarest_column(probabilistic.TRADING)),
    )


def _pairs_per_rule(incoming: pl.DataFrame, register: pl.DataFrame, cap: float) -> dict[str, int]:
    incoming, register = probabilistic._block_keys(incoming, register, cap=cap)
    settings = LinkageSettings(
        link_type="link_only",
        comparisons=[ExactComparison("postcode_std")],
        blocking_rules=probabilistic.blocking_rules(),
        unique_id_column=UID,
    )
    linker = Linker(settings, incoming, register)
    try:
        report = linker.blocking_report()
    finally:
        linker.close()
    return dict(zip(report["rule"], report["pairs"], strict=True))


REGISTER = [
    ("JOHN WATTS", "WHITE HART", "N1 0ZW"),  # a sole trader: the proprietor and the pub
    ("WHITE HART INNS", None, "LS1 4AB"),
    ("MARY JONES", None, "N1 0ZX"),
]


def test_a_record_named_as_a_register_rows_trading_name_is_its_candidate() -> None:
    incoming = _frame([("WHITE HART", None, "M1 1AA")])
    pairs = _pairs_per_rule(incoming, _frame(REGISTER), cap=20)
    assert pairs["legal-trading name"] == 1
    assert sum(pairs.values()) == 1  # no rule pairs it with the others


def test_a_register_rows_legal_name_given_as_the_records_trading_name_blocks() -> None:
    incoming = _frame([("W H TAVERNS", "JOHN WATTS", "M1 1AA")])
    pairs = _pairs_per_rule(incoming, _frame(REGISTER), cap=20)
    assert pairs["trading-legal name"] == 1


def test_a_trading_name_many_records_share_is_no_blocking_key() -> None:
    register = _frame([(f"OWNER {i}", "WHITE HART", f"N{i} 0ZW") for i in range(5)])
    incoming = _frame([("WHITE HART", None, "M1 1AA")])
    assert sum(_pairs_per_rule(incoming, register, cap=20).values()) == 5
    assert sum(_pairs_per_rule(incoming, register, cap=5).values()) == 0  # 6 hold the name
