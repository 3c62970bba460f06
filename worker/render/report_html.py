"""The reconciliation report as one self-contained HTML page, for a support manager's browser.

The page renders :func:`worker.render.report.report_document`, so it says what the JSON, CSV and Markdown
reports say. Every row is rendered here, server-side: the page reads without JavaScript, and its one inline
script only sorts and filters the drift table (it also reads ``#filter=...&category=...&sort=...&dir=...``
from the URL, so a link, or a test, can open it filtered). Nothing is loaded from anywhere: the CSS and
the script are inline, and a Content-Security-Policy allows exactly those two (by their SHA-256 hashes) and
nothing else, so even markup that got into the page could neither run nor fetch anything.

Account and organization names, external ids, tags and error messages are untrusted text: Jinja escapes
every value (autoescape), and control characters are shown as Python-style escapes first (``visible``),
as in the terminal output.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from worker.core.report import DRIFTED, Category
from worker.render.text import visible

if TYPE_CHECKING:  # jinja2 is imported when a page is rendered: a sync never pays its memory
    from jinja2 import Environment

TEMPLATE = "report.html.j2"
ASSETS = ("report.css", "report.js")
LISTED = 5_000  # rows each list renders; the rest are in the JSON and CSV reports

LABELS = {
    Category.DRIFT: "Drift",
    Category.LAST_WRITE_FAILED: "Last write failed",
    Category.UNKNOWN_VALUE: "Unknown value",
    Category.DUPLICATE_ORGANIZATIONS: "Duplicate organizations",
    Category.NO_ORGANIZATION: "No organization",
    Category.IN_SYNC: "In sync",
}
_PROBLEMS = (Category.UNKNOWN_VALUE, Category.DUPLICATE_ORGANIZATIONS, Category.NO_ORGANIZATION)


def label(category: str) -> str:
    """A category in words ("last_write_failed" -> "Last write failed"); unknown ones spelled out."""
    try:
        return LABELS[Category(category)]
    except ValueError:
        return str(category).replace("_", " ").capitalize()


def shown(value: Any) -> str:
    """Untrusted text as the page shows it: control characters as escapes (Jinja then escapes the markup)."""
    return "" if value is None else visible(str(value))


def count(value: int) -> str:
    """A count with thousands separators."""
    return f"{value:,}"


def signed(value: int) -> str:
    """A difference: ``+3``, ``0``, or ``-2`` written with a minus sign (U+2212)."""
    return f"+{value:,}" if value > 0 else f"\u2212{-value:,}" if value < 0 else "0"


_ISO_DATE_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})T(?=\d)")


def when(value: Any) -> str:
    """An ISO 8601 time made easier to read (``2024-05-01 10:22:03Z``); other text as it is."""
    return _ISO_DATE_TIME.sub(r"\1 ", shown(value))


def csp_hash(source: str) -> str:
    """The CSP source expression that allows exactly this inline ``<style>`` or ``<script>`` body."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


@cache
def _environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    environment = Environment(loader=PackageLoader("worker.render", "templates"), autoescape=True,
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True)
    environment.filters.update(shown=shown, count=count, signed=signed, when=when, label=label)
    return environment


@cache
def _assets() -> tuple[str, str]:
    """The page's CSS and script, read from the installed package (``worker/render/templates``)."""
    folder = files("worker.render").joinpath("templates")
    css, script = (folder.joinpath(name).read_text(encoding="utf-8") for name in ASSETS)
    for name, text, forbidden in (("report.css", css, ("</style",)), ("report.js", script, ("</script", "<!--"))):
        if any(markup in text.lower() for markup in forbidden):  # would end the element early, or change how it parses
            raise ValueError(f"{name} must not contain {' or '.join(forbidden)}")
    return css, script


def content_security_policy(css: str, script: str) -> str:
    """Nothing but the page's own inline style and script, no fetch, no form, no ``<base>``."""
    return (f"default-src 'none'; style-src {csp_hash(css)}; script-src {csp_hash(script)}; "
            "base-uri 'none'; form-action 'none'")


def render_html(document: dict[str, Any]) -> str:
    """The report page: header, summary, tiers, the sortable drift table and the other problems, collapsed.

    Each list shows at most :data:`LISTED` rows and says how many more the JSON and CSV reports hold.
    """
    css, script = _assets()
    accounts = document["accounts"]
    drifted = [a for a in accounts if a["category"] in DRIFTED]
    problems = [a for a in accounts if a["category"] in _PROBLEMS]
    drift_categories = [(c.value, sum(1 for a in drifted if a["category"] == c)) for c in DRIFTED]
    tiers = [{**t, "difference": t["zendesk_organizations"] - t["salesforce_accounts"]} for t in document["tiers"]]
    names = {a["account_id"]: a["account_name"] for a in accounts}
    return _environment().get_template(TEMPLATE).render(
        document=document, summary=document["summary"], tiers=tiers, listed=LISTED,
        drifted=drifted, drift_categories=drift_categories, problems=problems,
        orphans=document["orphans"], routing=document["routing"],
        new_drift=[(key, _key_name(key, names)) for key in document["new_drift"]],
        resolved_drift=[(key, _key_name(key, names)) for key in document["resolved_drift"]],
        css=Markup(css), script=Markup(script),  # noqa: S704 - the package's own files, checked above
        csp=content_security_policy(css, script))


def _key_name(key: str, names: dict[str, str]) -> str | None:
    """The account name a drift key (``account:<id>:<expected>:<actual>``) refers to, when it is in the report."""
    kind, _, rest = key.partition(":")
    return names.get(rest.split(":", 1)[0]) if kind == "account" else None
