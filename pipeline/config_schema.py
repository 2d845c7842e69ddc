"""The JSON Schema of a pipeline config, generated from its pydantic models, for editors
(YAML language servers complete and check a config against it) and for CI.

``pprl config-schema`` prints it; ``configs/pprl-config.schema.json`` is the published copy,
kept up to date by a test. Point an editor at it with a first line in the YAML file::

    # yaml-language-server: $schema=pprl-config.schema.json

The schema describes the shape of a config; what only a run can know (files present, the
keystore opening, roles a source maps) is checked by ``pprl validate``.
"""

from __future__ import annotations

import json
from typing import Any, get_args

from pipeline.config import PERSON_ROLES, AttributeType, PipelineConfig, identifier_types

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_INTERNAL = ("base_dir",)  # set by the loader, never written in a config


def config_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of a pipeline config file."""
    schema = PipelineConfig.model_json_schema(mode="validation")
    for name in _INTERNAL:
        schema["properties"].pop(name, None)
    defs = schema["$defs"]
    column = defs["ColumnSpec"]
    defs["ColumnSpec"] = {
        "description": column.get("description", ""),
        "anyOf": [_column_shorthand(), column],
    }
    # fields whose validators also accept one string for a list of them
    for model in defs.values():
        sensitive = model.get("properties", {}).get("sensitive")
        if sensitive is not None:
            model["properties"]["sensitive"] = {
                "anyOf": [{"type": "string"}, sensitive],
                "description": "One attribute or a list of them.",
            }
    return {
        "$schema": DIALECT,
        "title": "pprl pipeline config",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def _column_shorthand() -> dict[str, Any]:
    """``first_name``, ``attribute[:<value type>]`` or ``identifier:<type>``, as configs
    usually write it."""
    roles = [*PERSON_ROLES, "attribute"]
    types = sorted(identifier_types())
    values = list(get_args(AttributeType))
    return {
        "type": "string",
        "pattern": (
            f"^(identifier:({'|'.join(types)})|attribute:({'|'.join(values)})|{'|'.join(roles)})$"
        ),
        "examples": ["first_name", "identifier:nhs", "attribute", "attribute:integer"],
    }


def schema_text() -> str:
    """The schema as the published file holds it (sorted keys, two-space indent)."""
    return json.dumps(config_schema(), indent=2, sort_keys=True) + "\n"
