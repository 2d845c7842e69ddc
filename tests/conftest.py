"""Shared test set-up: hypothesis profiles chosen by PPRL_HYPOTHESIS_PROFILE (fast | thorough)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("fast", max_examples=50, deadline=None)
settings.register_profile(
    "thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("PPRL_HYPOTHESIS_PROFILE", "fast"))
