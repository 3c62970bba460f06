"""The per-tier service report as one self-contained HTML page, for a support manager's browser.

The page renders the service report document (see :mod:`worker.render.service_report`), so it says what the
JSON, CSV and Markdown reports say: a header with the window, the tiers below their minimum SLA, one table
with every figure (the configured targets beside the measured first reply time), and a small bar chart per
metric. The charts are inline SVG whose geometry is computed here, in Python: no chart library, no script.
Nothing is loaded from anywhere and the page runs no script at all: its Content-Security-Policy allows only
its own inline stylesheet (by its SHA-256 hash), so even markup that got into the page could neither run nor
fetch anything.

Tier titles, tier names, target names and notes are untrusted text: Jinja escapes every value (autoescape,
in the SVG as in the table), and control characters are shown as Python-style escapes first (``visible``).
No markup is ever built from a string here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from worker.render.report_html import count, csp_hash, shown, when
from worker.render.service_report import NONE, duration, percent, targets_list

if TYPE_CHECKING:  # jinja2 is imported when a page is rendered: a sync never pays its memory
    from jinja2 import Environment

TEMPLATE = "service.html.j2"
ASSETS = ("service.css",)

# Chart geometry, in SVG user units (about CSS pixels: three charts side by side fill a 1280-pixel window).
WIDTH = 400
LABEL_WIDTH = 128  # tier titles, right-aligned before the plot
RIGHT = 50  # room for the value after the longest bar ("100.0%", "3.5 d", "12,345")
TOP = 8
ROW = 26
BAR = 16
AXIS = 42  # tick labels, then the axis title
LABEL_ROOM = 44  # about the width of the longest value label
FONT_SIZE = 12.5  # of the tier titles (service.css: svg.bars)

# Steps for a time axis, in minutes: each reads as a round number of minutes, hours or days.
_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 480, 720, 1440, 2880, 4320, 7200, 10080, 20160, 43200)
_TICKS = 4  # intervals an axis aims for (at most)


@dataclass(frozen=True)
class Metric:
    """A figure the page charts: where it is in a tier's entry, and how to say it."""

    key: str
    title: str
    subtitle: str
    axis: str
    kind: str  # "count", "minutes" or "percent"
    value: Callable[[dict[str, Any]], float | None]


METRICS = (
    Metric("tickets", "Tickets", "per tier, in the window", "tickets", "count", lambda t: t["tickets"]),
    Metric("first_reply_median", "First reply time, median", "time to the first public reply",
           "time to first reply (median)", "minutes", lambda t: t["first_reply_minutes"]["median"]),
    Metric("first_reply_p90", "First reply time, 90th percentile", "nine in ten tickets had a first reply within",
           "time to first reply (90th percentile)", "minutes", lambda t: t["first_reply_minutes"]["p90"]),
    Metric("full_resolution_median", "Full resolution time, median", "from creation to the final solve",
           "time to full resolution (median)", "minutes", lambda t: t["full_resolution_minutes"]["median"]),
    Metric("sla_achieved", "SLA targets achieved", "black mark: the tier's minimum; red: below it",
           "% of SLA targets achieved", "percent", lambda t: t["sla"]["achieved_pct"]),
    Metric("csat", "CSAT score", "good ratings as a share of good and bad", "% good of rated tickets",
           "percent", lambda t: t["csat"]["score_pct"]),
)


@dataclass(frozen=True)
class Tick:
    """An axis tick: its position and its label."""

    x: float
    label: str


@dataclass(frozen=True)
class Bar:
    """One tier's row of a chart: its bar (or the gap of a null), its label and value."""

    tier: str
    title: str  # the whole title, made visible
    short: str  # as the axis shows it
    y: float  # top of the bar
    value: float | None  # None: no data, drawn as a gap
    width: float
    label: str  # the value for people, or "no data"
    label_x: float
    below: bool  # under the tier's minimum SLA
    untiered: bool
    threshold_x: float | None  # the tier's minimum, on the SLA chart


@dataclass(frozen=True)
class Chart:
    """One metric's chart, laid out: the template only writes these numbers and texts into the SVG."""

    key: str
    title: str
    subtitle: str
    axis: str
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    bar_height: int
    ticks: tuple[Tick, ...]
    bars: tuple[Bar, ...]


def _count_step(top: float) -> float:
    """A 1, 2 or 5 times a power of ten step that divides ``top`` into at most :data:`_TICKS` intervals."""
    raw = max(top, 1) / _TICKS
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return max(step, 1)


def _time_step(top: float) -> float:
    """A round time step (minutes, hours, days, weeks) that divides ``top`` into at most :data:`_TICKS` intervals."""
    for step in _TIME_STEPS:
        if top <= step * _TICKS:
            return step
    return _count_step(top / 1440) * 1440  # months and more: round numbers of days


def scale(kind: str, values: list[float]) -> tuple[float, list[float]]:
    """The axis for these values: its end and its ticks, from zero (bars always start at zero)."""
    if kind == "percent":
        return 100.0, [0.0, 25.0, 50.0, 75.0, 100.0]
    largest = max([*values, 0.0])
    step = _time_step(largest) if kind == "minutes" else _count_step(largest)
    top = max(math.ceil(largest / step), 1) * step
    return top, [step * i for i in range(round(top / step) + 1)]


