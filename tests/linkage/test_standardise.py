"""Table-driven literal cases for every standardisation rule in :mod:`linkage.standardise`."""

from __future__ import annotations

import datetime as dt
import pickle
from collections.abc import Callable

import polars as pl
import pytest

from linkage.errors import LinkageError
from linkage.standardise import (
    CROWN_DEPENDENCY_AREAS,
    ONS_REGIONS,
    POSTCODE_AREA_REGION,
    STRADDLING_AREAS,
    MissingColumnsError,
    UnknownPhoneticAlgorithmError,
    address_tokens,
    company_name_tokens,
    flat_number,
    house_number,
    normalise_address,
    normalise_company_name,
    normalise_name,
    normalise_postcode,
    parse_date,
    phonetic,
    postcode_area,
    postcode_district,
    postcode_region,
    postcode_sector,
    split_full_name,
    split_trading_as,
    standardise_business_frame,
    standardise_person_frame,
    street_name,
    token_rarity,
)


def apply(function: Callable[[pl.Expr], pl.Expr], value: object) -> object:
    """Run one expression helper over a single value and return the scalar result."""
    frame = pl.DataFrame({"x": [value]}, schema={"x": pl.String})
    return frame.select(function(pl.col("x")).alias("out")).to_series().to_list()[0]


NAME_CASES = [
    ("john", "JOHN"),
    ("  Mary   Ann  ", "MARY ANN"),
    ("Mr. John Smith", "JOHN SMITH"),
    ("MRS JONES", "JONES"),
    ("Dr Prof Émile Zola", "EMILE ZOLA"),
    ("Rev. Canon", "CANON"),
    ("Sir Ian Botham", "IAN BOTHAM"),
    ("Ms Zoë Ball", "ZOE BALL"),
    ("O'Brien", "OBRIEN"),
    ("D’Arcy", "DARCY"),
    ("Smith-Jones", "SMITH JONES"),
    ("Smith - Jones", "SMITH JONES"),
    ("Bjørk", "BJORK"),  # Ø has no NFKD decomposition: transliterated
    ("Strauß", "STRAUSS"),
    ("Łukasz", "LUKASZ"),
    ("Siân", "SIAN"),
    ("Иван", "ИВАН"),  # other scripts are kept, upper-cased
    ("李 Wei", "李 WEI"),
    ("Séan", "SEAN"),
    ("John Smith Jr", "JOHN SMITH"),
    ("Miss", "MISS"),  # a lone title may be a surname
    ("Jr", "JR"),
    ("", None),
    ("   ", None),
    ("Mr", "MR"),
    (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), NAME_CASES)
def test_normalise_name(raw: str | None, expected: str | None) -> None:
    assert apply(normalise_name, raw) == expected


@pytest.mark.parametrize(
    ("raw", "first", "surname"),
    [
        ("John Smith", "JOHN", "SMITH"),
        ("Dr John Paul Smith", "JOHN", "SMITH"),
        ("SMITH, John Paul", "JOHN", "SMITH"),
        ("Smith-Jones, Ann", "ANN", "SMITH JONES"),
        ("Ann Smith-Jones", "ANN", "SMITH JONES"),
        ("Madonna", None, "MADONNA"),
        ("Mrs. Ann O'Neill", "ANN", "ONEILL"),
        (None, None, None),
    ],
)
def test_split_full_name(raw: str | None, first: str | None, surname: str | None) -> None:
    frame = pl.DataFrame({"x": [raw]}, schema={"x": pl.String})
    first_expr, surname_expr = split_full_name(pl.col("x"))
    assert frame.select(first_expr.alias("f"), surname_expr.alias("s")).row(0) == (
        first,
        surname,
    )


