import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.core.ids import InvalidSalesforceId, to_18, try_to_18

ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("001D000000IRFma", "001D000000IRFmaIAH"),  # Salesforce's documented example
        ("001D000000IRFmaIAH", "001D000000IRFmaIAH"),
        ("001d000000irfmaiah", "001D000000IRFmaIAH"),  # Zendesk-style case folding is undone
        ("001D000000IRFMAIAH", "001D000000IRFmaIAH"),
        ("  001D000000IRFma  ", "001D000000IRFmaIAH"),
    ],
)
def test_to_18_canonicalises(raw: str, expected: str) -> None:
    assert to_18(raw) == expected


@pytest.mark.parametrize("raw", ["", "001D000000IRF", "001D000000IRFma!", "001D000000IRFmaIA", "001D000000IRFma999"])
def test_to_18_rejects_non_ids(raw: str) -> None:
    with pytest.raises(InvalidSalesforceId):
        to_18(raw)
    assert try_to_18(raw) is None


def test_try_to_18_rejects_non_strings() -> None:
    assert try_to_18(None) is None
    assert try_to_18(12345) is None


@given(st.text(alphabet=ALNUM, min_size=15, max_size=15))
def test_any_case_of_the_18_char_form_maps_back(id15: str) -> None:
    canonical = to_18(id15)
    assert canonical[:15] == id15
    assert to_18(canonical.lower()) == canonical
    assert to_18(canonical.upper()) == canonical
    assert to_18(canonical) == canonical
