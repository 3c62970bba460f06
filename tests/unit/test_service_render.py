"""The service report's renderers (worker.render.service_report, worker.render.service_html).

Documents are built by hand in the shape the report's contract gives (version 1), so these tests pin the
renderers to the contract and not to whatever builds the document today.
"""

from __future__ import annotations

import base64
import copy
import csv
import hashlib
import io
import json
import re
import tomllib
from collections import Counter
from fnmatch import fnmatch
from importlib.resources import files
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.unit.test_report_html import Node, parse, rows_of
from worker.render.service_html import (
    ASSETS,
    LABEL_WIDTH,
    METRICS,
    TEMPLATE,
    chart,
    render_service_html,
    scale,
    short_title,
    text_width,
    tick_text,
)
from worker.render.service_report import (
    CSV_COLUMNS,
    duration,
    exact_duration,
    minutes_text,
    render_service_csv,
    render_service_json,
    render_service_markdown,
)

FORMULA = '=HYPERLINK("x")<script>'
HOSTILE = '<script>alert(1)</script> & "Acme" <b>'
IMG = '"><img src=x onerror=alert(1)>'
CONTROLS = "Evil\x1b[2J\u202eCo"
CONTROLS_SHOWN = "Evil\\x1b[2J\\u202eCo"
LONG = "Platinum Plus Strategic Accounts EMEA"
METRIC_KEYS = ["tickets", "first_reply_median", "first_reply_p90", "full_resolution_median", "sla_achieved", "csat"]


def tier(name: str, title: str, tickets: int, solved: int, *, first_reply: tuple[int | None, int | None],
         resolution: int | None, sla: tuple[int, int, float | None], csat: tuple[int, int, float | None],
         targets: dict[str, dict[str, int]] | None = None, minimum: float | None = None,
         below: bool = False) -> dict[str, Any]:
    return {"tier": name, "title": title, "tickets": tickets, "solved": solved,
            "first_reply_minutes": {"median": first_reply[0], "p90": first_reply[1]},
            "full_resolution_minutes": {"median": resolution},
            "sla": {"applied": sla[0], "breached": sla[1], "achieved_pct": sla[2]},
            "csat": {"good": csat[0], "bad": csat[1], "score_pct": csat[2]},
            "targets": targets or {}, "min_sla_achieved_pct": minimum, "below_min": below}


def sample_document() -> dict[str, Any]:
    """Three configured tiers and the untiered tickets: one tier below its minimum, nulls of every kind."""
    return {
        "version": 1, "days": 30, "generated_at": "2026-11-29T10:00:00+00:00",
        "window": {"start": "2026-10-30T10:00:00+00:00", "end": "2026-11-29T10:00:00+00:00"},
        "tiers": [
            tier("enterprise", "Enterprise", 412, 380, first_reply=(42, 180), resolution=1260, sla=(520, 31, 94.0),
                 csat=(90, 7, 92.8), targets={"first_reply_time": {"urgent": 30, "high": 60, "normal": 240, "low": 480},
                                              "requester_wait_time": {"urgent": 240, "high": 480}},
                 minimum=95.0, below=True),
            tier("professional", "Professional", 1318, 1201, first_reply=(95, 610), resolution=2890,
                 sla=(1540, 62, 96.0), csat=(310, 41, 88.3),
                 targets={"first_reply_time": {"urgent": 60, "high": 120, "normal": 480}}, minimum=90.0),
            tier("starter", "Starter", 2044, 1930, first_reply=(610, 2950), resolution=5040, sla=(0, 0, None),
                 csat=(12, 3, 80.0), targets={"first_reply_time": {"normal": 1440, "low": 2880}}),
            tier("untiered", "Untiered", 87, 60, first_reply=(None, None), resolution=3300, sla=(0, 0, None),
                 csat=(0, 0, None)),
        ],
        "notes": ["CSAT counts the tickets rated in the window", "2 tickets belong to no organization"],
    }