DATE_CASES = [
    ("2000-02-29", dt.date(2000, 2, 29)),
    ("19991231", dt.date(1999, 12, 31)),
    ("01/02/2000", dt.date(2000, 2, 1)),  # UK order: day first
    ("1/2/2000", dt.date(2000, 2, 1)),
    ("01-02-2000", dt.date(2000, 2, 1)),
    ("01.02.2000", dt.date(2000, 2, 1)),
    ("3 Feb 1999", dt.date(1999, 2, 3)),
    ("3 FEBRUARY 1999", dt.date(1999, 2, 3)),
    ("31-12-99", dt.date(1999, 12, 31)),
    (" 2000-01-05 ", dt.date(2000, 1, 5)),
    ("03-FEB-99", dt.date(1999, 2, 3)),
    ("03-Feb-1999", dt.date(1999, 2, 3)),
    ("2000-02-03 00:00:00", dt.date(2000, 2, 3)),
    ("2000-02-03T10:11:12.123", dt.date(2000, 2, 3)),
    ("2000-02-03 25:00:00", None),
    ("2000-02-30", None),  # impossible day: null, not rolled over
    ("2001-02-29", None),  # not a leap year
    ("31/04/2000", None),
    ("13/13/2000", None),
    ("not a date", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), DATE_CASES)
def test_parse_date(raw: str | None, expected: dt.date | None) -> None:
    assert apply(parse_date, raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("05-06-45", dt.date(1945, 6, 5)), ("05-06-20", dt.date(2020, 6, 5))],
)
def test_parse_date_latest_moves_two_digit_years_back_a_century(
    raw: str, expected: dt.date
) -> None:
    latest = dt.date(2025, 1, 1)
    assert apply(lambda e: parse_date(e, latest=latest), raw) == expected
    # without ``latest`` chrono's 1969/2068 pivot applies
    assert apply(parse_date, "05-06-45") == dt.date(2045, 6, 5)


def test_parse_date_custom_formats_only() -> None:
    assert apply(lambda e: parse_date(e, ["%m/%d/%Y"]), "02/01/2000") == dt.date(2000, 2, 1)
    assert apply(lambda e: parse_date(e, ["%m/%d/%Y"]), "2000-02-01") is None


POSTCODE_CASES = [
    # raw, canonical, area, district, sector, region
    ("sw1a1aa", "SW1A 1AA", "SW", "SW1A", "SW1A 1", "London"),
    ("SW1A 1AA", "SW1A 1AA", "SW", "SW1A", "SW1A 1", "London"),
    (" ec1a-1bb ", "EC1A 1BB", "EC", "EC1A", "EC1A 1", "London"),
    ("M1 1AE", "M1 1AE", "M", "M1", "M1 1", "North West"),
    ("b338th", "B33 8TH", "B", "B33", "B33 8", "West Midlands"),
    ("CR2 6XH", "CR2 6XH", "CR", "CR2", "CR2 6", "London"),
    ("DN55 1PT", "DN55 1PT", "DN", "DN55", "DN55 1", "Yorkshire and The Humber"),
    ("LS1  4AP", "LS1 4AP", "LS", "LS1", "LS1 4", "Yorkshire and The Humber"),
    ("NE1 7RU", "NE1 7RU", "NE", "NE1", "NE1 7", "North East"),
    ("NG1 5FS", "NG1 5FS", "NG", "NG1", "NG1 5", "East Midlands"),
    ("CB2 1TN", "CB2 1TN", "CB", "CB2", "CB2 1", "East of England"),
    ("OX1 2JD", "OX1 2JD", "OX", "OX1", "OX1 2", "South East"),
    ("BS1 4DJ", "BS1 4DJ", "BS", "BS1", "BS1 4", "South West"),
    ("CF10 1EP", "CF10 1EP", "CF", "CF10", "CF10 1", "Wales"),
    ("EH1 1YZ", "EH1 1YZ", "EH", "EH1", "EH1 1", "Scotland"),
    ("bt7 1nn", "BT7 1NN", "BT", "BT7", "BT7 1", "Northern Ireland"),
    ("GY1 1AA", "GY1 1AA", "GY", "GY1", "GY1 1", None),  # Crown Dependency
    ("SW1A 1CA", None, None, None, None, None),  # C never appears in the inward unit
    ("SW1A", None, None, None, None, None),
    ("12345", None, None, None, None, None),
    ("", None, None, None, None, None),
    (None, None, None, None, None, None),
]


