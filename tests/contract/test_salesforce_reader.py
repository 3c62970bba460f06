"""Salesforce reader contracts through real simple-salesforce, against `responses`."""

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.unit.helpers import make_config
from worker.core.errors import AuthError, QuotaExhaustedError, RemoteStateError
from worker.core.ids import to_18
from worker.io.http import ServiceSession
from worker.io.salesforce import SalesforceReader, build_query, connect
from worker.settings import Settings

INSTANCE = "https://acme.my.salesforce.com"
QUERY = re.compile(rf"{INSTANCE}/services/data/v59\.0/query/\?q=.*")


def sfid(n):
    return to_18(f"001A0000000{n:04d}")


def record(n, tier="Enterprise", stamp="2026-01-01T00:00:00.000+0000"):
    return {"attributes": {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{sfid(n)}"},
            "Id": sfid(n), "Name": f"A{n}", "Support_Tier__c": tier, "SystemModstamp": stamp}


def reader(config=None, **settings) -> SalesforceReader:
    values = {"salesforce_instance_url": INSTANCE, "salesforce_access_token": "sf-token-canary"} | settings
    session = ServiceSession("salesforce", sleep=lambda s: None)
    return SalesforceReader(connect(Settings(_env_file=None, **values), session), config or make_config())


def limit_header(used, total=15000):
    return {"Sforce-Limit-Info": f"api-usage={used}/{total}"}


@responses.activate
def test_reads_every_page_with_each_accounts_modstamp() -> None:
    responses.get(QUERY, headers=limit_header(10), json={
        "totalSize": 3, "done": False, "nextRecordsUrl": "/services/data/v59.0/query/01gXX-2",
        "records": [record(1), record(2, stamp="2026-03-01T10:00:00.000+0000")]})
    responses.get(f"{INSTANCE}/services/data/v59.0/query/01gXX-2", headers=limit_header(11),
                  json={"totalSize": 3, "done": True, "records": [record(3, stamp="2026-02-01T00:00:00.000+0000")]})
    sf = reader()
    accounts = list(sf.read())
    assert [a.id for a in accounts] == [sfid(1), sfid(2), sfid(3)]
    assert accounts[0].fields["Support_Tier__c"] == "Enterprise"
    assert "attributes" not in accounts[0].fields
    assert [a.modstamp for a in accounts][1:] == ["2026-03-01T10:00:00.000+0000", "2026-02-01T00:00:00.000+0000"]
    assert (sf.usage().used, sf.usage().total) == (11, 15000)
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == "Bearer sf-token-canary"


def test_query_shapes() -> None:
    config = make_config(salesforce={"tier_field": "Support_Tier__c", "fields": ["ACV__c"], "where": "Type = 'Customer'"})
    assert build_query(config) == ("SELECT Id, Name, Support_Tier__c, ACV__c, SystemModstamp FROM Account "
                                   "WHERE (Type = 'Customer')")
    assert build_query(config, since="2026-01-02T03:04:05.000+0000").endswith(
        "WHERE (Type = 'Customer') AND SystemModstamp >= 2026-01-02T03:04:05Z")
    assert build_query(config, ids=["001A00000000001AAA", "x'y"]).endswith(
        "AND Id IN ('001A00000000001AAA','x\\'y')")


@responses.activate
def test_stops_at_the_usage_ceiling_before_reading_on() -> None:
    responses.get(QUERY, headers=limit_header(14000), json={
        "totalSize": 1, "done": True, "records": [record(1)]})
    with pytest.raises(QuotaExhaustedError, match="14000 of 15000 daily requests"):
        list(reader().read())


@responses.activate
def test_request_limit_exceeded_is_a_quota_error() -> None:
    responses.get(QUERY, status=403, json=[{"errorCode": "REQUEST_LIMIT_EXCEEDED",
                                            "message": "TotalRequests Limit exceeded."}])
    with pytest.raises(QuotaExhaustedError):
        list(reader().read())
    assert len(responses.calls) == 1  # never retried hot


@responses.activate
def test_invalid_field_names_the_column() -> None:
    responses.get(QUERY, status=400, json=[{"errorCode": "INVALID_FIELD",
                                            "message": "No such column 'Support_Tier__c' on entity 'Account'."}])
    with pytest.raises(RemoteStateError, match="No such column 'Support_Tier__c'") as caught:
        list(reader().read())
    assert "tier file" in caught.value.hint


@responses.activate
def test_expired_token_is_an_auth_error() -> None:
    responses.get(QUERY, status=401, json=[{"errorCode": "INVALID_SESSION_ID",
                                            "message": "Session expired or invalid"}])
    with pytest.raises(AuthError, match="INVALID_SESSION_ID"):
        list(reader().read())


LOGIN_OK = """<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope
 xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><loginResponse><result>
<serverUrl>https://acme.my.salesforce.com/services/Soap/u/59.0/00Dxx</serverUrl>
<sessionId>SESSION-FROM-LOGIN</sessionId></result></loginResponse></soapenv:Body></soapenv:Envelope>"""
LOGIN_FAULT = """<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope
 xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com">
<soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid username,
 password, security token; or user locked out.</faultstring><detail><sf:LoginFault><sf:exceptionCode>INVALID_LOGIN
</sf:exceptionCode><sf:exceptionMessage>Invalid username, password, security token; or user locked out.
</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"""
PASSWORD = {"salesforce_instance_url": None, "salesforce_access_token": None, "salesforce_username": "ops@acme.test",
            "salesforce_password": "pw-canary", "salesforce_security_token": "st-canary", "salesforce_domain": "test"}


@responses.activate
def test_password_login_uses_the_domain_and_the_session() -> None:
    responses.post("https://test.salesforce.com/services/Soap/u/59.0", body=LOGIN_OK)
    responses.get(QUERY, json={"totalSize": 0, "done": True, "records": []})
    assert list(reader(**PASSWORD).read()) == []
    assert responses.calls[1].request.headers["Authorization"] == "Bearer SESSION-FROM-LOGIN"


@responses.activate
def test_wrong_password_is_an_auth_error_not_an_outage() -> None:
    responses.post("https://test.salesforce.com/services/Soap/u/59.0", status=500, body=LOGIN_FAULT)
    with pytest.raises(AuthError, match="sign-in failed"):
        reader(**PASSWORD)
    assert len(responses.calls) == 1


@responses.activate
def test_jwt_bearer_login(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "key.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    responses.post("https://login.salesforce.com/services/oauth2/token",
                   json={"access_token": "JWT-SESSION", "instance_url": INSTANCE, "token_type": "Bearer"})
    responses.get(QUERY, json={"totalSize": 0, "done": True, "records": []})
    jwt = {"salesforce_instance_url": None, "salesforce_access_token": None, "salesforce_username": "ops@acme.test",
           "salesforce_consumer_key": "3MVG-key", "salesforce_private_key_file": str(pem)}
    list(reader(**jwt).read())
    form = parse_qs(responses.calls[0].request.body)
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assert urlsplit(responses.calls[1].request.url).netloc == "acme.my.salesforce.com"
    assert responses.calls[1].request.headers["Authorization"] == "Bearer JWT-SESSION"


@responses.activate
def test_jwt_rejected_is_an_auth_error(tmp_path: Path) -> None:
    pem = tmp_path / "key.pem"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    responses.post("https://login.salesforce.com/services/oauth2/token", status=400,
                   json={"error": "invalid_grant", "error_description": "user hasn't approved this consumer"})
    with pytest.raises(AuthError):
        reader(salesforce_instance_url=None, salesforce_access_token=None, salesforce_username="u",
               salesforce_consumer_key="k", salesforce_private_key_file=str(pem))
