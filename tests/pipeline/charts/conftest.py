"""The chart tests check every spec they draw against the Vega-Lite schema (runs skip it)."""

from __future__ import annotations

import pytest

from pipeline.charts import render


@pytest.fixture(autouse=True)
def validated_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "VALIDATE_SPECS", True)