@pytest.mark.parametrize(
    ("raw", "canonical", "area", "district", "sector", "region"), POSTCODE_CASES
)
def test_postcode_hierarchy(
    raw: str | None,
    canonical: str | None,
    area: str | None,
    district: str | None,
    sector: str | None,
    region: str | None,
) -> None:
    assert apply(normalise_postcode, raw) == canonical
    assert apply(postcode_area, raw) == area
    assert apply(postcode_district, raw) == district
    assert apply(postcode_sector, raw) == sector
    assert apply(postcode_region, raw) == region


def test_region_table_covers_every_uk_area_with_ons_regions() -> None:
    assert len(POSTCODE_AREA_REGION) == 121
    assert set(POSTCODE_AREA_REGION.values()) == set(ONS_REGIONS)
    assert len(ONS_REGIONS) == 12
    assert not CROWN_DEPENDENCY_AREAS & POSTCODE_AREA_REGION.keys()
    for area, minorities in STRADDLING_AREAS.items():
        assert area in POSTCODE_AREA_REGION
        assert POSTCODE_AREA_REGION[area] not in minorities
    # Every London postal area is London; every Scottish area is Scotland.
    for area in ("E", "EC", "N", "NW", "SE", "SW", "W", "WC"):
        assert POSTCODE_AREA_REGION[area] == "London"
    for area in ("AB", "DD", "DG", "EH", "FK", "G", "HS", "IV", "KA", "KW", "KY", "ML"):
        assert POSTCODE_AREA_REGION[area] == "Scotland"


ADDRESS_CASES = [
    # raw, normalised, flat, house number, street
    ("12a High St., Leeds", "12A HIGH STREET, LEEDS", None, "12A", "HIGH STREET"),
    ("12A High Street", "12A HIGH STREET", None, "12A", "HIGH STREET"),
    ("12 A Mill Lane", "12A MILL LANE", None, "12A", "MILL LANE"),
    ("Flat 3, 5 St John's Rd", "FLAT 3, 5 SAINT JOHNS ROAD", "3", "5", "SAINT JOHNS ROAD"),
    ("Apt 2B 7 Church Dr", "FLAT 2B 7 CHURCH DRIVE", "2B", "7", "CHURCH DRIVE"),
    ("Flat A, 1 Park Terr", "FLAT A, 1 PARK TERRACE", "A", "1", "PARK TERRACE"),
    ("Unit 4, 10 Station Ave", "UNIT 4, 10 STATION AVENUE", "4", "10", "STATION AVENUE"),
    ("12-14 Station Ave", "12-14 STATION AVENUE", None, "12-14", "STATION AVENUE"),
    ("3 Acacia Ave", "3 ACACIA AVENUE", None, "3", "ACACIA AVENUE"),
    ("9 Rose Gdns", "9 ROSE GARDENS", None, "9", "ROSE GARDENS"),
    ("7 Oak Cl", "7 OAK CLOSE", None, "7", "OAK CLOSE"),
    ("7 Oak Cres", "7 OAK CRESCENT", None, "7", "OAK CRESCENT"),
    ("1 Kings Sq", "1 KINGS SQUARE", None, "1", "KINGS SQUARE"),
    ("1 Ash Gro", "1 ASH GROVE", None, "1", "ASH GROVE"),
    ("1 St Marys Pl", "1 SAINT MARYS PLACE", None, "1", "SAINT MARYS PLACE"),
    ("The Old Rectory, Main St", "THE OLD RECTORY, MAIN STREET", None, None, "THE OLD RECTORY"),
    ("12A, High Street, Leeds", "12A, HIGH STREET, LEEDS", None, "12A", "HIGH STREET"),
    ("Rose Cottage", "ROSE COTTAGE", None, None, "ROSE COTTAGE"),
    (None, None, None, None, None),
]


