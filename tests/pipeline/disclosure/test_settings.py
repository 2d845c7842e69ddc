"""The pipeline config's disclosure settings are the library's k-anonymity settings (one source
of truth), with l-diversity over one or more sensitive attributes and risk limits validated."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline.config import DisclosureSettings, parse_config
from pipeline.disclosure import KAnonymitySettings, anonymise, frequency_counts
from pipeline.errors import EXIT_CONFIG, ConfigError

BASE = {
    "project": "demo",
    "environment": "research",
    "sources": [
        {
            "name": "a",
            "path": "a.csv",
            "columns": {"nhs": "identifier:nhs", "band": "attribute", "gender": "attribute",
                        "diag": "attribute", "drug": "attribute"},
        }
    ],
    "keystore": {"path": "keys"},
    "approved_attributes": ["band", "gender", "diag", "drug"],
    "delivery": {"path": "out"},
}  # fmt: skip


def _config(disclosure: dict[str, object]) -> DisclosureSettings:
    return parse_config({**BASE, "disclosure": disclosure}, base_dir=Path(".")).disclosure


def test_disclosure_settings_extend_the_library_settings() -> None:
    assert issubclass(DisclosureSettings, KAnonymitySettings)
    library_fields = set(KAnonymitySettings.model_fields)
    assert library_fields <= set(DisclosureSettings.model_fields)
    # Nothing is declared twice: the pipeline adds only what it derives.
    added = set(DisclosureSettings.model_fields) - library_fields
    assert added == {"geography_floor", "age_bands", "reference_date", "derive"}


def test_l_diversity_and_risk_limits_load_from_the_config() -> None:
    settings = _config(
        {
            "quasi_identifiers": ["band", "gender"],
            "k": 3,
            "l_diversity": 2,
            "sensitive": ["diag", "drug"],
            "risk": {"max_individual_risk": 0.2, "max_expected_reidentifications": 5},
        }
    )
    assert settings.l_diversity == 2 and settings.sensitive == ["diag", "drug"]
    assert settings.risk.max_individual_risk == 0.2
    assert settings.risk.max_expected_reidentifications == 5.0
    assert settings.risk.active
    one = _config({"quasi_identifiers": ["band"], "l_diversity": 3, "sensitive": "diag"})
    assert one.sensitive == ["diag"]
    assert not one.risk.active


@pytest.mark.parametrize(
    "disclosure,message",
    [
        ({"l_diversity": 2}, "l_diversity and sensitive must be given together"),
        ({"sensitive": ["diag"]}, "l_diversity and sensitive must be given together"),
        ({"l_diversity": 1, "sensitive": ["diag"]}, "l_diversity"),
        (
            {"quasi_identifiers": ["band", "diag"], "l_diversity": 2, "sensitive": ["diag"]},
            "sensitive attributes cannot also be quasi-identifiers: ['diag']",
        ),
        ({"l_diversity": 2, "sensitive": ["diag", "diag"]}, "sensitive attributes repeat"),
        ({"risk": {"max_individual_risk": 1.5}}, "max_individual_risk"),
        ({"risk": {"max_individual_risk": 0}}, "max_individual_risk"),
        ({"risk": {"max_expected_reidentifications": -1}}, "max_expected_reidentifications"),
        ({"risk": {"max_risk": 0.1}}, "max_risk"),
    ],
)
def test_invalid_disclosure_settings_are_config_errors(
    disclosure: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _config(disclosure)
    assert message in str(caught.value)
    assert caught.value.exit_code == EXIT_CONFIG


def test_l_diversity_holds_for_every_sensitive_attribute() -> None:
    # Class (a, F): diag varies, drug does not; (b, M): the reverse. Both need treatment.
    df = pl.DataFrame(
        {
            "band": ["a"] * 4 + ["b"] * 4 + ["c"] * 4,
            "sex": ["F"] * 4 + ["M"] * 4 + ["F"] * 4,
            "diag": ["x", "y", "x", "y"] + ["x"] * 4 + ["x", "y", "z", "x"],
            "drug": ["p"] * 4 + ["p", "q", "p", "q"] + ["p", "q", "p", "q"],
        }
    )
    counted = frequency_counts(df, ["band", "sex"], sensitive=["diag", "drug"])
    assert counted["l"].to_list() == [1] * 8 + [2] * 4
    settings = KAnonymitySettings(
        k=2, quasi_identifiers=["band", "sex"], l_diversity=2, sensitive=["diag", "drug"],
        suppression_budget=1.0,
    )  # fmt: skip
    out, report = anonymise(df, settings)
    after = frequency_counts(out, ["band", "sex"], sensitive=["diag", "drug"])
    assert after["l"].min() >= 2
    assert report.unsafe_before == 8 and report.unsafe_after == 0
