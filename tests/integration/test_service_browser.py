"""The service report page in a real browser: headless Chromium renders it, and we read the DOM and the pixels.

``--dump-dom`` prints the document as Chromium parsed it, so these tests check what a person gets: the table's
figures, hostile titles as text, a chart per metric with one bar per tier with data, and a policy that lets the
page's own stylesheet apply and nothing else. The screenshot shows the page at 1280 pixels wide; its pixels
are read back to check that the bars were painted in the stylesheet's colours. The harness is the
reconciliation report's (``Browser``, ``chromium``): chromium missing fails in CI and skips elsewhere.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_report_browser import Browser, Rendered, png_size
from tests.unit.test_report_html import Node, rows_of
from tests.unit.test_service_render import (
    CONTROLS_SHOWN,
    FORMULA,
    HOSTILE,
    IMG,
    METRIC_KEYS,
    hostile_document,
    sample_document,
    squash,
)
from worker.render.service_html import METRICS, WIDTH, render_service_html

pytestmark = pytest.mark.integration

TIERS = ["enterprise", "professional", "starter", "untiered"]
BAR_BLUE, BAR_RED, BAR_GREY = (0x3B, 0x7D, 0xD8), (0xD9, 0x30, 0x25), (0x9A, 0xA5, 0xB1)  # service.css


@pytest.fixture
def browser(tmp_path: Path) -> Browser:
    return Browser(tmp_path)  # looks chromium up in the test itself, so a missing one in CI is a test FAILURE


def write(tmp_path: Path, document: dict[str, Any], name: str = "service.html") -> Path:
    path = tmp_path / name
    path.write_text(render_service_html(document), encoding="utf-8")
    return path


def rendered(browser: Browser, page: Path) -> Rendered:
    shown = browser.dom(page)
    assert not shown.console(), shown.console()  # no policy violation: the stylesheet applied, nothing else tried
    return shown


def bars(dom: Node, key: str) -> list[Node]:
    (svg,) = dom.by_id(f"chart-{key}").all("svg")
    return [rect for rect in svg.all("rect") if "bar" in str(rect.attrs.get("class")).split()]


def test_the_rendered_table_shows_every_figure(browser: Browser, tmp_path: Path) -> None:
    dom = rendered(browser, write(tmp_path, sample_document())).dom
    rows = rows_of(dom.by_id("service-table"))
    assert [row.attrs["data-tier"] for row in rows] == TIERS
    assert [[squash(cell) for cell in row.cells()] for row in rows] == [
        ["Enterprise", "412", "380", "42 min", "180 min (3 h)",
         "first reply: urgent 30 min · high 1 h · normal 4 h · low 8 h requester wait: urgent 4 h · high 8 h",
         "1,260 min (21 h)", "94.0% below minimum", "95.0%", "31 of 520", "92.8%", "90 / 7"],
        ["Professional", "1,318", "1,201", "95 min (1.6 h)", "610 min (10 h)",
         "first reply: urgent 1 h · high 2 h · normal 8 h", "2,890 min (2 d)", "96.0%", "90.0%", "62 of 1,540",
         "88.3%", "310 / 41"],
        ["Starter", "2,044", "1,930", "610 min (10 h)", "2,950 min (2 d)", "first reply: normal 1 d · low 2 d",
         "5,040 min (3.5 d)", "\u2014", "\u2014", "0 of 0", "80.0%", "12 / 3"],
        ["Untiered", "87", "60", "\u2014", "\u2014", "none configured", "3,300 min (2.3 d)", "\u2014", "\u2014",
         "0 of 0", "\u2014", "0 / 0"],
    ]
    assert rows[0].attrs["class"] == "below-min"
    assert squash(dom.by_id("window").text()) == "2026-10-30 10:00:00+00:00 to 2026-11-29 10:00:00+00:00"
    assert "Enterprise: 94.0% of SLA targets achieved, below the minimum of 95.0%" in squash(dom.by_id("below-min").text())


def test_each_chart_has_one_bar_per_tier_with_data(browser: Browser, tmp_path: Path) -> None:
    document = sample_document()
    dom = rendered(browser, write(tmp_path, document)).dom
    assert [figure.attrs["data-metric"] for figure in dom.by_id("charts").all("figure")] == METRIC_KEYS
    assert len(dom.all("svg")) == len(METRICS)
    for metric in METRICS:
        with_data = [entry["tier"] for entry in document["tiers"] if metric.value(entry) is not None]
        drawn = bars(dom, metric.key)
        assert [rect.attrs["data-tier"] for rect in drawn] == with_data, metric.key
        assert all(0 < float(str(rect.attrs["width"])) <= WIDTH for rect in drawn)
        gaps = [text.attrs["data-tier"] for text in dom.by_id(f"chart-{metric.key}").all("text", class_="no-data")]
        assert gaps == [name for name in TIERS if name not in with_data]
    widths = {rect.attrs["data-tier"]: float(str(rect.attrs["width"])) for rect in bars(dom, "tickets")}
    assert widths["starter"] > widths["professional"] > widths["enterprise"] > widths["untiered"]  # to scale
    assert [rect.attrs["class"] for rect in bars(dom, "sla_achieved")] == ["bar below", "bar"]


def test_hostile_titles_and_notes_stay_text_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    dom = rendered(browser, write(tmp_path, hostile_document())).dom
    assert [row.cells()[0] for row in rows_of(dom.by_id("service-table"))] == [FORMULA, HOSTILE, CONTROLS_SHOWN,
                                                                                "Untiered"]
    tooltips = [title.text() for title in dom.by_id("chart-tickets").all("title")]
    assert tooltips[:2] == [f"{FORMULA}: 412", f"{HOSTILE}: 1,318"]
    notes = [item.text() for item in dom.all("section", class_="notes")[0].all("li")]
    assert notes[:2] == [HOSTILE, IMG + " [link](https://example.invalid)"]
    tags = {node.tag for node in dom.iter()}
    assert not {"script", "img", "b", "i", "a", "iframe", "object", "embed", "link"} & tags
    assert len(dom.all("svg")) == len(METRICS)
    assert all(not name.startswith("on") for node in dom.iter() for name in node.attrs)


def test_the_policy_stops_injected_markup_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    """Were a title ever to reach the page as markup, the page's policy would neither run nor load it."""
    injected = ('<img id="injected-img" src="https://example.invalid/x.png" onerror="document.title=\'pwned\'">'
                "<script>document.title = 'pwned'</script><style>body { display: none }</style>")
    page = tmp_path / "injected.html"
    page.write_text(render_service_html(sample_document()).replace('<main class="wrap">',
                                                                   '<main class="wrap">' + injected, 1))
    shown = browser.dom(page)
    assert shown.dom.all("title")[0].text() == "tiersync service report, the last 30 days"
    violations = [line for line in shown.console() if "Content Security Policy" in line]
    assert any("Loading the image 'https://example.invalid/x.png'" in line for line in violations), violations
    assert any("Executing inline script" in line for line in violations), violations
    assert any("inline style" in line for line in violations), violations


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """The PNG's rows of RGB pixels (8-bit RGB or RGBA, not interlaced: what Chromium writes)."""
    data = path.read_bytes()
    chunks, position = [], 8
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        chunks.append((kind, data[position + 8:position + 8 + length]))
        position += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, interlace) == (8, 0) and color in (2, 6), (depth, color, interlace)
    size = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride, rows, previous = width * size, [], bytes(width * size)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - size] if i >= size else 0
            b, c = previous[i], previous[i - size] if i >= size else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        previous = bytes(line)
        rows.append(bytes(line[i] for x in range(width) for i in range(x * size, x * size + 3)))
    return width, height, rows


def test_screenshot_at_1280_wide(browser: Browser, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = write(tmp_path, sample_document())
    shot = tmp_path / "service-1280.png"
    browser.run(page.as_uri(), f"--screenshot={shot}", "--window-size=1280,1400", "--hide-scrollbars")
    assert shot.is_file() and shot.stat().st_size > 30_000, shot
    assert png_size(shot) == (1280, 1400)
    width, height, rows = png_pixels(shot)
    colours = {rows[y][x:x + 3] for y in range(0, height, 2) for x in range(0, width * 3, 6)}
    assert len(colours) > 50  # text, rules and bars: not a blank or single-colour page
    for name, rgb in (("blue bar", BAR_BLUE), ("below-minimum bar", BAR_RED), ("untiered bar", BAR_GREY)):
        assert bytes(rgb) in colours, name  # the stylesheet applied and the charts were painted
    with capsys.disabled():
        print(f"\nService report screenshot: {shot}\n  (page: {page})")
