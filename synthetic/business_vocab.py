"""Vocabulary for synthetic company names: industries with SIC 2007 codes, name parts, variants."""

from __future__ import annotations

#: (SIC 2007 five-digit code, words a business in that class puts in its name, relative weight)
INDUSTRIES: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("43220", ("PLUMBING", "PLUMBING AND HEATING", "HEATING SERVICES"), 6),
    ("41202", ("BUILDERS", "CONSTRUCTION", "BUILDING SERVICES"), 8),
    ("43210", ("ELECTRICAL", "ELECTRICAL SERVICES", "ELECTRICAL CONTRACTORS"), 5),
    ("56101", ("RESTAURANT", "KITCHEN", "GRILL"), 5),
    ("56102", ("CAFE", "COFFEE HOUSE", "TEA ROOMS"), 3),
    ("62020", ("IT SOLUTIONS", "SOFTWARE", "TECHNOLOGIES", "DIGITAL"), 8),
    ("69201", ("ACCOUNTANTS", "ACCOUNTING SERVICES", "TAX SERVICES"), 5),
    ("69102", ("SOLICITORS", "LEGAL SERVICES"), 2),
    ("47110", ("STORES", "SUPERMARKET", "CONVENIENCE STORE"), 3),
    ("49410", ("HAULAGE", "TRANSPORT", "LOGISTICS"), 4),
    ("68100", ("PROPERTIES", "ESTATES", "PROPERTY DEVELOPMENTS"), 6),
    ("70229", ("CONSULTING", "CONSULTANCY", "MANAGEMENT SERVICES"), 9),
    ("86230", ("DENTAL PRACTICE", "DENTAL CARE"), 1),
    ("96020", ("HAIR SALON", "HAIRDRESSING", "BARBERS"), 3),
    ("45200", ("MOTORS", "GARAGE", "AUTO REPAIRS"), 3),
    ("10710", ("BAKERY", "BAKERS"), 1),
    ("71121", ("ENGINEERING", "ENGINEERS", "ENGINEERING SERVICES"), 4),
    ("74100", ("DESIGN", "CREATIVE", "DESIGN STUDIO"), 3),
    ("85590", ("TRAINING", "EDUCATION SERVICES", "LEARNING"), 2),
    ("88100", ("CARE SERVICES", "HOME CARE", "CARE"), 3),
    ("81210", ("CLEANING SERVICES", "CLEANERS"), 3),
    ("46900", ("TRADING", "WHOLESALE", "INTERNATIONAL"), 4),
    ("64209", ("INVESTMENTS", "CAPITAL", "VENTURES"), 5),
    ("01110", ("FARMS", "FARMING", "AGRICULTURE"), 2),
    ("55100", ("HOTEL", "HOTELS", "INN"), 1),
    ("93130", ("FITNESS", "GYM", "LEISURE"), 1),
)  # fmt: skip

#: Coined-name parts ("NOVA" + "TEK" -> "NOVATEK"): make rare, highly distinctive tokens.
COINED_HEADS: tuple[str, ...] = tuple(
    [
        "NOVA",
        "ZEN",
        "APEX",
        "ZYTRO",
        "OMNI",
        "VERTI",
        "QUANTA",
        "LUMI",
        "AERO",
        "ECO",
        "PRIMA",
        "ALPHA",
        "ASTRA",
        "CYBER",
        "NEXA",
        "ORBI",
        "SOLA",
        "TERRA",
        "VITA",
        "XENO",
        "ARCA",
        "BRIO",
        "CELE",
        "DYNA",
        "EVO",
        "FLEXI",
        "HELIO",
        "INFI",
        "KINE",
    ]
)
COINED_TAILS: tuple[str, ...] = tuple(
    [
        "TEK",
        "LOGIC",
        "CORE",
        "NET",
        "SPAN",
        "WAVE",
        "LINK",
        "POINT",
        "FLOW",
        "GEN",
        "SYS",
        "TRONIX",
        "SOFT",
        "WORKS",
        "LABS",
        "PATH",
    ]
)

#: Adjective/noun pairs for "BLUE SKY CONSULTING" style names.
DESCRIPTIVE: tuple[str, ...] = tuple(
    [
        "BLUE SKY",
        "GREEN LEAF",
        "RED KITE",
        "GOLDEN GATE",
        "SILVER BIRCH",
        "NORTH STAR",
        "WHITE ROSE",
        "BLACK CAT",
        "OLD OAK",
        "NEW HORIZON",
        "BRIGHT FUTURE",
        "FIRST CHOICE",
        "CROWN",
        "PHOENIX",
        "PINNACLE",
        "SUMMIT",
        "KEYSTONE",
        "CORNERSTONE",
        "EVERGREEN",
        "RIVERSIDE",
        "HIGHLAND",
        "MERIDIAN",
        "VANGUARD",
        "HARBOUR",
        "LIONHEART",
    ]
)

#: Written-out word -> abbreviation seen in other sources.
NAME_ABBREVIATIONS: dict[str, str] = {
    "SERVICES": "SVCS", "INTERNATIONAL": "INTL", "MANAGEMENT": "MGMT", "ENGINEERING": "ENG",
    "BROTHERS": "BROS", "ASSOCIATES": "ASSOCS", "SOLUTIONS": "SOLNS", "TECHNOLOGIES": "TECH",
    "DEVELOPMENTS": "DEVS", "CONSTRUCTION": "CONSTR", "PROPERTIES": "PROPS",
    "CONTRACTORS": "CONTRS", "TRANSPORT": "TPT",
}  # fmt: skip

#: Registered suffix -> spellings used by other sources.
SUFFIX_VARIANTS: dict[str, tuple[str, ...]] = {
    "LIMITED": ("LTD", "LTD.", "L.T.D.", "LIMITED", "Ltd"),
    "PLC": ("P.L.C.", "PUBLIC LIMITED COMPANY", "PLC", "plc"),
    "LLP": ("L.L.P.", "LIMITED LIABILITY PARTNERSHIP", "LLP"),
    "LP": ("L.P.", "LIMITED PARTNERSHIP", "LP"),
    "CIC": ("C.I.C.", "COMMUNITY INTEREST COMPANY", "CIC"),
}
