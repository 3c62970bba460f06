"""Building blocks of the tier file's schema, shared by its modules.

Scalars are read strictly: YAML's ``true`` is not the number 1.0 and ``"0.5"`` is not 0.5; a whole
number such as ``1`` is still a valid float. Text keys refuse numbers and booleans
(``salesforce_values: [1]``) instead of guessing how YAML wrote them (``1.10`` would read back as "1.1").
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Fraction = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0, le=1)]
Text = Annotated[str, Field(strict=True)]

# Zendesk stores tags lower-cased and splits them on whitespace, so a tag with capitals or spaces
# would never read back as written ("About tags", support.zendesk.com). We accept the conservative
# set of characters that survive unchanged.
TAG_PATTERN = re.compile(r"[a-z0-9_\-:/.]{1,80}")


def _tag(value: str) -> str:
    if not TAG_PATTERN.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid Zendesk tag: use 1-80 lowercase letters, digits or _ - : / .")
    return value


ZendeskTag = Annotated[Text, AfterValidator(_tag)]


class Strict(BaseModel):
    """A tier-file section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