def hostile_document() -> dict[str, Any]:
    """Untrusted text everywhere a document carries text: titles, tier names, target names, notes."""
    document = sample_document()
    titles = (FORMULA, HOSTILE, IMG)
    for entry, title in zip(document["tiers"], titles, strict=False):
        entry["title"] = title
    document["tiers"][0]["tier"] = "enterprise<i>"
    document["tiers"][2]["title"] = CONTROLS
    document["tiers"][1]["targets"] = {"first_reply_time": {"urgent<b>": 60}, "<svg onload=x>_time": {"high": 90}}
    document["notes"] = [HOSTILE, IMG + " [link](https://example.invalid)", CONTROLS]
    return document


@pytest.fixture(scope="module")
def page() -> str:
    return render_service_html(sample_document())


@pytest.fixture(scope="module")
def dom(page: str) -> Node:
    return parse(page)


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def squash(text: str) -> str:
    return " ".join(text.split())


# Numbers for people.

@pytest.mark.parametrize(("minutes", "text"), [
    (0, "0 min"), (1, "1 min"), (42, "42 min"), (59, "59 min"), (60, "1 h"), (90, "1.5 h"), (100, "1.7 h"),
    (180, "3 h"), (610, "10 h"), (1260, "21 h"), (1439, "1 d"), (1440, "1 d"), (2890, "2 d"), (5040, "3.5 d"),
    (20000, "14 d"), (59.4, "59 min"), (59.6, "1 h"),
])
def test_durations_read_as_minutes_hours_or_days(minutes: float, text: str) -> None:
    assert duration(minutes) == text


@pytest.mark.parametrize(("minutes", "text"), [
    (30, "30 min"), (60, "1 h"), (90, "90 min"), (480, "8 h"), (1440, "1 d"), (2160, "36 h"), (2880, "2 d"),
    (0, "0 min"), (1510, "1,510 min"),
])
def test_targets_are_exact(minutes: int, text: str) -> None:
    assert exact_duration(minutes) == text


def test_measured_minutes_keep_the_exact_figure() -> None:
    assert [minutes_text(m) for m in (42, 1260, None)] == ["42 min", "1,260 min (21 h)", "\u2014"]


@pytest.mark.parametrize(("kind", "values", "top", "ticks"), [
    ("count", [412, 1318, 2044, 87], 3000, ["0", "1,000", "2,000", "3,000"]),
    ("count", [3, 1], 3, ["0", "1", "2", "3"]),
    ("count", [0, 0], 1, ["0", "1"]),
    ("count", [], 1, ["0", "1"]),
    ("minutes", [42, 95, 610], 720, ["0", "3 h", "6 h", "9 h", "12 h"]),
    ("minutes", [42, 30], 45, ["0", "15 min", "30 min", "45 min"]),
    ("minutes", [1260, 2890, 5040, 3300], 5760, ["0", "1 d", "2 d", "3 d", "4 d"]),
    ("minutes", [100_000], 129_600, ["0", "30 d", "60 d", "90 d"]),
    ("minutes", [300_000], 432_000, ["0", "100 d", "200 d", "300 d"]),
    ("percent", [94.0, 96.0], 100, ["0", "25%", "50%", "75%", "100%"]),
])
def test_axes_start_at_zero_and_tick_at_round_values(kind: str, values: list[float], top: float,
                                                     ticks: list[str]) -> None:
    end, at = scale(kind, values)
    assert end == top and at[0] == 0 and at[-1] == top
    assert [tick_text(kind, t) for t in at] == ticks
    assert len(at) <= 6


# JSON.

def test_json_is_the_document_indented() -> None:
    document = hostile_document()
    text = render_service_json(document)
    assert json.loads(text) == document
    assert text.startswith('{\n  "version": 1,') and text.endswith("\n")
    assert '"title": "=HYPERLINK(\\"x\\")<script>"' in text  # JSON is exact: nothing defused
    assert "Evil\\u001b[2J\u202eCo" in text  # non-ASCII kept, control characters escaped by JSON


