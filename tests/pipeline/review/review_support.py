"""Review files for the clerical-review tests, in the formats the pipeline and link-register
write, and a review server running in a background thread."""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from pipeline.business.clerical_review import write_review_file
from pipeline.review.server import ReviewServer
from pipeline.review.session import ReviewSession

# As pipeline.review.persons.review_rows writes them: ids, probability, both sides' fields,
# each comparison's level and weight, an empty decision.
PERSON_ROWS = [
    {
        "key": f"h|in.csv|{i}",
        "candidate": f"g|gp.parquet|{i}",
        "match_probability": p,
        "_source_l": "h",
        "_source_r": "g",
        "surname_l": left,
        "surname_r": right,
        "date_of_birth_l": "1980-02-0" + str(i + 1),
        "date_of_birth_r": "1980-02-0" + str(i + 1),
        "level_surname": level,
        "level_date_of_birth": "date_of_birth exact",
        "weight_surname": weight,
        "weight_date_of_birth": "11.5",
        "decision": "",
    }
    for i, (p, left, right, level, weight) in enumerate(
        [
            ("0.8789", "SOUTHWORTH", "SOUTHWARTH", "surname jaro-winkler >= 0.92", "5.1"),
            ("0.8100", "KHAN", "KHAN", "surname exact", "7.9"),
            ("0.7400", "BIRCH", "ASH", "all other", "-8.4"),
            ("0.6100", "DALE", "DAHL", "surname jaro-winkler >= 0.88", "2.8"),
        ]
    )
]


# As pipeline.linkjob.review_file.review_rows writes a link job's review.csv: ids, weight and
# probability, with --review-records both sides' compared fields, levels, weights, decision.
LINK_ROWS = [
    {
        "key": f"L{i:08d}",
        "candidate": f"R{i + 40:08d}",
        "match_weight": weight,
        "match_probability": str(2 ** float(weight) / (1 + 2 ** float(weight))),
        "first_name_l": first_l,
        "first_name_r": first_r,
        "dob_l": "1971-03-14",
        "dob_r": dob_r,
        "level_first_name": level,
        "level_dob": "dob exact" if dob_r == "1971-03-14" else "all other",
        "weight_first_name": first_weight,
        "weight_dob": str(float(weight) - float(first_weight) - float(tf)),
        "weight_first_name term frequency": tf,
        "decision": "",
    }
    for i, (weight, first_l, first_r, dob_r, level, first_weight, tf) in enumerate(
        [
            ("-0.94", "MARGARET", "MARGRET", "1971-03-14", "jaro-winkler >= 0.92", "3.7", "0.0"),
            ("-1.31", "OLUWASEUN", "OLUWASEUN", "1917-03-14", "first_name exact", "6.8", "-1.9"),
        ]
    )
]
LINK_RECORD_COLUMNS = ("first_name_l", "first_name_r", "dob_l", "dob_r")


def link_review_file(folder: Path, *, records: bool) -> Path:
    path = folder / "link-out" / "review.csv"
    path.parent.mkdir(parents=True)
    rows = pl.DataFrame(LINK_ROWS)
    rows.drop([] if records else LINK_RECORD_COLUMNS).write_csv(path)
    return path


def person_review_file(folder: Path) -> Path:
    path = folder / "review" / "run-0123456789abcdef.csv"
    path.parent.mkdir(parents=True)
    pl.DataFrame(PERSON_ROWS).write_csv(path)
    return path


def register_review_file(folder: Path) -> Path:
    rows = pl.DataFrame(
        {
            "key": ["s1", "s1", "s2"],
            "candidate": ["tokA", "tokB", "tokC"],
            "match_probability": [0.81, 0.55, 0.62],
            "incoming_name": ["ACME WIDGETS LTD", "ACME WIDGETS LTD", "BLUE DOOR CAFE"],
            "register_name": ["ACME WIDGETS LIMITED", "ACME HOLDINGS PLC", "BLUE DOOR LTD"],
            "register_trading_name": [None, "ACME WIDGETS", "THE BLUE DOOR"],
            "incoming_postcode": ["AB1 2CD", "AB1 2CD", "ZZ1 1ZZ"],
            "register_postcode": ["AB1 2CD", "AB1 9XY", "ZZ1 1ZZ"],
            "incoming_address": ["1 HIGH ST", "1 HIGH ST", None],
            "register_address": ["1 HIGH STREET", "2 LOW RD", "5 MILL LANE"],
            "register_status": ["active", "dissolved", "active"],
            "crn_differs": [False, False, True],
        }
    )
    path = folder / "linked" / "review" / "clerical_review.csv"
    path.parent.mkdir(parents=True)
    write_review_file(path, rows)
    return path


@contextlib.contextmanager
def serving(session: ReviewSession) -> Iterator[ReviewServer]:
    server = ReviewServer(session)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class Served(Protocol):
    """Where a review page is: a :class:`ReviewServer`, or a port and token from its URL."""

    @property
    def port(self) -> int: ...

    @property
    def token(self) -> str: ...


def request(
    server: Served,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: dict[str, Any] | None = None,
    host: str | None = None,
) -> tuple[int, bytes]:
    """One request; ``token`` defaults to the server's (pass "" for none)."""
    token = server.token if token is None else token
    query = f"?token={token}" if token else ""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Host": host or f"127.0.0.1:{server.port}"}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    connection.request(method, path + query, body=payload, headers=headers)
    response = connection.getresponse()
    try:
        return response.status, response.read()
    finally:
        connection.close()
