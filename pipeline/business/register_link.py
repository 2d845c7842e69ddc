"""Dataset-to-register linkage: deterministic on shared valid identifiers, then probabilistic
on name, postcode and address for the rest, with clerical-review overrides.

Status of each incoming record (:data:`STATUSES`):

* ``matched_exact``: a shared valid identifier (CRN, VAT, PAYE) points to one enterprise;
* ``matched_clerical``: a curator's ``match`` decision;
* ``matched_probabilistic``: best candidate's probability >= the match threshold;
* ``review``: best candidate in the grey band (the CRN request calls this ``ambiguous``);
* ``ambiguous``: identifiers point to several enterprises, or several score above the match
  threshold;
* ``not_found``: nothing matched; ``invalid``: nothing matched and an identifier was invalid
  (or there was nothing to match on). ``reason`` lists invalid identifiers as ``type:code``
  (e.g. ``crn:bad_prefix``), or ``nothing_to_match`` when there was no identifier or name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import polars as pl

from pipeline.business.columns import (
    SHARED_ID_TYPES,
    IncomingColumns,
    RegisterColumns,
    check_columns,
    present,
)
from pipeline.business.deterministic import ENTREF, REG_UID, deterministic_matches
from pipeline.business.prepare import (
    UID,
    linkage_frame,
    norm_column,
    normalise_ids,
    reason_column,
    shared_id_types,
)
from pipeline.business.probabilistic import MatchSettings, score_candidates
from pipeline.errors import DataError
from pipeline.review.decisions import CANDIDATE, DECISION, KEY, MATCH, NON_MATCH
from pseudonym.identifiers import Reason
from pseudonym.tokens import Pseudonymiser

logger = logging.getLogger(__name__)

STATUSES: tuple[str, ...] = (
    "matched_exact", "matched_clerical", "matched_probabilistic", "review", "ambiguous",
    "not_found", "invalid",
)  # fmt: skip
MATCHED = ("matched_exact", "matched_clerical", "matched_probabilistic")
TOKEN = "entref_pseudonym"
MAX_REVIEW_CANDIDATES = 5
NOTHING_TO_MATCH = "nothing_to_match"  # reason: no valid identifier and no name


@dataclass
class LinkOutcome:
    """Per-record results (``results``, one row per incoming row in input order), grey-band
    candidates for clerical review (``review``), and facts for the manifest."""

    results: pl.DataFrame
    review: pl.DataFrame
    facts: dict[str, object] = field(default_factory=dict)


def link_to_register(
    incoming: pl.DataFrame,
    register: pl.DataFrame,
    pseudonymiser: Pseudonymiser,
    *,
    incoming_columns: IncomingColumns | None = None,
    register_columns: RegisterColumns | None = None,
    settings: MatchSettings | None = None,
    decisions: pl.DataFrame | None = None,
    incoming_source: str = "incoming",
    register_source: str = "register",
) -> LinkOutcome:
    """Link ``incoming`` to ``register``. The library entry point of both business commands.

    ``results`` columns: ``key`` (the incoming key column), ``status``, ``method``
    (``crn``/``vat``/``paye`` joined by ``+``, ``probabilistic`` or ``clerical``),
    ``match_probability``, ``reason``, ``entref`` (the register's reference: internal, never
    written out) and ``entref_pseudonym`` (the environment's pseudonym of it).
    """
    ic, rc = incoming_columns or IncomingColumns(), register_columns or RegisterColumns()
    settings = settings or MatchSettings()
    check_columns(register, [rc.entref, rc.name], register_source)
    check_columns(incoming, [ic.key], incoming_source)
    keys = incoming[ic.key].cast(pl.String)
    _check_keys(keys, ic.key, incoming_source)

    register, register_facts = _valid_register(register, rc, register_source)
    reg_ids = normalise_ids(
        register, {"crn": rc.crn, "vat": rc.vat, "paye": rc.paye}, register_source
    )
    inc_ids = normalise_ids(
        incoming, {"crn": ic.crn, "vat": ic.vat, "paye": ic.paye}, incoming_source
    )
    entrefs = register["__entref"]
    tokens = pseudonymiser.pseudonymise("entref", entrefs)
    token_map = pl.DataFrame({ENTREF: entrefs, TOKEN: tokens}).unique(ENTREF)

    id_types = shared_id_types(inc_ids, reg_ids)
    det = deterministic_matches(inc_ids, reg_ids, entrefs, id_types)
    clerical, rejected = _decisions(decisions, keys, token_map)
    if rejected.height:
        det = det.join(rejected, on=[UID, ENTREF], how="anti")

    fallback = (
        inc_ids.select(UID)
        .join(det.select(UID), on=UID, how="anti")
        .join(clerical.select(UID), on=UID, how="anti")
    )
    has_names = present(incoming, ic.name) is not None
    pairs, training = _fallback_pairs(incoming, register, ic, rc, det, fallback, rejected, settings)
    nothing = _nothing_to_match(incoming, inc_ids, ic.name if has_names else None)
    results = _assemble(
        inc_ids.with_columns(nothing.alias("__nothing")), keys, det, clerical,
        _decide(pairs, settings),
    ).join(token_map, on=ENTREF, how="left", maintain_order="left")  # fmt: skip
    review = _review_rows(results, pairs, incoming, register, ic, rc, keys, token_map, settings)
    facts: dict[str, object] = {
        **register_facts,
        "incoming_rows": incoming.height,
        "shared_identifier_types": id_types,
        "probabilistic": training,
        "decisions_applied": {MATCH: clerical.height, NON_MATCH: rejected.height},
        "settings": {
            "match_threshold": settings.match_threshold,
            "review_threshold": settings.review_threshold,
        },
    }
    return LinkOutcome(results.drop(UID), review, facts)


def _fallback_pairs(
    incoming: pl.DataFrame,
    register: pl.DataFrame,
    ic: IncomingColumns,
    rc: RegisterColumns,
    det: pl.DataFrame,
    fallback: pl.DataFrame,
    rejected: pl.DataFrame,
    settings: MatchSettings,
) -> tuple[pl.DataFrame, dict[str, object]]:
    """``uid, entref, match_probability`` (best per pair) for the ``fallback`` records, by
    name, postcode and address, trained on the identifier matches; and how it was trained."""
    pairs = pl.DataFrame(schema={UID: pl.Int64, ENTREF: pl.String, "match_probability": pl.Float64})
    if present(incoming, ic.name) is None or not fallback.height:
        return pairs, {"method": "none"}
    labelled = det.filter(pl.col(REG_UID).is_not_null()).select(UID, REG_UID)
    scored = score_candidates(
        _linkage_frame(incoming, ic), _linkage_frame(register, rc), labelled=labelled,
        settings=settings,
    )  # fmt: skip
    reg_entref = pl.DataFrame(
        {
            REG_UID: pl.int_range(register.height, dtype=pl.Int64, eager=True),
            ENTREF: register["__entref"],
        }
    )
    pairs = (
        scored.pairs.join(fallback, on=UID, how="semi")
        .join(reg_entref, on=REG_UID)
        .group_by(UID, ENTREF)
        .agg(pl.col("match_probability").max())
        .join(rejected, on=[UID, ENTREF], how="anti")
    )
    return pairs, scored.training


def _linkage_frame(frame: pl.DataFrame, columns: IncomingColumns | RegisterColumns) -> pl.DataFrame:
    """The name, trading name, postcode and address columns probabilistic matching compares."""
    return linkage_frame(
        frame,
        name=columns.name,
        trading_name=columns.trading_name,
        postcode=columns.postcode,
        address=columns.address,
    )


def _nothing_to_match(
    incoming: pl.DataFrame, inc_ids: pl.DataFrame, name_column: str | None
) -> pl.Series:
    """Records with no valid identifier and no name (``name_column`` None: no names at all)."""
    usable = [
        inc_ids[norm_column(t)].is_not_null().alias(t)
        for t in SHARED_ID_TYPES
        if norm_column(t) in inc_ids.columns
    ]
    if name_column is not None:
        named = incoming[name_column].cast(pl.String).str.strip_chars().str.len_chars().fill_null(0)
        usable.append((named > 0).alias("name"))
    if not usable:
        return pl.Series([True] * incoming.height)
    return ~pl.DataFrame(usable).select(pl.any_horizontal(pl.all())).to_series()


def _check_keys(keys: pl.Series, column: str, source: str) -> None:
    nulls, dupes = int(keys.null_count()), int(keys.len() - keys.n_unique())
    problems = []
    if nulls:
        problems.append(f"key column {column} has {nulls} empty value(s)")
    if dupes - max(nulls - 1, 0) > 0:
        problems.append(f"key column {column} has duplicated values")
    if problems:
        raise DataError(f"{source}: " + "; ".join(problems))


def _valid_register(
    register: pl.DataFrame, rc: RegisterColumns, source: str
) -> tuple[pl.DataFrame, dict[str, object]]:
    ids = normalise_ids(register, {"entref": rc.entref}, source)
    valid = ids[norm_column("entref")].is_not_null()
    dropped = int((~valid).sum())
    if dropped:
        logger.warning(
            "%s: %d register row(s) without a valid entref are not used", source, dropped
        )
    kept = register.with_columns(ids[norm_column("entref")].alias("__entref")).filter(valid)
    return kept, {"register_rows": register.height, "register_rows_without_valid_entref": dropped}


def _decisions(
    decisions: pl.DataFrame | None, keys: pl.Series, token_map: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(clerical matches ``uid, entref``, rejected pairs ``uid, entref``)."""
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


def _decide(pairs: pl.DataFrame, settings: MatchSettings) -> pl.DataFrame:
    """``uid, status, entref, match_probability`` for every record with a candidate."""
    ranked = pairs.sort([UID, "match_probability", ENTREF], descending=[False, True, False])
    best = ranked.group_by(UID, maintain_order=True).agg(
        pl.col(ENTREF).first(),
        pl.col("match_probability").first(),
        pl.col("match_probability").slice(1, 1).first().alias("second"),
    )
    p, second = pl.col("match_probability"), pl.col("second").fill_null(0.0)
    status = (
        pl.when((p >= settings.match_threshold) & (second >= settings.match_threshold))
        .then(pl.lit("ambiguous"))
        .when(p >= settings.match_threshold)
        .then(pl.lit("matched_probabilistic"))
        .when(p >= settings.review_threshold)
        .then(pl.lit("review"))
        .otherwise(pl.lit("not_found"))
    )
    matched = pl.col("status") == "matched_probabilistic"
    return (
        best.with_columns(status.alias("status"))
        .with_columns(pl.when(matched).then(pl.col(ENTREF)).alias(ENTREF))
        .select(UID, "status", ENTREF, "match_probability")
    )


def _assemble(
    inc_ids: pl.DataFrame,
    keys: pl.Series,
    det: pl.DataFrame,
    clerical: pl.DataFrame,
    decided: pl.DataFrame,
) -> pl.DataFrame:
    """One row per incoming record: a clerical decision beats an identifier match, which
    beats the probabilistic one; a record nothing matched with a reason is ``invalid``."""
    base = _reasons(inc_ids).with_columns(keys.alias(KEY))
    det_status = (
        pl.when(pl.col("n_enterprises") == 1)
        .then(pl.lit("matched_exact"))
        .otherwise(pl.lit("ambiguous"))
    )
    joined = (
        base.join(clerical.rename({ENTREF: "c_entref"}), on=UID, how="left")
        .join(
            det.select(
                UID, "method", det_status.alias("d_status"), pl.col(ENTREF).alias("d_entref")
            ),
            on=UID,
            how="left",
        )
        .join(decided.rename({ENTREF: "p_entref", "status": "p_status"}), on=UID, how="left")
    )
    clerical_hit = pl.col("c_entref").is_not_null()
    det_hit = pl.col("d_status").is_not_null()
    prob_status = pl.col("p_status").fill_null("not_found")
    status = (
        pl.when(clerical_hit)
        .then(pl.lit("matched_clerical"))
        .when(det_hit)
        .then(pl.col("d_status"))
        .when((prob_status == "not_found") & pl.col("reason").is_not_null())
        .then(pl.lit("invalid"))
        .otherwise(prob_status)
    )
    method = (
        pl.when(clerical_hit)
        .then(pl.lit("clerical"))
        .when(det_hit)
        .then(pl.col("method"))
        .when(pl.col("p_status").is_not_null())
        .then(pl.lit("probabilistic"))
    )
    entref = pl.coalesce("c_entref", "d_entref", "p_entref")
    probability = pl.when(~clerical_hit & ~det_hit).then(pl.col("match_probability"))
    return joined.select(
        UID,
        KEY,
        status.alias("status"),
        method.alias("method"),
        probability.alias("match_probability"),
        "reason",
        entref.alias(ENTREF),
    ).sort(UID)


def _reasons(inc_ids: pl.DataFrame) -> pl.DataFrame:
    """``uid, __nothing, reason``: invalid identifiers as ``type:code`` (a missing one is no
    reason), or :data:`NOTHING_TO_MATCH`."""
    reasons = [
        pl.when(
            pl.col(reason_column(t)).is_not_null() & (pl.col(reason_column(t)) != Reason.MISSING)
        ).then(pl.lit(f"{t}:") + pl.col(reason_column(t)))
        for t in SHARED_ID_TYPES
        if reason_column(t) in inc_ids.columns
    ]
    return inc_ids.select(
        UID,
        "__nothing",
        pl.concat_str(reasons, separator=";", ignore_nulls=True).alias("reason")
        if reasons
        else pl.lit(None, pl.String).alias("reason"),
    ).with_columns(
        pl.when(pl.col("reason") != "")
        .then(pl.col("reason"))
        .when(pl.col("__nothing"))
        .then(pl.lit(NOTHING_TO_MATCH))
        .alias("reason")
    )


def _review_rows(
    results: pl.DataFrame,
    pairs: pl.DataFrame,
    incoming: pl.DataFrame,
    register: pl.DataFrame,
    ic: IncomingColumns,
    rc: RegisterColumns,
    keys: pl.Series,
    token_map: pl.DataFrame,
    settings: MatchSettings,
) -> pl.DataFrame:
    grey = results.filter(pl.col("status") == "review").select(UID)
    candidates = (
        pairs.join(grey, on=UID, how="semi")
        .filter(pl.col("match_probability") >= settings.review_threshold)
        .sort([UID, "match_probability"], descending=[False, True])
        .group_by(UID, maintain_order=True)
        .head(MAX_REVIEW_CANDIDATES)
    )

    def text(frame: pl.DataFrame, column: str | None, alias: str) -> pl.Expr:
        column = present(frame, column)
        return (pl.col(column).cast(pl.String) if column else pl.lit(None, pl.String)).alias(alias)

    inc = incoming.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias(UID),
        text(incoming, ic.name, "incoming_name"),
        text(incoming, ic.postcode, "incoming_postcode"),
        text(incoming, ic.address, "incoming_address"),
    ).with_columns(keys.alias(KEY))
    reg = register.select(
        pl.col("__entref").alias(ENTREF),
        text(register, rc.name, "register_name"),
        text(register, rc.trading_name, "register_trading_name"),
        text(register, rc.postcode, "register_postcode"),
        text(register, rc.address, "register_address"),
    ).unique(ENTREF, keep="first")
    return (
        candidates.join(inc, on=UID)
        .join(reg, on=ENTREF)
        .join(token_map.rename({TOKEN: CANDIDATE}), on=ENTREF)
        .sort([UID, "match_probability"], descending=[False, True])
        .drop(UID, ENTREF)
    )
