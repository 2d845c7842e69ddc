"""Saving and loading a trained model (settings, parameters, training diagnostics) as JSON,
and writing files atomically (temp file + rename) so a reader never sees half a file."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linkage.diagnostics import TrainingDiagnostics
from linkage.errors import SettingsError
from linkage.model import ModelParameters
from linkage.settings import LinkageSettings

MODEL_FORMAT = "pprl-linkage-model"
MODEL_VERSION = 1


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path``; renamed to ``path`` when the block succeeds,
    removed when it fails."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class SavedModel:
    """What a model file holds."""

    settings: LinkageSettings
    parameters: ModelParameters
    diagnostics: TrainingDiagnostics


def write_model(path: str | Path, model: SavedModel) -> None:
    """Write ``model`` as JSON (atomically)."""
    payload: dict[str, Any] = {
        "format": MODEL_FORMAT,
        "version": MODEL_VERSION,
        "settings": model.settings.to_dict(),
        "parameters": model.parameters.to_dict(),
        "diagnostics": model.diagnostics.to_dict(),
    }
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2), encoding="utf-8")


def read_model(path: str | Path) -> SavedModel:
    """Read a file written by :func:`write_model` (one without diagnostics too)."""
    name = Path(path).name
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SettingsError(f"cannot read model file {name!r} ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise SettingsError(f"{name!r} is not a {MODEL_FORMAT} file")
    if payload.get("version") != MODEL_VERSION:
        raise SettingsError(f"unsupported model version {payload.get('version')!r}")
    settings = LinkageSettings.from_dict(payload["settings"])
    parameters = ModelParameters.from_dict(payload["parameters"])
    if set(parameters.comparisons) != {c.name for c in settings.comparisons}:
        raise SettingsError("model parameters do not match the saved comparisons")
    try:
        diagnostics = TrainingDiagnostics.from_dict(payload.get("diagnostics"))
    except (KeyError, TypeError, ValueError) as exc:
        raise SettingsError(f"model diagnostics are malformed ({type(exc).__name__})") from None
    return SavedModel(settings, parameters, diagnostics)


def model_json(settings: LinkageSettings, parameters: ModelParameters | None = None) -> str:
    """Settings (and parameters) as the compact JSON a partition job is given: everything it
    needs to compare or score pairs, no record value."""
    payload: dict[str, Any] = {"settings": settings.to_dict()}
    if parameters is not None:
        payload["parameters"] = parameters.to_dict()
    return json.dumps(payload, separators=(",", ":"))


def model_from_json(text: str) -> tuple[LinkageSettings, ModelParameters | None]:
    """What :func:`model_json` wrote (floats round-trip exactly, so scores are identical)."""
    payload = json.loads(text)
    settings = LinkageSettings.from_dict(payload["settings"])
    raw = payload.get("parameters")
    return settings, None if raw is None else ModelParameters.from_dict(raw)