# CSV.

def test_csv_has_the_header_and_one_row_per_tier() -> None:
    rows = csv_rows(render_service_csv(sample_document()))
    assert rows[0] == list(CSV_COLUMNS) == [
        "tier", "title", "tickets", "solved", "first_reply_median_minutes", "first_reply_p90_minutes",
        "full_resolution_median_minutes", "sla_applied", "sla_breached", "sla_achieved_pct", "csat_good",
        "csat_bad", "csat_score_pct", "min_sla_achieved_pct", "below_min"]
    assert [row[0] for row in rows[1:]] == ["enterprise", "professional", "starter", "untiered"]
    assert rows[1] == ["enterprise", "Enterprise", "412", "380", "42", "180", "1260", "520", "31", "94.0", "90", "7",
                       "92.8", "95.0", "true"]
    assert rows[2][-2:] == ["90.0", "false"]


def test_csv_leaves_null_cells_empty() -> None:
    rows = {row[0]: dict(zip(CSV_COLUMNS, row, strict=True)) for row in csv_rows(render_service_csv(sample_document()))[1:]}
    untiered = rows["untiered"]
    assert untiered["first_reply_median_minutes"] == untiered["first_reply_p90_minutes"] == ""
    assert untiered["sla_achieved_pct"] == untiered["csat_score_pct"] == untiered["min_sla_achieved_pct"] == ""
    assert untiered["sla_applied"] == untiered["csat_good"] == "0"  # zero is a figure, not a null
    assert rows["starter"]["sla_achieved_pct"] == "" and rows["starter"]["csat_score_pct"] == "80.0"


def test_csv_defuses_formulas_in_titles_and_names() -> None:
    document = hostile_document()
    document["tiers"][3]["tier"] = "+cmd|' /C calc'!A0"
    text = render_service_csv(document)
    rows = csv_rows(text)
    assert rows[1][1] == "'" + FORMULA  # a spreadsheet shows it as text
    assert rows[4][0] == "'+cmd|' /C calc'!A0"
    assert '"\'=HYPERLINK(""x"")<script>"' in text  # quoted by the csv module, quote doubled
    for row in rows[1:]:
        assert not any(re.match(r"[=+\-@\t\r]", cell) for cell in row), row
    assert rows[3][1] == CONTROLS  # CSV is data: exact text, only formulas defused


# Markdown.

def test_markdown_has_the_window_one_table_targets_and_the_tiers_below_their_minimum() -> None:
    text = render_service_markdown(sample_document())
    lines = text.splitlines()
    assert lines[0] == "# tiersync service report: the last 30 days"
    assert "Window 2026\\-10\\-30T10:00:00+00:00" in lines[2].replace("\\+", "+")
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 2 + 4  # header, alignment, one row per tier
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    assert header[3:6] == ["first reply median", "first reply p90", "targets"]  # the targets beside the measures
    enterprise = [cell.strip() for cell in table[2].strip("|").split("|")]
    assert enterprise[:6] == ["Enterprise", "412", "380", "42 min", "180 min (3 h)",
                              "first reply: urgent 30 min, high 1 h, normal 4 h, low 8 h; requester wait: urgent 4 h, "
                              "high 8 h"]
    assert enterprise[6:] == ["1,260 min (21 h)", "94.0% **below the minimum**", "31 / 520", "95.0%", "92.8%", "90 / 7"]
    untiered = [cell.strip() for cell in table[5].strip("|").split("|")]
    assert untiered[3:6] == ["\u2014", "\u2014", "\u2014"]
    assert "## Below the minimum SLA" in lines
    below = [line for line in lines if line.startswith("- **")]
    assert below == ["- **Enterprise** is below the minimum SLA: 94.0% of SLA targets achieved, minimum 95.0%"]
    assert lines[-4:] == ["## Notes", "", "- CSAT counts the tickets rated in the window",
                          "- 2 tickets belong to no organization"]


