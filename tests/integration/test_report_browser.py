"""The HTML report in a real browser: headless Chromium renders it, runs its script, and we read the DOM it ends with.

``--dump-dom`` prints the document after the page's script ran, so these tests check what a person sees: the
summary and rows, hostile names as text, the content security policy letting our one script run and nothing
else, and the sort and filter (driven through the URL fragment the script reads on load, since a headless
dump cannot click). Chromium is required in CI (``scripts/ensure-chromium`` installs it): without it these
tests fail when ``CI`` is set and are skipped otherwise.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from dataclasses import dataclass, replace
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_report_html import (
    HOSTILE,
    IMG,
    Node,
    account,
    parse,
    rows_of,
    sample_document,
    sample_report,
)
from worker.core.report import Category, Report
from worker.render.report import report_document
from worker.render.report_html import LISTED, render_html

pytestmark = pytest.mark.integration

DRIFT_IDS = [f"0010000000000{n:02d}AAA" for n in range(1, 7)]  # the sample's drifted accounts, in report order


def chromium() -> str:
    """The ``chromium`` binary; a failure in CI, a skip elsewhere, when it is missing."""
    binary = shutil.which("chromium")
    if binary:
        return binary
    if "CI" in os.environ:
        pytest.fail("chromium is not on PATH, and CI is set: the HTML report's browser test must run in CI "
                    "(scripts/ensure-chromium installs it; .ci/run calls it)")
    pytest.skip("chromium is not on PATH: run scripts/ensure-chromium (as root) or apt-get install chromium")


@dataclass
class Browser:
    workdir: Path

    def run(self, url: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Load ``url`` headless with ``args``; stderr has the page's console messages (``--enable-logging``)."""
        profile = self.workdir / "profile"  # our own profile: never shared with another Chromium on this machine
        command = [chromium(), "--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={profile}",
                   "--no-first-run", "--disable-extensions", "--enable-logging=stderr", "--v=0", *args, url]
        done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        return done

    def dom(self, page: Path, fragment: str = "") -> Rendered:
        """The document after the page's script ran (``--dump-dom``), and the console."""
        done = self.run(page.as_uri() + fragment, "--dump-dom")
        return Rendered(parse(done.stdout), done.stderr)


@dataclass
class Rendered:
    dom: Node
    stderr: str

    def console(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if ":CONSOLE" in line]

    def drift_rows(self) -> list[Node]:
        return rows_of(self.dom.by_id("drift-table"))

    def visible(self) -> list[str]:
        """The account ids of the drift rows the script left visible, in the order the table now has them."""
        return [row.cells()[0] for row in self.drift_rows() if "hidden" not in row.attrs]

    def showing(self) -> str:
        return " ".join(self.dom.by_id("drift-count").text().split())

    def assert_script_ran_cleanly(self) -> None:
        (html,) = self.dom.all("html")
        assert "data-report-ready" in html.attrs, self.stderr[-2000:]  # our script ran: the policy allows it
        assert not self.console(), self.console()  # no policy violation, no uncaught error


@pytest.fixture
def browser(tmp_path: Path) -> Browser:
    return Browser(tmp_path)  # looks chromium up in the test itself, so a missing one in CI is a test FAILURE


def write(tmp_path: Path, document: dict[str, Any], name: str = "report.html") -> Path:
    path = tmp_path / name
    path.write_text(render_html(document), encoding="utf-8")
    return path


@pytest.fixture
def page(tmp_path: Path) -> Path:
    return write(tmp_path, sample_document())


def test_the_rendered_page_shows_the_summary_and_the_drift(browser: Browser, page: Path) -> None:
    shown = browser.dom(page)
    shown.assert_script_ran_cleanly()
    dom = shown.dom
    assert "hidden" not in dom.by_id("drift-controls").attrs  # the script showed the sort and filter controls
    totals = {row.attrs["data-category"]: row.cells()[1] for row in rows_of(dom.by_id("totals"))}
    assert totals == {key: str(value) for key, value in sample_document()["summary"]["totals"].items()}
    assert "Yes" in dom.by_id("drift-status").text()
    assert shown.visible() == DRIFT_IDS and shown.showing() == "Showing 6 of 6"
    names = {row.cells()[0]: row.cells()[1] for row in shown.drift_rows()}
    assert names[DRIFT_IDS[0]] == HOSTILE and names[DRIFT_IDS[2]] == IMG  # as text, in the rendered DOM


def test_hostile_names_stay_text_after_the_browser_parsed_and_scripted_the_page(browser: Browser, page: Path) -> None:
    dom = browser.dom(page).dom
    (script,) = dom.all("script")  # ours, and no other
    assert script.text() == files("worker.render").joinpath("templates", "report.js").read_text(encoding="utf-8")
    assert not dom.all("img") and not dom.all("svg") and not dom.all("b")
    assert all(not name.startswith("on") for node in dom.iter() for name in node.attrs)
    assert HOSTILE in dom.by_id("problems").text() and IMG in dom.by_id("orphans").text()
    assert HOSTILE in dom.by_id("routing").text()


