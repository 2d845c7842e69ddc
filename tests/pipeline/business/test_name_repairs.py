"""Source slips in company names that must not break an exact name match: a mistyped LIMITED,
"TA" for "T/A", abbreviations in the core (each pair: an incoming spelling and its register
entry, which must standardise to the same core, words and form)."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.business.name_repairs import MISTYPED_WORDS, one_keystroke_variants
from pipeline.business.prepare import linkage_frame, repaired_company_name


def _parts(name: str) -> tuple[object, ...]:
    frame = linkage_frame(
        pl.DataFrame({"name": [name]}), name="name", trading_name=None, postcode=None, address=None
    )
    row = frame.row(0, named=True)
    return row["name_core"], row["name_words"], row["legal_form"], row["trading_core"]


@pytest.mark.parametrize(
    ("incoming", "registered"),
    [
        ("Flexihouse Leisure Services Lkmited", "FLEXIHOUSE LEISURE SERVICES LIMITED"),
        ("VALEDRIVE GLAZING LIMITEDD", "VALEDRIVE GLAZING LIMITED"),
        ("Evoity Medical Limted", "EVOITY MEDICAL LIMITED"),
        ("EVOITY MEDICAL LIMIETD", "EVOITY MEDICAL LTD"),
        ("Bluelink Fashions Ld", "BLUELINK FASHIONS LTD"),
        ("N PEARSON LTDD", "N PEARSON LIMITED"),
        ("Terraon Tech Ltd", "TERRAON TECHNOLOGIES LIMITED"),
        ("RAPIDMAX CONST", "RAPIDMAX CONSTRUCTION"),
        ("ELMADRIVE ELEC LTD", "ELMADRIVE ELECTRICAL LIMITED"),
        ("Rajesh Scott TA Keystone Fish Bar", "RAJESH SCOTT T/A KEYSTONE FISH BAR"),
        ("moore & jones limited ta bridge cafe", "MOORE AND JONES LTD T/A BRIDGE CAFE"),
        ("Pinnacle Light Develkpments Ltd", "PINNACLE LIGHT DEVELOPMENTS LIMITED"),
        ("STONE ENGINEERING INVSTMENTS", "STONE ENGINEERING INVESTMENTS"),
        ("WALKER TRAVEL GRPUP LTD", "WALKER TRAVEL GROUP LTD"),
        ("Veda Opticians Inteernational", "VEDA OPTICIANS INTERNATIONAL"),
        ("N SPENCER ELECTRICAL SERVICE", "N SPENCER ELECTRICAL SERVICES"),
        ("DELEX CAR LTD - PLANT HIRE", "DELEX CAR LIMITED"),
        ("Falaara Limmited (Newport)", "FALAARA LIMITED"),
        ("Circle (Hull) Ltd Software", "CIRCLE (HULL) LIMITED"),
        ("EA KTD - CONSULTING - LETTINGS", "EA LTD"),
        ("KALILERA LTDD.", "KALILERA LTD"),  # a slip with a full stop after it
        ("Xenarro Public Limited Company", "XENARRO PLC"),  # the form spelled out stays whole
    ],
)
def test_slips_standardise_like_the_registered_name(incoming: str, registered: str) -> None:
    assert _parts(incoming) == _parts(registered)


@pytest.mark.parametrize(
    ("name", "repaired"),
    [
        ("SPEED LIMITER", "SPEED LIMITER"),  # a real word, not a slip
        ("X LIMITED", "X LIMITED"),
        ("LIMITTED", "LIMITTED"),  # no name before it: left alone
        ("TA TRAINING LTD", "TA TRAINING LTD"),  # a name may start with TA
        ("DATA TA", "DATA TA"),  # no trading name after it
        ("X LIMITED TA Y", "X LIMITED T/A Y"),
        ("Tiling Grout Ltd", "TILING GROUT LTD"),  # GROUT is a word, not GROUP mistyped
        ("X GRADING", "X GRADING"),  # nor is GRADING TRADING
        ("X NORTH", "X NORTH"),
        ("FLOOR LID", "FLOOR LID"),  # one keystroke from LTD, but with a vowel: a word
        ("X NORTE", "X NORTE"),  # too short to tell from other words
        ("X LTD (T/A Y)", "X LTD (T/A Y)"),  # a trading name after the form stays
        ("X LTD - TRADING AS Y", "X LTD - TRADING AS Y"),
        ("X LIMITED PARTNERSHIP", "X LIMITED PARTNERSHIP"),  # a longer legal form
        ("X LIMITED LIABILITY PARTNERSHIP", "X LIMITED LIABILITY PARTNERSHIP"),
        ("X PUBLIC LIMITED COMPANY", "X PUBLIC LIMITED COMPANY"),
        ("X LTD (IN LIQUIDATION)", "X LTD (IN LIQUIDATION)"),  # a status note
        ("LIMITED EDITIONS LTD", "LIMITED EDITIONS LTD"),  # no name before the first form
        (None, None),
    ],
)
def test_repairs_touch_only_slips(name: str | None, repaired: str | None) -> None:
    frame = pl.DataFrame({"name": [name]}, schema={"name": pl.String})
    assert frame.select(repaired_company_name(pl.col("name"))).item() == repaired


def test_a_different_name_stays_different() -> None:
    """Two keystrokes from LIMITED is not LIMITED, and a distinguishing word still counts."""
    assert _parts("X LIMTD")[0] != _parts("X LIMITED")[0]
    assert _parts("TERRAON TECH HOLDINGS LTD")[1] != _parts("TERRAON TECHNOLOGIES LTD")[1]


def test_keystroke_variants_and_slips() -> None:
    variants = one_keystroke_variants("GROUP")
    assert {"GRPUP", "GROP", "GROUPP", "GRUOP", "XROUP"} <= variants
    assert "GROUP" not in variants and "GRPPU" not in variants
    assert MISTYPED_WORDS["DEVELKPMENTS"] == "DEVELOPMENTS"
    # a slip two words explain is left alone; a distinguishing word is never a slip
    assert "PROPERTY" not in MISTYPED_WORDS and "ESTATES" not in MISTYPED_WORDS


@pytest.mark.parametrize(
    ("incoming", "registered"),
    [
        ("Optihouse Int Ltd", "OPTIHOUSE INTERNATIONAL LIMITED"),
        ("CRK ASSOCIATES INT. LIMITED", "CRK ASSOCIATES INTERNATIONAL LIMITED"),
        ("THOMAS BEAUTY HLDGS LTD", "THOMAS BEAUTY HOLDINGS LIMITED"),
        ("Riveraline Haulage Grp Limited", "RIVERALINE HAULAGE GROUP LIMITED"),
        ("KESTREL PROPS LTD", "KESTREL PROPERTIES LTD"),
        ("Kestrel Mgmt (UK) Ltd", "KESTREL MANAGEMENT (UK) LIMITED"),
    ],
)
def test_abbreviated_distinguishing_words_keep_the_names_words(
    incoming: str, registered: str
) -> None:
    """Written out only after the split, "PROPS" would join the core and leave the words
    empty: neither the core nor the words of the registered name would agree."""
    assert _parts(incoming) == _parts(registered)
    assert _parts(incoming)[1]  # the word is a distinguishing word, not part of the core
