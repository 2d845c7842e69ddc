"""Term-frequency adjustments for skewed fields (surnames, towns, company-name tokens).

For an exact match on value v, the Bayes factor m/u becomes m_exact / tf(v), where tf(v) is v's
share of all non-null values (the larger of the two sides' frequencies, as in Splink): agreeing
on a rare surname is stronger evidence than agreeing on a common one.
"""

from __future__ import annotations

from collections.abc import Sequence

from linkage.sql import LEFT, RIGHT, col, quote


def tf_value_column(column: str) -> str:
    """Internal column holding a record's term frequency for ``column``."""
    return f"__tf_{column}"


def tf_pair_column(comparison_name: str) -> str:
    """Per-pair output column: term frequency used to adjust an exact match."""
    return f"tf_{comparison_name}"


def tf_table_sql(column: str, tables: Sequence[str]) -> str:
    """``value, tf``: each non-null value of ``column`` in ``tables`` and its share of them."""
    union = " UNION ALL ".join(f"SELECT {quote(column)} AS value FROM {quote(t)}" for t in tables)
    return (
        f"SELECT value, CAST(count(*) AS DOUBLE) / sum(count(*)) OVER () AS tf "
        f"FROM ({union}) WHERE value IS NOT NULL GROUP BY value"
    )


def attach_tf_sql(table: str, column: str, tf_table: str, *, replace: bool = False) -> str:
    """The rows of ``table`` with their term frequency for ``column`` as an extra column
    (``replace``: in place of the one ``table`` has)."""
    tf = quote(tf_value_column(column))
    kept = f"b.* EXCLUDE ({tf})" if replace else "b.*"
    return (
        f"SELECT {kept}, t.tf AS {tf} FROM {quote(table)} AS b "
        f"LEFT JOIN {quote(tf_table)} AS t ON b.{quote(column)} = t.value"
    )


def pair_tf_sql(column: str) -> str:
    """Per-pair term frequency, set only where the two values agree exactly."""
    tf = tf_value_column(column)
    return (
        f"CASE WHEN {col(LEFT, column)} = {col(RIGHT, column)} "
        f"THEN CAST(greatest({col(LEFT, tf)}, {col(RIGHT, tf)}) AS FLOAT) END"
    )