@pytest.mark.parametrize(("fragment", "visible"), [
    ("#filter=Acme", [DRIFT_IDS[0], DRIFT_IDS[2]]),  # a name, and a detail quoting one
    ("#filter=%3Cscript%3E", [DRIFT_IDS[0], DRIFT_IDS[2]]),  # hostile text is matched as text
    ("#filter=M%C3%BCller", [DRIFT_IDS[4]]),
    ("#filter=10004", [DRIFT_IDS[3]]),  # an organization id
    ("#category=last_write_failed", DRIFT_IDS[4:]),
    ("#filter=tier_silver&category=drift", [DRIFT_IDS[0], DRIFT_IDS[1], DRIFT_IDS[3]]),
    ("#filter=nothing-matches-this", []),
])
def test_the_fragment_filters_the_drift_rows(browser: Browser, page: Path, fragment: str, visible: list[str]) -> None:
    shown = browser.dom(page, fragment)
    shown.assert_script_ran_cleanly()
    assert shown.visible() == visible
    assert shown.showing() == f"Showing {len(visible)} of 6"
    assert ("hidden" in shown.dom.by_id("drift-empty").attrs) == bool(visible)  # "no match" only when none
    assert len(shown.drift_rows()) == 6  # hidden, not removed


@pytest.mark.parametrize(("fragment", "order", "column"), [
    ("#sort=organization_id", [5, 0, 1, 2, 4, 3], "organization_id"),  # numerically: 807 before 9001 before 10004
    ("#sort=organization_id&dir=desc", [3, 4, 2, 1, 0, 5], "organization_id"),
    ("#sort=changed", [5, 3, 1, 0, 4, 2], "changed"),  # by time; the unknown one last
    ("#sort=changed&dir=desc", [4, 0, 1, 3, 5, 2], "changed"),  # still last
    ("#sort=actual", [2, 3, 0, 4, 1, 5], "actual"),  # punctuation first, (none) last, ties in report order
])
def test_the_fragment_sorts_the_drift_rows(browser: Browser, page: Path, fragment: str, order: list[int],
                                           column: str) -> None:
    shown = browser.dom(page, fragment)
    shown.assert_script_ran_cleanly()
    assert shown.visible() == [DRIFT_IDS[i] for i in order]
    sorted_by = [th for th in shown.dom.by_id("drift-table").all("th") if "aria-sort" in th.attrs]
    assert [(th.attrs["data-key"], th.attrs["aria-sort"]) for th in sorted_by] == [
        (column, "descending" if "dir=desc" in fragment else "ascending")]


def test_sort_and_filter_together(browser: Browser, page: Path) -> None:
    shown = browser.dom(page, "#filter=tier_silver&sort=organization_id&dir=desc")
    assert shown.visible() == [DRIFT_IDS[3], DRIFT_IDS[4], DRIFT_IDS[1], DRIFT_IDS[0], DRIFT_IDS[5]]
    assert shown.showing() == "Showing 5 of 6"


def test_the_policy_stops_injected_markup_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    """Were a name ever to reach the page as markup, the page's policy would neither run nor load it."""
    injected = ('<img id="injected-img" src="https://example.invalid/x.png" onerror="document.title=\'pwned\'">'
                "<script>document.title = 'pwned'</script><style>body { display: none }</style>")
    page = tmp_path / "injected.html"
    page.write_text(render_html(sample_document()).replace('<main class="wrap">', '<main class="wrap">' + injected, 1))
    shown = browser.dom(page)
    assert shown.dom.all("title")[0].text().startswith("tiersync reconciliation")
    assert "data-report-ready" in shown.dom.all("html")[0].attrs  # ours still runs
    violations = [line for line in shown.console() if "Content Security Policy" in line]
    assert any("Loading the image 'https://example.invalid/x.png'" in line for line in violations), violations
    assert any("Executing inline script" in line for line in violations), violations
    assert any("inline style" in line for line in violations), violations


def test_an_empty_report_runs_cleanly(browser: Browser, tmp_path: Path) -> None:
    shown = browser.dom(write(tmp_path, report_document(Report("empty", "2024-05-01T00:00:00Z", (), ()))))
    shown.assert_script_ran_cleanly()
    assert "No drifted accounts" in shown.dom.by_id("drift").text()


def test_a_page_of_5000_drift_rows_runs_cleanly_and_says_where_the_rest_are(browser: Browser, tmp_path: Path) -> None:
    many = tuple(account(f"001{i:015d}", f"Account {i}", Category.DRIFT, expected="tier_gold", actual="tier_silver",
                         organization_id=i) for i in range(LISTED + 7))
    page = write(tmp_path, report_document(replace(sample_report(), accounts=many)))
    shown = browser.dom(page, "#filter=account%20499&sort=organization_id&dir=desc")
    shown.assert_script_ran_cleanly()
    assert shown.showing() == "Showing 11 of 5,000"
    assert shown.visible() == [f"001{i:015d}" for i in (4999, 4998, 4997, 4996, 4995, 4994, 4993, 4992, 4991, 4990, 499)]
    assert "the other 7 are in the JSON and CSV reports" in " ".join(shown.dom.by_id("drift").text().split())


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_screenshot_at_1280_wide(browser: Browser, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = write(tmp_path, sample_document())
    shot = tmp_path / "report-1280.png"
    browser.run(page.as_uri(), f"--screenshot={shot}", "--window-size=1280,2000", "--hide-scrollbars")
    assert shot.is_file() and shot.stat().st_size > 10_000, shot
    assert png_size(shot) == (1280, 2000)
    with capsys.disabled():
        print(f"\nHTML report screenshot: {shot}\n  (page: {page})")
