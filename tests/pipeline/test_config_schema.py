"""The published JSON Schema of a pipeline config (configs/pprl-config.schema.json): generated
from the models and up to date, accepting every shipped and scaffolded config, and catching
what the models catch in shape (unknown fields, bad roles, wrong types)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config_schema import config_schema, schema_text
from tests.pipeline.runner_support import REPO

PUBLISHED = REPO / "configs" / "pprl-config.schema.json"


def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(PUBLISHED.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_published_schema_is_up_to_date() -> None:
    assert PUBLISHED.read_text() == schema_text(), (
        "regenerate it: pprl config-schema --output configs/pprl-config.schema.json"
    )
    result = CliRunner().invoke(cli, ["config-schema"])
    assert result.exit_code == 0 and json.loads(result.stdout) == config_schema()


@pytest.mark.parametrize("path", sorted(REPO.glob("configs/*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_pass_the_schema(path: Path) -> None:
    document = yaml.safe_load(path.read_text())
    errors = [
        e.message for e in _validator().iter_errors(json.loads(json.dumps(document, default=str)))
    ]
    assert not errors


def test_the_schema_rejects_what_the_models_reject() -> None:
    base = yaml.safe_load((REPO / "configs/demo.yaml").read_text())
    base["disclosure"]["reference_date"] = str(base["disclosure"]["reference_date"])
    validator = _validator()
    assert validator.is_valid(base)
    for broken in (
        {**base, "colour": "blue"},
        {**base, "sources": [{**base["sources"][0], "columns": {"nhs": "identifier:nope"}}]},
        {**base, "sources": [{**base["sources"][0], "columns": {"a": "favourite_colour"}}]},
        {**base, "linkage": {**base["linkage"], "mode": "sometimes"}},
        {k: v for k, v in base.items() if k != "delivery"},
    ):
        assert not validator.is_valid(broken)


def test_a_scaffolded_config_passes_the_schema(tmp_path: Path) -> None:
    from synthetic import write_demo_sources

    data = write_demo_sources(tmp_path, n=50, seed=2)
    out = tmp_path / "pprl.yaml"
    result = CliRunner().invoke(
        cli, ["init", str(data.hospital_path), str(data.gp_path), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert _validator().is_valid(yaml.safe_load(out.read_text()))
