from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.config import PipelineConfig, find_secrets, load_config
from pipeline.errors import ConfigError

BASE = {
    "project": "demo",
    "environment": "research",
    "sources": [
        {"name": "a", "path": "a.csv", "columns": {"nhs": "identifier:nhs", "fn": "first_name"}},
        {
            "name": "b",
            "path": "in/*.parquet",
            "format": "parquet",
            "columns": {"id": {"role": "identifier", "id_type": "nhs"}, "sic": "attribute"},
        },
    ],
    "keystore": {"path": "keys"},
    "approved_attributes": ["sic"],
    "delivery": {"path": "out"},
}


def write(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_valid_config_loads_and_resolves_paths_against_its_folder(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE))
    assert isinstance(config, PipelineConfig)
    assert config.delivery_dir == tmp_path.resolve() / "out"
    assert config.state_dir == tmp_path.resolve() / ".pprl-state" / "demo-research"
    assert config.sources[0].identifier_columns() == {"id_nhs": "nhs"}
    assert config.sources[1].is_glob() and not config.sources[0].is_glob()
    assert config.sources[1].attribute_columns() == ["sic"]


def test_every_problem_is_reported_at_once_with_its_yaml_path(tmp_path: Path) -> None:
    doc = {
        **BASE,
        "sources": [
            BASE["sources"][0],
            {"name": "b", "path": "b.csv", "columns": {"nhs": "identifier:nsh"}, "colour": 1},
        ],
        "approved_attributes": [],
        "linkage": {"mode": "link", "thresholds": {"match": 0.2, "review": 0.5}},
        "surprise": True,
    }
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, doc))
    problems = info.value.problems
    text = "\n".join(problems)
    assert "sources[1].columns.nhs: unknown identifier type 'nsh'" in text
    assert "sources[1].colour: unknown field" in text
    assert "surprise: unknown field" in text
    assert any(p.startswith("linkage.thresholds") for p in problems)
    assert len(problems) >= 4


def test_cross_field_rules(tmp_path: Path) -> None:
    doc = {**BASE, "approved_attributes": ["not_mapped"]}
    with pytest.raises(ConfigError, match=r"approved attributes not mapped.*not_mapped"):
        load_config(write(tmp_path, doc))
    clash = {**BASE, "sources": [{**BASE["sources"][0], "name": "b"}, BASE["sources"][1]]}
    with pytest.raises(ConfigError, match="source names must be unique"):
        load_config(write(tmp_path, clash))
    two_surnames = {
        **BASE,
        "sources": [{"name": "a", "path": "a.csv", "columns": {"s1": "surname", "s2": "surname"}}],
        "approved_attributes": [],
    }
    with pytest.raises(ConfigError, match="same role: surname"):
        load_config(write(tmp_path, two_surnames))


SECRET_HEX = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
SECRET_B64 = "q3Zt8Yw1Lk2Pn9Rx4Vb6Hc0JdEfGmUiOaSsTy7W5/+e="


@pytest.mark.parametrize(
    ("keystore", "where"),
    [
        ({"path": "keys", "master_key": SECRET_B64}, "keystore.master_key"),
        (
            {"path": "keys", "master_key_env": "PPRL_MASTER_KEY", "note": SECRET_HEX},
            "keystore.note",
        ),
        ({"path": SECRET_B64}, "keystore.path"),
        ({"path": "keys", "passphrase": "correct horse"}, "keystore.passphrase"),
    ],
)
def test_secrets_in_the_config_are_rejected_without_echoing_them(
    tmp_path: Path, keystore: dict[str, str], where: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, {**BASE, "keystore": keystore}))
    message = str(info.value)
    assert where in message
    for secret in (SECRET_HEX, SECRET_B64, "correct horse"):
        assert secret not in message


def test_secret_scan_leaves_ordinary_values_alone() -> None:
    assert find_secrets(BASE) == []
    assert find_secrets({"keystore": {"master_key_env": "PPRL_MASTER_KEY"}}) == []
    assert find_secrets({"path": "data/2024/hospital_episodes_statistics_extract.csv"}) == []


def test_unreadable_or_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("project: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(bad)
    (tmp_path / "list.yaml").write_text("- 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(tmp_path / "list.yaml")


def test_config_error_never_quotes_data_values(tmp_path: Path) -> None:
    doc = {**BASE, "project": "Jane Smith 1961-03-14!"}
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, doc))
    assert "Jane Smith" not in str(info.value)
    assert "project:" in str(info.value)


def test_example_configs_in_repo_load() -> None:
    configs = sorted(Path(__file__).resolve().parents[2].joinpath("configs").glob("*.yaml"))
    assert configs, "configs/ must hold at least one example"
    for path in configs:
        load_config(path)


