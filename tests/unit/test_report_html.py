"""The reconciliation report's HTML page (worker.render.report_html): escaping, self-containment, figures, structure."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field, replace
from fnmatch import fnmatch
from html.parser import HTMLParser
from importlib.resources import files
from typing import Any

import pytest

from tests.conftest import ROOT
from worker.core.report import AccountLine, Category, OrphanLine, Report, RoutingLine, TierCount
from worker.render.report import render_json, report_document
from worker.render.report_html import ASSETS, LISTED, TEMPLATE, render_html, when

HOSTILE = '<script>alert(1)</script> & <!channel> "Acme"'
IMG = '"><img src=x onerror=alert(1)>'
SVG_TAG = "'><svg onload=alert(1)>"
CONTROLS = "Evil\x1b[2J\u202eCo \ud800"
CONTROLS_SHOWN = "Evil\\x1b[2J\\u202eCo \\ud800"
LONG = "Very Long Name Holdings " * 20 + "Ltd"
UNICODE = "Müller & Söhne 株式会社 Ω"


def account(account_id: str, name: str, category: Category, *, tier: str | None = "gold",
            expected: str | None = None, actual: str | None = None, organization_id: int | None = None,
            changed: str | None = None, detail: str = "") -> AccountLine:
    return AccountLine(account_id, name, category, tier, expected, actual, organization_id, changed, detail)


def sample_report() -> Report:
    """Every category, two tiers, an orphan, routing lines, drift new and resolved since the last report."""
    drift, failed = Category.DRIFT, Category.LAST_WRITE_FAILED
    accounts = (
        account("001000000000001AAA", HOSTILE, drift, expected="tier_gold", actual="tier_silver",
                organization_id=9001, changed="2024-05-01T10:22:03Z", detail="changed by hand"),
        account("001000000000002AAA", "Globex Corporation", drift, tier="silver", expected="tier_silver",
                actual=None, organization_id=9002, changed="2024-04-02T08:00:00Z"),
        account("001000000000003AAA", IMG, drift, expected="tier_gold", actual=SVG_TAG, organization_id=9003,
                changed=None, detail=HOSTILE),
        account("001000000000004AAA", LONG, drift, tier="silver", expected="tier_silver", actual="tier_gold",
                organization_id=10004, changed="2024-03-15T12:00:00Z"),
        account("001000000000005AAA", UNICODE, failed, expected="tier_gold", actual="tier_silver",
                organization_id=9005, changed="2024-05-03T00:00:00Z", detail="422 Unprocessable Entity: <b>nope</b>"),
        account("001000000000006AAA", "Initech", failed, tier="silver", expected="tier_silver", actual=None,
                organization_id=807, changed="2024-01-01T00:00:00Z", detail="timeout after 3 attempts"),
        account("001000000000007AAA", HOSTILE, Category.UNKNOWN_VALUE, tier=None, organization_id=9007,
                detail="unknown value 'Platinum <b>'"),
        account("001000000000008AAA", CONTROLS, Category.UNKNOWN_VALUE, tier=None, detail="blank value"),
        account("001000000000009AAA", "Umbrella", Category.DUPLICATE_ORGANIZATIONS, tier="gold",
                detail="organizations 9010, 9011"),
        account("001000000000010AAA", "Hooli", Category.NO_ORGANIZATION, tier="silver"),
        account("001000000000011AAA", "Stark Industries", Category.IN_SYNC, expected="tier_gold",
                actual="tier_gold", organization_id=9012),
        account("001000000000012AAA", "Wayne Enterprises", Category.IN_SYNC, tier="silver",
                expected="tier_silver", actual="tier_silver", organization_id=9013),
        account("001000000000013AAA", "Acme Rockets", Category.IN_SYNC, expected="tier_gold",
                actual="tier_gold", organization_id=9014),
    )
    tiers = (TierCount("gold", "Gold", "tier_gold", 6, 5), TierCount("silver", "Silver <Premium>", "tier_silver", 5, 7))
    orphans = (OrphanLine(9100, IMG, "0019999999999999<script>", "not a Salesforce id"),
               OrphanLine(9101, "Old Customer", "001000000000099AAA", "no account in scope"))
    routing = (RoutingLine("trigger", "Tier: Gold <b>priority</b>", 555, "drift", "conditions, actions"),
               RoutingLine("view", HOSTILE, 556, "collision", "an unmarked object has the title of one of ours"))
    report = Report("rep-20240501-1022", "2024-05-01T10:22:30+00:00", accounts, tiers, orphans, routing,
                    notes=("Routing was read; 2 organizations have no external_id",))
    keys = report.drift_keys
    return replace(report, previous_report="rep-20240430-1000", new_drift=keys[:2],
                   resolved_drift=("account:001000000000011AAA:tier_gold:tier_silver", "routing:view:Old view"))


def sample_document() -> dict[str, Any]:
    return report_document(sample_report())


# A small DOM from the standard library's parser: strict about nesting, so a stray tag fails the test.

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None] = field(default_factory=dict)
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(child if isinstance(child, str) else child.text() for child in self.children)

    def iter(self) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                found += [child, *child.iter()]
        return found

    def all(self, tag: str, **attrs: str) -> list[Node]:
        return [node for node in self.iter()
                if node.tag == tag and all(node.attrs.get(k.rstrip("_")) == v for k, v in attrs.items())]

    def by_id(self, element_id: str) -> Node:
        (node,) = [node for node in self.iter() if node.attrs.get("id") == element_id]
        return node

    def cells(self) -> list[str]:
        return [cell.text().strip() for cell in self.children if isinstance(cell, Node) and cell.tag in ("td", "th")]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document")
        self.stack = [self.root]
        self.doctype: str | None = None

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        assert len(node.attrs) == len(attrs), f"duplicate attribute on <{tag}>"
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        assert tag not in VOID, f"</{tag}>"
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    """The page as a tree; fails on a tag closed out of order or left open."""
    builder = _Builder()
    builder.feed(html)
    builder.close()
    assert builder.stack == [builder.root], f"unclosed: {[n.tag for n in builder.stack[1:]]}"
    assert builder.doctype is not None and builder.doctype.lower() == "doctype html"
    return builder.root


def rows_of(table: Node) -> list[Node]:
    (body,) = table.all("tbody")
    return body.all("tr")


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(sample_document())


@pytest.fixture(scope="module")
def dom(page: str) -> Node:
    return parse(page)


# Untrusted text.

def test_hostile_markup_never_reaches_the_page_as_markup(page: str) -> None:
    for raw in ("<script>alert", "</script> &", "<!channel>", "<img", "<svg", "<b>", "<Premium>", 'Acme"'):
        assert raw not in page, raw
    assert not re.search(r"<[a-z][^<>]*\s(on[a-z]+|src|href)\s*=", page, re.IGNORECASE)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;!channel&gt; &#34;Acme&#34;" in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_the_only_elements_are_the_pages_own(dom: Node) -> None:
    tags = Counter(node.tag for node in dom.iter())
    assert tags["script"] == 1 and tags["style"] == 1
    assert not {"img", "svg", "iframe", "object", "embed", "link", "base", "form", "a", "b", "premium"} & set(tags)
    assert all(not name.startswith("on") for node in dom.iter() for name in node.attrs)


def test_hostile_names_read_as_text_wherever_they_appear(dom: Node) -> None:
    drift = {row.cells()[0]: row.cells() for row in rows_of(dom.by_id("drift-table"))}
    assert drift["001000000000001AAA"][1] == HOSTILE
    assert drift["001000000000003AAA"][1] == IMG
    assert drift["001000000000003AAA"][4] == SVG_TAG  # the organization's current value
    assert drift["001000000000003AAA"][7] == HOSTILE  # the detail
    assert drift["001000000000004AAA"][1] == LONG
    assert drift["001000000000005AAA"][1] == UNICODE
    assert drift["001000000000005AAA"][7] == "422 Unprocessable Entity: <b>nope</b>"
    (problems,) = dom.by_id("problems").all("table")
    assert {row.cells()[1] for row in rows_of(problems)} >= {HOSTILE, CONTROLS_SHOWN}
    (orphans,) = dom.by_id("orphans").all("table")
    assert rows_of(orphans)[0].cells()[1:3] == [IMG, "0019999999999999<script>"]
    (routing,) = dom.by_id("routing").all("table")
    assert [row.cells()[1] for row in rows_of(routing)] == ["Tier: Gold <b>priority</b>", HOSTILE]
    keys = [item.text() for item in dom.by_id("changes").all("li")]
    assert any(HOSTILE in key for key in keys)
    tiers = [row.cells()[0] for row in rows_of(dom.by_id("tiers").all("table")[0])]
    assert tiers == ["Gold", "Silver <Premium>"]


def test_control_characters_are_shown_as_escapes_and_the_page_encodes(page: str) -> None:
    assert CONTROLS_SHOWN in page
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\u202e\ud800-\udfff]", page)
    page.encode("utf-8")  # a lone surrogate would not encode


# Self-contained.

def test_nothing_is_loaded_from_anywhere(page: str, dom: Node) -> None:
    lowered = page.lower()
    for needle in ("http://", "https://", "url(", "@import", "@font-face", "<link", "<img", "<iframe"):
        assert needle not in lowered, needle
    assert not re.search(r"<[a-z][^<>]*\s(src|href|srcset|action)\s*=", lowered)  # escaped text has no "<"
    assert all(not set(node.attrs) & {"src", "href", "srcset", "poster", "data", "action"} for node in dom.iter())


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_content_security_policy_allows_exactly_the_inline_style_and_script(dom: Node) -> None:
    (head,) = dom.all("head")
    elements = [child for child in head.children if isinstance(child, Node)]
    assert elements[0].attrs == {"charset": "utf-8"}
    assert elements[1].attrs["http-equiv"] == "Content-Security-Policy"  # before any style or script
    policy = {d.split()[0]: d.split()[1:] for d in str(elements[1].attrs["content"]).split("; ")}
    (style,), (script,) = dom.all("style"), dom.all("script")
    assert policy == {"default-src": ["'none'"], "style-src": [_hash(style.text())],
                      "script-src": [_hash(script.text())], "base-uri": ["'none'"], "form-action": ["'none'"]}


def test_the_template_and_its_assets_ship_in_the_package() -> None:
    folder = files("worker.render").joinpath("templates")
    for name in (TEMPLATE, *ASSETS):
        assert folder.joinpath(name).is_file(), name
    script = folder.joinpath("report.js").read_text(encoding="utf-8").lower()
    assert "</script" not in script and "<!--" not in script
    assert "</style" not in folder.joinpath("report.css").read_text(encoding="utf-8").lower()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["worker"]
    shipped = [path.relative_to(ROOT / "worker").as_posix() for path in (ROOT / "worker/render/templates").iterdir()]
    assert shipped and all(any(fnmatch(name, pattern) for pattern in patterns) for name in shipped), shipped


# The figures.

def test_header_names_the_report_its_time_and_the_previous_one(dom: Node) -> None:
    (header,) = dom.all("header")
    text = " ".join(header.text().split())
    assert "rep-20240501-1022" in text and "2024-05-01 10:22:30+00:00" in text and "rep-20240430-1000" in text
    assert "tiersync reconciliation rep-20240501-1022" in dom.all("title")[0].text()


def test_summary_shows_totals_per_category_that_add_up(dom: Node) -> None:
    document = sample_document()
    rows = {row.attrs["data-category"]: row.cells() for row in rows_of(dom.by_id("totals"))}
    assert list(rows) == [c.value for c in Category]
    counts = {category: int(cells[1]) for category, cells in rows.items()}
    assert counts == document["summary"]["totals"] == {"drift": 4, "last_write_failed": 2, "unknown_value": 2,
                                                        "duplicate_organizations": 1, "no_organization": 1,
                                                        "in_sync": 3}
    assert rows["last_write_failed"][0] == "Last write failed"
    (total,) = dom.by_id("totals").all("tfoot")
    assert total.all("tr")[0].cells()[:2] == ["Total", "13"] == ["Total", str(sum(counts.values()))]
    cards = [" ".join(span.text() for span in card.all("span")) for card in dom.by_id("summary").all("div")
             if "card" in str(card.attrs.get("class")).split()]
    for expected in ("13 accounts in Salesforce", "Yes drift: 6 account(s), 1 routing object(s)",
                     "2 new since the last report", "2 resolved since the last report", "2 orphan organizations",
                     "2 routing problems"):
        assert expected in cards, (expected, cards)


def test_tier_table_shows_both_sides_and_the_difference(dom: Node) -> None:
    rows = [row.cells() for row in rows_of(dom.by_id("tiers").all("table")[0])]
    assert rows == [["Gold", "tier_gold", "6", "5", "\u22121"], ["Silver <Premium>", "tier_silver", "5", "7", "+2"]]


def test_one_drift_row_per_drifted_account_in_report_order(dom: Node) -> None:
    rows = rows_of(dom.by_id("drift-table"))
    drifted = [a for a in sample_document()["accounts"] if a["category"] in ("drift", "last_write_failed")]
    assert [row.cells()[0] for row in rows] == [a["account_id"] for a in drifted]
    assert [row.attrs["data-category"] for row in rows] == [a["category"] for a in drifted]
    assert rows[0].cells() == ["001000000000001AAA", HOSTILE, "Drift", "tier_gold", "tier_silver", "9001",
                               "2024-05-01 10:22:03Z", "changed by hand"]
    assert rows[1].cells()[4] == "(none)" and rows[2].cells()[6] == "unknown"
    assert rows[5].cells()[2] == "Last write failed"
    assert rows[5].all("td")[5].attrs["data-sort"] == "807"
    assert " ".join(dom.by_id("drift-count").text().split()) == "Showing 6 of 6"
    assert "hidden" in dom.by_id("drift-controls").attrs  # the script shows them; no script, no dead controls
    options = [(o.attrs["value"], o.text()) for o in dom.by_id("drift-category").all("option")]
    assert options == [("", "All categories"), ("drift", "Drift (4)"), ("last_write_failed", "Last write failed (2)")]
    headers = [th.attrs.get("data-key") for th in dom.by_id("drift-table").all("th")]
    assert headers == ["account_id", "name", "category", "expected", "actual", "organization_id", "changed", "detail"]


def test_other_findings_are_collapsed_and_complete(dom: Node) -> None:
    for section in ("problems", "orphans", "routing", "changes"):
        assert "open" not in dom.by_id(section).attrs
    (problems,) = dom.by_id("problems").all("table")
    assert [(r.cells()[0], r.cells()[2]) for r in rows_of(problems)] == [
        ("001000000000007AAA", "Unknown value"), ("001000000000008AAA", "Unknown value"),
        ("001000000000009AAA", "Duplicate organizations"), ("001000000000010AAA", "No organization")]
    (orphans,) = dom.by_id("orphans").all("table")
    assert [r.cells()[0] for r in rows_of(orphans)] == ["9100", "9101"]
    (routing,) = dom.by_id("routing").all("table")
    assert [r.cells()[3] for r in rows_of(routing)] == ["drift", "collision"]
    codes = [code.text() for code in dom.by_id("changes").all("code")]
    document = sample_document()
    assert codes == document["new_drift"] + document["resolved_drift"]
    assert "routing:view:Old view" in codes


def test_valid_structure(page: str, dom: Node) -> None:
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    ids = [node.attrs["id"] for node in dom.iter() if "id" in node.attrs]
    assert len(ids) == len(set(ids))
    labelled = [node.attrs["aria-labelledby"] for node in dom.iter() if "aria-labelledby" in node.attrs]
    assert set(labelled) <= set(ids)
    labels = [node.attrs["for"] for node in dom.all("label")]
    assert set(labels) <= set(ids)
    assert len(dom.all("h1")) == 1 and len(dom.all("main")) == 1
    for table in dom.all("table"):
        widths = {len([c for c in row.children if isinstance(c, Node)]) for row in table.all("tr")}
        assert len(widths) == 1, widths


@pytest.mark.parametrize(("raw", "shown"), [
    ("2024-05-01T10:22:03Z", "2024-05-01 10:22:03Z"), ("2024-05-01T10:22:03.5+02:00", "2024-05-01 10:22:03.5+02:00"),
    ("Tuesday T1", "Tuesday T1"), ("2024-05-01", "2024-05-01"), (None, ""), ("x\x1bT", "x\\x1bT"),
])
def test_times_read_with_a_space_and_other_text_is_left_as_it_is(raw: str | None, shown: str) -> None:
    assert when(raw) == shown


def test_notes_and_fixed_counts_are_shown_as_text() -> None:
    report = replace(sample_report(), notes=("<i>routing</i> not read",), fixed={"organizations <b>": 3})
    dom = parse(render_html(report_document(report)))
    texts = [" ".join(section.text().split()) for section in dom.all("section", class_="notes")
             + dom.all("section", class_="notes fixed")]
    assert texts == ["<i>routing</i> not read", "Fixed by this run: organizations <b> 3"]


# Sizes.

def test_an_empty_report_says_so() -> None:
    dom = parse(render_html(report_document(Report("empty", "2024-05-01T00:00:00Z", (), ()))))
    assert "No drifted accounts" in dom.by_id("drift").text()
    assert dom.by_id("drift-status").all("span")[0].text() == "No"
    assert "first report" in dom.by_id("changes").text()


def test_a_large_report_lists_the_first_5000_and_says_where_the_rest_are() -> None:
    base = sample_report()
    many = tuple(account(f"001{i:015d}", f"Account {i}", Category.DRIFT, expected="tier_gold", actual="tier_silver",
                         organization_id=i) for i in range(LISTED + 3))
    page = render_html(report_document(replace(base, accounts=many + base.accounts[4:])))
    dom = parse(page)
    assert len(rows_of(dom.by_id("drift-table"))) == LISTED
    note = " ".join(dom.by_id("drift").all("p", class_="capped")[0].text().split())
    assert note == ("The page lists the first 5,000 of 5,005 drifted accounts; the other 5 are in the JSON and CSV "
                    "reports.")
    assert " ".join(dom.by_id("drift-count").text().split()) == "Showing 5,000 of 5,000"
    assert dom.by_id("summary").text().count("5,012") == 2  # accounts in total: the card and the totals row


def test_render_is_deterministic_and_does_not_touch_the_document() -> None:
    document = sample_document()
    before = repr(document)
    assert render_html(document) == render_html(document)
    assert repr(document) == before


def test_a_stored_json_report_renders_the_same_page() -> None:
    document = sample_document()
    assert render_html(json.loads(render_json(document))) == render_html(document)


def test_sample_has_every_category() -> None:
    assert all(sample_document()["summary"]["totals"][c.value] for c in Category)
