"""UK postcode area -> ONS region (the 9 English regions plus Wales, Scotland, Northern Ireland).

Source: the postcode areas are Royal Mail's geographic areas as listed in "List of postcode areas
in the United Kingdom" (Wikipedia, from the Royal Mail Postcode Address File); each area was
assigned the ONS region (ONS "Regions (December 2023) Names and Codes in England" plus the three
devolved nations) that contains its post town. Areas that straddle a boundary get the region
holding most of their districts/population, and are listed in :data:`STRADDLING_AREAS`.
Crown Dependencies (GY Guernsey, JE Jersey, IM Isle of Man) are not in the UK's statistical
regions and map to null, as do non-geographic areas (BF BFPO, BX, XX).
"""

from __future__ import annotations

NORTH_EAST = "North East"
NORTH_WEST = "North West"
YORKSHIRE = "Yorkshire and The Humber"
EAST_MIDLANDS = "East Midlands"
WEST_MIDLANDS = "West Midlands"
EAST = "East of England"
LONDON = "London"
SOUTH_EAST = "South East"
SOUTH_WEST = "South West"
WALES = "Wales"
SCOTLAND = "Scotland"
NORTHERN_IRELAND = "Northern Ireland"

ONS_REGIONS: tuple[str, ...] = (
    NORTH_EAST, NORTH_WEST, YORKSHIRE, EAST_MIDLANDS, WEST_MIDLANDS, EAST, LONDON, SOUTH_EAST,
    SOUTH_WEST, WALES, SCOTLAND, NORTHERN_IRELAND,
)  # fmt: skip

POSTCODE_AREA_REGION: dict[str, str] = {
    "AB": SCOTLAND, "AL": EAST, "B": WEST_MIDLANDS, "BA": SOUTH_WEST, "BB": NORTH_WEST,
    "BD": YORKSHIRE, "BH": SOUTH_WEST, "BL": NORTH_WEST, "BN": SOUTH_EAST, "BR": LONDON,
    "BS": SOUTH_WEST, "BT": NORTHERN_IRELAND, "CA": NORTH_WEST, "CB": EAST, "CF": WALES,
    "CH": NORTH_WEST, "CM": EAST, "CO": EAST, "CR": LONDON, "CT": SOUTH_EAST,
    "CV": WEST_MIDLANDS, "CW": NORTH_WEST, "DA": SOUTH_EAST, "DD": SCOTLAND, "DE": EAST_MIDLANDS,
    "DG": SCOTLAND, "DH": NORTH_EAST, "DL": NORTH_EAST, "DN": YORKSHIRE, "DT": SOUTH_WEST,
    "DY": WEST_MIDLANDS, "E": LONDON, "EC": LONDON, "EH": SCOTLAND, "EN": LONDON,
    "EX": SOUTH_WEST, "FK": SCOTLAND, "FY": NORTH_WEST, "G": SCOTLAND, "GL": SOUTH_WEST,
    "GU": SOUTH_EAST, "HA": LONDON, "HD": YORKSHIRE, "HG": YORKSHIRE, "HP": SOUTH_EAST,
    "HR": WEST_MIDLANDS, "HS": SCOTLAND, "HU": YORKSHIRE, "HX": YORKSHIRE, "IG": LONDON,
    "IP": EAST, "IV": SCOTLAND, "KA": SCOTLAND, "KT": SOUTH_EAST, "KW": SCOTLAND,
    "KY": SCOTLAND, "L": NORTH_WEST, "LA": NORTH_WEST, "LD": WALES, "LE": EAST_MIDLANDS,
    "LL": WALES, "LN": EAST_MIDLANDS, "LS": YORKSHIRE, "LU": EAST, "M": NORTH_WEST,
    "ME": SOUTH_EAST, "MK": SOUTH_EAST, "ML": SCOTLAND, "N": LONDON, "NE": NORTH_EAST,
    "NG": EAST_MIDLANDS, "NN": EAST_MIDLANDS, "NP": WALES, "NR": EAST, "NW": LONDON,
    "OL": NORTH_WEST, "OX": SOUTH_EAST, "PA": SCOTLAND, "PE": EAST, "PH": SCOTLAND,
    "PL": SOUTH_WEST, "PO": SOUTH_EAST, "PR": NORTH_WEST, "RG": SOUTH_EAST, "RH": SOUTH_EAST,
    "RM": LONDON, "S": YORKSHIRE, "SA": WALES, "SE": LONDON, "SG": EAST,
    "SK": NORTH_WEST, "SL": SOUTH_EAST, "SM": LONDON, "SN": SOUTH_WEST, "SO": SOUTH_EAST,
    "SP": SOUTH_WEST, "SR": NORTH_EAST, "SS": EAST, "ST": WEST_MIDLANDS, "SW": LONDON,
    "SY": WEST_MIDLANDS, "TA": SOUTH_WEST, "TD": SCOTLAND, "TF": WEST_MIDLANDS, "TN": SOUTH_EAST,
    "TQ": SOUTH_WEST, "TR": SOUTH_WEST, "TS": NORTH_EAST, "TW": LONDON, "UB": LONDON,
    "W": LONDON, "WA": NORTH_WEST, "WC": LONDON, "WD": EAST, "WF": YORKSHIRE,
    "WN": NORTH_WEST, "WR": WEST_MIDLANDS, "WS": WEST_MIDLANDS, "WV": WEST_MIDLANDS,
    "YO": YORKSHIRE, "ZE": SCOTLAND,
}  # fmt: skip

