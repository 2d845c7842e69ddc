"""Pipeline stages, each a plain function over polars frames, composed by :mod:`pipeline.runner`.

Order and contract (columns named as in :mod:`pipeline.ingest`):

1. :func:`prepare.prepare_file` - ingest one file and validate/normalise its identifiers.
   Returns the rows kept and a quarantine (``_source, _file, _row, stage, reason, field``).
   Runs per file, so an executor can spread it over workers.
2. :func:`link.link_records` - links on identifying fields only: the linker receives
   :func:`link.linkage_view` (``_uid``, ``_source``, person roles and ``id_*`` columns; never
   research attributes) and returns a cluster label per record; the stage adds ``person_id``
   (deterministic) and ``linked``. :mod:`link_engine` adapts the ``linkage`` package's facade.
3. :func:`pseudonymise.pseudonymise_chunk` - replaces every ``id_<type>`` column with
   ``pid_<type>`` and adds a keyed ``record_key`` (0-255, for the cell-key method). Runs per chunk.
4. :func:`deidentify.deidentify` - keeps only pseudonyms, ``person_id``/``linked``, approved
   and derived attributes; k-anonymity and a leak check via ``pipeline.disclosure``.
5. :func:`deliver.deliver` - writes each source's extract, the quarantine, the manifest
   (counted from :class:`pipeline.manifest.RunFacts`) and the report into a staging folder,
   which the runner then promotes with one rename.

Dependencies on other packages (identifier rules, pseudonymiser, linker) come in through
:class:`services.Services`, so each stage can be tested with fakes; the deliver stage receives
key IDs, not the pseudonymiser.
"""

from pipeline.stages.services import Services

__all__ = ["Services"]