def value_text(kind: str, value: float) -> str:
    """A chart value for people: ``1,234``, ``42 min`` / ``21 h`` / ``3.5 d``, ``94.0%``."""
    if kind == "minutes":
        return duration(value)
    if kind == "percent":
        return percent(value)
    return count(round(value))


def tick_text(kind: str, value: float) -> str:
    """An axis tick: ``0``, ``2 h``, ``50%``, ``1,000``."""
    if value == 0:
        return "0"
    if kind == "percent":
        return f"{value:g}%"
    return value_text(kind, value)


_NARROW = frozenset("!',.:;Iijl|")
_SEMI = frozenset(" \"()-/[]frt")
_WIDE = frozenset("%&@MWmw")


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """About how wide ``text`` is in a sans-serif font, erring wide (DejaVu Sans, the widest common fallback)."""
    def em(char: str) -> float:
        if char in _NARROW:
            return 0.3
        if char in _SEMI:
            return 0.42
        if char in _WIDE:
            return 0.98
        if ord(char) >= 0x2E80:  # CJK and other wide scripts
            return 1.0
        return 0.76 if char.isupper() else 0.64
    return size * sum(em(char) for char in text)


def short_title(title: str, room: float = LABEL_WIDTH - 14) -> str:
    """The title as the chart's axis shows it: cut with "…" when it would run past the chart's left edge.

    The table, and the bar's tooltip, have it whole.
    """
    if text_width(title) <= room:
        return title
    cut = title
    while cut and text_width(cut.rstrip() + "\u2026") > room:
        cut = cut[:-1]
    return cut.rstrip() + "\u2026"


def chart(metric: Metric, tiers: list[dict[str, Any]]) -> Chart:
    """One horizontal bar per tier (in the document's order), a gap saying "no data" where the value is null."""
    values = [metric.value(tier) for tier in tiers]
    top, ticks = scale(metric.kind, [v for v in values if v is not None])
    left, right = float(LABEL_WIDTH), float(WIDTH - RIGHT)
    plot_bottom = TOP + ROW * len(tiers)

    def x(value: float) -> float:
        return round(left + (right - left) * min(max(value, 0), top) / top, 1)

    bars = []
    for row, (tier, value) in enumerate(zip(tiers, values, strict=True)):
        title = shown(tier["title"])
        y = TOP + ROW * row + (ROW - BAR) / 2
        label = "no data" if value is None else value_text(metric.kind, value)
        width = 0.0 if value is None else max(round(x(value) - left, 1), 1.5)  # a zero still shows as a hairline
        threshold = tier["min_sla_achieved_pct"] if metric.key == "sla_achieved" else None
        threshold_x = None if threshold is None else x(threshold)
        label_x = left + 6 if value is None else round(left + width + 5, 1)
        if value is not None and threshold_x is not None and label_x - 8 <= threshold_x <= label_x + LABEL_ROOM:
            label_x = round(threshold_x + 5, 1)  # the value after the minimum's mark, not under it
        bars.append(Bar(
            tier=shown(tier["tier"]), title=title, short=short_title(title), y=y, value=value, width=width,
            label=label, label_x=label_x,
            below=bool(tier["below_min"]) and metric.key == "sla_achieved", untiered=tier["tier"] == "untiered",
            threshold_x=threshold_x))
    return Chart(key=metric.key, title=metric.title, subtitle=metric.subtitle, axis=metric.axis, width=WIDTH,
                 height=plot_bottom + AXIS, left=left, right=right, top=TOP, bottom=plot_bottom, bar_height=BAR,
                 ticks=tuple(Tick(x(t), tick_text(metric.kind, t)) for t in ticks), bars=tuple(bars))


def charts(document: dict[str, Any]) -> list[Chart]:
    """The page's charts, one per metric (:data:`METRICS`)."""
    return [chart(metric, document["tiers"]) for metric in METRICS]


def minutes_cell(minutes: int | None) -> tuple[str, str] | None:
    """A measured time for the table: exact minutes, and the same for people when an hour or more."""
    if minutes is None:
        return None
    return f"{minutes:,} min", (duration(minutes) if minutes >= 60 else "")


@cache
def _environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    environment = Environment(loader=PackageLoader("worker.render", "templates"), autoescape=True,
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True)
    environment.filters.update(shown=shown, count=count, when=when, percent=percent, minutes=minutes_cell,
                               targets=targets_list)
    return environment


@cache
def _css() -> str:
    """The page's stylesheet, read from the installed package (``worker/render/templates``)."""
    css = files("worker.render").joinpath("templates", ASSETS[0]).read_text(encoding="utf-8")
    if "</style" in css.lower():  # would end the element early
        raise ValueError(f"{ASSETS[0]} must not contain </style")
    return css


def content_security_policy(css: str) -> str:
    """Nothing but the page's own inline stylesheet: no script, no fetch, no form, no ``<base>``."""
    return f"default-src 'none'; style-src {csp_hash(css)}; base-uri 'none'; form-action 'none'"


def render_service_html(document: dict[str, Any]) -> str:
    """The service report page: header, tiers below their minimum SLA, notes, the table and a chart per metric."""
    css = _css()
    tiers = document["tiers"]
    return _environment().get_template(TEMPLATE).render(
        document=document, tiers=tiers, below=[tier for tier in tiers if tier["below_min"]],
        thresholds=any(tier["min_sla_achieved_pct"] is not None for tier in tiers),
        charts=charts(document), dash=NONE,
        css=Markup(css),  # noqa: S704 - the package's own file, checked above
        csp=content_security_policy(css))
