"""Organization fields: validation, option changes and ``/api/v2/organization_fields``.

Replacing a field's options keeps the values of kept options (following a renamed value) and wipes the
values of removed ones on every organization.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from worker.sandbox.httpbase import Request, Response
from worker.sandbox.zendesk.api import FORBIDDEN, NOT_FOUND, error, json_body, plain_list, record_invalid, router
from worker.sandbox.zendesk.state import RecordInvalid, ZendeskState, invalid

if TYPE_CHECKING:
    from worker.sandbox.zendesk.account import FakeZendesk

FIELD_TYPES = ("text", "textarea", "checkbox", "date", "integer", "decimal", "regexp", "dropdown", "lookup",
               "multiselect", "currency")
OPTION_TYPES = ("dropdown", "multiselect")
_KEY_RE = re.compile(r"[A-Za-z0-9_]+")  # used with fullmatch


class OrganizationFieldsMixin(ZendeskState):
    """The organization-field rules of the account."""

    def ordered_fields(self) -> list[dict[str, Any]]:
        return sorted(self.fields.values(), key=lambda f: (f["position"], f["id"]))

    def render_field(self, fld: dict[str, Any]) -> dict[str, Any]:
        out = dict(fld)
        out["url"] = f"{self.base_url}/api/v2/organization_fields/{fld['id']}.json"
        if fld["type"] in OPTION_TYPES:
            out["custom_field_options"] = [
                {**opt, "url": f"{self.base_url}/api/v2/organization_fields/{fld['id']}/options/{opt['id']}.json"}
                for opt in fld["custom_field_options"]
            ]
        return out

    def value_problem(self, fld: dict[str, Any], value: Any) -> str | None:
        """Why ``value`` is not acceptable for organization field ``fld`` (None when it is)."""
        if value is None or value == "":
            return None
        ftype = fld["type"]
        problem = f"{fld['title']} is invalid"
        if ftype == "dropdown":
            return None if value in {o["value"] for o in fld["custom_field_options"]} else problem
        if ftype == "multiselect":
            allowed = {o["value"] for o in fld["custom_field_options"]}
            ok = isinstance(value, list) and all(v in allowed for v in value)
            return None if ok else problem
        if ftype == "checkbox":
            return None if isinstance(value, bool) else problem
        if ftype == "integer":
            ok = (isinstance(value, int) and not isinstance(value, bool)) or bool(re.fullmatch(r"-?\d+", str(value)))
            return None if ok else problem
        if ftype in ("decimal", "currency"):
            try:
                float(value)
            except (TypeError, ValueError):
                return problem
        return None

    def _clean_options(self, raw: Any, existing: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
        if not isinstance(raw, list) or not raw:
            raise RecordInvalid(invalid("custom_field_options", "Field must have at least one option",
                                        "BlankValue"))
        options: list[dict[str, Any]] = []
        seen: set[str] = set()
        for position, item in enumerate(raw):
            name = str((item or {}).get("name") or "").strip()
            value = str((item or {}).get("value") or "").strip()
            if not name or not value:
                raise RecordInvalid(invalid("custom_field_options", "Name and value cannot be blank",
                                            "BlankValue"))
            if value.casefold() in seen:
                raise RecordInvalid(invalid("custom_field_options",
                                            f"Custom field options: Value {value} has already been taken",
                                            "DuplicateValue"))
            seen.add(value.casefold())
            option_id = item.get("id")
            if not isinstance(option_id, int) or option_id not in existing:
                option_id = self._next_option_id
                self._next_option_id += 1
            options.append({"id": option_id, "name": name, "raw_name": name, "value": value,
                            "position": position})
        return options

    def create_field(self, data: dict[str, Any]) -> dict[str, Any]:
        """Validate and create an organization field from an API payload; raises RecordInvalid."""
        with self.lock:
            key = str(data.get("key") or "")
            title = str(data.get("title") or "").strip()
            ftype = {"tagger": "dropdown"}.get(str(data.get("type") or "text"), str(data.get("type") or "text"))
            details: dict[str, list[dict[str, str]]] = {}
            if not key:
                details.update(invalid("key", "Key: cannot be blank", "BlankValue"))
            elif not _KEY_RE.fullmatch(key) or key.isdigit():
                details.update(invalid("key", "Key is invalid: use letters, numbers and underscores, "
                                       "not only numbers", "InvalidValue"))
            elif any(f["key"].casefold() == key.casefold() for f in self.fields.values()):
                details.update(invalid("key", "Key has already been taken", "DuplicateValue"))
            if not title:
                details.update(invalid("title", "Title: cannot be blank", "BlankValue"))
            if ftype not in FIELD_TYPES:
                details.update(invalid("type", f"Type: {ftype} is not a valid field type", "InvalidValue"))
            if details:
                raise RecordInvalid(details)
            options = self._clean_options(data.get("custom_field_options"), {}) if ftype in OPTION_TYPES else None
            field_id = self._next_field_id
            self._next_field_id += 1
            now = self.now_iso()
            description = str(data.get("description") or "")
            fld: dict[str, Any] = {
                "url": f"{self.base_url}/api/v2/organization_fields/{field_id}.json", "id": field_id,
                "type": ftype, "key": key, "title": title, "raw_title": title, "description": description,
                "raw_description": description,
                "position": int(data.get("position", len(self.fields))),
                "active": bool(data.get("active", True)), "system": False,
                "regexp_for_validation": data.get("regexp_for_validation") if ftype == "regexp" else None,
                "created_at": now, "updated_at": now,
            }
            if options is not None:
                fld["custom_field_options"] = options
            self.fields[field_id] = fld
            for org in self.organizations.values():
                org["organization_fields"].setdefault(key, None)
            return fld

    def add_field(self, key: str, type: str, title: str,
                  options: list[tuple[str, str]] | None = None) -> int:
        """Create an organization field directly; ``options`` are (name, value) pairs. Returns its id."""
        data: dict[str, Any] = {"key": key, "type": type, "title": title}
        if options is not None:
            data["custom_field_options"] = [{"name": n, "value": v} for n, v in options]
        return int(self.create_field(data)["id"])

    def update_field(self, fld: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """PUT semantics: key changes are ignored, type changes are refused, options are replaced."""
        with self.lock:
            new_type = data.get("type")
            if new_type is not None and {"tagger": "dropdown"}.get(new_type, new_type) != fld["type"]:
                raise RecordInvalid(invalid("type", "Type cannot be changed", "InvalidValue"))
            if "custom_field_options" in data and fld["type"] in OPTION_TYPES:
                old = {o["id"]: o for o in fld["custom_field_options"]}
                options = self._clean_options(data["custom_field_options"], old)
                self._migrate_values(fld, old, options)
                fld["custom_field_options"] = options
            if "title" in data:
                title = str(data["title"] or "").strip()
                if not title:
                    raise RecordInvalid(invalid("title", "Title: cannot be blank", "BlankValue"))
                fld["title"] = fld["raw_title"] = title
            if "description" in data:
                fld["description"] = fld["raw_description"] = str(data["description"] or "")
            for attr, cast in (("position", int), ("active", bool)):
                if attr in data:
                    fld[attr] = cast(data[attr])
            if "regexp_for_validation" in data and fld["type"] == "regexp":
                fld["regexp_for_validation"] = data["regexp_for_validation"]
            fld["updated_at"] = self.now_iso()
            return fld

    def _migrate_values(self, fld: dict[str, Any], old: dict[int, dict[str, Any]],
                        new: list[dict[str, Any]]) -> None:
        """Values of kept options follow a renamed value; values of removed options are wiped."""
        renamed = {old[o["id"]]["value"]: o["value"] for o in new if o["id"] in old}
        key = fld["key"]
        for org in self.organizations.values():
            current = org["organization_fields"].get(key)
            if current is None:
                continue
            if isinstance(current, list):
                org["organization_fields"][key] = [renamed[v] for v in current if v in renamed] or None
            else:
                org["organization_fields"][key] = renamed.get(current)

    def delete_field(self, field_id: int) -> None:
        with self.lock:
            fld = self.fields.pop(field_id)
            for org in self.organizations.values():
                org["organization_fields"].pop(fld["key"], None)


_FIELD = r"/api/v2/organization_fields/(?P<id>\d+)"


@router.route("GET", "/api/v2/organization_fields")
def _list_fields(zd: FakeZendesk, request: Request) -> Response:
    return plain_list("organization_fields", [zd.render_field(f) for f in zd.ordered_fields()])


@router.route("POST", "/api/v2/organization_fields")
def _create_field(zd: FakeZendesk, request: Request) -> Response:
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    data = json_body(request).get("organization_field")
    if not isinstance(data, dict):
        return error(400, "InvalidValue", "organization_field parameter is required")
    try:
        fld = zd.create_field(data)
    except RecordInvalid as exc:
        return record_invalid(exc)
    return Response(201, {"organization_field": zd.render_field(fld)})


@router.route("GET", _FIELD)
def _show_field(zd: FakeZendesk, request: Request) -> Response:
    fld = zd.fields.get(int(request.params["id"]))
    if fld is None:
        return Response(404, NOT_FOUND)
    return Response(200, {"organization_field": zd.render_field(fld)})


@router.route("PUT", _FIELD)
def _update_field(zd: FakeZendesk, request: Request) -> Response:
    fld = zd.fields.get(int(request.params["id"]))
    if fld is None:
        return Response(404, NOT_FOUND)
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    data = json_body(request).get("organization_field")
    if not isinstance(data, dict):
        return error(400, "InvalidValue", "organization_field parameter is required")
    try:
        zd.update_field(fld, data)
    except RecordInvalid as exc:
        return record_invalid(exc)
    return Response(200, {"organization_field": zd.render_field(fld)})


@router.route("DELETE", _FIELD)
def _delete_field(zd: FakeZendesk, request: Request) -> Response:
    field_id = int(request.params["id"])
    if field_id not in zd.fields:
        return Response(404, NOT_FOUND)
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    zd.delete_field(field_id)
    return Response(204)
