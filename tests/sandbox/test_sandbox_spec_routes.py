"""Every endpoint the fake Zendesk serves is an operation (method + path template) of Zendesk's official OAS.

The spec is not part of the project: read from $TIERSYNC_ZENDESK_OAS or ../shared/specs/zendesk-support-oas.yaml
beside the checkout (as tests/integration/test_zendesk_spec.py does); skipped when neither exists.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from worker.sandbox.zendesk.api import router

SPEC = Path(os.environ.get("TIERSYNC_ZENDESK_OAS", ROOT.parent / "shared" / "specs" / "zendesk-support-oas.yaml"))
METHODS = ("get", "post", "put", "delete", "patch")


def _template(path: str) -> str:
    """A path with every parameter written ``{}``: ``/api/v2/triggers/{}``."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def _route_template(pattern: str) -> str:
    r"""A route's pattern as a template: ``/api/v2/triggers/(?P<id>\d+)`` -> ``/api/v2/triggers/{}``."""
    return re.sub(r"\(\?P<\w+>[^)]*\)", "{}", pattern)


@pytest.fixture(scope="module")
def spec_operations() -> set[tuple[str, str]]:
    if not SPEC.is_file():
        pytest.skip(f"Zendesk OpenAPI spec not found at {SPEC}")

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        """Safe loader that reads a bare `=` (PyYAML's obsolete !!value tag) as a string."""

    Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))
    paths = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=Loader)["paths"]
    return {(method.upper(), _template(path)) for path, item in paths.items() for method in item if method in METHODS}


def test_every_route_is_an_operation_of_the_spec(spec_operations: set[tuple[str, str]]) -> None:
    routes = {(route.method, _route_template(route.pattern.pattern)) for route in router.routes}
    assert ("GET", "/api/v2/triggers/definitions") in routes and ("PATCH", "/api/v2/trigger_categories/{}") in routes
    assert ("GET", "/api/v2/incremental/organizations") in routes  # IncrementalOrganizationExport
    assert {("GET", "/api/v2/incremental/tickets/cursor"),  # IncrementalTicketExportCursor
            ("GET", "/api/v2/incremental/ticket_metric_events"),  # ListTicketMetricEvents
            ("GET", "/api/v2/satisfaction_ratings")} <= routes  # ListSatisfactionRatings
    assert sorted(routes - spec_operations) == []


def test_route_templates() -> None:
    assert _route_template(r"/api/v2/slas/policies/(?P<id>\d+)") == "/api/v2/slas/policies/{}"
    assert _template("/api/v2/slas/policies/{sla_policy_id}") == "/api/v2/slas/policies/{}"