def test_markdown_escapes_untrusted_text() -> None:
    text = render_service_markdown(hostile_document())
    for raw in ("<script>", "<img", "<b>", "<svg", "[link](", "\x1b", "\u202e", "<i>"):
        assert raw not in text, raw
    assert "&lt;script&gt;alert\\(1\\)&lt;/script&gt; &amp; \"Acme\" &lt;b&gt;" in text
    assert "\\=HYPERLINK" not in text and "=HYPERLINK\\(\"x\"\\)&lt;script&gt;" in text
    assert "Evil\\\\x1b\\[2J\\\\u202eCo" in text  # made visible, then the backslashes escaped
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert {line.count(" | ") for line in table if not line.startswith("|---")} == {11}  # no title adds or removes a column
    assert "urgent&lt;b&gt; 1 h" in text and "&lt;svg onload=x&gt;: high 90 min" in text


# HTML: untrusted text.

def test_hostile_text_never_reaches_the_page_as_markup() -> None:
    page = render_service_html(hostile_document())
    for raw in ("<script>", "<img", "<b>", "<svg onload", "<i>", 'Acme"', "\x1b", "\u202e"):
        assert raw not in page, raw
    assert not re.search(r"<[a-z][^<>]*\s(on[a-z]+|src|href)\s*=", page, re.IGNORECASE)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;Acme&#34; &lt;b&gt;" in page
    assert "=HYPERLINK(&#34;x&#34;)&lt;script&gt;" in page
    assert CONTROLS_SHOWN in page
    page.encode("utf-8")


def test_hostile_text_reads_as_text_in_the_table_the_charts_and_the_notes() -> None:
    dom = parse(render_service_html(hostile_document()))
    rows = rows_of(dom.by_id("service-table"))
    assert [row.cells()[0] for row in rows] == [FORMULA, HOSTILE, CONTROLS_SHOWN, "Untiered"]
    assert rows[0].attrs["data-tier"] == "enterprise<i>"
    targets = squash(rows[1].all("td", **{"data-metric": "targets"})[0].text())
    assert targets == "first reply: urgent<b> 1 h <svg onload=x>: high 90 min"
    for key in METRIC_KEYS:
        labels = [text.text() for text in dom.by_id(f"chart-{key}").all("text")
                  if "tier-label" in str(text.attrs["class"]).split()]
        assert labels == ['=HYPERLINK("…', "<script>alert(1)…", "Evil\\x1b[2J\\u2…", "Untiered"], labels
        tooltips = [title.text() for title in dom.by_id(f"chart-{key}").all("title")]
        assert tooltips[0].startswith(FORMULA + ": ") and tooltips[1].startswith(HOSTILE + ": ")
    (notes,) = dom.all("section", class_="notes")
    assert [item.text() for item in notes.all("li")] == [HOSTILE, IMG + " [link](https://example.invalid)",
                                                          CONTROLS_SHOWN]
    (alert,) = dom.all("section", class_="alert")
    assert squash(alert.text()).startswith(f"1 tier below the minimum SLA {FORMULA}: 94.0%")
    tags = Counter(node.tag for node in dom.iter())
    assert not {"script", "img", "b", "i", "a", "iframe", "object", "embed", "link", "base", "form"} & set(tags)
    assert tags["svg"] == len(METRICS)  # the page's own charts, and no other
    assert all(not name.startswith("on") for node in dom.iter() for name in node.attrs)


# HTML: self-contained, and a policy that allows only the page's own stylesheet.

def test_nothing_is_loaded_from_anywhere(page: str, dom: Node) -> None:
    lowered = page.lower()
    for needle in ("http://", "https://", "//", "url(", "@import", "@font-face", "<link", "<img", "<iframe",
                   "<script", "src=", "href=", "xlink"):
        assert needle not in lowered, needle
    assert all(not set(node.attrs) & {"src", "href", "srcset", "poster", "data", "action", "style"}
               for node in dom.iter())


