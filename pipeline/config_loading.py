"""Reading a YAML config document and validating it against a pydantic model, reporting every
problem at once with its YAML path; refusing values that look like secrets. Shared by the
pipeline config (:mod:`pipeline.config`) and the ``pprl link`` job config
(:mod:`pipeline.linkconfig`)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from pipeline.errors import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)
T = TypeVar("T")

_SECRET_NAME = re.compile(r"(secret|password|passwd|passphrase$|token|api_?key|master_?key$)", re.I)
_HEX = re.compile(r"^[0-9a-fA-F]{32,}$")
_B64 = re.compile(r"^[A-Za-z0-9+/_-]{32,}={0,2}$")
_PEM = re.compile(r"-----BEGIN [A-Z ]*(KEY|SECRET)")


def _entropy_bits_per_char(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _looks_like_secret(value: str) -> bool:
    if _PEM.search(value):
        return True
    stripped = value.strip()
    if _HEX.match(stripped):
        return True
    # Long base64-ish strings with high entropy: keys, not folder names.
    if _is_path_like(stripped):
        return False
    return bool(_B64.match(stripped)) and _entropy_bits_per_char(stripped) > 4.0


def _is_path_like(value: str) -> bool:
    """A file-system path rather than a base64 key: a key uses one base64 alphabet, so '/'
    beside '-' or '_' is a path; so is a rooted or relative path of three or more parts."""
    if "/" in value and ("-" in value or "_" in value):
        return True
    rooted = value.startswith(("/", "./", "../", "~/"))
    base64_marks = "+" in value or value.endswith("=")
    return rooted and not base64_marks and len([part for part in value.split("/") if part]) >= 3


def find_secrets(node: Any, where: str = "") -> list[str]:
    """YAML paths of values that look like keys or secrets (never the values themselves)."""
    problems: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{where}.{key}" if where else str(key)
            if (
                isinstance(value, str)
                and value
                and _SECRET_NAME.search(str(key))
                and not str(key).endswith(("_env", "_file"))
            ):
                problems.append(f"{path}: secrets must not be stored in the config file")
            else:
                problems.extend(find_secrets(value, path))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            problems.extend(find_secrets(value, f"{where}[{i}]"))
    elif isinstance(node, str) and _looks_like_secret(node):
        problems.append(
            f"{where}: value looks like a key or secret; reference an environment variable "
            "or key file instead"
        )
    return problems


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-", "model-")) or part in {"str", "dict"}:
            continue  # union branch labels from pydantic, not YAML keys
        else:
            out += f".{part}" if out else part
    return out or "(top level)"


def _messages(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors(include_input=False, include_url=False):
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        elif err["type"] == "string_pattern_mismatch":
            message = "invalid name (letters, digits, '_', '-', '.'; start with a letter or digit)"
        problems.append(f"{_location(tuple(err['loc']))}: {message}")
    return problems


def validate_document(
    model: type[ModelT], raw: Any, *, base_dir: Path, source: str | None = None
) -> tuple[ModelT, list[str]]:
    """Validate a parsed YAML document against ``model``; return it with the secret problems.

    Schema problems raise :class:`ConfigError` at once, together with any secret problems;
    the caller adds its own cross-field problems to the returned list before raising.
    """
    if not isinstance(raw, dict):
        raise ConfigError("the config must be a mapping of settings", source=source)
    problems = find_secrets(raw)
    try:
        document = model.model_validate({**raw, "base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(problems + _messages(exc), source=source) from None
    return document, problems


def read_config_document(path: Path) -> Any:
    """The parsed YAML of a config file; unreadable or invalid YAML raises :class:`ConfigError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("config file not found", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config ({type(exc).__name__})", source=str(path)) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"not valid YAML{where}", source=str(path)) from None
    return raw


def load_document(path: str | Path, parse: Callable[..., T]) -> T:
    """Read the YAML file at ``path`` and ``parse`` it with relative paths resolving against
    the file's folder, as every config loader does."""
    path = Path(path)
    raw = read_config_document(path)
    return parse(raw, base_dir=path.resolve().parent, source=str(path))
