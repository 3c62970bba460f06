"""SLA policies: filters checked against the SLA definitions, metrics, match order, and ``/api/v2/slas/policies``.

``title`` and ``filter`` (``{all, any}``) are required; ``policy_metrics`` are ``{priority, metric, target,
business_hours}`` with one target per priority and metric. Positions are the match order, 1 to n: a
policy created or moved to a position pushes the ones from there down; without one it goes last.
Every endpoint is for admins only (OAS).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from worker.sandbox.httpbase import Request, Response
from worker.sandbox.zendesk.api import (
    FORBIDDEN,
    NOT_FOUND,
    as_id,
    error,
    json_body,
    plain_list,
    record_invalid,
    router,
)
from worker.sandbox.zendesk.rules import RulesMixin, parse_conditions, sla_definition
from worker.sandbox.zendesk.state import RecordInvalid, invalid

if TYPE_CHECKING:
    from worker.sandbox.zendesk.account import FakeZendesk

SLA_PRIORITIES = ("low", "normal", "high", "urgent")
SLA_METRICS = ("first_reply_time", "next_reply_time", "periodic_update_time", "pausable_update_time",
               "requester_wait_time", "agent_work_time")
_POLICY = r"/api/v2/slas/policies/(?P<id>\d+)"


class SlaPoliciesMixin(RulesMixin):
    """The SLA policy rules of the account."""

    def ordered_sla_policies(self) -> list[dict[str, Any]]:
        return sorted(self.sla_policies.values(), key=lambda p: (p["position"], p["id"]))

    def render_sla_policy(self, policy: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"{self.base_url}/api/v2/slas/policies/{policy['id']}.json", **policy,
                "filter": {part: [dict(c) for c in policy["filter"][part]] for part in ("all", "any")},
                "policy_metrics": [dict(m) for m in policy["policy_metrics"]]}

    def create_sla_policy(self, data: dict[str, Any]) -> dict[str, Any]:
        """Validate and create an SLA policy from an API payload; raises RecordInvalid."""
        with self.lock:
            policy: dict[str, Any] = {"id": 0, "title": "", "description": None,
                                      "position": len(self.sla_policies) + 1,
                                      "filter": {"all": [], "any": []}, "policy_metrics": []}
            self._apply_sla_changes(policy, data, creating=True)
            policy["id"] = self.new_id("sla_policy")
            policy["created_at"] = policy["updated_at"] = self.now_iso()
            self.sla_policies[policy["id"]] = policy
            self.place_sla_policy(policy["id"], data.get("position"))
            return policy

    def update_sla_policy(self, policy: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """Replace what ``data`` names (filter and policy_metrics as wholes); raises RecordInvalid first."""
        with self.lock:
            changed = dict(policy)
            self._apply_sla_changes(changed, data, creating=False)
            policy.update(changed, updated_at=self.now_iso())
            if "position" in data:
                self.place_sla_policy(policy["id"], data["position"])
            return policy

    def place_sla_policy(self, policy_id: int, position: Any) -> None:
        """Move a policy to ``position`` (1-based; last when None) and number every policy 1 to n."""
        others = [p for p in self.ordered_sla_policies() if p["id"] != policy_id]
        index = len(others) if not isinstance(position, int) or isinstance(position, bool) else \
            min(max(position - 1, 0), len(others))
        others.insert(index, self.sla_policies[policy_id])
        for number, policy in enumerate(others, start=1):
            policy["position"] = number

    def _apply_sla_changes(self, policy: dict[str, Any], data: dict[str, Any], creating: bool) -> None:
        if creating or "title" in data:
            title = data.get("title")
            if not isinstance(title, str) or not title.strip():
                raise RecordInvalid(invalid("title", "Title: cannot be blank", "BlankValue"))
            policy["title"] = title.strip()
        if "description" in data:
            policy["description"] = None if data["description"] is None else str(data["description"])
        if "position" in data and (not isinstance(data["position"], int) or isinstance(data["position"], bool)):
            raise RecordInvalid(invalid("position", "Position is invalid", "InvalidValue"))
        if creating or "filter" in data:
            raw = data.get("filter")
            if not isinstance(raw, dict):
                raise RecordInvalid(invalid("filter", "Filter: cannot be blank", "BlankValue"))
            conditions = {part: parse_conditions(raw.get(part), "filter") for part in ("all", "any")}
            self.check_conditions("sla_policy", conditions, "filter")
            policy["filter"] = conditions
        if "policy_metrics" in data:
            policy["policy_metrics"] = _policy_metrics(data["policy_metrics"])


def _policy_metrics(raw: Any) -> list[dict[str, Any]]:
    """Validated policy metrics; raises RecordInvalid."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(m, dict) for m in raw):
        raise RecordInvalid(invalid("policy_metrics", "Policy metrics must be a list", "InvalidValue"))
    metrics: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for item in raw:
        priority, metric, target = item.get("priority"), item.get("metric"), item.get("target")
        business_hours = item.get("business_hours", False)
        if priority not in SLA_PRIORITIES:
            problem = f"Priority {priority!r} is not one of {', '.join(SLA_PRIORITIES)}"
        elif metric not in SLA_METRICS:
            problem = f"Metric {metric!r} is not one of {', '.join(SLA_METRICS)}"
        elif isinstance(target, bool) or not isinstance(target, int) or target <= 0:
            problem = f"Target {target!r} must be a positive number of minutes"
        elif not isinstance(business_hours, bool):
            problem = "Business hours must be true or false"
        elif (priority, metric) in seen:
            problem = f"{metric} has more than one target for priority {priority}"
        else:
            seen.add((priority, metric))
            metrics.append({"priority": priority, "metric": metric, "target": target,
                            "business_hours": business_hours})
            continue
        raise RecordInvalid(invalid("policy_metrics", problem, "InvalidValue"))
    return metrics


