"""The per-tier service report as documents: JSON, CSV (one row per tier) and Markdown.

The document (version 1) is built elsewhere (``tiersync report service``); this module and
:mod:`worker.render.service_html` only render it, so every format says the same thing. Tier titles, tier
names, configured target names and the notes are untrusted text: CSV cells a spreadsheet would run as a
formula are defused (:func:`~worker.render.report.csv_cell`), Markdown escapes its own markup and HTML
(:func:`~worker.render.report.markdown_literal`) after control characters are made visible, and JSON is JSON.

The small formatters here (:func:`duration`, :func:`exact_duration`, :func:`percent`) are shared with the
HTML page, so a figure reads the same in every format.
"""

from __future__ import annotations

import io
from typing import Any

from worker.render.report import csv_cell, csv_writer, markdown_literal, render_json

CSV_COLUMNS = ("tier", "title", "tickets", "solved", "first_reply_median_minutes", "first_reply_p90_minutes",
               "full_resolution_median_minutes", "sla_applied", "sla_breached", "sla_achieved_pct", "csat_good",
               "csat_bad", "csat_score_pct", "min_sla_achieved_pct", "below_min")

NONE = "\u2014"  # an em dash: how a null figure is shown to people

METRIC_NAMES = {"first_reply_time": "first reply", "next_reply_time": "next reply",
                "periodic_update_time": "periodic update", "requester_wait_time": "requester wait",
                "agent_work_time": "agent work", "pausable_update_time": "pausable update"}


def _one_decimal(value: float) -> str:
    """``3.5``, ``3`` (not ``3.0``) below ten; whole numbers from ten on (``21``, ``1,234``)."""
    if abs(value) < 9.95:
        return f"{value:.1f}".removesuffix(".0")
    return f"{round(value):,}"


def duration(minutes: float) -> str:
    """Minutes for people, as a chart labels them: ``42 min``, ``21 h``, ``1.5 h``, ``3.5 d`` (a day is 24 h)."""
    if minutes < 59.5:
        return f"{round(minutes):,} min"
    if minutes < 1440 - 3:  # 1,437 minutes and more read as "1 d", not "24 h"
        return f"{_one_decimal(minutes / 60)} h"
    return f"{_one_decimal(minutes / 1440)} d"


def exact_duration(minutes: int) -> str:
    """A configured target exactly: in days or hours when it is a whole number of them, else in minutes."""
    if minutes and minutes % 1440 == 0:
        return f"{minutes // 1440:,} d"
    if minutes and minutes % 60 == 0:
        return f"{minutes // 60:,} h"
    return f"{minutes:,} min"


def minutes_text(minutes: int | None) -> str:
    """Exact minutes (``1,260 min``), then the same for people when that differs (``1,260 min (21 h)``)."""
    if minutes is None:
        return NONE
    exact = f"{minutes:,} min"
    return exact if minutes < 60 else f"{exact} ({duration(minutes)})"


def percent(value: float | None) -> str:
    """A percentage with one decimal (``94.0%``), or the dash for no data."""
    return NONE if value is None else f"{value:.1f}%"


def metric_name(metric: str) -> str:
    """A target's metric in words (``first_reply_time`` -> ``first reply``); others spelled out."""
    return METRIC_NAMES.get(metric) or str(metric).removesuffix("_time").replace("_", " ")


def targets_list(targets: dict[str, dict[str, int]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The configured targets as ``[(metric in words, [(priority, exact duration), ...]), ...]``.

    First reply comes first (it sits beside the measured first reply time); the others keep the document's order.
    """
    ordered = sorted(targets.items(), key=lambda item: item[0] != "first_reply_time")
    return [(metric_name(metric), [(str(priority), exact_duration(minutes)) for priority, minutes in by.items()])
            for metric, by in ordered]


def render_service_json(document: dict[str, Any]) -> str:
    """The document, indented (the reconciliation report's JSON writer: same layout, non-ASCII kept)."""
    return render_json(document)


def csv_row(tier: dict[str, Any]) -> dict[str, Any]:
    """One tier as the flat CSV record (:data:`CSV_COLUMNS`); ``None`` for a null figure."""
    first_reply, sla, csat = tier["first_reply_minutes"], tier["sla"], tier["csat"]
    return {"tier": tier["tier"], "title": tier["title"], "tickets": tier["tickets"], "solved": tier["solved"],
            "first_reply_median_minutes": first_reply["median"], "first_reply_p90_minutes": first_reply["p90"],
            "full_resolution_median_minutes": tier["full_resolution_minutes"]["median"],
            "sla_applied": sla["applied"], "sla_breached": sla["breached"], "sla_achieved_pct": sla["achieved_pct"],
            "csat_good": csat["good"], "csat_bad": csat["bad"], "csat_score_pct": csat["score_pct"],
            "min_sla_achieved_pct": tier["min_sla_achieved_pct"],
            "below_min": "true" if tier["below_min"] else "false"}


def render_service_csv(document: dict[str, Any]) -> str:
    """One row per tier (untiered last), with a header; an empty cell for null, every cell defused."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for tier in document["tiers"]:
        row = csv_row(tier)
        writer.writerow([csv_cell(row[column]) for column in CSV_COLUMNS])
    return buffer.getvalue()


md = markdown_literal  # untrusted text for Markdown: control characters made visible, then markup escaped


def _md_targets(targets: dict[str, dict[str, int]]) -> str:
    listed = targets_list(targets)
    if not listed:
        return NONE
    return "; ".join(f"{md(metric)}: " + ", ".join(f"{md(priority)} {minutes}" for priority, minutes in items)
                     for metric, items in listed)


def render_service_markdown(document: dict[str, Any]) -> str:
    """A report for a ticket or a wiki page: the window, one table of every tier, tiers below their minimum, notes."""
    window = document["window"]
    lines = [f"# tiersync service report: the last {document['days']:,} days", "",
             f"Window {md(window['start'])} to {md(window['end'])}; generated {md(document['generated_at'])}", "",
             "| tier | tickets | solved | first reply median | first reply p90 | targets | full resolution median | "
             "SLA achieved | SLA breached / applied | minimum SLA | CSAT | CSAT good / bad |",
             "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    for tier in document["tiers"]:
        first_reply, sla, csat = tier["first_reply_minutes"], tier["sla"], tier["csat"]
        achieved = percent(sla["achieved_pct"]) + (" **below the minimum**" if tier["below_min"] else "")
        lines.append(
            f"| {md(tier['title'])} | {tier['tickets']:,} | {tier['solved']:,} | "
            f"{minutes_text(first_reply['median'])} | {minutes_text(first_reply['p90'])} | "
            f"{_md_targets(tier['targets'])} | "
            f"{minutes_text(tier['full_resolution_minutes']['median'])} | {achieved} | "
            f"{sla['breached']:,} / {sla['applied']:,} | {percent(tier['min_sla_achieved_pct'])} | "
            f"{percent(csat['score_pct'])} | {csat['good']:,} / {csat['bad']:,} |")
    below = [tier for tier in document["tiers"] if tier["below_min"]]
    if below:
        lines += ["", "## Below the minimum SLA", ""]
        lines += [f"- **{md(tier['title'])}** is below the minimum SLA: {percent(tier['sla']['achieved_pct'])} "
                  f"of SLA targets achieved, minimum {percent(tier['min_sla_achieved_pct'])}" for tier in below]
    if document["notes"]:
        lines += ["", "## Notes", ""]
        lines += [f"- {md(note)}" for note in document["notes"]]
    return "\n".join(lines) + "\n"
