"""Phonetic keys via jellyfish, computed once per distinct value rather than once per row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

import jellyfish
import polars as pl

from linkage.errors import LinkageError

PhoneticAlgorithm = Literal["metaphone", "nysiis", "soundex", "match_rating"]

_ENCODERS: dict[str, Callable[[str], str]] = {
    "metaphone": jellyfish.metaphone,
    "nysiis": jellyfish.nysiis,
    "soundex": jellyfish.soundex,
    "match_rating": jellyfish.match_rating_codex,
}


class UnknownPhoneticAlgorithmError(LinkageError, ValueError):
    """The requested phonetic algorithm is not one of :data:`PhoneticAlgorithm`."""


def phonetic(expr: pl.Expr, algorithm: PhoneticAlgorithm = "metaphone") -> pl.Expr:
    """Phonetic key of each string (null stays null; an empty key becomes null).

    Apply it to standardised names: "SMITH" and "SMYTH" share a metaphone key ("SM0").
    Encoding runs in Python, but only over the distinct values of each batch.
    """
    if algorithm not in _ENCODERS:
        choices = ", ".join(get_args(PhoneticAlgorithm))
        raise UnknownPhoneticAlgorithmError(
            f"unknown phonetic algorithm {algorithm!r}; choose one of {choices}"
        )
    encode = _ENCODERS[algorithm]

    def encode_batch(series: pl.Series) -> pl.Series:
        distinct = series.drop_nulls().unique()
        codes = [encode(value) or None for value in distinct.to_list()]
        mapping = pl.Series("code", codes, dtype=pl.String)
        return series.replace_strict(distinct, mapping, default=None, return_dtype=pl.String)

    return expr.cast(pl.String).map_batches(
        encode_batch, return_dtype=pl.String, is_elementwise=True
    )