@pytest.mark.parametrize(("raw", "normalised", "flat", "number", "street"), ADDRESS_CASES)
def test_address_rules(
    raw: str | None,
    normalised: str | None,
    flat: str | None,
    number: str | None,
    street: str | None,
) -> None:
    assert apply(normalise_address, raw) == normalised
    assert apply(flat_number, raw) == flat
    assert apply(house_number, raw) == number
    assert apply(street_name, raw) == street


def test_address_tokens() -> None:
    assert apply(address_tokens, "Flat 3, 5 St John's Rd") == [
        "FLAT", "3", "5", "SAINT", "JOHNS", "ROAD",
    ]  # fmt: skip


COMPANY_CASES = [
    # raw, stripped, normalised legal form
    ("The Smith & Sons Ltd.", "SMITH AND SONS", "SMITH AND SONS LTD"),
    ("SMITH AND SONS LIMITED", "SMITH AND SONS", "SMITH AND SONS LTD"),
    ("Smith + Sons Limited", "SMITH AND SONS", "SMITH AND SONS LTD"),
    ("Acme L.T.D.", "ACME", "ACME LTD"),
    ("ACME LTD.", "ACME", "ACME LTD"),
    ("Tesco PLC", "TESCO", "TESCO PLC"),
    ("TESCO Public Limited Company", "TESCO", "TESCO PLC"),
    ("Tesco P.L.C.", "TESCO", "TESCO PLC"),
    ("Baker Tilly LLP", "BAKER TILLY", "BAKER TILLY LLP"),
    ("Baker Tilly Limited Liability Partnership", "BAKER TILLY", "BAKER TILLY LLP"),
    ("Greenfield Ventures LP", "GREENFIELD VENTURES", "GREENFIELD VENTURES LP"),
    ("Northern Ventures Limited Partnership", "NORTHERN VENTURES", "NORTHERN VENTURES LP"),
    ("Hackney Food Bank CIC", "HACKNEY FOOD BANK", "HACKNEY FOOD BANK CIC"),
    ("Hackney Food Bank Community Interest Company", "HACKNEY FOOD BANK", "HACKNEY FOOD BANK CIC"),
    ("J Bloggs & Co", "J BLOGGS", "J BLOGGS CO"),
    ("J. Bloggs and Company", "J BLOGGS", "J BLOGGS CO"),
    ("Bloggs Holdings (UK) Limited", "BLOGGS", "BLOGGS HOLDINGS UK LTD"),
    ("Bloggs Holding Ltd", "BLOGGS", "BLOGGS HOLDINGS LTD"),
    ("Sainsbury's Supermarkets Ltd", "SAINSBURYS SUPERMARKETS", "SAINSBURYS SUPERMARKETS LTD"),
    ("Marks and Spencer Group p.l.c.", "MARKS AND SPENCER GROUP", "MARKS AND SPENCER GROUP PLC"),
    ("Widget Ltd (in liquidation)", "WIDGET", "WIDGET LTD"),
    ("Widget Limited (In Administration)", "WIDGET", "WIDGET LTD"),
    ("Foo Ltd t/a Bar Cafe", "FOO", "FOO LTD"),
    ("Company Shop Ltd", "COMPANY SHOP", "COMPANY SHOP LTD"),  # COMPANY mid-name is kept
    ("The Co-operative Bank p.l.c.", "CO OPERATIVE BANK", "CO OPERATIVE BANK PLC"),
    ("Cwmni Da Cyf", "CWMNI DA", "CWMNI DA LTD"),  # Welsh: Cyfyngedig = Limited
    ("Café Rouge Ltd", "CAFE ROUGE", "CAFE ROUGE LTD"),
    ("Limited", "LIMITED", "LTD"),  # only a legal form: kept rather than emptied
    ("THEATRE ROYAL LTD", "THEATRE ROYAL", "THEATRE ROYAL LTD"),  # THE only as a whole word
    (None, None, None),
]


@pytest.mark.parametrize(("raw", "stripped", "normalised"), COMPANY_CASES)
def test_company_names(raw: str | None, stripped: str | None, normalised: str | None) -> None:
    assert apply(normalise_company_name, raw) == stripped
    assert apply(lambda e: normalise_company_name(e, legal_form="normalise"), raw) == normalised


