"""Deleted Salesforce records (issue 15): the recycle bin, query vs queryAll, and both fakes on one moved clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from simple_salesforce import format_soql
from simple_salesforce.exceptions import SalesforceResourceNotFound

from worker.sandbox.salesforce import FakeSalesforce
from worker.sandbox.server import ManualClock, OffsetClock, Sandbox

pytestmark = pytest.mark.integration

BATCH_200 = {"Sforce-Query-Options": "batchSize=200"}


def test_delete_undelete_and_purge_bump_the_stamps() -> None:
    clock = ManualClock()
    state = FakeSalesforce(clock=clock)
    account = state.add_account(Name="Recycled")
    record = state.accounts[account]
    assert record["IsDeleted"] is False and record["SystemModstamp"] == "2024-05-01T12:00:00.000+0000"
    clock.advance(5)
    state.delete_account(account[:15])
    assert record["IsDeleted"] is True
    assert record["SystemModstamp"] == record["LastModifiedDate"] == "2024-05-01T12:00:05.000+0000"
    assert record["CreatedDate"] == "2024-05-01T12:00:00.000+0000"
    with pytest.raises(ValueError, match="already in the recycle bin"):
        state.delete_account(account)
    clock.advance(5)
    state.undelete_account(account)
    assert record["IsDeleted"] is False and record["SystemModstamp"] == "2024-05-01T12:00:10.000+0000"
    with pytest.raises(ValueError, match="not in the recycle bin"):
        state.undelete_account(account)
    state.delete_account(account)
    state.purge_account(account)
    assert account not in state.accounts
    with pytest.raises(KeyError):
        state.purge_account(account)


def test_query_hides_deleted_records_and_query_all_shows_them(sb: Sandbox, sf) -> None:
    kept, deleted, purged = (sb.salesforce.add_account(Name=f"Bin {n}") for n in "ABC")
    sb.salesforce.delete_account(deleted)
    sb.salesforce.delete_account(purged)
    sb.salesforce.purge_account(purged)
    soql = "SELECT Id, IsDeleted FROM Account WHERE Name LIKE 'Bin%' ORDER BY Name"

    assert [(r["Id"], r["IsDeleted"]) for r in sf.query(soql)["records"]] == [(kept, False)]
    assert [(r["Id"], r["IsDeleted"]) for r in sf.query(soql, include_deleted=True)["records"]] == [
        (kept, False), (deleted, True)]
    assert "/queryAll/" in sb.salesforce.requests[-1][1]
    only_deleted = "SELECT Id FROM Account WHERE Name LIKE 'Bin%' AND IsDeleted = true"
    assert [r["Id"] for r in sf.query(only_deleted, include_deleted=True)["records"]] == [deleted]
    assert sf.query(only_deleted)["records"] == []
    count = "SELECT COUNT() FROM Account WHERE Name LIKE 'Bin%'"
    assert (sf.query(count)["totalSize"], sf.query(count, include_deleted=True)["totalSize"]) == (1, 2)

    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Account.get(deleted)
    assert caught.value.status == 404
    assert caught.value.content == [{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED"}]
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Account.get(purged)
    assert caught.value.content[0]["errorCode"] == "NOT_FOUND"

    sb.salesforce.undelete_account(deleted)
    assert [r["Id"] for r in sf.query(soql)["records"]] == [kept, deleted]
    assert sf.Account.get(deleted)["IsDeleted"] is False


def test_query_all_cursor_keeps_deleted_rows_on_every_page(sb: Sandbox, sf) -> None:
    ids = [sb.salesforce.add_account(Name=f"Paged bin {n:03d}") for n in range(450)]
    gone = set(ids[::3])  # 150, spread over every page
    for account in gone:
        sb.salesforce.delete_account(account)
    soql = "SELECT Id, IsDeleted FROM Account WHERE Name LIKE 'Paged bin%' ORDER BY Name"

    first = sf.query(soql, include_deleted=True, headers=BATCH_200)
    assert (first["totalSize"], len(first["records"]), first["done"]) == (450, 200, False)
    # Salesforce's queryAll nextRecordsUrl says "query"; the cursor still includes deleted rows
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    locator = first["nextRecordsUrl"].rsplit("/", 1)[1]
    assert sf.query_more(locator, include_deleted=True) == second  # the same page through queryAll/<locator>
    third = sf.query_more(second["nextRecordsUrl"], identifier_is_url=True)
    assert (len(second["records"]), len(third["records"]), third["done"]) == (200, 50, True)
    rows = first["records"] + second["records"] + third["records"]
    assert [r["Id"] for r in rows] == ids
    assert {r["Id"] for r in rows if r["IsDeleted"]} == gone
    assert all(any(r["IsDeleted"] for r in page["records"]) for page in (first, second, third))

    live = list(sf.query_all_iter(soql, headers=BATCH_200))
    assert len(live) == 300 and not any(r["IsDeleted"] for r in live)
    assert sum("/query/01g" in path for _, path in sb.salesforce.requests[-2:]) == 1  # it did page


def test_one_offset_clock_moves_both_incremental_reads(make_sf) -> None:
    """A deletion in Salesforce and an edit in Zendesk, both read incrementally after the clock moves a minute."""
    with Sandbox(clock=OffsetClock()) as sb:
        sf = make_sf(sb)  # also points REQUESTS_CA_BUNDLE at this sandbox
        account = sb.salesforce.add_account(Name="Clocked")
        org = sb.zendesk.add_organization("Clocked org", external_id=account)
        sb.advance(3600)
        watermark = datetime.fromtimestamp(int(sb.clock()), UTC)
        sb.advance(1)
        sb.salesforce.delete_account(account)
        sb.zendesk.add_field("tier", "text", "Tier")
        sb.zendesk.set_org_field(org, "tier", "gold")
        export = f"{sb.zendesk_url}/api/v2/incremental/organizations.json"
        auth = (f"{sb.zendesk.email}/token", sb.zendesk.api_token)
        since = int(watermark.timestamp())

        assert requests.get(export, params={"start_time": since}, auth=auth, timeout=5).status_code == 400
        sb.advance(61)  # no sleeping: the edit is now more than a minute old
        body = requests.get(export, params={"start_time": since}, auth=auth, timeout=5).json()
        assert [o["id"] for o in body["organizations"]] == [org] and body["end_of_stream"] is True
        changed = format_soql("SELECT Id, IsDeleted FROM Account WHERE SystemModstamp >= {}", watermark)
        assert sf.query(changed)["records"] == []
        assert [(r["Id"], r["IsDeleted"]) for r in sf.query(changed, include_deleted=True)["records"]] == [
            (account, True)]
        assert sb.errors == []
