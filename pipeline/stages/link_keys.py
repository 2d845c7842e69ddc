"""The keys that decide which records of the registry a new batch can be linked with.

Two records are compared only when a blocking rule joins them (equal standardised values of
every role of the rule), and linked without a score when they share a valid identifier
compared as ``identifier``. So every pair, and every deterministic link, involving a new
record shares one of these keys with it: one per blocking rule and one per deterministic
identifier role. The values are standardised exactly as the linkage engine standardises them
(:func:`pipeline.stages.link_records.standardise_view`) and hashed to 64 bits; a record missing
any value of a key has no value for it (a blocking rule never pairs a missing value). A
collision of two hashes only adds a record the linker then does not pair.

The registry also keeps each record's standardised link columns (``_std_<column>``, the
columns the linkage engine reads), so a later batch links with the earlier records it reads
without standardising them again: they are computed from the same standardisation as the keys
and depend on the same versions (:attr:`BlockKeys.fingerprint`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl

from pipeline import __version__
from pipeline.linkage_spec import LinkageSpec, blocking_roles, role_column
from pipeline.registry import KEY_PREFIX, STD_PREFIX
from pipeline.stages.link_records import standardise_view

_SEPARATOR = "\x1f"  # between a key's values; no standardised value holds it


@dataclass(frozen=True)
class BlockKeys:
    """The registry keys of a linkage spec (the role columns of each key) and the
    standardised columns kept with each registry row (``stored``)."""

    keys: tuple[tuple[str, ...], ...]
    stored: tuple[str, ...] = ()

    @classmethod
    def for_spec(cls, spec: LinkageSpec) -> BlockKeys:
        rules = [tuple(role_column(r) for r in blocking_roles(rule)) for rule in spec.blocking]
        identifiers = [(role_column(r),) for r in spec.deterministic_roles()]
        stored = tuple(dict.fromkeys(role_column(r) for r in spec.roles()))
        return cls(tuple(dict.fromkeys([*rules, *identifiers])), stored)

    @property
    def fingerprint(self) -> str:
        """What the stored hashes and standardised columns depend on: the keys, the columns
        kept, pprl's standardisation (its version) and polars' hash (its version)."""
        return json.dumps(
            {
                "keys": [list(k) for k in self.keys],
                "standardised": list(self.stored),
                "pprl": __version__,
                "polars": pl.__version__,
            }
        )

    def hashes(self, view: pl.DataFrame) -> pl.DataFrame:
        """``_key_<i>`` (UInt64, null where a value is missing) for each row of ``view`` (the
        link stage's view: ``_uid``, ``_source``, roles and ``id_*`` columns)."""
        needed = {c for key in self.keys for c in key}
        return self.standardised_hashes(self._standardise(view, needed), view.height)

    def registry_columns(self, view: pl.DataFrame) -> pl.DataFrame:
        """:meth:`hashes` and :meth:`stored_columns` of the rows of ``view``, from one
        standardisation."""
        needed = {c for key in self.keys for c in key} | set(self.stored)
        std = self._standardise(view, needed)
        return self.standardised_hashes(std, view.height).hstack(
            self.stored_columns(std, view.height)
        )

    def stored_columns(self, std: pl.DataFrame, rows: int | None = None) -> pl.DataFrame:
        """``_std_<column>`` (text, null where missing) of records already standardised
        (``rows`` of them: ``std``'s height unless it has no column)."""
        height = std.height if rows is None else rows
        columns = [
            std.get_column(c).cast(pl.String).alias(f"{STD_PREFIX}{c}")
            if c in std.columns
            else pl.Series(f"{STD_PREFIX}{c}", [None] * height, dtype=pl.String)
            for c in self.stored
        ]
        return pl.DataFrame(columns or None, height=height)

    @staticmethod
    def _standardise(view: pl.DataFrame, needed: set[str]) -> pl.DataFrame:
        if needed & {"first_name", "surname"}:
            needed = needed | {"full_name"}  # standardisation fills them from the full name
        present = [c for c in view.columns if c in needed]
        return standardise_view(view.select(present)) if present else pl.DataFrame()

    def standardised_hashes(self, std: pl.DataFrame, rows: int | None = None) -> pl.DataFrame:
        """:meth:`hashes` of records already standardised (``rows`` of them: ``std``'s
        height unless it has no column)."""
        height = std.height if rows is None else rows
        columns = []
        for i, key in enumerate(self.keys):
            name = f"{KEY_PREFIX}{i}"
            if not all(c in std.columns for c in key):
                columns.append(pl.Series(name, [None] * height, dtype=pl.UInt64))
                continue
            text = pl.concat_str([pl.col(c).cast(pl.String) for c in key], separator=_SEPARATOR)
            value = pl.when(text.is_not_null()).then(text.hash(seed=0)).cast(pl.UInt64)
            columns.append(std.select(value.alias(name)).to_series())
        return pl.DataFrame(columns)
