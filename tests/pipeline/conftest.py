"""Fixtures shared by the pipeline tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pipeline.runner_support import without_chart_rendering


@pytest.fixture(scope="module")
def charts_not_drawn() -> Iterator[None]:
    """Report charts built but not drawn for a whole module (``pytestmark =
    pytest.mark.usefixtures("charts_not_drawn")``): for modules whose many runs are checked by
    their deliveries, state and exit codes, never by the report's charts."""
    with pytest.MonkeyPatch.context() as patch:
        without_chart_rendering(patch)
        yield
