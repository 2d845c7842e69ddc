"""Unseen business data (issue 11): a business register and incoming records built by an
engineer who has not read pprl's business model, for measuring it without tuning to it.

Nobody who tunes pprl's business linkage may read this package or its data; see
benchmarks/README.md, "Unseen business data".

``python -m benchmarks.unseen_business --work DIR [--seed N] [--scale S]`` writes DIR/data/.
"""

from benchmarks.unseen_business.generate import UnseenBusinessError, generate

__all__ = ["UnseenBusinessError", "generate"]