def test_content_security_policy_allows_the_inline_stylesheet_and_nothing_else(dom: Node) -> None:
    (head,) = dom.all("head")
    elements = [child for child in head.children if isinstance(child, Node)]
    assert elements[0].attrs == {"charset": "utf-8"}
    assert elements[1].attrs["http-equiv"] == "Content-Security-Policy"  # before the style
    policy = {d.split()[0]: d.split()[1:] for d in str(elements[1].attrs["content"]).split("; ")}
    (style,) = dom.all("style")
    digest = "'sha256-" + base64.b64encode(hashlib.sha256(style.text().encode()).digest()).decode() + "'"
    assert policy == {"default-src": ["'none'"], "style-src": [digest], "base-uri": ["'none'"],
                      "form-action": ["'none'"]}  # no script-src: the page has no script
    assert not dom.all("script")


def test_the_template_and_its_stylesheet_ship_in_the_package() -> None:
    folder = files("worker.render").joinpath("templates")
    for name in (TEMPLATE, *ASSETS):
        assert folder.joinpath(name).is_file(), name
    assert "</style" not in folder.joinpath("service.css").read_text(encoding="utf-8").lower()
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["worker"]
    assert all(any(fnmatch(f"render/templates/{name}", p) for p in patterns) for name in (TEMPLATE, *ASSETS))


# HTML: the figures.

def test_header_shows_the_window_and_when_it_was_generated(dom: Node) -> None:
    (header,) = dom.all("header")
    assert squash(dom.by_id("window").text()) == "2026-10-30 10:00:00+00:00 to 2026-11-29 10:00:00+00:00"
    assert squash(dom.by_id("generated").text()) == "2026-11-29 10:00:00+00:00"
    assert "the last 30 days" in header.text() and "the last 30 days" in dom.all("title")[0].text()


def test_the_table_shows_every_figure(dom: Node) -> None:
    rows = {row.attrs["data-tier"]: row for row in rows_of(dom.by_id("service-table"))}
    assert list(rows) == ["enterprise", "professional", "starter", "untiered"]

    def figures(name: str) -> dict[str, str]:
        return {str(td.attrs["data-metric"]): squash(td.text()) for td in rows[name].all("td")}

    assert figures("enterprise") == {
        "tickets": "412", "solved": "380", "first_reply_median": "42 min", "first_reply_p90": "180 min (3 h)",
        "targets": "first reply: urgent 30 min · high 1 h · normal 4 h · low 8 h requester wait: urgent 4 h · high 8 h",
        "full_resolution_median": "1,260 min (21 h)", "sla_achieved": "94.0% below minimum",
        "min_sla_achieved": "95.0%", "sla_breached": "31 of 520", "csat_score": "92.8%", "csat_ratings": "90 / 7"}
    assert figures("professional")["tickets"] == "1,318"
    assert figures("starter")["full_resolution_median"] == "5,040 min (3.5 d)"
    untiered = figures("untiered")
    for metric in ("first_reply_median", "first_reply_p90", "sla_achieved", "min_sla_achieved", "csat_score"):
        assert untiered[metric] == "\u2014", metric
    assert untiered["targets"] == "none configured"
    assert untiered["sla_breached"] == "0 of 0" and untiered["csat_ratings"] == "0 / 0"  # zeros are figures


def test_tiers_below_their_minimum_are_highlighted(dom: Node) -> None:
    rows = {row.attrs["data-tier"]: row for row in rows_of(dom.by_id("service-table"))}
    assert rows["enterprise"].attrs["class"] == "below-min"
    assert "class" not in rows["professional"].attrs and rows["untiered"].attrs["class"] == "untiered"
    assert squash(dom.by_id("below-min").text()) == (
        "1 tier below the minimum SLA Enterprise: 94.0% of SLA targets achieved, below the minimum of 95.0% "
        "(31 of 520 breached)")
    bars = [rect for rect in dom.by_id("chart-sla_achieved").all("rect")]
    assert [(rect.attrs["data-tier"], rect.attrs["class"]) for rect in bars] == [
        ("enterprise", "bar below"), ("professional", "bar")]


