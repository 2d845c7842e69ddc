"""A sandbox of small malformed files for the CLI fuzz test (``test_fuzz.py``).

Every file that holds data carries :data:`MARKERS` in its rows (never in a header: column
names are not values), so a command that echoes what it read is caught. The sandbox has:
empty, binary, wrong-header, huge-field, bad-UTF-8, unbalanced-quote, NUL-byte and
duplicate-column CSVs, a Parquet file of the right columns in the wrong types (numbers,
lists, a struct), a directory where a file is expected, a missing file, valid tables,
pipeline configs (deduplicating) and link-job configs over each of them, broken YAML, a
valid keystore (environment ``research``, master key in ``PPRL_MASTER_KEY``) and a garbled
one, a garbled audit log, manifest, key file and review file.
"""

from __future__ import annotations

import base64
import csv
import functools
import io
from pathlib import Path

import polars as pl
import yaml

MARKERS = ("Zqxv7Marker", "9434765919", "Mxyzptlk", "QX9 9ZZ")
HEADER = ["nhs_no", "forename", "surname", "dob", "postcode", "ethnicity"]
ROW = ["9434765919", "Zqxv7Marker", "Mxyzptlk", "1961-03-14", "QX9 9ZZ", "A1"]
ENVIRONMENT = "research"
# Kinds of bad table, and the file each kind is (adir is a directory; missing is absent).
KIND_FILES = {
    "empty": "empty.csv",
    "binary": "binary.csv",
    "header": "header.csv",
    "huge": "huge.csv",
    "badutf8": "badutf8.csv",
    "quote": "quote.csv",
    "nul": "nul.csv",
    "dupcol": "dupcol.csv",
    "typed": "typed.parquet",
    "adir": "adir.csv",
    "missing": "missing.csv",
}
MALFORMED = tuple(KIND_FILES)
KINDS = (*MALFORMED, "good")


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def _tables() -> dict[str, bytes | None]:
    good = [HEADER, ROW, ["4000000004", "Zqxv7Marker", "Mxyzptlk", "1970-01-02", "QX9 9ZZ", "B"]]
    return {
        "empty.csv": b"",
        "binary.csv": bytes(range(256)) + MARKERS[0].encode() + b"\x00\xff" * 50,
        "header.csv": _csv([["a", "b", "c"], ROW[:3], ROW[3:]]),
        "huge.csv": _csv([HEADER, [ROW[0], MARKERS[0] * 200_000, *ROW[2:]]]),
        "badutf8.csv": _csv([HEADER]) + b"9434765919,\xff\xfeZqxv7Marker\xc3\x28,Mxyzptlk,"
        b"1961-03-14,QX9 9ZZ,A1\n",
        "quote.csv": _csv([HEADER]) + b'9434765919,"Zqxv7Marker,Mxyzptlk,1961-03-14\n',
        "nul.csv": _csv([HEADER]) + b"9434765919,Zqxv7\x00Marker,Mxyzptlk,1961-03-14,QX9 9ZZ,A\n",
        "dupcol.csv": _csv([[*HEADER, "forename"], [*ROW, MARKERS[0]]]),
        "good.csv": _csv(good),
        "binary.parquet": b"PAR1" + MARKERS[0].encode() + b"\x00" * 20 + b"PAR1",
        "adir.csv": None,
        "adir.yaml": None,
        "adir.json": None,
    }


def _typed_parquet(path: Path) -> None:
    """The right column names with the wrong types: numbers, lists, a struct."""
    pl.DataFrame(
        {
            "nhs_no": [9434765919],
            "forename": [[MARKERS[0]]],
            "surname": [{"v": MARKERS[2]}],
            "dob": [19610314],
            "postcode": [MARKERS[3]],
            "ethnicity": [1.5],
        }
    ).write_parquet(path)


def _pipeline_config(table: str) -> dict[str, object]:
    columns = {
        "nhs_no": "identifier:nhs",
        "forename": "first_name",
        "surname": "surname",
        "dob": "date_of_birth",
        "postcode": "postcode",
        "ethnicity": "attribute",
    }
    file_format = "parquet" if table.endswith(".parquet") else "csv"
    source = {"name": "s", "path": table, "format": file_format, "columns": columns}
    return {
        "project": "fuzz",
        "environment": ENVIRONMENT,
        "sources": [source],
        "linkage": {
            "mode": "dedupe",
            "blocking": ["date_of_birth"],
            "comparisons": {"first_name": "name", "surname": "name"},
        },
        "keystore": {"path": "ks"},
        "approved_attributes": ["ethnicity"],
        "delivery": {"path": "out"},
    }


def _link_config(table: str) -> dict[str, object]:
    return {
        "mode": "link",
        "inputs": [
            {"path": table, "id_column": "nhs_no"},
            {"path": "good.csv", "id_column": "nhs_no"},
        ],
        "comparisons": [{"type": "name", "column": "forename"}, {"type": "dob", "column": "dob"}],
        "blocking": [["dob"]],
        "output": "linked",
    }


def _documents() -> dict[str, bytes]:
    docs: dict[str, bytes] = {}
    for kind in KINDS:
        table = KIND_FILES.get(kind, f"{kind}.csv")
        docs[f"cfg_{kind}.yaml"] = yaml.safe_dump(_pipeline_config(table)).encode()
        docs[f"link_{kind}.yaml"] = yaml.safe_dump(_link_config(table)).encode()
    review = [["key", "candidate", "decision", "forename_l", "forename_r"]]
    review.append(["u1", "u2", "match", MARKERS[0], MARKERS[2]])
    docs.update(
        {
            "bad.yaml": f"project: [{MARKERS[0]}\n".encode(),
            "list.yaml": f"- {MARKERS[0]}\n".encode(),
            "secret.yaml": yaml.safe_dump(
                {**_pipeline_config("good.csv"), "password": MARKERS[0]}
            ).encode(),
            "audit.jsonl": f'{{"seq": 1, "who": "{MARKERS[0]}"}}\nnot json {MARKERS[1]}\n'.encode(),
            "manifest.json": f'{{"audit_head": "{MARKERS[1]}"}}'.encode(),
            "key.bin": b"\x00garbage" + MARKERS[0].encode(),
            "review.csv": _csv(review),
            "models.csv": _csv([["model", "residual_dof"], [MARKERS[0], "x"]]),
            "ks_bad/keystore.json": f'{{"format": "{MARKERS[0]}"'.encode(),
        }
    )
    return docs


def build_sandbox(root: Path, master_b64: str) -> None:
    """Write every sandbox file under ``root`` (paths in commands are relative to it)."""
    from pseudonym.keys import master_key_from_env
    from pseudonym.keystore import Keystore

    for name, content in {**_tables(), **_documents()}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            path.mkdir()
        else:
            path.write_bytes(content)
    frame = pl.read_csv(root / "good.csv", infer_schema=False)
    frame.write_parquet(root / "good.parquet")
    _typed_parquet(root / "typed.parquet")
    master = master_key_from_env({"PPRL_MASTER_KEY": master_b64})
    assert master is not None
    Keystore.create(root / "ks", master=master).add_environment(ENVIRONMENT)


def new_master_key() -> str:
    import os

    return base64.b64encode(os.urandom(32)).decode()


@functools.cache
def path_pool() -> tuple[str, ...]:
    """Every sandbox path a path argument may get, plus ones that do not exist."""
    names = [n for n in {**_tables(), **_documents()} if "/" not in n]
    extra = {"good.parquet", "typed.parquet", "ks", "ks_bad", "missing.csv", "missing.yaml", "new"}
    return tuple(sorted({*names, *extra}))