@pytest.mark.parametrize(
    ("raw", "legal", "trading"),
    [
        ("Foo Ltd t/a Bar Cafe", "Foo Ltd", "Bar Cafe"),
        ("Foo Limited Trading As The Bar", "Foo Limited", "The Bar"),
        ("J Smith T/AS Smiths Plumbing", "J Smith", "Smiths Plumbing"),
        ("J Smith T\\A Smiths Plumbing", "J Smith", "Smiths Plumbing"),
        ("Tata Steel Ltd", "Tata Steel Ltd", None),  # "TA" inside a word is not a marker
        (None, None, None),
    ],
)
def test_split_trading_as(raw: str | None, legal: str | None, trading: str | None) -> None:
    frame = pl.DataFrame({"x": [raw]}, schema={"x": pl.String})
    legal_expr, trading_expr = split_trading_as(pl.col("x"))
    assert frame.select(legal_expr.alias("l"), trading_expr.alias("t")).row(0) == (legal, trading)


def test_company_tokens_drop_stop_words_and_legal_forms() -> None:
    assert apply(company_name_tokens, "The Bank of England & Co Ltd") == ["BANK", "ENGLAND"]


def test_token_rarity_counts_each_record_once() -> None:
    frame = pl.DataFrame(
        {"tokens": [["ACME", "SERVICES", "SERVICES"], ["ZYX", "SERVICES"], ["ACME"], None]}
    )
    rarity = token_rarity(frame, "tokens")
    counts = dict(zip(rarity["token"], rarity["n_records"], strict=True))
    assert counts == {"ACME": 2, "SERVICES": 2, "ZYX": 1}
    idf = dict(zip(rarity["token"], rarity["idf"], strict=True))
    assert idf["ZYX"] > idf["ACME"]
    assert idf["ZYX"] == pytest.approx(__import__("math").log(3 / 1))
    assert rarity["token"][0] == "ZYX"  # rarest first


PHONETIC_CASES = [
    # jellyfish outputs; SMITH/SMYTH pairs show the keys absorb spelling variation
    ("metaphone", "SMITH", "SM0"),
    ("metaphone", "SMYTH", "SM0"),
    ("soundex", "ROBERT", "R163"),  # Knuth's classic example: Robert/Rupert -> R163
    ("soundex", "RUPERT", "R163"),
    ("soundex", "TYMCZAK", "T522"),
    ("nysiis", "SMITH", "SNAT"),
    ("match_rating", "BYRNE", "BYRN"),
    ("metaphone", "", None),
    ("metaphone", None, None),
]


@pytest.mark.parametrize(("algorithm", "raw", "expected"), PHONETIC_CASES)
def test_phonetic(algorithm: str, raw: str | None, expected: str | None) -> None:
    assert apply(lambda e: phonetic(e, algorithm), raw) == expected  # type: ignore[arg-type]


def test_phonetic_runs_once_per_distinct_value_and_in_lazy_streaming() -> None:
    frame = pl.LazyFrame({"n": ["SMITH", "SMYTH", None, "SMITH"] * 1000})
    out = frame.select(phonetic(pl.col("n"))).collect(engine="streaming")["n"]
    assert out.to_list()[:4] == ["SM0", "SM0", None, "SM0"]
    assert out.null_count() == 1000


def test_phonetic_unknown_algorithm_is_a_linkage_error() -> None:
    with pytest.raises(UnknownPhoneticAlgorithmError) as info:
        phonetic(pl.col("n"), "caverphone")  # type: ignore[arg-type]
    assert isinstance(info.value, LinkageError)
    assert "metaphone" in str(info.value)


