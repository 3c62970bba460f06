"""Defect 10: untrusted text reaches the terminal literally (worker.render.literal / visible)."""

from __future__ import annotations

import io
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.text import Text

from worker.render.text import literal, make_console, visible

CONTROL_CATEGORIES = {"Cc", "Cs", "Zl", "Zp"}
BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
MARKUPISH = st.text(alphabet=st.sampled_from([*"[]/\\:ab =#@x", "\x1b", "\n", "\u202e", "\x9b", "é"]))


def is_control(char: str) -> bool:
    return unicodedata.category(char) in CONTROL_CATEGORIES or char in BIDI_CONTROLS


def rendered(markup: str) -> str:
    return Text.from_markup(markup, emoji=False).plain


@pytest.mark.parametrize(("raw", "shown"), [
    ("Müller GmbH", "Müller GmbH"),
    ("株式会社 Acme", "株式会社 Acme"),
    ("\x1b[2J", "\\x1b[2J"),
    ("one\ntwo\tthree\rfour", "one\\ntwo\\tthree\\rfour"),
    ("bell\x07 del\x7f csi\x9b", "bell\\x07 del\\x7f csi\\x9b"),
    ("right\u202eleft \u2028", "right\\u202eleft \\u2028"),
    ("lone \ud800 surrogate", "lone \\ud800 surrogate"),
    ("zero\u200dwidth joiner kept", "zero\u200dwidth joiner kept"),
])
def test_visible_shows_control_characters_as_python_escapes(raw: str, shown: str) -> None:
    assert visible(raw) == shown


@pytest.mark.parametrize("raw", ["[/]", "[link=https://evil.example]click[/link]", "[bold]x", ":star:",
                                 "sla:star:gold", "a\\", "a\\\\", "a\\\\\\", "\\[b]", "[b]\\"])
def test_literal_renders_back_to_exactly_the_text(raw: str) -> None:
    for template, plain in [("{}", "{}"), ("[bold]{}[/bold]", "{}"), ("{} (x)", "{} (x)"),
                            ("[red]a:[/red] {}", "a: {}"), ("[dim]{}[/]{}", "{}{}")]:
        assert rendered(template.format(literal(raw), literal(raw))) == plain.format(raw, raw)


@given(st.one_of(st.text(), MARKUPISH))
def test_literal_never_contains_a_control_character_and_renders_as_visible(raw: str) -> None:
    markup = literal(raw)
    assert not any(is_control(char) for char in markup)
    assert not any(is_control(char) for char in visible(raw))
    assert rendered(markup) == visible(raw)
    assert rendered(f"[bold]{markup}[/bold]: {markup}") == f"{visible(raw)}: {visible(raw)}"


def test_console_shows_no_emoji_link_or_escape_even_on_a_terminal() -> None:
    buffer = io.StringIO()
    console = make_console(file=buffer, force_terminal=True, color_system="truecolor", width=200)
    evil = "[link=https://evil.example]click[/link] :star: \x1b[2J \x1b]8;;https://x\x1b\\y"
    console.print(f"[bold]{literal(evil)}[/bold]")
    console.print(literal(":star: sla:star:gold"))
    output = buffer.getvalue()
    assert "⭐" not in output and "\x1b]8;" not in output and "\x1b[2J" not in output
    assert "[link=https://evil.example]click[/link]" in output and ":star: sla:star:gold" in output
    assert make_console(file=io.StringIO())._emoji is False
    assert make_console(file=io.StringIO())._highlight is False
