"""Seeds the Zendesk groups the demo tier file routes tickets to, one per tier.

No random draw: seeding groups leaves the one random stream, and so the rest of the demo data, as it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from worker.sandbox.zendesk import FakeZendesk

DEMO_GROUPS = ("Enterprise Support", "Professional Support", "Starter Support")


def seed_groups(zd: FakeZendesk) -> list[int]:
    """Create the demo groups not there yet; returns the id of each, in :data:`DEMO_GROUPS` order."""
    ids = []
    for name in DEMO_GROUPS:
        existing = zd.group_named(name)
        ids.append(existing if existing is not None else zd.add_group(name, f"{name.split()[0]}-tier tickets"))
    return ids
