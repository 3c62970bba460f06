"""Salesforce reader (simple-salesforce): streams accounts, full or incremental, within quota.

Every request goes through a :class:`~worker.io.http.ServiceSession` (timeouts, retries, typed
errors). The daily API allocation reported in each response's ``Sforce-Limit-Info`` header
(simple-salesforce parses it into ``sf.api_usage``) is checked as pages arrive; the read stops
before the usage passes ``salesforce.max_api_usage_fraction``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError
from simple_salesforce.format import format_soql
from simple_salesforce.login import SalesforceLogin

from worker.core.config import TierFile
from worker.core.errors import AuthError, QuotaExhaustedError, RemoteStateError
from worker.core.ids import InvalidSalesforceId, to_18
from worker.core.model import Account, AccountChanges, RemovedAccount
from worker.core.redaction import redact, register_secret
from worker.core.runstate import parse_stamp
from worker.io.http import ServiceSession
from worker.settings import SalesforceAuth, Settings

log = logging.getLogger(__name__)
ID_CHUNK = 200  # ids per `Id IN (...)` query; keeps the SOQL far below the 100,000-character limit
# Salesforce session ids and OAuth access tokens start with the 15-character org id (key prefix 00D)
# followed by "!", e.g. "00D5e000000abcd!AQ4AQ..." (the SOAP login's sessionId and an OAuth token alike).
_ORG_PREFIX = re.compile(r"(00D[A-Za-z0-9]{12})!")


@dataclass(frozen=True)
class ApiUsage:
    """Salesforce daily API requests: used of total, as the last response reported."""

    used: int
    total: int

    @property
    def fraction(self) -> float:
        """Used share of the allocation."""
        return self.used / self.total if self.total else 0.0


def connect(settings: Settings, session: ServiceSession) -> Salesforce:
    """Sign in to Salesforce with whichever credentials the settings hold.

    The session id a sign-in returns is registered as a secret, like the configured ones.

    Raises:
        AuthError: the sign-in was refused.
    """
    try:
        client = _sign_in(settings, session)
    except SalesforceAuthenticationFailed as exc:
        raise AuthError(f"salesforce sign-in failed: {redact(str(exc.message))[:200]}",
                        hint="check SALESFORCE_USERNAME / SALESFORCE_PASSWORD / SALESFORCE_SECURITY_TOKEN "
                             "or the connected app for JWT") from None
    register_secret(client.session_id)
    return client


def _sign_in(settings: Settings, session: ServiceSession) -> Salesforce:
    mode = settings.salesforce_auth()
    version = settings.salesforce_api_version
    if mode is SalesforceAuth.ACCESS_TOKEN:
        assert settings.salesforce_instance_url and settings.salesforce_access_token
        return Salesforce(instance_url=settings.salesforce_instance_url,
                          session_id=settings.salesforce_access_token.get_secret_value(),
                          session=session, version=version)
    if mode is SalesforceAuth.JWT:
        domain = settings.salesforce_domain
        extra: dict[str, Any] = {"domain": domain}
        if domain not in ("login", "test"):  # My Domain: aud is login/test, the token host is the prefix
            extra = {"domain": "test" if ".sandbox." in domain else "login", "instance_url": domain}
        return Salesforce(username=settings.salesforce_username, consumer_key=settings.salesforce_consumer_key,
                          privatekey_file=str(settings.salesforce_private_key_file), session=session,
                          version=version, **extra)
    assert settings.salesforce_password and settings.salesforce_security_token
    credentials: dict[str, Any] = {"username": settings.salesforce_username,
                   "password": settings.salesforce_password.get_secret_value(),
                   "security_token": settings.salesforce_security_token.get_secret_value()}
    if settings.salesforce_instance_url:
        # SOAP login at the org's own URL (a My Domain, or https://127.0.0.1:PORT): simple-salesforce's
        # SalesforceLogin takes it as scratch_url, which the Salesforce constructor does not pass on.
        session_id, instance = SalesforceLogin(session=session, sf_version=version,
                                               scratch_url=settings.salesforce_instance_url,
                                               **credentials)
        return Salesforce(session_id=session_id, instance=instance, session=session, version=version)
    return Salesforce(domain=settings.salesforce_domain, session=session, version=version, **credentials)


def soql_datetime(modstamp: str) -> str:
    """A Salesforce timestamp (``2024-05-01T12:00:00.000+0000``) as a SOQL UTC literal, seconds kept."""
    stamp = parse_stamp(modstamp)
    if stamp is None:
        raise ValueError(f"{modstamp!r} is not a Salesforce timestamp")
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def build_query(config: TierFile, *, since: str | None = None, ids: Sequence[str] | None = None) -> str:
    """The SOQL for a full read, an incremental read (``SystemModstamp >= since``) or an id list."""
    sf = config.salesforce
    conditions = [f"({sf.where})"] if sf.where else []
    if since is not None:
        conditions.append(f"SystemModstamp >= {soql_datetime(since)}")
    if ids is not None:
        conditions.append(format_soql("Id IN {}", list(ids)))
    # Field and object names are validated API names (config.py); values go through format_soql.
    query = f"SELECT {', '.join(config.soql_fields)} FROM {sf.object}"  # noqa: S608
    return query + (f" WHERE {' AND '.join(conditions)}" if conditions else "")


def build_changes_query(config: TierFile, since: str) -> str:
    """The SOQL of an incremental read: every row modified at or after ``since``, without ``where``.

    Sent through ``queryAll``, it returns deleted rows too (``IsDeleted`` true): deleting a record moves
    its SystemModstamp, so one query sees changes and deletions alike, where ``getDeleted`` would cost a
    second call on every run (Salesforce REST API Developer Guide, "QueryAll": "includes records that
    have been deleted because of a merge or delete"). Whether a live row is still in scope is asked
    afterwards, and only when rows came back (:func:`build_scope_query`).
    """
    fields = [*config.soql_fields, "IsDeleted"]
    query = f"SELECT {', '.join(fields)} FROM {config.salesforce.object}"  # noqa: S608
    return query + f" WHERE SystemModstamp >= {soql_datetime(since)}"


def build_scope_query(config: TierFile, ids: Sequence[str]) -> str:
    """The SOQL that says which of ``ids`` match ``salesforce.where`` (and are not deleted)."""
    condition = format_soql("Id IN {}", list(ids))
    query = f"SELECT Id FROM {config.salesforce.object}"  # noqa: S608
    return query + f" WHERE ({config.salesforce.where}) AND {condition}"


def _server_time(session: Any) -> float | None:
    moment = getattr(session, "server_time", None)
    return float(moment) if isinstance(moment, (int, float)) else None


def _query_lower_bound(before: float | None, answered: float | None, session: Any) -> float | None:
    """A time, on Salesforce's clock, no later than when the query ran.

    The Date of an earlier response is one; so is the query's own answer's Date less the longest the
    session waits for an answer (its connect and read timeouts) and a second for the header's rounding.
    """
    timeout = getattr(session, "timeout", None)
    wait = sum(timeout) if isinstance(timeout, tuple) else timeout if isinstance(timeout, (int, float)) else None
    bound = answered - wait - 1 if answered is not None and wait is not None else None
    known = [moment for moment in (before, bound) if moment is not None]
    return max(known) if known else None


class SalesforceReader:
    """Reads accounts in scope, and reports API usage.

    Args:
        client: a signed-in simple-salesforce client whose session is a ServiceSession.
        config: the validated tier file.

    """

    def __init__(self, client: Salesforce, config: TierFile) -> None:
        self._sf = client
        self._config = config

    def org_identity(self) -> str:
        """Which Salesforce org this is, for tying run state to it; costs no API call.

        The org id that prefixes the session id, or, for a token without one, the instance host.
        """
        match = _ORG_PREFIX.match(str(self._sf.session_id or ""))
        return match.group(1) if match else f"host:{str(self._sf.sf_instance).lower()}"

    def usage(self) -> ApiUsage | None:
        """API usage from the last response's Sforce-Limit-Info header, if any was seen."""
        usage = self._sf.api_usage.get("api-usage")
        return ApiUsage(usage.used, usage.total) if usage is not None else None

    def _check_ceiling(self) -> None:
        usage, ceiling = self.usage(), self._config.salesforce.max_api_usage_fraction
        if usage is not None and usage.fraction >= ceiling:
            raise QuotaExhaustedError(
                f"Salesforce API usage is {usage.used} of {usage.total} daily requests ({usage.fraction:.0%}), "
                f"at or above salesforce.max_api_usage_fraction {ceiling:.0%}; stopped before writing anything",
                hint="wait for the rolling 24-hour allocation to recover, or raise the ceiling in the tier file",
            )

    def _records(self, soql: str, *, include_deleted: bool = False,
                 total: Callable[[int], None] | None = None) -> Iterator[dict[str, Any]]:
        """The query's records, page by page (``nextRecordsUrl``), checking the API ceiling as they come.

        ``total`` is told the first page's ``totalSize`` (for a progress bar with a total).
        """
        log.debug("salesforce %s: %s", "queryAll" if include_deleted else "query", soql)
        try:
            page = self._sf.query(soql, include_deleted=include_deleted)
            if total is not None:
                total(int(page.get("totalSize") or 0))
            count = 0
            while True:
                for record in page.get("records") or []:
                    if count % 500 == 0:
                        self._check_ceiling()
                    count += 1
                    yield record
                if page.get("done", True) or not page.get("nextRecordsUrl"):
                    break
                page = self._sf.query_more(page["nextRecordsUrl"], identifier_is_url=True,
                                           include_deleted=include_deleted)
        except SalesforceError as exc:  # only reached for shapes our session does not classify
            raise RemoteStateError(f"salesforce query failed: {redact(str(exc))[:300]}") from None
        self._check_ceiling()

    def _to_account(self, record: dict[str, Any]) -> Account:
        try:
            account_id = to_18(str(record.get("Id", "")))
        except InvalidSalesforceId as exc:
            raise RemoteStateError(f"salesforce returned a record with an invalid Id: {exc}") from None
        fields = {key: value for key, value in record.items() if key != "attributes"}
        modstamp = record.get("SystemModstamp")
        return Account(id=account_id, name=str(record.get("Name") or ""), fields=fields,
                       modstamp=modstamp if isinstance(modstamp, str) else None)

    def read(self, *, since: str | None = None, progress: Callable[[int], None] | None = None,
             total: Callable[[int], None] | None = None) -> Iterator[Account]:
        """Stream accounts in scope: all of them, or those modified at or after ``since``."""
        self._check_ceiling()
        for record in self._records(build_query(self._config, since=since), total=total):
            if progress:
                progress(1)
            yield self._to_account(record)

    def read_changes(self, *, since: str, seen: Collection[tuple[str, str]] = frozenset(),
                     progress: Callable[[int], None] | None = None) -> AccountChanges:
        """Rows modified at or after ``since``: accounts in scope, and accounts deleted or out of scope.

        One ``queryAll``; rows whose ``(Id, SystemModstamp)`` is in ``seen`` (rows of the previous run in
        the watermark's second, once that second was over) are passed over. With a ``where``, the live
        rows' scope costs one more query per 200 rows, and none when no row changed.
        """
        self._check_ceiling()
        session = self._sf.session
        before = _server_time(session)  # e.g. the sign-in's Date header: earlier than the query
        first_page: float | None = None
        rows: list[dict[str, Any]] = []
        for record in self._records(build_changes_query(self._config, since), include_deleted=True):
            first_page = first_page or _server_time(session)
            if progress:
                progress(1)
            if (str(record.get("Id", "")), record.get("SystemModstamp")) not in seen:
                rows.append(record)
        live = [r for r in rows if r.get("IsDeleted") is not True]
        in_scope = self._in_scope([self._to_account(r).id for r in live])
        accounts, removed = [], []
        for record in rows:
            account = self._to_account(record)
            if record.get("IsDeleted") is True:
                removed.append(RemovedAccount(account.id, account.name, "deleted", account.modstamp))
            elif account.id in in_scope:
                accounts.append(account)
            else:
                removed.append(RemovedAccount(account.id, account.name, "out_of_scope", account.modstamp))
        return AccountChanges(tuple(accounts), tuple(removed),
                              _query_lower_bound(before, first_page or _server_time(session), session))

    def _in_scope(self, ids: Sequence[str]) -> set[str]:
        if not self._config.salesforce.where:
            return set(ids)
        found: set[str] = set()
        for start in range(0, len(ids), ID_CHUNK):
            soql = build_scope_query(self._config, ids[start : start + ID_CHUNK])
            found.update(self._to_account(record).id for record in self._records(soql))
        return found

    def read_ids(self, ids: Iterable[str]) -> Iterator[Account]:
        """Stream the accounts in scope among ``ids`` (canonical 18-character ids)."""
        pending = sorted(set(ids))
        for start in range(0, len(pending), ID_CHUNK):
            chunk = pending[start : start + ID_CHUNK]
            for record in self._records(build_query(self._config, ids=chunk)):
                yield self._to_account(record)

    def check_scope(self) -> int:
        """Run the full read's query with ``LIMIT 1`` (doctor): proves ``where`` and the fields are valid.

        Returns how many records came back (0 or 1).
        """
        soql = build_query(self._config) + " LIMIT 1"
        return sum(1 for _ in self._records(soql))

    def daily_usage(self) -> ApiUsage | None:
        """Daily API requests from the ``limits/`` resource (``DailyApiRequests``: Max, Remaining)."""
        daily = self._sf.limits().get("DailyApiRequests") or {}
        if "Max" not in daily or "Remaining" not in daily:
            return None
        return ApiUsage(int(daily["Max"]) - int(daily["Remaining"]), int(daily["Max"]))

    def field_names(self) -> set[str]:
        """API names of the object's fields (describe), lower-cased, for `doctor`."""
        described = getattr(self._sf, self._config.salesforce.object).describe()
        return {str(field["name"]).lower() for field in described.get("fields", [])}

