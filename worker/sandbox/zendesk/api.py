"""What every Zendesk endpoint module shares: the router, Zendesk's error answers, request bodies, lists.

Paths are routed without the ``.json`` suffix zenpy appends (the gateway strips it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from worker.sandbox.httpbase import Request, Response, Router
from worker.sandbox.zendesk.state import RecordInvalid

if TYPE_CHECKING:
    from worker.sandbox.zendesk.account import FakeZendesk

MAX_VALUES = 100
FORBIDDEN = {"error": "Forbidden", "description": "You do not have access to this page. Please contact the "
             "account owner of this help desk for further help."}
NOT_FOUND = {"error": "RecordNotFound", "description": "Not found"}
TOO_MANY = {"error": "TooManyValues", "description": "Parameter  cannot specify more than 100 values",
            "max_count": MAX_VALUES}


def error(status: int, error: str, description: str, **extra: Any) -> Response:
    """Zendesk's usual error body: ``{"error": ..., "description": ...}``."""
    return Response(status, {"error": error, "description": description, **extra})


def invalid_endpoint(request: Request) -> Response:
    return error(404, "InvalidEndpoint", "Not found")


# Zendesk answers a known path with a method it does not take like an unknown path.
router: Router[FakeZendesk] = Router(not_found=invalid_endpoint,
                                     method_not_allowed=lambda request, allowed: invalid_endpoint(request))


def json_body(request: Request) -> dict[str, Any]:
    """The JSON object in the body ({} for none or another JSON value); the gateway refused bodies that are not JSON."""
    body = request.json()
    return body if isinstance(body, dict) else {}


def record_invalid(exc: RecordInvalid) -> Response:
    return Response(422, {"error": "RecordInvalid", "description": "Record validation errors", "details": exc.details})


def split_list(raw: str | None) -> list[str]:
    """The items of a comma-separated query parameter (``ids=1,2,3``), blanks dropped."""
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def as_id(value: Any) -> int | None:
    """An id given as an integer or a string of digits (the OAS examples use both), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        return None
    return int(value)


def plain_list(key: str, items: list[dict[str, Any]]) -> Response:
    """A complete, single-page list in the offset-pagination shape."""
    return Response(200, {key: items, "next_page": None, "previous_page": None, "count": len(items)})
