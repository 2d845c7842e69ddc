"""Disclosure control: record-level minimisation and k-anonymity, and table output checking.

Record level: :func:`minimise`, :func:`leak_check` (:class:`LeakCheck` for an extract in
chunks), generalisation ladders
(:func:`postcode_ladder`, :func:`dob_ladder`, :func:`recode_ladder`), :func:`top_code` /
:func:`bottom_code`, and :func:`anonymise` (k-anonymity, optional l-diversity); risk beyond
k by :func:`individual_risk`, :func:`assess_risk` and :func:`check_risk` (fails closed), and
SUDA special uniques by :func:`suda_scores`.
Linked deliveries (files joined on a person key, and earlier deliveries): :func:`assess_linked`,
:func:`anonymise_linked`, :func:`linked_risk`, :func:`check_linked_risk`, and
:func:`protect_linked` (all of it, as the de-identify stage runs it); :class:`HeldFiles` for
earlier files given as the part of them that can meet the delivery.
Tables: :func:`check_table` (microdata) or :func:`check_counts` (a frequency table already
counted) with :class:`TableSpec` and :class:`TableCheckSettings`; regression outputs by
:func:`check_models` (:func:`load_models` reads them from CSV); reports by :func:`report_dict` /
:func:`report_html`; cell-key p-tables by :func:`make_ptable`, :func:`load_ptable` (ONS
format) and :func:`ons_10_5_ptable`, record keys read from a file by :func:`cast_record_keys`.
"""

from pipeline.disclosure.cellkey import (
    PerturbationTable,
    cast_record_keys,
    load_ptable,
    make_ptable,
    ons_10_5_ptable,
)
from pipeline.disclosure.check import TableCheckResult, check_counts, check_table
from pipeline.disclosure.errors import (
    DisclosureError,
    IdentifierLeak,
    ModelOutputError,
    PerturbationTableError,
    ReidentificationRiskExceeded,
    SuppressionBudgetExceeded,
    TableSpecError,
    UnsafeTable,
)
from pipeline.disclosure.generalise import (
    Ladder,
    age_band,
    bottom_code,
    dob_ladder,
    postcode_ladder,
    recode_ladder,
    top_code,
    year_of_birth,
)
from pipeline.disclosure.held import HeldFiles, varying_keys
from pipeline.disclosure.kanon import (
    KAnonymityReport,
    anonymise,
    count_unsafe,
    frequency_counts,
    local_suppression,
)
from pipeline.disclosure.linked import (
    LinkedReport,
    anonymise_linked,
    assess_linked,
    check_linked_risk,
    linked_risk,
    protect_linked,
)
from pipeline.disclosure.minimise import LeakCheck, leak_check, minimise
from pipeline.disclosure.recovery import audit_suppression, secondary_suppression
from pipeline.disclosure.regression import ModelCheck, check_models, load_models
from pipeline.disclosure.report import report_dict, report_html, report_json
from pipeline.disclosure.risk import RiskReport, assess_risk, check_risk, individual_risk
from pipeline.disclosure.settings import KAnonymitySettings, RiskLimits, TableCheckSettings
from pipeline.disclosure.suda import suda_scores
from pipeline.disclosure.tables import TableSpec, check_residual_dof

__all__ = [
    "DisclosureError",
    "HeldFiles",
    "IdentifierLeak",
    "KAnonymityReport",
    "KAnonymitySettings",
    "Ladder",
    "LeakCheck",
    "LinkedReport",
    "ModelCheck",
    "ModelOutputError",
    "PerturbationTable",
    "PerturbationTableError",
    "ReidentificationRiskExceeded",
    "RiskLimits",
    "RiskReport",
    "SuppressionBudgetExceeded",
    "TableCheckResult",
    "TableCheckSettings",
    "TableSpec",
    "TableSpecError",
    "UnsafeTable",
    "age_band",
    "anonymise",
    "anonymise_linked",
    "assess_linked",
    "assess_risk",
    "audit_suppression",
    "bottom_code",
    "cast_record_keys",
    "check_counts",
    "check_linked_risk",
    "check_models",
    "check_residual_dof",
    "check_risk",
    "check_table",
    "count_unsafe",
    "dob_ladder",
    "frequency_counts",
    "individual_risk",
    "leak_check",
    "linked_risk",
    "load_models",
    "load_ptable",
    "local_suppression",
    "make_ptable",
    "minimise",
    "ons_10_5_ptable",
    "postcode_ladder",
    "protect_linked",
    "recode_ladder",
    "report_dict",
    "report_html",
    "report_json",
    "secondary_suppression",
    "suda_scores",
    "top_code",
    "varying_keys",
    "year_of_birth",
]
