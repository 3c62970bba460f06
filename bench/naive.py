"""The naive baseline for the scale benchmark: one search per account, one PUT per difference.

What a first, straightforward integration would do, written without tiersync's engine, adapters or core:

  1. read the accounts in scope from Salesforce (``query`` with the tier file's ``where``, then every
     ``nextRecordsUrl``);
  2. for each account, ``GET /api/v2/organizations/search?external_id=<18-character Id>`` (Zendesk's
     SearchOrganizations, operationId in the OAS: an exact, case-insensitive match on ``external_id``; the
     sandbox serves it);
  3. when exactly one organization comes back and its dropdown value is not the account's tier tag,
     ``PUT /api/v2/organizations/{id}`` with that tag.

It decides tiers from the tier file's ``tier_field`` and ``salesforce_values`` only (stripped and case-folded;
no rules, no fallback): an unknown or blank value is left alone. It looks up the 18-character Id only, so an
organization whose ``external_id`` holds the 15-character form is not found (counted as ``not_found``), and an
account with several organizations is skipped (``duplicates``). A 429 is waited out (Retry-After) and the
request sent again.

Reads the same environment as tiersync (``SALESFORCE_INSTANCE_URL``, ``SALESFORCE_ACCESS_TOKEN``,
``ZENDESK_URL``, ``ZENDESK_EMAIL``, ``ZENDESK_API_TOKEN``, ``REQUESTS_CA_BUNDLE``, ``TIERSYNC_CONFIG``) and
prints one JSON document of counts on stdout.

Usage: python bench/naive.py [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from typing import Any
from urllib.parse import quote

import requests
import yaml

API_VERSION = "59.0"


class Client:
    """A ``requests.Session`` that counts calls and waits out 429s."""

    def __init__(self, ca_bundle: str | None) -> None:
        self.session = requests.Session()
        self.verify: str | bool = ca_bundle or True
        self.calls: Counter[str] = Counter()

    def send(self, kind: str, method: str, url: str, **kwargs: Any) -> Any:
        while True:
            self.calls[kind] += 1
            response = self.session.request(method, url, verify=self.verify, timeout=60, **kwargs)
            if response.status_code == 429:
                self.calls["rate_limited"] += 1
                time.sleep(float(response.headers.get("Retry-After") or 1))
                continue
            response.raise_for_status()
            return response.json()


def tier_tags(config: dict[str, Any]) -> dict[str, str]:
    """Salesforce value (stripped, case-folded) -> the tier's dropdown tag."""
    return {str(value).strip().casefold(): tier["tag"] for tier in config["tiers"]
            for value in tier.get("salesforce_values") or ()}


def read_accounts(client: Client, instance: str, token: str, config: dict[str, Any]) -> list[dict[str, Any]]:
    sf = config["salesforce"]
    soql = f"SELECT Id, {sf['tier_field']} FROM {sf.get('object', 'Account')}"
    if sf.get("where"):
        soql += f" WHERE {sf['where']}"
    headers = {"Authorization": f"Bearer {token}"}
    url: str | None = f"{instance}/services/data/v{API_VERSION}/query?q={quote(soql)}"
    records: list[dict[str, Any]] = []
    while url:
        page = client.send("salesforce", "GET", url, headers=headers)
        records.extend(page["records"])
        url = f"{instance}{page['nextRecordsUrl']}" if not page.get("done", True) else None
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="count the PUTs it would make, make none")
    options = parser.parse_args()
    env = os.environ
    with open(env.get("TIERSYNC_CONFIG", "config/tiers.yaml"), encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    tags, field = tier_tags(config), config["zendesk"]["organization_field"]
    tier_field = config["salesforce"]["tier_field"]
    client = Client(env.get("REQUESTS_CA_BUNDLE"))
    started = time.perf_counter()
    accounts = read_accounts(client, env["SALESFORCE_INSTANCE_URL"].rstrip("/"), env["SALESFORCE_ACCESS_TOKEN"],
                             config)
    zendesk = env["ZENDESK_URL"].rstrip("/")
    auth = (f"{env['ZENDESK_EMAIL']}/token", env["ZENDESK_API_TOKEN"])
    outcome: Counter[str] = Counter()
    for account in accounts:
        found = client.send("zendesk_read", "GET", f"{zendesk}/api/v2/organizations/search.json",
                            params={"external_id": account["Id"]}, auth=auth)["organizations"]
        raw = account.get(tier_field)
        tag = tags.get(str(raw).strip().casefold()) if raw is not None else None
        if not found:
            outcome["not_found"] += 1
        elif len(found) > 1:
            outcome["duplicates"] += 1
        elif tag is None:
            outcome["unknown_or_blank"] += 1
        elif (found[0].get("organization_fields") or {}).get(field) == tag:
            outcome["unchanged"] += 1
        else:
            outcome["updated"] += 1
            if not options.dry_run:
                client.send("zendesk_write", "PUT", f"{zendesk}/api/v2/organizations/{found[0]['id']}.json",
                            json={"organization": {"organization_fields": {field: tag}}}, auth=auth)
    json.dump({"accounts": len(accounts), "outcomes": dict(outcome), "calls": dict(client.calls),
               "seconds": round(time.perf_counter() - started, 3)}, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
