"""Pipeline stages, each a plain function over polars frames, composed by :mod:`pipeline.runner`.

Order and contract (columns named as in :mod:`pipeline.ingest`):

1. :func:`prepare.prepare_file` - ingest one file and validate/normalise its identifiers.
   Returns the rows kept and a quarantine (``_source, _file, _row, stage, reason, field``).
   Runs per file, so an executor can spread it over workers.
2. :func:`link.link_records` - links on identifiers only: it receives :func:`link.linkage_view`
   (accounting columns, person roles and ``id_*`` columns; never research attributes) and returns
   one ``cluster`` label per row plus pair match probabilities for the report.
3. :func:`pseudonymise.pseudonymise_chunk` - replaces every ``id_<type>`` column with
   ``pid_<type>`` and adds a keyed ``record_key`` (0-255, for the cell-key method). Runs per chunk.
4. :func:`deidentify.deidentify` - keeps only pseudonyms, the linked ``person_id`` and approved
   attributes; direct identifiers never reach the extract.
5. :mod:`deliver` - writes extracts into the run's work dir and promotes them atomically.

Dependencies on other packages (identifier rules, pseudonymiser, linker, disclosure control)
come in through :class:`services.Services`, so each stage can be tested with fakes.
"""

from pipeline.stages.services import Services

__all__ = ["Services"]
