"""A standalone linkage or deduplication job, as ``pprl link CONFIG`` runs it (the config
format is :mod:`pipeline.linkconfig`).

Reads one or two CSV/Parquet inputs, standardises the configured columns, trains a
Fellegi-Sunter model (or loads a saved one), scores candidate pairs and writes, atomically, into
the output folder: ``pairs.parquet``, ``clusters.parquet``, ``review.csv``, ``model.json``,
``evaluation.json``, ``link-report.html`` and ``link-manifest.json``, plus one audit entry.
Outputs hold the inputs' own ids, scores, gamma levels and level labels; never a name, date,
postcode or address value unless asked (``report_records`` for the report's record views,
``review_records`` for ``review.csv``; the manifest's ``record_values`` says which). Training
problems the engine warned about (EM not converged, m not estimated, ...) are listed under
``warnings`` in ``evaluation.json`` and the manifest, at the top of the report, and counted in
the summary line (:mod:`pipeline.linkage_warnings`). A curator's decisions on pairs
(``decisions``, the file ``pprl review --link-review`` saves) are applied before clustering.

Modules: :mod:`~pipeline.linkjob.inputs` (config, columns, reading and standardising),
:mod:`~pipeline.linkjob.run` (model, scoring, outputs, manifest),
:mod:`~pipeline.linkjob.clerical` (curators' decisions applied to the pairs),
:mod:`~pipeline.linkjob.review_file` (``review.csv``),
:mod:`~pipeline.linkjob.html_report` (``link-report.html``).

>>> result = run_link_job("configs/linkage/link-demo.yaml", output=Path("out"))  # doctest: +SKIP
>>> result.summary_line()                                                        # doctest: +SKIP
"""

from pipeline.linkjob.run import STEPS, LinkJobResult, check_link_job, run_link_job

__all__ = ["STEPS", "LinkJobResult", "check_link_job", "run_link_job"]
