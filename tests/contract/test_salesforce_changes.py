"""Exact contract of the incremental Salesforce read (read_changes), through real simple-salesforce, on `responses`.

One ``queryAll`` over SystemModstamp without the tier file's ``where`` (so deleted rows come back with
IsDeleted true), then, only when live rows came back and a ``where`` is set, one
``SELECT Id FROM Account WHERE (<where>) AND Id IN (...)`` per 200 live ids on ``/query/``.
"""

import math
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from tests.unit.helpers import make_config
from worker.core.ids import to_18
from worker.core.model import AccountChanges, RemovedAccount
from worker.io.http import ServiceSession
from worker.io.salesforce import SalesforceReader, connect
from worker.settings import Settings

INSTANCE = "https://acme.my.salesforce.com"
DATA = f"{INSTANCE}/services/data/v59.0"
QUERY_ALL = re.compile(rf"{re.escape(DATA)}/queryAll/\?q=.*")
QUERY = re.compile(rf"{re.escape(DATA)}/query/\?q=.*")
SINCE = "2026-01-02T03:04:05.000+0000"
STAMP = "2026-01-02T03:04:05.000+0000"
LATER = "2026-01-02T04:00:00.000+0000"
WHERE = "Type = 'Customer'"
FIELDS = "SELECT Id, Name, Support_Tier__c, ACV__c, SystemModstamp, IsDeleted FROM Account"
CHANGES_SOQL = f"{FIELDS} WHERE SystemModstamp >= 2026-01-02T03:04:05Z"


def config(where: str | None = None):
    salesforce = {"tier_field": "Support_Tier__c", "fields": ["ACV__c"]} | ({"where": where} if where else {})
    return make_config(salesforce=salesforce)


def reader(where: str | None = None) -> SalesforceReader:
    """As test_salesforce_reader builds it: an access token on a ServiceSession that never sleeps."""
    settings = Settings(_env_file=None, salesforce_instance_url=INSTANCE, salesforce_access_token="sf-token-canary")
    return SalesforceReader(connect(settings, ServiceSession("salesforce", sleep=lambda s: None)), config(where))


def sfid(n: int) -> str:
    return to_18(f"001A0000000{n:04d}")


