"""Every Zendesk request tiersync makes is an operation listed in Zendesk's official OpenAPI spec.

The spec is not part of the project: this test reads it from $TIERSYNC_ZENDESK_OAS or from
../shared/specs/zendesk-support-oas.yaml beside the checkout, and skips when neither exists.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.integration.conftest import World

pytestmark = pytest.mark.integration

SPEC = Path(os.environ.get("TIERSYNC_ZENDESK_OAS", ROOT.parent / "shared" / "specs" / "zendesk-support-oas.yaml"))


@pytest.fixture(scope="module")
def operations() -> list[tuple[str, re.Pattern[str]]]:
    if not SPEC.is_file():
        pytest.skip(f"Zendesk OpenAPI spec not found at {SPEC}")
    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        """Safe loader that reads a bare `=` (PyYAML's obsolete !!value tag) as a string."""

    Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))
    paths = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=Loader)["paths"]
    found = []
    for template, item in paths.items():
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")
        found += [(method.upper(), pattern) for method in item if method in ("get", "post", "put", "delete", "patch")]
    return found


def test_every_request_is_in_the_spec(world: World, operations: list[tuple[str, re.Pattern[str]]]) -> None:
    world.sandbox.zendesk.fail_org_ids = {next(iter(world.sandbox.zendesk.organizations))}
    for args in (["doctor"], ["sync", "--full", "--dry-run"], ["sync", "--full"], ["sync"],
                 ["resync", next(iter(world.sandbox.salesforce.accounts))]):
        world.cli(*args)
    world.config_path.write_text(world.config_path.read_text().replace("title: Starter", "title: Starter plan"))
    assert world.cli("sync").exit_code in (0, 8)  # renames an option: PUT organization_fields/{id}
    assert world.cli("routing", "apply").exit_code == 0  # creates a category, triggers, views, SLA policies
    text = world.config_path.read_text()
    world.config_path.write_text(re.sub(r"  - name: starter\n(    .*\n|      .*\n)*", "",  # deletes
                                        text.replace("priority: high", "priority: urgent")))  # updates
    assert world.cli("routing", "apply").exit_code == 0
    seen = {(method, re.sub(r"/[0-9]+$", "/{id}", path)) for method, path, _ in world.sandbox.zendesk.requests}
    assert len(seen) == 9 + 16  # every operation tiersync uses was exercised (organizations + routing)
    assert any(m == "PUT" and p.startswith("/api/v2/organization_fields/") for m, p in seen)
    unlisted = sorted((m, p) for m, p in seen if not any(m == om and pattern.match(p) for om, pattern in operations))
    assert unlisted == []
