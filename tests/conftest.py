"""Shared test set-up: hypothesis profiles chosen by PPRL_HYPOTHESIS_PROFILE (fast | thorough)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("fast", max_examples=50, deadline=None)
settings.register_profile(
    "thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("PPRL_HYPOTHESIS_PROFILE", "fast"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked slow first: on two workers the README test then runs beside the others
    instead of alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