def test_standardise_person_frame_adds_columns_and_keeps_inputs() -> None:
    frame = pl.DataFrame(
        {
            "first_name": ["Mr. John", "  jane "],
            "surname": ["O'Brien", "SMITH-JONES"],
            "dob": ["01/02/1980", "1975-13-01"],
            "postcode": ["sw1a1aa", "bad"],
            "house_number": ["12a", None],
            "street": ["High St", "Flat 2, 4 Church Rd"],
            "town": ["London", "Leeds"],
        }
    )
    out = standardise_person_frame(frame, address=("house_number", "street", "town"))
    assert out.columns[: len(frame.columns)] == frame.columns
    first = out.row(0, named=True)
    assert first["first_name_std"] == "JOHN"
    assert first["surname_std"] == "OBRIEN"
    assert first["surname_phonetic"] == "OBRN"
    assert first["dob_std"] == dt.date(1980, 2, 1)
    assert first["postcode_std"] == "SW1A 1AA"
    assert first["postcode_sector"] == "SW1A 1"
    assert first["house_number_std"] == "12A"
    assert first["street_std"] == "HIGH STREET"
    second = out.row(1, named=True)
    assert (second["dob_std"], second["postcode_std"]) == (None, None)
    assert (second["flat_std"], second["house_number_std"]) == ("2", "4")
    assert second["surname_std"] == "SMITH JONES"


def test_standardise_person_frame_lazy_and_date_typed() -> None:
    frame = pl.LazyFrame({"fn": ["Ann"], "sn": ["Lee"], "dob": [dt.date(1990, 5, 6)]})
    out = standardise_person_frame(frame, first_name="fn", surname="sn", postcode=None)
    assert isinstance(out, pl.LazyFrame)
    assert out.collect().row(0, named=True)["dob_std"] == dt.date(1990, 5, 6)


def test_missing_columns_are_all_listed() -> None:
    frame = pl.DataFrame({"first_name": ["A"]})
    with pytest.raises(MissingColumnsError) as info:
        standardise_person_frame(frame, address="addr")
    message = str(info.value)
    for column in ("surname", "dob", "postcode", "addr"):
        assert column in message
    assert isinstance(info.value, LinkageError)
    assert str(pickle.loads(pickle.dumps(info.value))) == message


def test_standardise_business_frame() -> None:
    frame = pl.DataFrame(
        {
            "name": ["The Smith & Sons Ltd. t/a Smiths Bakery", "ACME L.T.D.", "Widget plc"],
            "trading": [None, "Acme Tools", None],
            "postcode": ["ls1 4ap", "M1 1AE", None],
            "address": ["Unit 4, 10 Station Ave", "3 Mill Rd", None],
        }
    )
    out = standardise_business_frame(frame, trading_name="trading", address="address")
    assert out["name_std"].to_list() == ["SMITH AND SONS", "ACME", "WIDGET"]
    assert out["name_tokens"].to_list() == [["SMITH", "SONS"], ["ACME"], ["WIDGET"]]
    assert out["trading_name_std"].to_list() == ["SMITHS BAKERY", "ACME TOOLS", None]
    assert out["postcode_std"].to_list() == ["LS1 4AP", "M1 1AE", None]
    assert out["street_std"].to_list() == ["STATION AVENUE", "MILL ROAD", None]


def test_docstring_examples_run() -> None:
    import doctest

    import linkage.standardise

    result = doctest.testmod(linkage.standardise)
    assert result.attempted > 0 and result.failed == 0


def test_helpers_work_lazily_in_the_streaming_engine_and_on_categoricals() -> None:
    frame = pl.LazyFrame(
        {
            "name": pl.Series(["Mr John", "mr john", None, "Ann"] * 500, dtype=pl.Categorical),
            "dob": ["01/02/2000", "2000-02-01", None, "bad"] * 500,
            "postcode": ["sw1a1aa", "SW1A 1AA", None, "nope"] * 500,
        }
    )
    out = frame.select(
        normalise_name(pl.col("name")),
        parse_date(pl.col("dob")),
        normalise_postcode(pl.col("postcode")),
    ).collect(engine="streaming")
    assert out.row(0) == ("JOHN", dt.date(2000, 2, 1), "SW1A 1AA")
    assert out.row(1) == ("JOHN", dt.date(2000, 2, 1), "SW1A 1AA")
    assert out.row(2) == (None, None, None)
    assert out.row(3) == ("ANN", None, None)
    assert out.height == 2000