def test_every_tier_meeting_its_minimum_says_so() -> None:
    document = sample_document()
    document["tiers"][0].update(below_min=False)
    dom = parse(render_service_html(document))
    assert squash(dom.by_id("below-min").text()) == "Every tier with a minimum SLA meets it."
    assert not dom.all("section", class_="alert")
    for entry in document["tiers"]:
        entry["min_sla_achieved_pct"] = None
    assert 'id="below-min"' not in render_service_html(document)  # no threshold: nothing to say


def test_one_chart_per_metric_with_a_bar_per_tier_with_data(dom: Node) -> None:
    figures = dom.by_id("charts").all("figure")
    assert [figure.attrs["data-metric"] for figure in figures] == METRIC_KEYS == [m.key for m in METRICS]
    expected = {  # tiers with data, in the document's order
        "tickets": ["enterprise", "professional", "starter", "untiered"],
        "first_reply_median": ["enterprise", "professional", "starter"],
        "first_reply_p90": ["enterprise", "professional", "starter"],
        "full_resolution_median": ["enterprise", "professional", "starter", "untiered"],
        "sla_achieved": ["enterprise", "professional"],
        "csat": ["enterprise", "professional", "starter"]}
    for figure in figures:
        (svg,) = figure.all("svg")
        assert svg.attrs["role"] == "img" and svg.attrs["aria-labelledby"] == figure.all("figcaption")[0].attrs["id"]
        bars = [rect.attrs["data-tier"] for rect in svg.all("rect") if "bar" in str(rect.attrs["class"]).split()]
        assert bars == expected[figure.attrs["data-metric"]]
        gaps = [text.attrs["data-tier"] for text in svg.all("text", class_="no-data")]
        assert sorted(bars + gaps) == sorted(["enterprise", "professional", "starter", "untiered"])
        assert all(text.text() == "no data" for text in svg.all("text", class_="no-data"))
        assert svg.all("text", class_="axis-title")  # a labelled axis


def test_a_null_is_drawn_as_a_gap_that_says_no_data(dom: Node) -> None:
    svg = dom.by_id("chart-first_reply_median").all("svg")[0]
    (row,) = [g for g in svg.all("g") if g.attrs.get("data-tier") == "untiered"]
    assert not row.all("rect")  # no bar, not even a zero-width one
    assert [text.text() for text in row.all("text")] == ["Untiered", "no data"]
    assert row.all("title")[0].text() == "Untiered: no data"


def test_chart_values_are_labelled_for_people(dom: Node) -> None:
    def values(key: str) -> list[str]:
        return [t.text() for t in dom.by_id(f"chart-{key}").all("text", class_="value")] + \
               [t.text() for t in dom.by_id(f"chart-{key}").all("text", class_="value below")]

    assert values("tickets") == ["412", "1,318", "2,044", "87"]
    assert values("first_reply_median") == ["42 min", "1.6 h", "10 h"]
    assert values("full_resolution_median") == ["21 h", "2 d", "3.5 d", "2.3 d"]
    assert sorted(values("sla_achieved")) == ["94.0%", "96.0%"]
    assert values("csat") == ["92.8%", "88.3%", "80.0%"]
    ticks = [t.text() for t in dom.by_id("chart-tickets").all("text", class_="tick")]
    assert ticks == ["0", "1,000", "2,000", "3,000"]


