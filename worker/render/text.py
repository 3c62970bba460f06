"""Text made safe for a terminal: the one place untrusted text is escaped.

Account and organization names, external ids, option labels, service error messages and
configured text are data, never markup: every value interpolated into a rich markup string goes
through :func:`literal`, and every Console tiersync creates comes from :func:`make_console` (no
emoji codes, no highlighting). Log lines go through :func:`visible`.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console

# C0 and C1 controls and DEL, line/paragraph separators, bidirectional controls, lone surrogates.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                      "\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(text: str) -> str:
    r"""``text`` with every control character shown as a Python-style escape.

    ESC becomes ``\x1b``, a newline ``\n``, a tab ``\t``, U+202E ``\u202e``: no escape sequence
    reaches the terminal, and a name cannot forge extra lines or reorder what follows. Spaces and
    printable non-ASCII text ("Müller GmbH", "株式会社") are kept as they are.
    """
    return _CONTROL.sub(_escaped, text)


# A "[" with the backslashes before it; group 2 is set when rich would read a tag there
# (rich.markup.RE_TAGS: "[" then one of a-z # / @, up to the next "]" without another "[").
_BRACKET = re.compile(r"(\\*)\[(?=([a-z#/@][^[]*?\])?)")


def _bracket_escaped(match: re.Match[str]) -> str:
    backslashes, tag = match.group(1), match.group(2)
    if tag is not None:  # rich prints half the backslashes, then the tag as text
        return backslashes * 2 + "\\["
    return backslashes + "\\[" if backslashes else "["  # rich turns "\\[" into "[" even before a non-tag


def literal(value: object) -> str:
    """``str(value)`` made :func:`visible`, as rich markup that prints exactly that text.

    Markup such as ``[/]`` or ``[link=...]`` is escaped, and backslashes survive: rich's own
    ``escape`` drops a backslash before a non-tag ``[``, and a trailing backslash would escape a
    tag that follows. A trailing run is therefore doubled and closed by an empty ``[i][/i]``.
    """
    text = visible(str(value))
    body = text.rstrip("\\")
    trailing = len(text) - len(body)
    return _BRACKET.sub(_bracket_escaped, body) + ("\\" * (2 * trailing) + "[i][/i]" if trailing else "")


def make_console(**options: Any) -> Console:
    """A rich Console that shows text literally: no ``:emoji:`` codes, no automatic highlighting."""
    return Console(emoji=False, highlight=False, **options)
