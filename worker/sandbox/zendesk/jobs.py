"""Background jobs: ``organizations/update_many`` queues one, ``job_statuses`` polls run and report it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from worker.sandbox.httpbase import Request, Response
from worker.sandbox.zendesk.api import FORBIDDEN, MAX_VALUES, NOT_FOUND, TOO_MANY, error, json_body, router, split_list
from worker.sandbox.zendesk.organizations import OrganizationsMixin, agent_may
from worker.sandbox.zendesk.state import Job

if TYPE_CHECKING:
    from worker.sandbox.zendesk.account import FakeZendesk


class JobsMixin(OrganizationsMixin):
    """The job rules of the account: a job runs when polled ``job_polls_before_done`` times."""

    def create_job(self, items: list[dict[str, Any]]) -> Job:
        job = Job(id="V3-" + uuid.uuid4().hex, total=len(items), items=items, created=self.clock())
        self.jobs[job.id] = job
        if self.job_polls_before_done <= 0:
            self.complete_job(job)
        return job

    def poll_job(self, job: Job) -> None:
        job.polls += 1
        if job.status == "queued" and job.polls >= self.job_polls_before_done:
            self.complete_job(job)

    def run_pending_jobs(self) -> int:
        """Complete every queued job now (as if polled enough); returns how many ran."""
        with self.lock:
            pending = [job for job in self.jobs.values() if job.status == "queued"]
            for job in pending:
                self.complete_job(job)
            return len(pending)

    def complete_job(self, job: Job) -> None:
        results: list[dict[str, Any]] = []
        for index, item in enumerate(job.items):
            org_id = item.get("id")
            org = self.organizations.get(org_id) if isinstance(org_id, int) else None
            if org is None and org_id is None and item.get("external_id"):
                matches = self.find_by_external_id(str(item["external_id"]))
                org = matches[0] if matches else None
            if org is None:
                failure = {"index": index, "error": "RecordNotFound", "id": org_id, "details": "Not found"}
                if org_id is None:
                    failure["external_id"] = item.get("external_id")
                results.append(failure)
                continue
            problem = self.org_change_problem(org, item)
            if org["id"] in self.fail_org_ids:
                problem = f"Organization {org['id']} could not be updated (sandbox fault injection)"
            if problem:
                results.append({"index": index, "error": "OrganizationUpdateFailed", "id": org["id"],
                                "details": problem})
                continue
            self.apply_org_changes(org, item)
            results.append({"action": "update", "id": org["id"], "status": "Updated", "success": True})
        job.status = "completed"
        job.progress = job.total
        job.results = results
        job.message = "Completed at " + datetime.fromtimestamp(int(self.clock()), UTC).strftime(
            "%Y-%m-%d %H:%M:%S +0000")

    def render_job(self, job: Job) -> dict[str, Any]:
        return {"id": job.id, "url": f"{self.base_url}/api/v2/job_statuses/{job.id}.json", "total": job.total,
                "progress": job.progress, "status": job.status, "message": job.message, "results": job.results}


@router.route("PUT", "/api/v2/organizations/update_many")
def _update_many(zd: FakeZendesk, request: Request) -> Response:
    body = json_body(request)
    ids, external_ids = split_list(request.param("ids")), split_list(request.param("external_ids"))
    if isinstance(body.get("organizations"), list):
        items = [dict(i) if isinstance(i, dict) else {} for i in body["organizations"]]
    elif isinstance(body.get("organization"), dict) and (ids or external_ids):
        if len(ids) > MAX_VALUES or len(external_ids) > MAX_VALUES:
            return Response(400, TOO_MANY)
        change = {k: v for k, v in body["organization"].items() if k not in ("id", "external_id")}
        items = [{**change, "id": int(i) if i.isdigit() else i} for i in ids]
        for ext in external_ids:
            matches = zd.find_by_external_id(ext)
            items.extend({**change, "id": o["id"]} for o in matches)
            if not matches:
                items.append({**change, "external_id": ext})
    else:
        return error(400, "InvalidValue", "Provide organizations, or organization with ids or external_ids")
    if len(items) > MAX_VALUES:
        return Response(400, TOO_MANY)
    if zd.role != "admin" and not agent_may(items):
        return Response(403, FORBIDDEN)
    for item in items:
        if isinstance(item.get("id"), str) and item["id"].isdigit():
            item["id"] = int(item["id"])
    job = zd.create_job(items)
    return Response(200, {"job_status": zd.render_job(job)})


@router.route("GET", "/api/v2/job_statuses")
def _list_jobs(zd: FakeZendesk, request: Request) -> Response:
    jobs = sorted(zd.jobs.values(), key=lambda j: j.created, reverse=True)[:100]
    return Response(200, {"job_statuses": [zd.render_job(j) for j in jobs],
                          "meta": {"has_more": False, "after_cursor": None, "before_cursor": None},
                          "links": {"next": None, "prev": None}})


@router.route("GET", "/api/v2/job_statuses/show_many")
def _show_many_jobs(zd: FakeZendesk, request: Request) -> Response:
    jobs = [zd.jobs[i] for i in split_list(request.param("ids")) if i in zd.jobs]
    for job in jobs:
        zd.poll_job(job)
    return Response(200, {"job_statuses": [zd.render_job(j) for j in jobs]})


@router.route("GET", r"/api/v2/job_statuses/(?P<id>[A-Za-z0-9-]+)")
def _show_job(zd: FakeZendesk, request: Request) -> Response:
    job = zd.jobs.get(request.params["id"])
    if job is None:
        return Response(404, NOT_FOUND)
    zd.poll_job(job)
    return Response(200, {"job_status": zd.render_job(job)})
