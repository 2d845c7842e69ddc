"""The business register's clerical review file: a CSV a curator edits.

The review file lists, for each record in the grey band (``review``) or with several
near-equal candidates (``ambiguous``), its candidate enterprises (best first, at most
:data:`MAX_REVIEW_CANDIDATES`) with the evidence a curator needs: both sides' names, postcodes
and addresses, the candidate's register status, whether the record's CRN contradicts the
candidate's, the probability that the candidate is the record's enterprise, whether it agreed
through one of its previous names (when the register's are mapped); and an empty ``decision``
column to fill with ``match`` or ``non-match``. It identifies a candidate by its
pseudonymised entref, so the same pair has the same identity on every rerun in the same
environment and no register reference is written. It holds names and addresses: it is a
working file for a curator inside the secure environment, never a deliverable.

Its ``key``, ``candidate`` and ``decision`` columns are the shared decision format
(:mod:`pipeline.review.decisions`, which reads an edited file back). Feeding it back
(``--decisions FILE``) overrides those pairs: ``match`` links the record to
that enterprise whatever the model says; ``non-match`` removes the pair from consideration, so
the next best candidate (if any) is used. Blank decisions are ignored.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from pipeline.atomic import write_with_atomic
from pipeline.business.columns import RegisterColumns, present
from pipeline.business.decide import EXCLUSIVE, exclusive_probabilities
from pipeline.business.deterministic import ENTREF, TOKEN
from pipeline.business.prepare import UID
from pipeline.business.previous_names import VIA_PREVIOUS_NAME
from pipeline.business.settings import MatchSettings
from pipeline.errors import DataError
from pipeline.review.decisions import CANDIDATE, DECISION, KEY, MATCH, NON_MATCH

if TYPE_CHECKING:
    from pipeline.business.fallback import Side

logger = logging.getLogger(__name__)

MAX_REVIEW_CANDIDATES = 5
REVIEWED = ("review", "ambiguous")
REVIEW_COLUMNS: tuple[str, ...] = (
    KEY,
    CANDIDATE,
    "match_probability",
    "incoming_name",
    "register_name",
    "register_trading_name",
    "incoming_postcode",
    "register_postcode",
    "incoming_address",
    "register_address",
    "register_status",
    "crn_differs",
    DECISION,
)
#: A column the review file has before ``decision`` when the register's previous names are
#: mapped: ``true`` where the candidate agreed best through one of its previous names (its
#: ``register_name`` is the name it has now).
PREVIOUS_NAME_COLUMN = VIA_PREVIOUS_NAME


def write_review_file(path: Path, rows: pl.DataFrame) -> None:
    """Write the review CSV (columns :data:`REVIEW_COLUMNS`, with :data:`PREVIOUS_NAME_COLUMN`
    when ``rows`` has it; ``decision`` empty)."""
    via = [PREVIOUS_NAME_COLUMN] if PREVIOUS_NAME_COLUMN in rows.columns else []
    frame = rows.with_columns(pl.lit("", dtype=pl.String).alias(DECISION)).select(
        *REVIEW_COLUMNS[:-1], *via, DECISION
    )
    write_with_atomic(path, lambda p: frame.write_csv(p))


def review_rows(
    results: pl.DataFrame,
    pairs: pl.DataFrame,
    incoming: Side,
    register: Side,
    keys: pl.Series,
    settings: MatchSettings,
) -> pl.DataFrame:
    """The review file's rows (without ``decision``; the candidate as its ``entref``, to be
    pseudonymised) for the records whose status is in :data:`REVIEWED`: their candidates
    with a probability >= the review threshold on their own, best first; with
    :data:`PREVIOUS_NAME_COLUMN` when the register's previous names are mapped."""
    mapped = isinstance(register.columns, RegisterColumns) and register.columns.previous_names
    via = [PREVIOUS_NAME_COLUMN] if mapped and VIA_PREVIOUS_NAME in pairs.columns else []
    grey = results.filter(pl.col("status").is_in(list(REVIEWED))).select(UID)
    grey = grey.join(pairs.select(UID).unique(), on=UID, how="semi")
    if grey.height == 0:
        columns = [c for c in REVIEW_COLUMNS if c not in (CANDIDATE, DECISION)]
        return pl.DataFrame(schema={c: pl.String for c in [*columns, ENTREF]}).with_columns(
            pl.col("match_probability").cast(pl.Float64),
            pl.col("crn_differs").cast(pl.Boolean),
            *(pl.lit(None, pl.Boolean).alias(c) for c in via),
        )
    candidates = (
        exclusive_probabilities(pairs.join(grey, on=UID, how="semi"))
        .filter(pl.col("match_probability") >= settings.review_threshold)
        .sort([UID, "match_weight", ENTREF], descending=[False, True, False])  # ties: stable
        .group_by(UID, maintain_order=True)
        .head(MAX_REVIEW_CANDIDATES)
        .select(
            UID,
            ENTREF,
            pl.col(EXCLUSIVE).alias("match_probability"),
            "register_status",
            pl.col("crn_conflict").alias("crn_differs"),
            *via,
        )
    )

    def text(frame: pl.DataFrame, column: str | None, alias: str) -> pl.Expr:
        column = present(frame, column)
        return (pl.col(column).cast(pl.String) if column else pl.lit(None, pl.String)).alias(alias)

    ic, rc = incoming.columns, register.columns
    inc = incoming.frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias(UID),
        text(incoming.frame, ic.name, "incoming_name"),
        text(incoming.frame, ic.postcode, "incoming_postcode"),
        text(incoming.frame, ic.address, "incoming_address"),
    ).with_columns(keys.alias(KEY))
    reg = register.frame.select(
        pl.col("__entref").alias(ENTREF),
        text(register.frame, rc.name, "register_name"),
        text(register.frame, rc.trading_name, "register_trading_name"),
        text(register.frame, rc.postcode, "register_postcode"),
        text(register.frame, rc.address, "register_address"),
    ).unique(ENTREF, keep="first")
    return (
        candidates.join(inc, on=UID)
        .join(reg, on=ENTREF)
        .sort([UID, "match_probability", ENTREF], descending=[False, True, False])
        .drop(UID)
    )


