"""Blocking rules and the SQL that turns a union of rules into de-duplicated candidate pairs.

A rule is a SQL join condition over ``l`` and ``r``. Pairs found by rule *k* that an earlier rule
already found are dropped (``AND NOT coalesce(rule_j, FALSE)`` for every j < k), so every pair is
generated once and ``match_key`` records the first rule that found it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from linkage.errors import SettingsError
from linkage.sql import LEFT, RIGHT, col, quote

LinkType = Literal["link_only", "dedupe_only"]
RID = "__rid"
_COLUMN_REF = re.compile(r'\b[lr]\.(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_]*))')
_IDENT = r'(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_]*))'
_EQUALITY = re.compile(rf"\s*([lr])\.{_IDENT}\s*=\s*([lr])\.{_IDENT}\s*")


@dataclass(frozen=True)
class BlockingRule:
    """A join condition such as ``l.surname = r.surname AND substr(l.pc,1,3) = substr(r.pc,1,3)``.

    Phonetic or other derived keys are computed by the caller as columns, then blocked on.
    """

    sql: str
    name: str = ""
    columns: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not isinstance(self.sql, str) or not self.sql.strip():
            raise SettingsError("a blocking rule needs a non-empty SQL condition")
        if not self.columns:
            found = [a or b.replace('""', '"') for a, b in _COLUMN_REF.findall(self.sql)]
            object.__setattr__(self, "columns", tuple(dict.fromkeys(found)))
        if not self.columns:
            raise SettingsError("a blocking rule must reference columns as l.<column>/r.<column>")
        if not self.name:
            object.__setattr__(self, "name", self.sql)

    def equality_keys(self) -> tuple[tuple[str, str], ...] | None:
        """The (left column, right column) pairs whose equality is the whole rule, when the
        rule is nothing but such equalities joined by ``AND`` (as :func:`block_on` and
        :func:`block_across` write them); None for any other condition. Pairs of a rule with
        keys share a hash of them, which is what partitioned scoring splits on."""
        keys = []
        for part in re.split(r"\s+AND\s+", self.sql.strip(), flags=re.IGNORECASE):
            found = _EQUALITY.fullmatch(part)
            if found is None:
                return None
            side_a, a = found[1], found[2] or found[3]
            side_b, b = found[4], found[5] or found[6]
            if {side_a, side_b} != {LEFT, RIGHT}:
                return None
            left, right = (a, b) if side_a == LEFT else (b, a)
            keys.append((left.replace('""', '"'), right.replace('""', '"')))
        return tuple(keys)

    def to_dict(self) -> dict[str, Any]:
        return {"sql": self.sql, "name": self.name, "columns": list(self.columns)}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | str) -> BlockingRule:
        if isinstance(data, str):
            return cls(data)
        return cls(data.get("sql", ""), data.get("name", ""), tuple(data.get("columns", ())))


def block_on(*columns: str) -> BlockingRule:
    """Exact equality on every column given: ``block_on("surname", "dob")``."""
    if not columns or not all(isinstance(c, str) and c for c in columns):
        raise SettingsError("block_on needs at least one column name")
    sql = " AND ".join(f"{col(LEFT, c)} = {col(RIGHT, c)}" for c in columns)
    return BlockingRule(sql, "block_on(" + ", ".join(columns) + ")", tuple(columns))


def block_across(left_column: str, right_column: str, *, name: str = "") -> BlockingRule:
    """Equality of one column on the left with another on the right (e.g. a legal name's
    key with a trading name's): ``block_across("name_key", "trading_key")``."""
    if not all(isinstance(c, str) and c for c in (left_column, right_column)):
        raise SettingsError("block_across needs two column names")
    sql = f"{col(LEFT, left_column)} = {col(RIGHT, right_column)}"
    return BlockingRule(sql, name, (left_column, right_column))


def _join(rules: Sequence[BlockingRule], k: int, link_type: LinkType) -> str:
    conditions = [f"({rules[k].sql})"]
    if link_type == "dedupe_only":
        conditions.append(f"{col(LEFT, RID)} < {col(RIGHT, RID)}")
    conditions += [f"NOT coalesce(({rules[j].sql}), FALSE)" for j in range(k)]
    return " AND ".join(conditions)


MAX_RULES = 31


def _mask_sql(rules: Sequence[BlockingRule], k: int) -> str:
    """Bit j set when rule j holds for the pair. Rules before k are false by construction."""
    later = [
        f"CASE WHEN coalesce(({rules[j].sql}), FALSE) THEN {1 << j} ELSE 0 END"
        for j in range(k + 1, len(rules))
    ]
    return f"CAST({' + '.join([str(1 << k), *later])} AS INTEGER)"


def pairs_sql(
    rules: Sequence[BlockingRule],
    link_type: LinkType,
    left_table: str,
    right_table: str,
    select: Sequence[str],
) -> str:
    """``UNION ALL`` over rules of ``rid_l, rid_r, match_key, rules_mask`` plus ``select``.

    ``match_key`` is the first rule that finds the pair; ``rules_mask`` has bit j set for every
    rule j that finds it, so the pairs of any single rule can be selected again later (EM
    training passes) without recomputing comparisons.
    """
    return rule_pairs_sql(rules, link_type, [(left_table, right_table)] * len(rules), select)


def rule_pairs_sql(
    rules: Sequence[BlockingRule],
    link_type: LinkType,
    tables: Sequence[tuple[str, str]],
    select: Sequence[str],
) -> str:
    """:func:`pairs_sql` with rule k joining its own pair of tables ``tables[k]`` (left,
    right): the records of one partition of that rule's block keys."""
    if not rules:
        raise SettingsError("at least one blocking rule is required")
    parts = []
    extra = "".join(f", {s}" for s in select)
    for k, (left_table, right_table) in enumerate(tables):
        parts.append(
            f"SELECT {col(LEFT, RID)} AS rid_l, {col(RIGHT, RID)} AS rid_r, "
            f"CAST({k} AS SMALLINT) AS match_key, {_mask_sql(rules, k)} AS rules_mask{extra} "
            f"FROM {quote(left_table)} AS {LEFT} JOIN {quote(right_table)} AS {RIGHT} "
            f"ON {_join(rules, k, link_type)}"
        )
    return "\nUNION ALL\n".join(parts)


def count_sql(
    rules: Sequence[BlockingRule], link_type: LinkType, left_table: str, right_table: str
) -> str:
    """Pairs generated by each rule after removing pairs of earlier rules."""
    parts = [
        f"SELECT {k} AS match_key, count(*) AS pairs FROM {quote(left_table)} AS {LEFT} "
        f"JOIN {quote(right_table)} AS {RIGHT} ON {_join(rules, k, link_type)}"
        for k in range(len(rules))
    ]
    return "\nUNION ALL\n".join(parts) + "\nORDER BY match_key"


def truth_found_sql(
    rules: Sequence[BlockingRule], left_table: str, right_table: str, truth_table: str
) -> str:
    """Count labelled true links, and how many of them any rule finds (pair completeness)."""
    any_rule = " OR ".join(f"coalesce(({r.sql}), FALSE)" for r in rules)
    return (
        f"SELECT count(*) AS links, count(*) FILTER (WHERE {any_rule}) AS found "
        f"FROM {quote(truth_table)} AS t "
        f"JOIN {quote(left_table)} AS {LEFT} ON {col(LEFT, RID)} = t.rid_l "
        f"JOIN {quote(right_table)} AS {RIGHT} ON {col(RIGHT, RID)} = t.rid_r"
    )


def agreement_count_sql(
    columns: Sequence[str],
    link_type: LinkType,
    left_table: str,
    right_table: str,
    *,
    present: Sequence[str] = (),
) -> str:
    """The number of record pairs (all of them, not only candidates) equal and non-null on
    every one of ``columns`` (and non-null on each of ``present``), from value counts of
    each table."""
    cols = ", ".join(quote(c) for c in columns)
    not_null = " AND ".join(f"{quote(c)} IS NOT NULL" for c in dict.fromkeys([*columns, *present]))

    def counts(table: str) -> str:
        return f"SELECT {cols}, count(*) AS n FROM {quote(table)} WHERE {not_null} GROUP BY {cols}"

    if link_type == "dedupe_only":
        return f"SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM ({counts(left_table)})"
    return (
        f"SELECT coalesce(sum(a.n * b.n), 0) FROM ({counts(left_table)}) AS a "
        f"JOIN ({counts(right_table)}) AS b USING ({cols})"
    )
