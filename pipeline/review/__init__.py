"""Clerical review: curators' decisions on the pairs a model was unsure of.

:mod:`pipeline.review.decisions` is the decision file both reviews share (``key``,
``candidate``, ``decision``) and reads an edited one back; :mod:`pipeline.review.persons` is
the batch pipeline's review of person pairs (the file a run writes, the decisions store, and
applying decisions before clustering). The business register's review file is
:mod:`pipeline.business.clerical_review`. ``pprl review`` shows either in a browser:
:mod:`pipeline.review.session` keeps a curator's decisions (saved as they are made),
:mod:`pipeline.review.layout` lays a pair out side by side, :mod:`pipeline.review.server`
serves the page on the loopback interface.
"""

from pipeline.review.decisions import CANDIDATE, DECISION, DECISIONS, KEY, read_decisions
from pipeline.review.persons import (
    DECISIONS_FILE,
    PAIR_L,
    PAIR_R,
    PROBABILITY,
    REVIEW_DIR,
    apply_decisions,
    load_decisions,
    review_file,
    review_rows,
    store_decisions,
    write_review,
)

__all__ = [
    "CANDIDATE",
    "DECISION",
    "DECISIONS",
    "DECISIONS_FILE",
    "KEY",
    "PAIR_L",
    "PAIR_R",
    "PROBABILITY",
    "REVIEW_DIR",
    "apply_decisions",
    "load_decisions",
    "read_decisions",
    "review_file",
    "review_rows",
    "store_decisions",
    "write_review",
]
