"""Linkage benchmark: pprl against Splink (DuckDB) and recordlinkage (ECM) on the same data.

Each tool runs in its own interpreter (``run_<tool>.py``) on the same prepared Parquet with the
same blocking (:mod:`benchmarks.linkage.spec`); the harness measures whole-process wall time
and peak RSS and scores every tool's pairs with one function (:mod:`benchmarks.linkage.metrics`).
"""