def row(n: int, stamp: str = STAMP, deleted: bool = False, tier: str = "Enterprise") -> dict:
    return {"attributes": {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{sfid(n)}"},
            "Id": sfid(n), "Name": f"A{n}", "Support_Tier__c": tier, "ACV__c": 1000.0 * n,
            "SystemModstamp": stamp, "IsDeleted": deleted}


def result(records: list[dict], next_url: str | None = None) -> dict:
    body: dict = {"totalSize": len(records), "done": next_url is None, "records": records}
    if next_url:
        body["nextRecordsUrl"] = next_url
    return body


def soql(call) -> str:
    (q,) = parse_qs(urlsplit(call.request.url).query)["q"]
    return q


def path(call) -> str:
    return urlsplit(call.request.url).path


def scope_soql(ids: list[str], where: str = WHERE) -> str:
    return f"SELECT Id FROM Account WHERE ({where}) AND Id IN ({','.join(repr(i) for i in ids)})"


def scope_answer(keep):
    """A /query/ callback answering the scope query with the asked ids that ``keep`` accepts."""

    def answer(request):
        import json

        (q,) = parse_qs(urlsplit(request.url).query)["q"]
        asked = re.findall(r"'([0-9A-Za-z]{18})'", q.split(" Id IN ", 1)[1])
        records = [{"attributes": {"type": "Account"}, "Id": i} for i in asked if keep(i)]
        return 200, {}, json.dumps(result(records))

    return answer


# 8. The changes query -------------------------------------------------------------------------------------------


@responses.activate
def test_changes_are_one_query_all_over_system_modstamp_following_next_records_url() -> None:
    responses.get(QUERY_ALL, json=result([row(1), row(2, deleted=True)], "/services/data/v59.0/query/01gXX-2000"))
    responses.get(f"{DATA}/query/01gXX-2000", json=result([row(3, LATER)]))
    changes = reader().read_changes(since=SINCE)
    assert len(responses.calls) == 2
    first = responses.calls[0]
    assert path(first) == "/services/data/v59.0/queryAll/"  # queryAll, so deleted rows come back
    assert soql(first) == CHANGES_SOQL
    assert first.request.headers["Authorization"] == "Bearer sf-token-canary"
    assert responses.calls[1].request.url == f"{DATA}/query/01gXX-2000"
    assert [(a.id, a.modstamp) for a in changes.accounts] == [(sfid(1), STAMP), (sfid(3), LATER)]
    assert changes.accounts[0].fields["Support_Tier__c"] == "Enterprise"
    assert changes.removed == (RemovedAccount(sfid(2), "A2", "deleted", STAMP),)


@responses.activate
def test_changes_query_leaves_where_out() -> None:
    responses.get(QUERY_ALL, json=result([]))
    reader("Type = 'Customer' AND (Region__c = 'EU' OR Region__c = null)").read_changes(since=SINCE)
    assert soql(responses.calls[0]) == CHANGES_SOQL
    assert "Customer" not in soql(responses.calls[0])


# 9. The scope query ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("live", [1, 200, 201, 450])
@responses.activate
def test_scope_is_one_query_per_200_live_ids_and_the_rest_are_out_of_scope(live) -> None:
    deleted = [row(9000 + n, deleted=True) for n in range(3)]
    rows = [row(n) for n in range(1, live + 1)]
    responses.get(QUERY_ALL, json=result(rows[:1] + deleted + rows[1:]))  # deleted rows amid the live ones
    in_scope = {sfid(n) for n in range(1, live + 1) if n % 3 != 0}
    scope = responses.add_callback(responses.GET, QUERY, callback=scope_answer(lambda i: i in in_scope))

    changes = reader(WHERE).read_changes(since=SINCE)

    chunks = math.ceil(live / 200)
    assert len(responses.calls) == 1 + chunks and scope.call_count == chunks
    live_ids = [sfid(n) for n in range(1, live + 1)]
    asked = [responses.calls[1 + k] for k in range(chunks)]
    assert all(path(call) == "/services/data/v59.0/query/" for call in asked)  # not queryAll: deleted stay out
    assert [soql(call) for call in asked] == [scope_soql(live_ids[k:k + 200]) for k in range(0, live, 200)]
    assert [a.id for a in changes.accounts] == [i for i in live_ids if i in in_scope]
    out = [r for r in changes.removed if r.reason == "out_of_scope"]
    assert [(r.id, r.name, r.modstamp) for r in out] == [(i, f"A{int(i[11:15])}", STAMP)
                                                        for i in live_ids if i not in in_scope]
    assert [r.id for r in changes.removed if r.reason == "deleted"] == [sfid(9000 + n) for n in range(3)]


@responses.activate
def test_without_where_there_is_no_scope_query() -> None:
    responses.get(QUERY_ALL, json=result([row(1), row(2, deleted=True), row(3)]))
    changes = reader().read_changes(since=SINCE)
    assert len(responses.calls) == 1
    assert [a.id for a in changes.accounts] == [sfid(1), sfid(3)]
    assert [(r.id, r.reason) for r in changes.removed] == [(sfid(2), "deleted")]


@responses.activate
def test_no_rows_cost_no_scope_query() -> None:
    responses.get(QUERY_ALL, json=result([]))
    assert reader(WHERE).read_changes(since=SINCE) == AccountChanges((), ())
    assert len(responses.calls) == 1


@responses.activate
def test_deleted_rows_alone_cost_no_scope_query() -> None:
    responses.get(QUERY_ALL, json=result([row(1, deleted=True), row(2, LATER, deleted=True)]))
    changes = reader(WHERE).read_changes(since=SINCE)
    assert len(responses.calls) == 1
    assert changes == AccountChanges((), (RemovedAccount(sfid(1), "A1", "deleted", STAMP),
                                          RemovedAccount(sfid(2), "A2", "deleted", LATER)))


@responses.activate
def test_scope_query_answering_no_id_makes_every_live_row_out_of_scope() -> None:
    responses.get(QUERY_ALL, json=result([row(1), row(2)]))
    responses.get(QUERY, json=result([]))
    changes = reader(WHERE).read_changes(since=SINCE)
    assert changes.accounts == ()
    assert [(r.id, r.reason) for r in changes.removed] == [(sfid(1), "out_of_scope"), (sfid(2), "out_of_scope")]


# 10. Rows already seen ------------------------------------------------------------------------------------------


@responses.activate
def test_seen_rows_are_skipped_and_cost_no_scope_check() -> None:
    responses.get(QUERY_ALL, json=result([row(1), row(2, LATER), row(3), row(4, deleted=True)]))
    scope = responses.add_callback(responses.GET, QUERY, callback=scope_answer(lambda i: True))
    # 1 was read in the watermark's second last run; 2 was too, but has changed since (another stamp).
    seen = frozenset({(sfid(1), STAMP), (sfid(2), STAMP), (sfid(4), STAMP)})
    changes = reader(WHERE).read_changes(since=SINCE, seen=seen)
    assert scope.call_count == 1
    assert soql(responses.calls[1]) == scope_soql([sfid(2), sfid(3)])
    assert [a.id for a in changes.accounts] == [sfid(2), sfid(3)]
    assert changes.removed == ()  # 4's deletion was already seen at that stamp


@responses.activate
def test_only_seen_rows_cost_one_call() -> None:
    responses.get(QUERY_ALL, json=result([row(1), row(2)]))
    seen = frozenset({(sfid(1), STAMP), (sfid(2), STAMP)})
    assert reader(WHERE).read_changes(since=SINCE, seen=seen) == AccountChanges((), ())
    assert len(responses.calls) == 1
