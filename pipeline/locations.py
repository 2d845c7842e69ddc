"""Where a pipeline config's runs keep their files.

=================  ========================================================================
folder             what it holds
=================  ========================================================================
delivery folder    ``run-*/`` deliveries only: de-identified extracts, manifests, reports
work folder        ``<run_id>/`` stage checkpoints, ``registry/`` (the entity registry),
                   ``decisions.parquet``, ``review/``, ``staging/<run_id>/`` (a delivery
                   being assembled): identifying data, deleted by ``pprl project close``
state folder       ``state.duckdb`` (the run catalogue), ``audit.jsonl``, ``lock``: no record
                   values; outlives ``pprl project close``
=================  ========================================================================

The work and state folders are set by ``delivery.work_dir`` and ``delivery.state_dir``
(:class:`pipeline.config.DeliveryConfig`), both outside the delivery folder, so a copy of
the delivery folder carries nothing else. Both are owner-only (0700, files 0600).

Older versions kept the catalogue, audit log, lock and staging in ``<delivery>/.pprl/``.
Commands that read or write a config's state refuse to work while that folder exists
(:class:`LegacyStateError`, exit 2) until ``pprl project migrate CONFIG`` moves it
(:mod:`pipeline.project`): silently starting a second, empty state beside it would deliver
every input file again and split the audit log in two.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.atomic import hidden_copy
from pipeline.errors import ConfigError

if TYPE_CHECKING:  # annotations only: the config's module is slow to import
    from pipeline.config import PipelineConfig

logger = logging.getLogger(__name__)

LEGACY_STATE_DIR = ".pprl"
STATE_FILE = "state.duckdb"
STAGING_DIR = "staging"


class LegacyStateError(ConfigError):
    """Run state is still in the delivery folder, where older versions kept it."""


def legacy_state_dir(config: PipelineConfig) -> Path:
    """``<delivery>/.pprl``: where older versions kept the run state."""
    return config.delivery_dir / LEGACY_STATE_DIR


def staging_root(config: PipelineConfig) -> Path:
    """Where deliveries are assembled before promotion (in the work folder)."""
    return config.work_dir / STAGING_DIR


def state_problems(config: PipelineConfig) -> list[str]:
    """What stops a run from using the config's state folder (for ``pprl validate``)."""
    legacy = legacy_state_dir(config)
    if not legacy.is_dir():
        return []
    return [
        f"{legacy}: run state (catalogue, audit log, lock) from an older pprl is still in the"
        f" delivery folder; move it to {config.state_dir} with 'pprl project migrate CONFIG'"
        " (the audit log is verified before and after)"
    ]


def refuse_legacy_state(config: PipelineConfig) -> None:
    """Raise :class:`LegacyStateError` if ``<delivery>/.pprl`` still exists."""
    problems = state_problems(config)
    if problems:
        raise LegacyStateError(problems)


def remove_unpromoted_copies(config: PipelineConfig, run_ids: Iterable[str]) -> int:
    """Delete the hidden copies a killed cross-filesystem promotion left in the delivery
    folder (:func:`pipeline.atomic.promote_folder`) for these unfinished runs of ``config``.

    Only this config's runs (from its catalogue): another project delivering to the same
    folder, under another lock, may be copying its own."""
    removed = 0
    for run_id in run_ids:
        copy = hidden_copy(config.delivery_dir / run_id)
        if copy.is_dir():
            logger.info("removing %s, left by a killed run", copy.name, extra={"run_id": run_id})
            shutil.rmtree(copy)
            removed += 1
    return removed
