"""Standardisation of names, dates, postcodes, addresses and company names as polars expressions.

Every helper takes and returns a ``pl.Expr`` and is vectorised; phonetic keys call jellyfish once
per distinct value. Nothing here logs or raises with record values.

>>> import polars as pl
>>> from linkage.standardise import normalise_company_name, normalise_postcode
>>> df = pl.DataFrame({"name": ["The Smith & Sons Ltd."], "pc": ["sw1a1aa"]})
>>> df.select(normalise_company_name(pl.col("name")), normalise_postcode(pl.col("pc"))).row(0)
('SMITH AND SONS', 'SW1A 1AA')
"""

from linkage.standardise._text import fold_text
from linkage.standardise.addresses import (
    ADDRESS_ABBREVIATIONS,
    address_tokens,
    flat_number,
    house_number,
    normalise_address,
    street_name,
)
from linkage.standardise.columns import (
    ISO_DATE,
    STANDARDISATIONS,
    Standardisation,
    standardise_columns,
)
from linkage.standardise.companies import (
    COMPANY_STOP_WORDS,
    LEGAL_FORMS,
    company_name_tokens,
    normalise_company_name,
    split_trading_as,
    token_rarity,
)
from linkage.standardise.dates import DEFAULT_DATE_FORMATS, as_date, parse_date
from linkage.standardise.frames import (
    MissingColumnsError,
    standardise_business_frame,
    standardise_person_frame,
)
from linkage.standardise.names import SUFFIXES, TITLES, normalise_name, split_full_name
from linkage.standardise.phonetic import (
    PhoneticAlgorithm,
    UnknownPhoneticAlgorithmError,
    phonetic,
)
from linkage.standardise.postcodes import (
    normalise_postcode,
    postcode_area,
    postcode_district,
    postcode_region,
    postcode_sector,
)
from linkage.standardise.regions import (
    CROWN_DEPENDENCY_AREAS,
    ONS_REGIONS,
    POSTCODE_AREA_REGION,
    STRADDLING_AREAS,
)

__all__ = [
    "ADDRESS_ABBREVIATIONS",
    "COMPANY_STOP_WORDS",
    "CROWN_DEPENDENCY_AREAS",
    "DEFAULT_DATE_FORMATS",
    "ISO_DATE",
    "LEGAL_FORMS",
    "ONS_REGIONS",
    "POSTCODE_AREA_REGION",
    "STANDARDISATIONS",
    "STRADDLING_AREAS",
    "SUFFIXES",
    "TITLES",
    "MissingColumnsError",
    "PhoneticAlgorithm",
    "Standardisation",
    "UnknownPhoneticAlgorithmError",
    "address_tokens",
    "as_date",
    "company_name_tokens",
    "flat_number",
    "fold_text",
    "house_number",
    "normalise_address",
    "normalise_company_name",
    "normalise_name",
    "normalise_postcode",
    "parse_date",
    "phonetic",
    "postcode_area",
    "postcode_district",
    "postcode_region",
    "postcode_sector",
    "split_full_name",
    "split_trading_as",
    "standardise_business_frame",
    "standardise_columns",
    "standardise_person_frame",
    "street_name",
    "token_rarity",
]
