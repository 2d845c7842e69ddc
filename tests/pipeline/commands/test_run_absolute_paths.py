"""A config may point at inputs and a keystore outside its own folder (absolute paths)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli

pytestmark = pytest.mark.usefixtures("charts_not_drawn")  # runs checked by their results


def test_inputs_outside_the_config_folder_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Path(__file__).resolve().parents[3]
    data = tmp_path / "landing" / "demo-data"
    shutil.copytree(repo / "configs/demo-data", data)
    text = (repo / "configs/demo.yaml").read_text()
    text = text.replace("demo-data/", f"{data}/").replace("../example-output/pipeline-demo", "out")
    config = tmp_path / "etc" / "pprl" / "demo.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(text)
    monkeypatch.setenv("PPRL_DEMO_PASSPHRASE", "pprl-demo-only")

    result = CliRunner().invoke(cli, ["run", str(config)])

    assert result.exit_code == 0, result.output
    manifest = json.loads(next((config.parent / "out").glob("run-*/manifest.json")).read_text())
    assert manifest["totals"]["input_rows"] == 85
    assert {Path(i["path"]).parent for i in manifest["inputs"]} == {
        data / "hospital",
        data / "gp",
    }


def test_secret_detection_still_catches_keys_but_not_long_paths() -> None:
    import base64
    import os

    from pipeline.config import find_secrets

    for _ in range(50):
        key = base64.b64encode(os.urandom(32)).decode()
        assert find_secrets({"keystore": {"path": key}}), "a base64 key must be refused"
        urlsafe = base64.urlsafe_b64encode(os.urandom(32)).decode()
        assert find_secrets({"note": urlsafe}), "a urlsafe base64 key must be refused"
    assert find_secrets({"x": os.urandom(32).hex()})
    paths = [
        "/tmp/pytest-of-root/pytest-152/test_inputs_outside_the_config0/landing/keystore",
        "/srv/tre/ingest/Hospital/Episodes/2026/November/Batch7Q/keystore",
        "../shared/projects/KX93PQ/inbound/monthly/keys",
    ]
    for p in paths:
        assert find_secrets({"keystore": {"path": p}}) == []
