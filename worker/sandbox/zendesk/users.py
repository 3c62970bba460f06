"""``users/me``: the API token's user, or Zendesk's anonymous user for a request without credentials."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from worker.sandbox.httpbase import Request, Response
from worker.sandbox.zendesk.api import router
from worker.sandbox.zendesk.state import USER_ID, ZendeskState

if TYPE_CHECKING:
    from worker.sandbox.zendesk.account import FakeZendesk


def anonymous_user() -> dict[str, Any]:
    """What ``GET users/me`` answers without an Authorization header (the gateway serves it before auth)."""
    return {"id": None, "url": None, "name": "Anonymous user", "email": "invalid@example.com", "role": "end-user",
            "active": True, "verified": False, "locale": "en-US", "time_zone": "UTC"}


def current_user(zd: ZendeskState) -> dict[str, Any]:
    """The token's user, shaped like the OAS CurrentUserResponse."""
    now = zd.now_iso()
    return {"id": USER_ID, "url": f"{zd.base_url}/api/v2/users/{USER_ID}.json", "name": "Sandbox Admin",
            "email": zd.email, "created_at": now, "updated_at": now, "time_zone": "UTC",
            "iana_time_zone": "Etc/UTC", "locale": "en-US", "locale_id": 1, "organization_id": None,
            "role": zd.role, "role_type": 4 if zd.role == "admin" else None, "custom_role_id": None,
            "active": True, "verified": True, "suspended": False, "restricted_agent": False,
            "moderator": zd.role == "admin", "only_private_comments": False, "shared": False,
            "shared_agent": False, "ticket_restriction": None, "external_id": None, "tags": [],
            "user_fields": {}, "authenticity_token": secrets.token_urlsafe(24)}


@router.route("GET", "/api/v2/users/me")
def show_me(zd: FakeZendesk, request: Request) -> Response:
    return Response(200, {"user": current_user(zd)})
