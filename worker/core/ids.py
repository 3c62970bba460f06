"""Salesforce record ids: 15-character and 18-character (case-safe) forms.

A Salesforce id is 15 case-sensitive characters; the 18-character form appends a three
character checksum that encodes the case of the first fifteen, so that systems which compare
ids case-insensitively (Zendesk compares ``external_id`` that way) can still tell ids apart.
Algorithm: for each five-character chunk, bit *i* is set when character *i* is an uppercase
ASCII letter; the five bits index ``A-Z0-5``.
Source: https://help.salesforce.com/s/articleView?id=000385008 ("What are Salesforce IDs
composed of?") and the CASESAFEID() formula documentation.
"""

from __future__ import annotations

import string

_SUFFIX_ALPHABET = string.ascii_uppercase + "012345"
_ID_CHARS = frozenset(string.ascii_letters + string.digits)
# A five-character chunk's case bits as the translation below writes them ("00010": 4th is uppercase)
# -> its checksum character; bit i is character i, so the bit string is read right to left.
_CHUNK_SUFFIX = {format(n, "05b")[::-1]: _SUFFIX_ALPHABET[n] for n in range(32)}


class InvalidSalesforceId(ValueError):
    """Raised when a value cannot be a Salesforce record id."""


_UPPER_AS_ONE = str.maketrans({char: "1" if char in string.ascii_uppercase else "0"
                               for char in string.ascii_letters + string.digits})


def _suffix(id15: str) -> str:
    """The checksum: per five-character chunk, bit i set when character i is an uppercase ASCII letter."""
    bits = id15.translate(_UPPER_AS_ONE)  # e.g. "001Ab..." -> "00010..."; the translation runs in C
    return _CHUNK_SUFFIX[bits[:5]] + _CHUNK_SUFFIX[bits[5:10]] + _CHUNK_SUFFIX[bits[10:15]]


def _restore_case(id18: str) -> str:
    """Rebuild the exact case of an 18-character id whose letters may have been re-cased."""
    suffix = id18[15:].upper()
    if _suffix(id18[:15]) == suffix:  # already in its own case
        return id18[:15] + suffix
    restored = []
    for chunk, suffix_char in enumerate(suffix):
        if suffix_char not in _SUFFIX_ALPHABET:
            raise InvalidSalesforceId(f"{id18!r}: checksum character {suffix_char!r} is not A-Z or 0-5")
        bits = _SUFFIX_ALPHABET.index(suffix_char)
        for position, char in enumerate(id18[chunk * 5 : chunk * 5 + 5]):
            restored.append(char.upper() if bits & (1 << position) else char.lower())
    return "".join(restored) + suffix


def to_18(raw: str) -> str:
    """Return the canonical 18-character case-safe form of a Salesforce id.

    Accepts the 15-character form (case-sensitive, taken as given) or the 18-character form in
    any letter case (the checksum restores the original case). Surrounding whitespace is ignored.

    Raises:
        InvalidSalesforceId: the value is not 15 or 18 letters and digits, or its checksum
            does not match.

    """
    value = raw.strip()
    if len(value) not in (15, 18) or not set(value) <= _ID_CHARS:
        raise InvalidSalesforceId(f"{raw!r} is not a 15- or 18-character Salesforce id")
    if len(value) == 15:
        return value + _suffix(value)
    suffix = value[15:].upper()
    if _suffix(value[:15]) == suffix:  # in its own case (the usual: ids are copied, not re-cased); the value
        return value if value[15:] == suffix else value[:15] + suffix  # itself: one string per id, not two
    canonical = _restore_case(value)
    if _suffix(canonical[:15]) != canonical[15:]:
        raise InvalidSalesforceId(f"{raw!r}: checksum does not match the id")
    return canonical


def try_to_18(raw: object) -> str | None:
    """Like :func:`to_18`, but returns None for anything that is not a Salesforce id."""
    if not isinstance(raw, str):
        return None
    try:
        return to_18(raw)
    except InvalidSalesforceId:
        return None
