"""Candidates for the records no identifier matched: scored pairs, ready for :mod:`decide`.

:func:`fallback_candidates` scores name, postcode, address and identifier evidence
(:mod:`pipeline.business.probabilistic`), keeps the best row per record and enterprise, marks
CRN conflicts and adds the register status's weight (:func:`~pipeline.business.decide.
status_weights`, learnt from the identifier-confirmed links, or from the confident name links
when there are too few of those).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipeline.business.columns import IncomingColumns, RegisterColumns, present
from pipeline.business.crn_rule import with_crn_conflicts
from pipeline.business.decide import EXCLUSIVE, exclusive_probabilities, status_weights
from pipeline.business.deterministic import ENTREF, REG_UID
from pipeline.business.prepare import UID, linkage_frame, norm_column
from pipeline.business.previous_names import VIA_PREVIOUS_NAME, previous_name_rows
from pipeline.business.probabilistic import score_candidates
from pipeline.business.settings import MatchSettings

REGISTER_STATUS = "register_status"
#: Exclusive probability above which a name link teaches the status weights when identifier
#: links are too few.
CONFIDENT = 0.99
PAIR_SCHEMA = {
    UID: pl.Int64,
    ENTREF: pl.String,
    "match_probability": pl.Float64,
    "match_weight": pl.Float64,
    "crn_conflict": pl.Boolean,
    REGISTER_STATUS: pl.String,
    VIA_PREVIOUS_NAME: pl.Boolean,
}


@dataclass(frozen=True)
class Side:
    """One input as linking sees it: the table, its column mapping and its normalised
    identifiers (``uid`` = row number). The register's table has ``__entref`` and
    ``register_status`` columns and only rows with a valid entref."""

    frame: pl.DataFrame
    columns: IncomingColumns | RegisterColumns
    ids: pl.DataFrame

    def linkage_frame(self, id_types: list[str]) -> pl.DataFrame:
        """What probabilistic matching compares, with the identifiers of ``id_types``."""
        c = self.columns
        compared = linkage_frame(
            self.frame,
            name=c.name,
            trading_name=c.trading_name,
            postcode=c.postcode,
            address=c.address,
        )
        return compared.join(self.ids.select(UID, *map(norm_column, id_types)), on=UID)

    def previous_name_frame(self, current: pl.DataFrame) -> pl.DataFrame:
        """Rows of the register's previous names like ``current`` (this side's
        :meth:`linkage_frame`): :func:`~pipeline.business.previous_names.previous_name_rows`;
        empty for an incoming file or a register without previous-name columns."""
        c = self.columns
        return previous_name_rows(
            self.frame,
            current,
            previous_names=c.previous_names if isinstance(c, RegisterColumns) else (),
        )


def fallback_candidates(
    incoming: Side,
    register: Side,
    id_types: list[str],
    labelled: pl.DataFrame,
    fallback: pl.DataFrame,
    rejected: pl.DataFrame,
    settings: MatchSettings,
) -> tuple[pl.DataFrame, dict[str, object]]:
    """Scored candidates of the ``fallback`` records (``uid``), one row per record and
    enterprise (columns :data:`PAIR_SCHEMA`; ``match_weight`` includes the status weight), and
    how the model was trained. ``labelled``: identifier-confirmed ``uid, reg_uid, method``;
    ``rejected``: ``uid, entref`` pairs a curator turned down."""
    if present(incoming.frame, incoming.columns.name) is None or not fallback.height:
        return pl.DataFrame(schema=PAIR_SCHEMA), {"method": "none"}
    current = register.linkage_frame(id_types)
    previous = register.previous_name_frame(current)
    scored = score_candidates(
        incoming.linkage_frame(id_types),
        current,
        labelled=labelled,
        id_types=id_types,
        settings=settings,
        previous=previous,
    )
    reg = register.frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias(REG_UID),
        pl.col("__entref").alias(ENTREF),
        REGISTER_STATUS,
    )
    pairs = (
        with_crn_conflicts(
            scored.pairs.join(fallback, on=UID, how="semi"), incoming.ids, register.ids
        )
        .join(reg, on=REG_UID)
        .sort(["match_weight", VIA_PREVIOUS_NAME], descending=[True, False])  # current first
        .group_by(UID, ENTREF, maintain_order=True)
        .first()
        .join(rejected, on=[UID, ENTREF], how="anti")
    )
    weights = _status_weights(pairs, labelled, reg, settings)
    adjusted = pl.col("match_weight") + pl.col(REGISTER_STATUS).replace_strict(
        weights, default=0.0, return_dtype=pl.Float64
    )
    training = {**scored.training, "register_status_weights": weights}
    if previous.height:
        training["previous_name_rows"] = previous.height
    return pairs.with_columns(adjusted).select(list(PAIR_SCHEMA)), training


def _status_weights(
    pairs: pl.DataFrame, labelled: pl.DataFrame, reg: pl.DataFrame, settings: MatchSettings
) -> dict[str, float]:
    """Status weights from the identifier links, else from the confident name links."""
    held = reg[REGISTER_STATUS]
    linked = labelled.join(reg, on=REG_UID)[REGISTER_STATUS]
    if linked.len() < settings.min_labelled_pairs:
        confident = exclusive_probabilities(pairs).filter(pl.col(EXCLUSIVE) >= CONFIDENT)
        linked = confident[REGISTER_STATUS]
    return status_weights(linked, held, min_links=settings.min_labelled_pairs)
