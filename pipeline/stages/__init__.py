"""Pipeline stages, composed by :mod:`pipeline.run_stages` (which :mod:`pipeline.runner` calls).

Each stage reads the previous stage's Parquet parts and writes its own
(:mod:`parts`, one part per chunk of an input file), so no stage holds a batch's records
whole. Order and contract (columns named as in :mod:`pipeline.ingest`):

1. :func:`prepare.prepare_to_parts` - ingest one file chunk by chunk and validate/normalise
   its identifiers. Writes the rows kept and a quarantine (``_source, _file, _row, stage,
   reason, field``). Runs per file, so an executor can spread it over workers.
2. :func:`link.link_batch` - links on identifying fields only: the linker receives
   :class:`link_records.LinkRecords`, the compared roles and identifiers of
   :func:`link.linkage_view` (never research attributes) standardised chunk by chunk, of the
   batch and of the registry records sharing a blocking key or identifier with it
   (:mod:`link_keys`, :mod:`pipeline.registry`), and returns a cluster label per record; the
   stage adds the entity id and ``linked``. :mod:`link_engine` adapts the ``linkage``
   package's facade.
3. :func:`pseudonymise.pseudonymise_part` - replaces every ``id_<type>`` column with
   ``pid_<type>``, the entity id with ``person_id``, and adds a keyed ``record_key``
   (0-255, for the cell-key method). Runs per part.
4. :func:`deidentify.deidentify` - keeps only pseudonyms, ``person_id``/``linked``, approved
   and derived attributes; k-anonymity and a leak check via ``pipeline.disclosure``, deciding
   on the disclosure columns of the whole batch and writing part by part.
5. :func:`deliver.deliver` - streams each source's parts into one extract, writes the
   quarantine, the manifest (counted from :class:`pipeline.manifest.RunFacts`) and the report
   into a staging folder, which the runner then promotes with one rename.

Dependencies on other packages (identifier rules, pseudonymiser, linker) come in through
:class:`services.Services`, so each stage can be tested with fakes; the deliver stage receives
key IDs, not the pseudonymiser.
"""

from pipeline.stages.services import Services

__all__ = ["Services"]