def read_decisions_for_run(
    decisions: pl.DataFrame | None, keys: pl.Series, token_map: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A curator's decisions resolved to this run: (clerical matches ``uid, entref``, rejected
    pairs ``uid, entref``). Decisions naming a key or candidate not in the run are ignored
    (and counted in a warning); a record marked ``match`` to two candidates is an error."""
    empty = pl.DataFrame(schema={UID: pl.Int64, ENTREF: pl.String})
    if decisions is None or decisions.height == 0:
        return empty, empty
    uid_of = pl.DataFrame({KEY: keys, UID: pl.int_range(keys.len(), dtype=pl.Int64, eager=True)})
    resolved = decisions.join(uid_of, on=KEY, how="left").join(
        token_map.rename({TOKEN: CANDIDATE}), on=CANDIDATE, how="left"
    )
    unknown = resolved.filter(pl.col(UID).is_null() | pl.col(ENTREF).is_null()).height
    if unknown:
        logger.warning("%d decision(s) name a key or candidate not in this run; ignored", unknown)
    resolved = resolved.drop_nulls([UID, ENTREF])
    matches = resolved.filter(pl.col(DECISION) == MATCH).select(UID, ENTREF)
    several = matches.group_by(UID).len().filter(pl.col("len") > 1).height
    if several:
        raise DataError(
            f"decisions: {several} record(s) are marked 'match' to more than one candidate"
        )
    rejected = resolved.filter(pl.col(DECISION) == NON_MATCH).select(UID, ENTREF)
    return matches, rejected