def test_linkage_comparisons_and_blocking_are_checked(tmp_path: Path) -> None:
    doc = {
        **BASE,
        "linkage": {
            "mode": "dedupe",
            "blocking": ["surname & dob"],
            "comparisons": {"first_name": "fuzzy", "income": "exact"},
        },
    }
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, doc))
    text = str(info.value)
    assert (
        "linkage.blocking: blocking rules join person roles or identifier:<type> with '&'; "
        "unknown role 'dob'" in text
    )
    assert "unknown role 'income'" in text
    unmapped = {
        **BASE,
        "linkage": {"mode": "dedupe", "blocking": ["surname"], "comparisons": {"address": "exact"}},
    }
    with pytest.raises(ConfigError, match="linkage uses roles no source maps: address, surname"):
        load_config(write(tmp_path, unmapped))
    ok = {
        **BASE,
        "linkage": {
            "mode": "dedupe",
            "blocking": ["first_name"],
            "comparisons": {"first_name": "name"},
        },
    }
    assert load_config(write(tmp_path, ok)).linkage.mode == "dedupe"


def _problem(tmp_path: Path, doc: object) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, doc))
    return str(info.value)


def test_identifier_roles_link_only_as_validated_identifiers(tmp_path: Path) -> None:
    def linkage(blocking: list[str], comparisons: dict[str, str]) -> dict[str, object]:
        return {
            **BASE,
            "linkage": {"mode": "link", "blocking": blocking, "comparisons": comparisons},
        }

    assert "unknown identifier type in 'identifier:nsh'" in _problem(
        tmp_path, linkage(["identifier:nsh"], {"first_name": "name"})
    )
    assert "linkage uses roles no source maps: identifier:chi" in _problem(
        tmp_path, linkage(["first_name"], {"identifier:chi": "identifier"})
    )
    assert "first_name: the identifier comparison is for identifier:<type> roles" in _problem(
        tmp_path, linkage(["first_name"], {"first_name": "identifier"})
    )
    assert "identifier:nhs: identifiers are compared as they are, not as name" in _problem(
        tmp_path, linkage(["first_name"], {"identifier:nhs": "name"})
    )
    ok = linkage(["identifier:nhs", "first_name"], {"identifier:nhs": "identifier"})
    config = load_config(write(tmp_path, ok))
    assert config.linkage.deterministic_roles() == ["identifier:nhs"]
    assert config.linkage.thresholds.match == "auto"  # absent: the model's own threshold
    exact = linkage(["first_name"], {"identifier:nhs": "exact"})  # evidence, not deterministic
    assert load_config(write(tmp_path, exact)).linkage.deterministic_roles() == []


def test_work_dir_must_stay_out_of_the_delivery_folder(tmp_path: Path) -> None:
    inside = {**BASE, "delivery": {"path": "out", "work_dir": "out/.work"}}
    with pytest.raises(ConfigError, match=r"must not be inside delivery\.path"):
        load_config(write(tmp_path, inside))
    config = load_config(write(tmp_path, BASE))
    assert config.work_dir == tmp_path.resolve() / ".pprl-work" / "demo-research"
    outside = {**BASE, "delivery": {"path": "out", "work_dir": "/var/tmp/pprl"}}
    assert load_config(write(tmp_path, outside)).work_dir == Path("/var/tmp/pprl")
    # the default work folder counts too: a delivery folder above it would hold it
    around = {**BASE, "delivery": {"path": "."}}
    with pytest.raises(ConfigError, match=r"work_dir holds identifying data"):
        load_config(write(tmp_path, around))


@pytest.mark.parametrize(
    ("delivery", "message"),
    [
        ({"path": "out", "state_dir": "out/state"}, r"state_dir holds the audit log"),
        ({"path": "out", "state_dir": "out"}, r"state_dir holds the audit log"),
        ({"path": "out", "work_dir": "w", "state_dir": "w/state"}, r"must not be inside .*work"),
        ({"path": "out", "work_dir": "w", "state_dir": "w"}, r"must not be inside .*work"),
    ],
)
def test_state_dir_stays_out_of_the_delivery_and_work_folders(
    tmp_path: Path, delivery: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, {**BASE, "delivery": delivery}))


def test_state_dir_is_configurable(tmp_path: Path) -> None:
    doc = {**BASE, "delivery": {"path": "out", "state_dir": "/srv/pprl-state/demo"}}
    assert load_config(write(tmp_path, doc)).state_dir == Path("/srv/pprl-state/demo")
