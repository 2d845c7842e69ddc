"""Turning a Vega-Lite chart into an offline HTML fragment, and checking that a page is offline.

Charts are described with Altair and rendered here to static SVG by vl-convert (the Vega
engine embedded in a Python wheel): the SVG needs no script, no font download and no network,
so a report opens from a file share inside a TRE. :func:`external_references` finds anything a
browser would fetch; :func:`assert_offline` turns that into an error.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pipeline.errors import PipelineError
from pipeline.html_blocks import escape

if TYPE_CHECKING:
    import altair as alt

# XML namespace names are identifiers, never fetched: the only http strings an SVG may carry.
_NAMESPACES = ("http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink")
_FETCHING = re.compile(
    r"""\b(?:https?|ftp|wss?)://"""  # absolute URLs, wherever they are
    r"""|\b(?:src|href|srcset|action|poster|data)\s*=\s*["']?(?!#|data:|["'\s>])"""  # attributes
    r"""|<link\b|@import|url\(\s*['"]?(?!#|data:)""",  # stylesheets and CSS references
    re.IGNORECASE,
)

CHART_CSS = """
figure.pprl-chart{margin:1rem 0}figure.pprl-chart svg{max-width:100%;height:auto}
figure.pprl-chart figcaption{font-size:.9em;color:#444;margin-top:.25rem}
.pprl-records td.diff{background:#fff3b0}.pprl-records td.missing{color:#888}
"""


class ChartError(PipelineError):
    """A chart cannot be drawn, or a page would fetch something from the network."""


def altair() -> Any:
    """The Altair module, imported on first use (it takes a quarter of a second)."""
    import altair as alt

    return alt


def ordered_y(field: str, **options: Any) -> Any:
    """A nominal y axis, untitled, listing the categories top to bottom by the rows' ``order``
    (as the model or the file lists them, not alphabetically)."""
    return altair().Y(f"{field}:N", sort={"field": "order", "op": "min"}, title=None, **options)


#: Check each spec against the Vega-Lite schema before drawing it. Off in runs: the charts are
#: pprl's own, the check costs ~0.8 s of a demo run, and the chart tests turn it on for every
#: chart they draw (tests/pipeline/charts/conftest.py).
VALIDATE_SPECS = False


def svg(chart: alt.TopLevelMixin) -> str:
    """Static SVG of an Altair chart (no scripts, no external references)."""
    import vl_convert

    spec = chart.to_dict(validate=VALIDATE_SPECS)
    spec.pop("$schema", None)  # an identifier, not fetched; keeps URLs out of the output
    return str(vl_convert.vegalite_to_svg(spec))


def figure(chart: alt.TopLevelMixin, caption: str, *, extra_html: str = "") -> str:
    """An HTML fragment: the chart's SVG, any ``extra_html`` (already escaped) and a caption."""
    return (
        f'<figure class="pprl-chart">{svg(chart)}{extra_html}'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def external_references(html: str) -> list[int]:
    """Character offsets of everything in ``html`` a browser could fetch: absolute URLs (XML
    namespace names excepted), ``src``/``href``-like attributes other than fragments and data
    URIs, stylesheet links, CSS imports and ``url(...)`` values."""
    text = html
    for namespace in _NAMESPACES:  # same length, so offsets still point into ``html``
        text = text.replace(namespace, " " * len(namespace))
    return [m.start() for m in _FETCHING.finditer(text)]


def assert_offline(html: str, *, source: str = "report") -> None:
    """Raise :class:`ChartError` if ``html`` would fetch anything (see
    :func:`external_references`); the message gives offsets, never the text found."""
    found = external_references(html)
    if found:
        raise ChartError(
            f"{source}: {len(found)} external reference(s), first at character {found[0]}"
        )
