"""Real UK postcode districts with their post towns, and a weight for how often to use each.

Districts and post towns are real (Royal Mail); the weights are rough population shares chosen
so that large cities dominate, not official figures. Sectors and units are generated: the
postcodes have a valid shape and a real district, but a given unit may not exist.
"""

from __future__ import annotations

#: (outward code, post town, relative weight)
DISTRICTS: tuple[tuple[str, str, int], ...] = (
    # London
    ("E1", "LONDON", 4), ("E14", "LONDON", 4), ("E17", "LONDON", 3), ("N1", "LONDON", 3),
    ("N7", "LONDON", 2), ("N17", "LONDON", 3), ("NW1", "LONDON", 2), ("NW3", "LONDON", 2),
    ("NW10", "LONDON", 3), ("SE1", "LONDON", 3), ("SE15", "LONDON", 3), ("SE18", "LONDON", 3),
    ("SW2", "LONDON", 2), ("SW11", "LONDON", 3), ("SW19", "LONDON", 2), ("W1", "LONDON", 1),
    ("W2", "LONDON", 2), ("W12", "LONDON", 2), ("EC1V", "LONDON", 1), ("WC1N", "LONDON", 1),
    ("CR0", "CROYDON", 4), ("BR1", "BROMLEY", 2), ("HA0", "WEMBLEY", 2), ("IG1", "ILFORD", 2),
    ("RM1", "ROMFORD", 2), ("UB3", "HAYES", 2), ("TW3", "HOUNSLOW", 2), ("SM1", "SUTTON", 2),
    ("KT1", "KINGSTON UPON THAMES", 2), ("EN1", "ENFIELD", 2),
    # South East
    ("RG1", "READING", 3), ("OX4", "OXFORD", 2), ("MK9", "MILTON KEYNES", 3),
    ("SO14", "SOUTHAMPTON", 3), ("PO1", "PORTSMOUTH", 3), ("BN1", "BRIGHTON", 3),
    ("GU1", "GUILDFORD", 2), ("ME4", "CHATHAM", 2), ("CT1", "CANTERBURY", 2),
    ("TN1", "TUNBRIDGE WELLS", 1), ("SL1", "SLOUGH", 2), ("RH10", "CRAWLEY", 2),
    ("HP11", "HIGH WYCOMBE", 2), ("DA1", "DARTFORD", 1),
    # South West
    ("BS1", "BRISTOL", 2), ("BS16", "BRISTOL", 3), ("BA1", "BATH", 2), ("EX4", "EXETER", 2),
    ("PL1", "PLYMOUTH", 3), ("TQ1", "TORQUAY", 1), ("TR1", "TRURO", 1), ("GL1", "GLOUCESTER", 2),
    ("SN1", "SWINDON", 2), ("BH1", "BOURNEMOUTH", 2), ("TA1", "TAUNTON", 1),
    ("DT1", "DORCHESTER", 1), ("SP1", "SALISBURY", 1),
    # East of England
    ("CB1", "CAMBRIDGE", 2), ("NR1", "NORWICH", 2), ("IP1", "IPSWICH", 2),
    ("CO1", "COLCHESTER", 2), ("CM1", "CHELMSFORD", 2), ("LU1", "LUTON", 2),
    ("SS1", "SOUTHEND-ON-SEA", 2), ("PE1", "PETERBOROUGH", 2), ("SG1", "STEVENAGE", 1),
    ("AL1", "ST ALBANS", 1), ("WD17", "WATFORD", 1),
    # West Midlands
    ("B1", "BIRMINGHAM", 2), ("B23", "BIRMINGHAM", 4), ("B44", "BIRMINGHAM", 3),
    ("CV1", "COVENTRY", 3), ("WV1", "WOLVERHAMPTON", 2), ("WS1", "WALSALL", 2),
    ("DY1", "DUDLEY", 2), ("ST1", "STOKE-ON-TRENT", 2), ("WR1", "WORCESTER", 1),
    ("HR1", "HEREFORD", 1), ("TF1", "TELFORD", 1), ("SY1", "SHREWSBURY", 1),
    # East Midlands
    ("NG1", "NOTTINGHAM", 2), ("NG7", "NOTTINGHAM", 3), ("LE1", "LEICESTER", 2),
    ("LE2", "LEICESTER", 3), ("DE1", "DERBY", 2), ("NN1", "NORTHAMPTON", 2), ("LN1", "LINCOLN", 1),
    # Yorkshire and The Humber
    ("LS1", "LEEDS", 2), ("LS6", "LEEDS", 3), ("LS11", "LEEDS", 3), ("S1", "SHEFFIELD", 2),
    ("S10", "SHEFFIELD", 3), ("BD1", "BRADFORD", 3), ("HU1", "HULL", 2), ("YO1", "YORK", 2),
    ("HD1", "HUDDERSFIELD", 2), ("WF1", "WAKEFIELD", 2), ("DN1", "DONCASTER", 2),
    ("HX1", "HALIFAX", 1), ("HG1", "HARROGATE", 1),
    # North West
    ("M1", "MANCHESTER", 2), ("M14", "MANCHESTER", 3), ("M20", "MANCHESTER", 3),
    ("L1", "LIVERPOOL", 2), ("L8", "LIVERPOOL", 3), ("PR1", "PRESTON", 2), ("BL1", "BOLTON", 2),
    ("OL1", "OLDHAM", 2), ("SK1", "STOCKPORT", 2), ("WA1", "WARRINGTON", 2), ("WN1", "WIGAN", 2),
    ("BB1", "BLACKBURN", 2), ("FY1", "BLACKPOOL", 1), ("CA1", "CARLISLE", 1),
    ("LA1", "LANCASTER", 1), ("CH1", "CHESTER", 1), ("CW1", "CREWE", 1),
    # North East
    ("NE1", "NEWCASTLE UPON TYNE", 2), ("NE6", "NEWCASTLE UPON TYNE", 3),
    ("SR1", "SUNDERLAND", 2), ("DH1", "DURHAM", 1), ("TS1", "MIDDLESBROUGH", 2),
    ("DL1", "DARLINGTON", 1),
    # Wales
    ("CF10", "CARDIFF", 2), ("CF24", "CARDIFF", 3), ("SA1", "SWANSEA", 2), ("NP20", "NEWPORT", 2),
    ("LL11", "WREXHAM", 1), ("LL57", "BANGOR", 1), ("SY23", "ABERYSTWYTH", 1),
    ("LD1", "LLANDRINDOD WELLS", 1),
    # Scotland
    ("G1", "GLASGOW", 2), ("G12", "GLASGOW", 3), ("G31", "GLASGOW", 3), ("EH1", "EDINBURGH", 2),
    ("EH6", "EDINBURGH", 3), ("AB10", "ABERDEEN", 2), ("DD1", "DUNDEE", 2),
    ("IV1", "INVERNESS", 1), ("PA1", "PAISLEY", 1), ("FK1", "FALKIRK", 1),
    ("KY1", "KIRKCALDY", 1), ("ML1", "MOTHERWELL", 1), ("KA1", "KILMARNOCK", 1),
    ("PH1", "PERTH", 1), ("DG1", "DUMFRIES", 1), ("TD1", "GALASHIELS", 1), ("ZE1", "SHETLAND", 1),
    ("KW15", "KIRKWALL", 1), ("HS1", "ISLE OF LEWIS", 1),
    # Northern Ireland
    ("BT1", "BELFAST", 1), ("BT7", "BELFAST", 2), ("BT9", "BELFAST", 2),
    ("BT48", "LONDONDERRY", 1), ("BT60", "ARMAGH", 1),
)  # fmt: skip

#: Letters allowed in the two-letter unit of an inward code (never C, I, K, M, O, V).
UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
