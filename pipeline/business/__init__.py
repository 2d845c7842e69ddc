"""Business linkage: CRN requests and dataset-to-register linkage.

Deterministic on shared valid identifiers (CRN, VAT, PAYE, normalised by
``pseudonym.identifiers``), then probabilistic (:mod:`pipeline.business.probabilistic`) on the
core of the company name (source slips repaired first: :mod:`pipeline.business.name_repairs`;
rarity-weighted tokens, best of legal and trading names, a name the register holds once or one
a keystroke from it: :mod:`linkage.company_names`), its distinguishing words (HOLDINGS,
GROUP, UK...: a sister company's name is not its sibling's; where core and postcode agree,
weighed against the register's own families: :mod:`pipeline.business.families`), legal
form, postcode and
address, and identifiers that disagree (a one-keystroke slip is neither:
:mod:`pipeline.business.crn_rule`); a record's candidates compete for it
(:mod:`pipeline.business.decide`). A record whose valid CRN no register row holds is not
linked by name to a company with another CRN, and ends ``crn_not_in_register`` when
unlinked. Candidates come from passes on rare keys that need no place (a moved company):
:mod:`pipeline.business.blocking`. Grey-band and
ambiguous records go to a clerical-review CSV whose decisions can be fed back in. Results carry
the researcher's key, a status, the method, the project environment's pseudonym of the
enterprise reference and the register's status of that enterprise
(:mod:`pipeline.business.register_status`), never a register identifier or name.

>>> outcome = link_to_register(incoming, register, pseudonymiser)      # doctest: +SKIP
>>> match_report(outcome.results, truth)["truth"]["f1"]                # doctest: +SKIP

A whole run (read files, link, deliver) is :func:`run_register_link`; the CLI edges are
``pprl crn-request`` and ``pprl link-register``.
"""

from pipeline.business.clerical_review import write_review_file
from pipeline.business.columns import IncomingColumns, RegisterColumns
from pipeline.business.delivery import Delivered, deliver
from pipeline.business.match_report import match_report
from pipeline.business.register_job import RegisterLinkOptions, run_register_link
from pipeline.business.register_link import STATUSES, LinkOutcome, link_to_register
from pipeline.business.settings import MatchSettings
from pipeline.review.decisions import read_decisions

__all__ = [
    "STATUSES",
    "Delivered",
    "IncomingColumns",
    "LinkOutcome",
    "MatchSettings",
    "RegisterColumns",
    "RegisterLinkOptions",
    "deliver",
    "link_to_register",
    "match_report",
    "read_decisions",
    "run_register_link",
    "write_review_file",
]
