"""Term-frequency adjustments for skewed fields (surnames, towns, company-name tokens).

For an exact match on value v, the Bayes factor m/u becomes m_exact / tf(v), where tf(v) is v's
share of all non-null values (the larger of the two sides' frequencies, as in Splink): agreeing
on a rare surname is stronger evidence than agreeing on a common one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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


def attach_tf_sql(table: str, tf_tables: Mapping[str, str]) -> str:
    """The rows of ``table`` with their term frequency for each column of ``tf_tables``
    (column -> its :func:`tf_table_sql` table) as extra columns, in one pass over ``table``."""
    selected = "".join(f", t{i}.tf AS {quote(tf_value_column(c))}" for i, c in enumerate(tf_tables))
    joins = "".join(
        f" LEFT JOIN {quote(t)} AS t{i} ON b.{quote(c)} = t{i}.value"
        for i, (c, t) in enumerate(tf_tables.items())
    )
    return f"SELECT b.*{selected} FROM {quote(table)} AS b{joins}"


def update_tf_sql(table: str, tf_tables: Mapping[str, str]) -> str:
    """An ``UPDATE`` setting the term frequencies :func:`attach_tf_sql` added to ``table``
    from ``tf_tables`` (NULL for a value they lack); cheaper than copying the table again."""
    sets = ", ".join(
        f"{quote(tf_value_column(c))} = "
        f"(SELECT t.tf FROM {quote(t)} AS t WHERE t.value = {quote(table)}.{quote(c)})"
        for c, t in tf_tables.items()
    )
    return f"UPDATE {quote(table)} SET {sets}"


def pair_tf_sql(column: str) -> str:
    """Per-pair term frequency, set only where the two values agree exactly."""
    tf = tf_value_column(column)
    return (
        f"CASE WHEN {col(LEFT, column)} = {col(RIGHT, column)} "
        f"THEN CAST(greatest({col(LEFT, tf)}, {col(RIGHT, tf)}) AS FLOAT) END"
    )
