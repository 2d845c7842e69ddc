"""The pprl batch pipeline: config, stages, runner, disclosure control, delivery, audit, CLI."""

from importlib.metadata import PackageNotFoundError, version

from pipeline.errors import ConfigError, DataError, PipelineError, TransientError

try:
    __version__ = version("pprl")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["ConfigError", "DataError", "PipelineError", "TransientError", "__version__"]