def test_bars_are_to_scale_and_stay_inside_the_chart() -> None:
    document = sample_document()
    for metric in METRICS:
        drawn = chart(metric, document["tiers"])
        plot = drawn.right - drawn.left
        top = float(drawn.ticks[-1].label.rstrip("%").replace(",", "")) if metric.kind != "minutes" else None
        for bar in drawn.bars:
            assert 0 <= bar.width <= plot
            assert bar.label_x < drawn.width - 20  # the value fits in the margin after the bar
            if bar.value is not None and top:
                assert bar.width == pytest.approx(max(plot * bar.value / top, 1.5), abs=0.1)
        threshold = [bar.threshold_x for bar in drawn.bars]
        if metric.key == "sla_achieved":
            assert threshold == [drawn.left + plot * 0.95, drawn.left + plot * 0.9, None, None]
        else:
            assert threshold == [None] * 4


def test_a_zero_is_a_hairline_and_a_long_title_is_cut_on_the_chart_only() -> None:
    document = sample_document()
    document["tiers"][3]["tickets"] = 0
    document["tiers"][1]["title"] = LONG
    dom = parse(render_service_html(document))
    (zero,) = [r for r in dom.by_id("chart-tickets").all("rect") if r.attrs["data-tier"] == "untiered"]
    assert zero.attrs["width"] == "1.5"
    labels = [t.text() for t in dom.by_id("chart-tickets").all("text") if "tier-label" in str(t.attrs["class"])]
    assert labels[1] == "Platinum Plus…"
    assert rows_of(dom.by_id("service-table"))[1].cells()[0] == LONG


@pytest.mark.parametrize("title", ["Enterprise", "Professional", "Untiered", LONG, FORMULA, HOSTILE, "W" * 40,
                                   "i" * 80, "株式会社" * 10, "Müller & Söhne"])
def test_chart_titles_are_cut_to_fit_before_the_plot(title: str) -> None:
    short = short_title(title)
    assert text_width(short) <= LABEL_WIDTH - 14
    assert short == title or (short.endswith("\u2026") and title.startswith(short[:-1]))
    if len(title) <= 12:
        assert short == title  # the usual tier names are never cut


def test_valid_structure(page: str, dom: Node) -> None:
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    ids = [node.attrs["id"] for node in dom.iter() if "id" in node.attrs]
    assert len(ids) == len(set(ids))
    referenced = [node.attrs[a] for node in dom.iter() for a in ("aria-labelledby",) if a in node.attrs]
    assert set(referenced) <= set(ids)
    assert len(dom.all("h1")) == 1 and len(dom.all("main")) == 1
    (table,) = dom.all("table")
    widths = {len([c for c in row.children if isinstance(c, Node)]) for row in rows_of(table)}
    assert widths == {12}
    header_columns = sum(int(str(th.attrs.get("colspan", 1))) for th in table.all("thead")[0].all("tr")[0].all("th"))
    assert header_columns == 12


def test_empty_and_all_null_documents_render() -> None:
    document = sample_document()
    document["tiers"] = [document["tiers"][3]]
    document["tiers"][0].update(tickets=0, solved=0, full_resolution_minutes={"median": None})
    document["notes"] = []
    dom = parse(render_service_html(document))
    for key in METRIC_KEYS:
        texts = [t.text() for t in dom.by_id(f"chart-{key}").all("text", class_="no-data")]
        assert texts == ([] if key == "tickets" else ["no data"])
    assert not dom.all("section", class_="notes")
    document["tiers"] = []
    dom = parse(render_service_html(document))
    assert not rows_of(dom.by_id("service-table")) and len(dom.all("svg")) == len(METRICS)
    assert render_service_csv(document) == ",".join(CSV_COLUMNS) + "\r\n"
    assert "| tier |" in render_service_markdown(document)


def test_render_is_deterministic_does_not_touch_the_document_and_reads_a_stored_json() -> None:
    document = hostile_document()
    before = copy.deepcopy(document)
    page = render_service_html(document)
    assert render_service_html(document) == page and document == before
    assert render_service_html(json.loads(render_service_json(document))) == page
    render_service_csv(document)
    render_service_markdown(document)
    assert document == before
