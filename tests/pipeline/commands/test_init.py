"""``pprl init`` (pipeline/scaffold.py, scaffold_render.py): roles guessed from names and
values, a commented config that passes ``pprl validate`` once its keystore exists, and no value
of the sampled files in it."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.leakscan import known_values
from pipeline.scaffold import guess_date_format, guess_role
from synthetic import write_demo_sources
from tests.pipeline.runner_support import make_nhs

pytestmark = pytest.mark.usefixtures("charts_not_drawn")  # runs checked by their results

PASSPHRASE = "a passphrase for the init test"


def _roles(config: dict[str, object], source: int) -> dict[str, str]:
    sources = config["sources"]
    assert isinstance(sources, list)
    return {c: str(r) for c, r in sources[source]["columns"].items()}


def test_init_writes_a_config_that_validates_once_the_keys_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write_demo_sources(tmp_path / "data", n=200, seed=3)
    out = tmp_path / "project" / "pprl.yaml"
    runner = CliRunner()
    result = runner.invoke(
        cli, ["init", str(data.hospital_path), str(data.gp_path), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    config = yaml.safe_load(text)
    assert _roles(config, 0) == {
        "nhs_number": "identifier:nhs",
        "patient_name": "full_name",
        "date_of_birth": "date_of_birth",
        "sex": "sex",
        "postcode": "postcode",
        "address": "address",
    }
    assert _roles(config, 1)["forename"] == "first_name" and "income" not in _roles(config, 1)
    assert '# "income": attribute' in text  # other columns are listed, commented out
    assert config["sources"][0]["date_format"] == "%d/%m/%Y"
    assert config["linkage"]["mode"] == "link"
    assert config["linkage"]["comparisons"]["identifier:nhs"] == "identifier"
    assert config["sources"][0]["path"] == "../data/hospital_episodes.csv"
    # nothing from the data, only column names
    sampled = pl.read_csv(data.hospital_path, infer_schema_length=0)
    values = known_values(sampled, ["nhs_number", "patient_name", "postcode", "address"])
    assert not [v for v in values if len(v) >= 6 and v in text]

    monkeypatch.setenv("PPRL_KEY_PASSPHRASE", PASSPHRASE)
    monkeypatch.chdir(out.parent)  # the commands the config's comments give, as written
    for args in (
        ["keys", "init", "--keystore", "keystore", "--key-file", "master.key"],
        ["keys", "add-env", "research", "--keystore", "keystore"],
        ["validate", "pprl.yaml"],
        ["run", "pprl.yaml", "--dry-run"],
    ):
        step = runner.invoke(cli, args)
        assert step.exit_code == 0, (args, step.output)
    assert "2 of 2 input file(s) to process" in step.output


def test_init_does_not_overwrite_a_config(tmp_path: Path) -> None:
    data = write_demo_sources(tmp_path / "data", n=50, seed=3)
    out = tmp_path / "pprl.yaml"
    out.write_text("mine\n")
    result = CliRunner().invoke(cli, ["init", str(data.gp_path), "--out", str(out)])
    assert result.exit_code == 2 and "--force" in result.output
    assert out.read_text() == "mine\n"
    forced = CliRunner().invoke(cli, ["init", str(data.gp_path), "--out", str(out), "--force"])
    assert forced.exit_code == 0
    assert yaml.safe_load(out.read_text())["linkage"]["mode"] == "dedupe"  # one file


NHS = [make_nhs(i) for i in range(20)]


@pytest.mark.parametrize(
    ("column", "values", "role"),
    [
        ("NHS_NO", NHS, "identifier:nhs"),
        ("col7", NHS, "identifier:nhs"),  # no name: the check digits say so
        ("where", ["SW1A 1AA", "LS2 5DN", "b4 7bp", "EH12 3FP"] * 5, "postcode"),
        ("DateOfBirth", ["1990-01-31", "1985-12-01"] * 10, "date_of_birth"),
        ("admission_date", ["01/02/2020", "03/04/2021"] * 10, "attribute"),
        ("ref", [f"{i:08d}" for i in range(20)], "attribute"),  # would pass as a CRN
        ("Forename", ["Ann", "Bob"] * 10, "first_name"),
        ("company_number", ["SC123456", "01234567"] * 10, "identifier:crn"),
    ],
)
def test_roles_are_guessed_from_names_and_values(column: str, values: list[str], role: str) -> None:
    assert guess_role(column, pl.Series(values)).role == role


def test_date_formats_are_guessed_from_most_values() -> None:
    most = ["31/01/1990", "01/12/1985", "02/03/1970", "04/05/1960", "bad"]  # 80% parse
    assert guess_date_format(pl.Series(most)) == "%d/%m/%Y"
    assert guess_date_format(pl.Series([*most[:2], "bad", "worse"])) is None
    assert guess_date_format(pl.Series(["1990-01-31"] * 5)) == "%Y-%m-%d"
    assert guess_date_format(pl.Series(["soon", "later"])) is None
