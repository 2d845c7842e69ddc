"""The pprl batch pipeline: config, stages, runner, disclosure control, delivery, audit, CLI.

The API for orchestrators (Airflow, cron wrappers, notebooks) is what ``pprl run`` calls:

>>> from pipeline import load_config, plan_run, run_pipeline
>>> config = load_config("configs/demo.yaml")   # doctest: +SKIP
>>> plan_run(config).rows                        # doctest: +SKIP
85
>>> summary = run_pipeline(config)               # doctest: +SKIP
>>> summary.status, summary.run_id               # doctest: +SKIP
('delivered', 'run-2192da24f23416d8')

Failures raise :class:`PipelineError` subclasses whose ``exit_code`` is the CLI's (2 config,
3 data, 75 transient: retry later). The names are imported on first use, so ``import
pipeline`` stays cheap.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from pipeline.errors import ConfigError, DataError, PipelineError, TransientError

if TYPE_CHECKING:
    from pipeline.config import PipelineConfig, load_config
    from pipeline.run_plan import RunPlan, plan_run
    from pipeline.runner import RunSummary, run_pipeline

try:
    __version__ = version("pprl")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

_LAZY = {
    "PipelineConfig": "pipeline.config",
    "load_config": "pipeline.config",
    "RunPlan": "pipeline.run_plan",
    "plan_run": "pipeline.run_plan",
    "RunSummary": "pipeline.runner",
    "run_pipeline": "pipeline.runner",
}

__all__ = [
    "ConfigError",
    "DataError",
    "PipelineConfig",
    "PipelineError",
    "RunPlan",
    "RunSummary",
    "TransientError",
    "__version__",
    "load_config",
    "plan_run",
    "run_pipeline",
]


def __getattr__(name: str) -> Any:
    """The orchestration API's names, imported from their modules on first use."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
