"""Parse the RFC-style vector files in this folder.

Format: ``#`` comment lines; ``Test Case N`` starts a case; ``Field = value`` lines set a field;
indented lines without ``=`` continue the previous hex value. Values are hex (optionally ``0x``),
``(0 octets)`` for empty, a decimal integer (e.g. ``L = 42``), or text such as ``SHA-256``.
"""

from __future__ import annotations

import re
from pathlib import Path

VECTORS_DIR = Path(__file__).parent
_CASE = re.compile(r"^Test Case (\d+)\s*$")
_FIELD = re.compile(r"^\s+([A-Za-z0-9-]+)\s*=\s*(.*?)\s*$")
_HEX = re.compile(r"^(0x)?[0-9a-fA-F]*$")

Value = bytes | int | str


def load_vectors(filename: str) -> list[dict[str, Value]]:
    """Every test case in ``filename`` as a dict; hex values become bytes, ``case`` the number."""
    cases: list[dict[str, Value]] = []
    raw: dict[str, str] = {}
    last: str | None = None

    def finish() -> None:
        if raw:
            cases.append({key: _convert(key, value) for key, value in raw.items()})

    for line in (VECTORS_DIR / filename).read_text(encoding="ascii").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if match := _CASE.match(line):
            finish()
            raw = {"case": match.group(1)}
            last = None
        elif match := _FIELD.match(line):
            last = match.group(1)
            raw[last] = match.group(2)
        elif last is not None and line.startswith(" ") and _HEX.match(line.strip()):
            raw[last] += line.strip()
        else:
            raise ValueError(f"{filename}: cannot parse line {line!r}")
    finish()
    return cases


def _convert(key: str, value: str) -> Value:
    if key in {"case", "L"}:
        return int(value)
    if value == "(0 octets)":
        return b""
    if _HEX.match(value) and key != "Hash":
        return bytes.fromhex(value.removeprefix("0x"))
    return value