#: Geographic areas outside the UK statistical regions (mapped to null by postcode_region).
CROWN_DEPENDENCY_AREAS: frozenset[str] = frozenset({"GY", "JE", "IM"})

#: Areas whose districts fall in more than one region, with the minority region(s). The table
#: above uses the majority region; coarsening to region is therefore approximate for these.
STRADDLING_AREAS: dict[str, tuple[str, ...]] = {
    "CA": (SCOTLAND,),  # a few Borders/Dumfries addresses
    "CH": (WALES,),  # CH5-CH8 Flintshire
    "DA": (LONDON,),  # DA5-DA8, DA14-DA18 Bexley
    "DL": (YORKSHIRE,),  # DL6-DL11 North Yorkshire
    "DN": (EAST_MIDLANDS,),  # DN21-DN22 Lincolnshire/Nottinghamshire
    "EN": (EAST,),  # EN6-EN11 Hertfordshire/Essex; London (EN1-EN5) is narrowly larger
    "HP": (EAST,),  # HP1-HP4 Hertfordshire; the rest Buckinghamshire
    "KT": (LONDON,),  # KT1-KT6, KT9 Kingston/Sutton/Merton; most districts are in Surrey
    "PE": (EAST_MIDLANDS,),  # PE9-PE12, PE20-PE25 Lincolnshire
    "RM": (EAST,),  # RM15-RM20 Thurrock
    "S": (EAST_MIDLANDS,),  # S18, S40-S45 Derbyshire, S80-S81 Nottinghamshire
    "SK": (EAST_MIDLANDS,),  # SK13, SK17, SK22, SK23 High Peak
    "SP": (SOUTH_EAST,),  # SP6, SP10, SP11 Hampshire
    "SY": (WALES,),  # SY15-SY25 Powys/Ceredigion
    "TD": (NORTH_EAST,),  # TD12, TD15 fringe of Northumberland
    "TN": (LONDON,),  # TN14/TN16 fringe of Bromley
    "TS": (YORKSHIRE,),  # TS9 Stokesley
    "TW": (SOUTH_EAST,),  # TW15-TW20 Surrey
    "WD": (LONDON,),  # WD6, WD23 fringe of Barnet/Harrow
}  # fmt: skip
