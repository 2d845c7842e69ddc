"""Dataset-to-register linkage: deterministic on shared valid identifiers, then probabilistic
on name, postcode, address and identifiers for the rest, with clerical-review overrides.

Status of each incoming record (:data:`STATUSES`):

* ``matched_exact``: a shared valid identifier (CRN, VAT, PAYE) points to one enterprise;
* ``matched_clerical``: a curator's ``match`` decision;
* ``matched_probabilistic``: the best candidate's probability, among the record's candidates,
  reaches the match threshold (:mod:`pipeline.business.decide`);
* ``review``: best candidate in the grey band (the CRN request calls this ``ambiguous``);
* ``ambiguous``: identifiers point to several enterprises, or several candidates reach the
  match threshold on their own and none stands out;
* ``crn_not_in_register``: the record's valid CRN is held by no register row, and nothing
  linked it (a name match to a company with another CRN is not made unless the numbers are a
  slip: :mod:`pipeline.business.crn_rule`; the CRN request calls this ``not_found``);
* ``not_found``: nothing matched; ``invalid``: nothing matched and an identifier was invalid
  (or there was nothing to match on). ``reason`` lists invalid identifiers as ``type:code``
  (e.g. ``crn:bad_prefix``), or ``nothing_to_match`` when there was no identifier or name.
  A record linked (or in review) on its name, whose best candidate agreed through one of the
  company's previous names (:mod:`pipeline.business.previous_names`), has
  ``previous_name`` in its ``reason``: a detail of its status, not a value.

Every result carries the linked enterprise's ``register_status`` (active, dissolved,
not_yet_incorporated, insolvency, unknown: :mod:`pipeline.business.register_status`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import polars as pl

from pipeline.business.clerical_review import read_decisions_for_run, review_rows
from pipeline.business.columns import (
    SHARED_ID_TYPES,
    IncomingColumns,
    RegisterColumns,
    check_columns,
    check_matchable,
    present,
)
from pipeline.business.crn_rule import CRN_NOT_IN_REGISTER, unknown_crns
from pipeline.business.decide import decide
from pipeline.business.deterministic import ENTREF, REG_UID, TOKEN, deterministic_matches
from pipeline.business.fallback import REGISTER_STATUS, Side, fallback_candidates
from pipeline.business.prepare import (
    UID,
    norm_column,
    normalise_ids,
    reason_column,
    shared_id_types,
)
from pipeline.business.previous_names import VIA_PREVIOUS_NAME
from pipeline.business.register_status import register_status
from pipeline.business.settings import MatchSettings
from pipeline.errors import DataError
from pipeline.review.decisions import CANDIDATE, KEY, MATCH, NON_MATCH
from pseudonym.identifiers import Reason
from pseudonym.tokens import Pseudonymiser

logger = logging.getLogger(__name__)

STATUSES: tuple[str, ...] = (
    "matched_exact", "matched_clerical", "matched_probabilistic", "review", "ambiguous",
    CRN_NOT_IN_REGISTER, "not_found", "invalid",
)  # fmt: skip
MATCHED = ("matched_exact", "matched_clerical", "matched_probabilistic")
NOTHING_TO_MATCH = "nothing_to_match"  # reason: no valid identifier and no name
PREVIOUS_NAME = "previous_name"  # reason detail: linked through a previous company name
UNKNOWN_CRN = "__crn_unknown"


@dataclass
class LinkOutcome:
    """Per-record results (``results``, one row per incoming row in input order), grey-band
    candidates for clerical review (``review``), and facts for the manifest (``threshold``:
    the match threshold used, with the model's expectations at it)."""

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
    check_columns(register, [rc.entref, rc.name, *rc.previous_names], register_source)
    check_columns(incoming, ic.required_columns(), incoming_source)
    check_matchable(incoming, ic, incoming_source)
    keys = incoming[ic.key].cast(pl.String)
    _check_keys(keys, ic.key, incoming_source)

    register, register_facts = _valid_register(register, rc, register_source)
    inc = Side(incoming, ic, normalise_ids(incoming, _id_columns(ic), incoming_source))
    wanted = {t: c for t, c in _id_columns(rc).items() if norm_column(t) in inc.ids.columns}
    reg = Side(register, rc, normalise_ids(register, wanted, register_source))
    entrefs = register["__entref"]
    # every entref's pseudonym only when decisions name candidates by pseudonym
    token_map = _tokens(pseudonymiser, entrefs if decisions is not None else entrefs.head(0))

    id_types = shared_id_types(inc.ids, reg.ids)
    det = deterministic_matches(inc.ids, reg.ids, entrefs, id_types)
    clerical, rejected = read_decisions_for_run(decisions, keys, token_map)
    if rejected.height:
        det = det.join(rejected, on=[UID, ENTREF], how="anti")
    pairs, training = _probabilistic(inc, reg, id_types, det, clerical, rejected, settings)
    certain = _certain_links(det, clerical)
    decided, threshold = decide(pairs, settings, certain_links=certain)
    results = _results(inc, register, reg.ids, keys, det, clerical, decided)
    review = review_rows(results, pairs, inc, reg, keys, settings)
    if decisions is None:
        needed = pl.concat([results[ENTREF], review[ENTREF]]).drop_nulls().unique()
        token_map = _tokens(pseudonymiser, needed)
    results = results.join(token_map, on=ENTREF, how="left", maintain_order="left")
    review = review.join(
        token_map.rename({TOKEN: CANDIDATE}), on=ENTREF, maintain_order="left"
    ).drop(ENTREF)
    facts: dict[str, object] = {
        **register_facts,
        "incoming_rows": incoming.height,
        "shared_identifier_types": id_types,
        "probabilistic": training,
        "decisions_applied": {MATCH: clerical.height, NON_MATCH: rejected.height},
        "settings": _settings_facts(settings),
        "threshold": threshold.facts(),
    }
    return LinkOutcome(results.drop(UID), review, facts)


def _certain_links(det: pl.DataFrame, clerical: pl.DataFrame) -> int:
    """Records an identifier (one enterprise) or a curator links: right, for the model."""
    exact = det.filter(pl.col("n_enterprises") == 1).select(UID)
    return pl.concat([exact, clerical.select(UID)])[UID].n_unique()


def _probabilistic(
    inc: Side,
    reg: Side,
    id_types: list[str],
    det: pl.DataFrame,
    clerical: pl.DataFrame,
    rejected: pl.DataFrame,
    settings: MatchSettings,
) -> tuple[pl.DataFrame, dict[str, object]]:
    """Scored candidate pairs for the records neither an identifier nor a curator settled,
    with the model trained on the identifier links (see :mod:`pipeline.business.fallback`).
    A record whose identifiers name several enterprises (a group VAT number) is scored too:
    the identifier agrees with each of them, and its name and address may tell them apart."""
    fallback = (
        inc.ids.select(UID)
        .join(det.filter(pl.col("n_enterprises") == 1).select(UID), on=UID, how="anti")
        .join(clerical.select(UID), on=UID, how="anti")
    )
    labelled = det.filter(pl.col(REG_UID).is_not_null()).select(UID, REG_UID, "method")
    return fallback_candidates(inc, reg, id_types, labelled, fallback, rejected, settings)


def _results(
    inc: Side,
    register: pl.DataFrame,
    reg_ids: pl.DataFrame,
    keys: pl.Series,
    det: pl.DataFrame,
    clerical: pl.DataFrame,
    decided: pl.DataFrame,
) -> pl.DataFrame:
    """One row per incoming record (see :func:`link_to_register`), with the register status of
    the company it was linked to."""
    ic = inc.columns
    has_names = present(inc.frame, ic.name) is not None
    nothing = _nothing_to_match(inc.frame, inc.ids, ic.name if has_names else None)
    unknown = unknown_crns(inc.ids, reg_ids)
    statuses = register.select(pl.col("__entref").alias(ENTREF), REGISTER_STATUS).unique(ENTREF)
    flagged = inc.ids.with_columns(nothing.alias("__nothing"), unknown.alias(UNKNOWN_CRN))
    return _assemble(flagged, keys, det, clerical, decided).join(
        statuses, on=ENTREF, how="left", maintain_order="left"
    )


def _settings_facts(settings: MatchSettings) -> dict[str, object]:
    return {
        "match_threshold": settings.match_threshold,
        "review_threshold": settings.review_threshold,
        "contradicting_crn": settings.contradicting_crn,
    }


def _tokens(pseudonymiser: Pseudonymiser, entrefs: pl.Series) -> pl.DataFrame:
    """``entref, entref_pseudonym`` for the distinct ``entrefs``."""
    distinct = entrefs.unique()
    return pl.DataFrame({ENTREF: distinct, TOKEN: pseudonymiser.pseudonymise("entref", distinct)})


def _id_columns(columns: IncomingColumns | RegisterColumns) -> dict[str, str | None]:
    return {"crn": columns.crn, "vat": columns.vat, "paye": columns.paye}


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
    kept = register.with_columns(
        ids[norm_column("entref")].alias("__entref"),
        register_status(register, rc, source).alias(REGISTER_STATUS),
    ).filter(valid)
    by_status = dict(kept[REGISTER_STATUS].value_counts().sort(REGISTER_STATUS).rows())
    return kept, {
        "register_rows": register.height,
        "register_rows_without_valid_entref": dropped,
        "register_rows_by_status": by_status,
    }


def _assemble(
    inc_ids: pl.DataFrame,
    keys: pl.Series,
    det: pl.DataFrame,
    clerical: pl.DataFrame,
    decided: pl.DataFrame,
) -> pl.DataFrame:
    """One row per incoming record: a clerical decision beats an identifier match, which
    beats the probabilistic one (an ambiguous identifier match only when the model did not
    link the record); a record nothing matched is ``crn_not_in_register`` when its valid CRN
    is in no register row, else ``invalid`` when it has a reason."""
    base = _reasons(inc_ids).with_columns(keys.alias(KEY), inc_ids[UNKNOWN_CRN])
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
    prob_status = pl.col("p_status").fill_null("not_found")
    det_hit = _identifier_decides(prob_status)
    status = (
        pl.when(clerical_hit)
        .then(pl.lit("matched_clerical"))
        .when(det_hit)
        .then(pl.col("d_status"))
        .when((prob_status == "not_found") & pl.col(UNKNOWN_CRN))
        .then(pl.lit(CRN_NOT_IN_REGISTER))
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
    reason = _with_previous_name(status, pl.col("reason"), decided.columns)
    probability = pl.when(~clerical_hit & ~det_hit).then(pl.col("match_probability"))
    return joined.select(
        UID,
        KEY,
        status.alias("status"),
        method.alias("method"),
        probability.alias("match_probability"),
        reason.alias("reason"),
        entref.alias(ENTREF),
    ).sort(UID)


def _with_previous_name(status: pl.Expr, reason: pl.Expr, decided: list[str]) -> pl.Expr:
    """``reason`` with :data:`PREVIOUS_NAME` added where the model's best candidate, linked or
    in review, agreed through a previous name (the column is there only when the register has
    previous names mapped)."""
    if VIA_PREVIOUS_NAME not in decided:
        return reason
    named = status.is_in(["matched_probabilistic", "review"]) & pl.col(VIA_PREVIOUS_NAME)
    added = pl.concat_str([reason, pl.lit(PREVIOUS_NAME)], separator=";", ignore_nulls=True)
    return pl.when(named.fill_null(False)).then(added).otherwise(reason)


def _identifier_decides(prob_status: pl.Expr) -> pl.Expr:
    """An identifier match decides, unless it is ambiguous and the model linked the record."""
    status = pl.col("d_status")
    linked = prob_status == "matched_probabilistic"
    return ((status == "matched_exact") | ((status == "ambiguous") & ~linked)).fill_null(False)


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