def _admin_only(zd: FakeZendesk) -> Response | None:
    return None if zd.role == "admin" else Response(403, FORBIDDEN)


@router.route("GET", "/api/v2/slas/policies")
def _list_policies(zd: FakeZendesk, request: Request) -> Response:
    return _admin_only(zd) or plain_list("sla_policies", [zd.render_sla_policy(p) for p in zd.ordered_sla_policies()])


@router.route("GET", "/api/v2/slas/policies/definitions")
def _policy_definitions(zd: FakeZendesk, request: Request) -> Response:
    conditions = [sla_definition(f) for f in zd.condition_fields("sla_policy")]
    return _admin_only(zd) or Response(200, {"definitions": {"all": conditions, "any": conditions}})


@router.route("PUT", "/api/v2/slas/policies/reorder")
def _reorder_policies(zd: FakeZendesk, request: Request) -> Response:
    """The ids, in the new match order, as ``sla_policy_ids`` in the body or the query; the others follow."""
    refusal = _admin_only(zd)
    if refusal is not None:
        return refusal
    raw = json_body(request).get("sla_policy_ids")
    if raw is None:
        raw = [part for k in ("sla_policy_ids", "sla_policy_ids[]") for v in request.query.get(k, [])
               for part in v.split(",") if part.strip()]
    ids = [as_id(i) for i in raw] if isinstance(raw, list) else []
    if not ids or any(i is None or i not in zd.sla_policies for i in ids):
        return record_invalid(RecordInvalid(invalid("sla_policy_ids", "Give the ids of existing SLA policies",
                                                    "InvalidValue")))
    for policy_id in reversed(ids):  # each goes first in turn, so they end in the given order
        zd.place_sla_policy(int(policy_id or 0), 1)
    return Response(200, b"")  # the OAS answer: an empty body


@router.route("POST", "/api/v2/slas/policies")
def _create_policy(zd: FakeZendesk, request: Request) -> Response:
    refusal = _admin_only(zd)
    if refusal is not None:
        return refusal
    data = json_body(request).get("sla_policy")
    if not isinstance(data, dict):
        return error(400, "InvalidValue", "sla_policy parameter is required")
    try:
        policy = zd.create_sla_policy(data)
    except RecordInvalid as exc:
        return record_invalid(exc)
    return Response(201, {"sla_policy": zd.render_sla_policy(policy)})


@router.route("GET", _POLICY)
def _show_policy(zd: FakeZendesk, request: Request) -> Response:
    policy = zd.sla_policies.get(int(request.params["id"]))
    if policy is None:
        return Response(404, NOT_FOUND)
    return _admin_only(zd) or Response(200, {"sla_policy": zd.render_sla_policy(policy)})


@router.route("PUT", _POLICY)
def _update_policy(zd: FakeZendesk, request: Request) -> Response:
    policy = zd.sla_policies.get(int(request.params["id"]))
    if policy is None:
        return Response(404, NOT_FOUND)
    refusal = _admin_only(zd)
    if refusal is not None:
        return refusal
    data = json_body(request).get("sla_policy")
    if not isinstance(data, dict):
        return error(400, "InvalidValue", "sla_policy parameter is required")
    try:
        zd.update_sla_policy(policy, data)
    except RecordInvalid as exc:
        return record_invalid(exc)
    return Response(200, {"sla_policy": zd.render_sla_policy(policy)})


@router.route("DELETE", _POLICY)
def _delete_policy(zd: FakeZendesk, request: Request) -> Response:
    policy_id = int(request.params["id"])
    if policy_id not in zd.sla_policies:
        return Response(404, NOT_FOUND)
    refusal = _admin_only(zd)
    if refusal is not None:
        return refusal
    del zd.sla_policies[policy_id]
    for number, policy in enumerate(zd.ordered_sla_policies(), start=1):
        policy["position"] = number
    return Response(204)
