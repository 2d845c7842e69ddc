"""Settings for disclosure control: plain pydantic models the pipeline config can embed.

Defaults follow UK practice: ACRO/SACRO for output checking (threshold 10, p% 0.10,
(n,k) = (2, 0.9), residual degrees of freedom 10, rounding base 5) and sdcMicro for
record-level k-anonymity.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RiskLimits(_Settings):
    """Limits on re-identification risk beyond k (see :mod:`pipeline.disclosure.risk`).

    ``max_individual_risk``: no record may have a higher individual risk (sdcMicro's
    ``indivRisk``; 1/k is the risk a record in a class of exactly k has without weights).
    ``max_expected_reidentifications``: the sum of individual risks (sdcMicro's global risk
    ``risk$global$risk_ER``) may not exceed this. ``weight``: column of sampling weights
    (population records each record stands for); without one every record weighs 1, the
    extract is taken as the whole population and the risk of a record is 1/fk.
    """

    max_individual_risk: float | None = Field(default=None, gt=0.0, le=1.0)
    max_expected_reidentifications: float | None = Field(default=None, ge=0.0)
    weight: str | None = None

    @property
    def active(self) -> bool:
        limits = (self.max_individual_risk, self.max_expected_reidentifications)
        return any(limit is not None for limit in limits)


class KAnonymitySettings(_Settings):
    """k-anonymity over declared quasi-identifiers, reached by generalisation then suppression.

    ``suppression_budget`` is the largest fraction of records that may have any quasi-identifier
    set to null by local suppression; beyond it the extract fails closed.
    ``suppression_order`` lists quasi-identifiers to suppress first (smallest information loss);
    when omitted, the variable with the most distinct categories goes first (our default:
    it is usually the one that makes records unique; sdcMicro takes this as ``importance``).
    ``l_diversity`` with ``sensitive`` (one attribute or a list): every class of records that
    match on the quasi-identifiers holds at least l distinct values of each sensitive attribute
    (distinct l-diversity). ``risk`` sets limits on re-identification risk beyond k.
    """

    k: int = Field(default=5, ge=2)
    quasi_identifiers: list[str] = Field(default_factory=list)
    suppression_budget: float = Field(default=0.05, ge=0.0, le=1.0)
    suppression_order: list[str] | None = None
    l_diversity: int | None = Field(default=None, ge=2)
    sensitive: list[str] = Field(default_factory=list)
    risk: RiskLimits = Field(default_factory=RiskLimits)

    @field_validator("sensitive", mode="before")
    @classmethod
    def _one_or_more(cls, value: object) -> object:
        return [] if value is None else [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _sensitive_needs_l(self) -> KAnonymitySettings:
        problems = []
        if (self.l_diversity is None) != (not self.sensitive):
            problems.append("l_diversity and sensitive must be given together")
        if len(set(self.sensitive)) != len(self.sensitive):
            problems.append("sensitive attributes repeat")
        both = sorted(set(self.sensitive) & set(self.quasi_identifiers))
        if both:
            problems.append(f"sensitive attributes cannot also be quasi-identifiers: {both}")
        if self.suppression_order is not None:
            unknown = sorted(set(self.suppression_order) - set(self.quasi_identifiers))
            if unknown:
                problems.append(f"suppression_order names non-quasi-identifiers: {unknown}")
        if self.risk.weight is not None and self.risk.weight in self.quasi_identifiers:
            problems.append("risk.weight cannot also be a quasi-identifier")
        if problems:
            raise ValueError("; ".join(problems))
        return self


RoundingRule = Literal["none", "nearest", "random"]
PTableChoice = Literal["generated", "ons-10-5"]


class TableCheckSettings(_Settings):
    """Primary checks and treatments for a table (ACRO defaults).

    ``threshold``: a cell built from fewer than this many records fails (ACRO: 10;
    OpenSAFELY's "redact <= 7" is threshold 8). ``p_ratio``: p% rule, a cell fails when the
    total minus its two largest contributions is below ``p_ratio`` times the largest.
    ``nk_n``/``nk_k``: a cell fails when its ``nk_n`` largest contributions reach ``nk_k`` of
    the total. ``protection_interval``: a suppressed cell is exposed when the LP audit bounds it
    to an interval no wider than this (0 means "only exact recovery counts as exposed").
    ``cell_key_column`` turns on cell-key perturbation of counts with the p-table ``ptable``:
    ``"generated"`` (our own, see :mod:`pipeline.disclosure.cellkey`), ``"ons-10-5"`` (ONS's
    published example table: under 10 to 0, the rest to the nearest 5), or the path of an
    ONS-format p-table file (columns ``pcv``, ``ckey``, ``pvalue``). As in ONS's
    ``cell_key_perturbation``, a cell whose perturbed count falls below ``threshold`` is
    withheld too.
    """

    threshold: int = Field(default=10, ge=1)
    zeros_are_disclosive: bool = True
    p_ratio: float = Field(default=0.10, ge=0.0)
    nk_n: int = Field(default=2, ge=1)
    nk_k: float = Field(default=0.9, gt=0.0, le=1.0)
    dof_threshold: int = Field(default=10, ge=0)
    secondary: bool = True
    protection_interval: float = Field(default=0.0, ge=0.0)
    rounding: RoundingRule = "none"
    rounding_base: int = Field(default=5, ge=1)
    seed: int = 0
    cell_key_column: str | None = None
    ptable: PTableChoice | str = "generated"
    accept_review: bool = False

    @model_validator(mode="after")
    def _ptable_needs_cell_keys(self) -> TableCheckSettings:
        if not self.ptable.strip():
            raise ValueError("ptable: give 'generated', 'ons-10-5' or a p-table file path")
        if self.ptable != "generated" and self.cell_key_column is None:
            raise ValueError("ptable applies to cell-key perturbation: set cell_key_column too")
        return self
