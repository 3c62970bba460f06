"""Issue 2 acceptance, end to end through the CLI, zenpy and simple-salesforce, over HTTPS."""

from __future__ import annotations

import pytest

from tests.integration.conftest import World, batches, expected_tags

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("world", [2000], indirect=True)
def test_full_then_idle_then_25_changes(world: World) -> None:
    expected = expected_tags(world)
    dry = world.cli("sync", "--full", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stderr
    assert world.zendesk_writes() == 0
    planned = dry.json()

    first = world.cli("sync", "--full", "--json")
    assert first.exit_code == 0, first.stderr
    applied = first.json()
    assert applied["plan_fingerprint"] == planned["plan_fingerprint"]
    assert applied["changes"] == planned["changes"]
    changed = applied["writes"]["updated"]
    assert changed == len(expected) == applied["outcomes"]["set_tier"]
    assert world.update_many_calls() == batches(changed)
    assert {org_id: world.tier_of(org_id) for org_id in expected} == expected
    untouched = set(world.sandbox.zendesk.organizations) - set(expected)
    assert all(world.tier_of(org_id) is None for org_id in untouched)
    assert sum(applied["outcomes"].values()) == applied["accounts"] == world.seeded.customers
    assert len(applied["duplicates"]) >= 1 and applied["no_organization"]
    assert {r["reason"] for r in applied["rejected"]} >= {"unknown_value", "duplicate_organizations"}

    world.sandbox.zendesk.reset_requests()
    idle = world.cli("sync", "--json")
    assert idle.exit_code == 0, idle.stderr
    assert world.zendesk_writes() == 0
    assert idle.json()["mode"] == "incremental"

    flips = {"tier_enterprise": "Starter", "tier_professional": "Enterprise", "tier_starter": "Professional"}
    by_org = {org_id: org["external_id"] for org_id, org in world.sandbox.zendesk.organizations.items()}
    chosen = sorted(expected)[:25]
    for org_id in chosen:
        account_id = next(a for a in world.sandbox.salesforce.accounts if a[:15].lower() == by_org[org_id][:15].lower())
        world.sandbox.salesforce.update_account(account_id, Support_Tier__c=flips[expected[org_id]])
    world.sandbox.zendesk.reset_requests()
    third = world.cli("sync", "--json")
    assert third.exit_code == 0, third.stderr
    assert third.json()["writes"]["updated"] == 25
    assert world.update_many_calls() == 1
    assert world.sandbox.zendesk.count(method="PUT") == 1
    flipped_to = {"tier_enterprise": "tier_starter", "tier_professional": "tier_enterprise",
                  "tier_starter": "tier_professional"}
    assert all(world.tier_of(org_id) == flipped_to[expected[org_id]] for org_id in chosen)

    # A later full run lists only what it writes or rejects, and counts the rest: the same accounts and orphans.
    again = world.cli("sync", "--full", "--json").json()
    assert again["accounts"] == sum(again["outcomes"].values()) == applied["accounts"]
    assert again["outcomes"]["unchanged"] == len(expected) and again["outcomes"]["set_tier"] == 0
    assert again["orphans"] == applied["orphans"] and again["no_organization"] == applied["no_organization"]


def test_dry_run_prints_the_plan_and_writes_nothing(world: World) -> None:
    dry = world.cli("sync", "--full", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "Plan " in dry.stdout and "set tier" in dry.stdout and "Dry run: nothing was written." in dry.stdout
    assert "create dropdown field 'support_tier'" in dry.stdout
    assert world.zendesk_writes() == 0
    assert not world.sandbox.zendesk.fields


def test_bad_config_fails_before_any_api_call(world: World) -> None:
    world.config_path.write_text(world.config_path.read_text().replace("tag: tier_starter", "tag: Tier Starter"))
    run = world.cli("sync", "--full")
    assert run.exit_code == 2
    assert "tiers[2].tag" in run.stderr and str(world.config_path) in run.stderr
    assert world.sandbox.zendesk.requests == [] and world.sandbox.salesforce.requests == []


@pytest.mark.parametrize("variable", ["ZENDESK_API_TOKEN", "SALESFORCE_ACCESS_TOKEN"])
def test_wrong_credentials_exit_3_and_write_nothing(world: World, variable: str) -> None:
    world.monkeypatch.setenv(variable, "wrong-token-value")
    run = world.cli("sync", "--full")
    assert run.exit_code == 3, run.stdout + run.stderr
    assert "rejected the credentials" in run.stderr
    assert world.zendesk_writes() == 0


def test_missing_secret_is_a_config_error(world: World) -> None:
    world.monkeypatch.delenv("ZENDESK_API_TOKEN")
    run = world.cli("sync")
    assert run.exit_code == 2
    assert "ZENDESK_EMAIL + ZENDESK_API_TOKEN" in run.stderr
    assert world.sandbox.zendesk.requests == []


@pytest.mark.parametrize("variable", ["ZENDESK_URL", "SALESFORCE_INSTANCE_URL"])
def test_unreachable_endpoint_exit_4(world: World, variable: str) -> None:
    world.monkeypatch.setenv(variable, "https://127.0.0.1:9")
    world.monkeypatch.setenv("TIERSYNC_MAX_ATTEMPTS", "1")
    run = world.cli("sync", "--full")
    assert run.exit_code == 4, run.stdout + run.stderr
    assert "127.0.0.1:9 connection failed" in run.stderr
    assert world.zendesk_writes() == 0


def test_untrusted_certificate_says_how_to_fix(world: World) -> None:
    world.monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    run = world.cli("sync", "--full")
    assert run.exit_code == 4
    assert "REQUESTS_CA_BUNDLE" in run.stderr


def test_rejected_writes_exit_8_and_are_retried_next_run(world: World) -> None:
    expected = expected_tags(world)
    victims = set(sorted(expected)[:3])
    world.sandbox.zendesk.fail_org_ids = set(victims)
    first = world.cli("sync", "--full", "--json")
    assert first.exit_code == 8
    assert {f["organization_id"] for f in first.json()["failed"]} == victims
    world.sandbox.zendesk.fail_org_ids = set()
    world.sandbox.zendesk.reset_requests()
    second = world.cli("sync", "--json")
    assert second.exit_code == 0, second.stderr
    assert second.json()["writes"]["updated"] == 3
    assert all(world.tier_of(org_id) == expected[org_id] for org_id in victims)


def test_wrong_field_type_is_refused(world: World) -> None:
    world.sandbox.zendesk.add_field("support_tier", "text", "Support tier")
    run = world.cli("sync", "--full")
    assert run.exit_code == 7
    assert "is a 'text' field, not a dropdown" in run.stderr
    assert world.zendesk_writes() == 0


def test_existing_options_are_never_dropped(world: World) -> None:
    world.sandbox.zendesk.add_field("support_tier", "dropdown", "Support tier",
                                    options=[("Gold (legacy)", "legacy_gold"), ("Enterprise", "tier_enterprise")])
    orphan_id = world.sandbox.zendesk.add_organization("Legacy Co", None, {"support_tier": "legacy_gold"})
    run = world.cli("sync", "--full", "--json")
    assert run.exit_code == 0, run.stderr
    (field,) = world.sandbox.zendesk.fields.values()
    values = [o["value"] for o in field["custom_field_options"]]
    assert values[:2] == ["legacy_gold", "tier_enterprise"] and set(values) >= {"tier_professional", "tier_starter"}
    assert world.tier_of(orphan_id) == "legacy_gold"
    assert run.json()["field"]["foreign_options"] == ["legacy_gold"]


def test_agent_token_can_plan_but_not_write(world: World) -> None:
    world.sandbox.zendesk.role = "agent"
    assert world.cli("sync", "--full", "--dry-run").exit_code == 0
    run = world.cli("sync", "--full")
    assert run.exit_code == 3
    assert "not an admin" in run.stderr
    assert world.zendesk_writes() == 0


def test_change_rail_refuses_then_force_applies(world: World) -> None:
    assert world.cli("sync", "--full").exit_code == 0
    text = world.config_path.read_text()
    swapped = text.replace('["Enterprise", "Tier 1"]', "@").replace('["Starter", "Tier 3"]', '["Enterprise", "Tier 1"]')
    swapped = swapped.replace("@", '["Starter", "Tier 3"]')
    world.config_path.write_text(swapped)
    world.sandbox.zendesk.reset_requests()
    refused = world.cli("sync", "--full")
    assert refused.exit_code == 6
    assert "above max_change_fraction 25%" in refused.stderr
    assert world.zendesk_writes() == 0
    forced = world.cli("sync", "--full", "--force", "--json")
    assert forced.exit_code == 0
    assert forced.json()["writes"]["updated"] > 0


def test_resync_and_explain_one_account(world: World) -> None:
    expected = expected_tags(world)
    org_id = sorted(expected)[0]
    external = world.sandbox.zendesk.organizations[org_id]["external_id"]
    run = world.cli("resync", external, "--json")
    assert run.exit_code == 0, run.stderr
    assert run.json()["writes"]["updated"] == 1
    assert world.tier_of(org_id) == expected[org_id]
    assert world.update_many_calls() == 1
    explained = world.cli("explain", external)
    assert explained.exit_code == 0, explained.stderr
    assert "maps to tier" in explained.stdout and "Sync would: unchanged" in explained.stdout


def test_resync_rejects_bad_ids_before_calls(world: World) -> None:
    run = world.cli("resync", "not-an-id")
    assert run.exit_code == 2
    assert "'not-an-id'" in run.stderr
    assert world.sandbox.zendesk.requests == []


def test_doctor_reports_and_passes(world: World) -> None:
    run = world.cli("doctor")
    assert run.exit_code == 0, run.stdout
    assert "Zendesk user is an admin" in run.stdout
    assert "Salesforce API usage" in run.stdout
    assert "does not exist yet; the first sync creates it" in run.stdout
    world.config_path.write_text(world.config_path.read_text().replace("Strategic__c]", "Strategic__c, Nope__c]"))
    bad = world.cli("doctor")
    assert bad.exit_code == 7
    assert "lacks field(s) Nope__c" in bad.stdout


def test_secrets_never_reach_output(world: World) -> None:
    token = world.sandbox.zendesk.api_token
    world.monkeypatch.setenv("TIERSYNC_LOG_LEVEL", "DEBUG")
    world.sandbox.zendesk.fail_next(1, 401, {"error": f"Couldn't authenticate you {token}"})
    run = world.cli("sync", "--full")
    assert run.exit_code == 3
    assert token not in run.stdout + run.stderr
    assert world.sandbox.salesforce.access_token not in run.stdout + run.stderr
    assert world.update_many_calls() == 0 and world.zendesk_writes() == 0  # the writes path was never reached
    assert world.zendesk_writes() == 0


def test_debug_logging_of_a_whole_sync_leaks_no_secret(world: World) -> None:
    world.monkeypatch.setenv("TIERSYNC_LOG_LEVEL", "DEBUG")
    run = world.cli("sync", "--full", "--json")
    assert run.exit_code == 0, run.stderr
    output = run.stdout + run.stderr
    assert "DEBUG" in output  # debug logging really was on
    for secret in (world.sandbox.zendesk.api_token, world.sandbox.salesforce.access_token):
        assert secret not in output


def _password_mode(world: World, password: str) -> None:
    sf = world.sandbox.salesforce
    world.monkeypatch.delenv("SALESFORCE_ACCESS_TOKEN")
    world.monkeypatch.setenv("SALESFORCE_USERNAME", sf.username)
    world.monkeypatch.setenv("SALESFORCE_PASSWORD", password)
    world.monkeypatch.setenv("SALESFORCE_SECURITY_TOKEN", sf.security_token)


def test_password_sign_in_at_the_instance_url(world: World) -> None:
    _password_mode(world, world.sandbox.salesforce.password)
    run = world.cli("sync", "--full", "--json")
    assert run.exit_code == 0, run.stderr
    assert run.json()["writes"]["updated"] > 0
    assert world.sandbox.salesforce.requests[0] == ("POST", "/services/Soap/u/59.0")
    assert world.sandbox.salesforce.access_token not in run.stdout + run.stderr  # the session id is a secret


def test_wrong_password_is_exit_3_with_one_line(world: World) -> None:
    _password_mode(world, "not-the-password")
    run = world.cli("sync", "--full")
    assert run.exit_code == 3
    assert "sign-in failed" in run.stderr and "not-the-password" not in run.stderr
    assert world.zendesk_writes() == 0


def test_zendesk_url_without_a_dot(world: World) -> None:
    port = world.sandbox.zendesk_url.rsplit(":", 1)[1]
    world.monkeypatch.setenv("ZENDESK_URL", f"https://localhost:{port}")
    run = world.cli("sync", "--full", "--json")
    assert run.exit_code == 0, run.stderr
    assert run.json()["writes"]["updated"] > 0


def test_password_sign_in_follows_no_redirect(world: World) -> None:
    """Defect 8: a 307 at the SOAP login must not carry the password and security token elsewhere."""
    sf = world.sandbox.salesforce
    _password_mode(world, sf.password)
    sf.fail_next(1, 307, {}, headers={"Location": f"http://u:p@evil.example/x?stolen={sf.password}"},
                 path_contains="/services/Soap/")
    run = world.cli("sync", "--full")
    assert run.exit_code == 4, run.stdout + run.stderr
    assert ("error: salesforce POST /services/Soap/u/59.0 answered HTTP 307 redirect to http://evil.example; "
            "tiersync follows no redirects") in run.stderr
    assert "fix: set SALESFORCE_INSTANCE_URL" in run.stderr
    assert "stolen" not in run.stderr and "u:p" not in run.stderr
    assert sf.requests == [("POST", "/services/Soap/u/59.0")]
    assert world.zendesk_writes() == 0


def test_zendesk_redirect_is_not_followed(world: World) -> None:
    world.sandbox.zendesk.fail_next(1, 302, {}, headers={"Location": world.sandbox.zendesk_url + "/elsewhere"})
    run = world.cli("sync", "--full")
    assert run.exit_code == 4, run.stdout + run.stderr
    assert f"HTTP 302 redirect to {world.sandbox.zendesk_url}; tiersync follows no redirects" in run.stderr
    assert "fix: set ZENDESK_URL" in run.stderr
    assert not any(path.startswith("/elsewhere") for _, path, _ in world.sandbox.zendesk.requests)
    assert world.zendesk_writes() == 0


def test_no_log_line_interrupts_the_human_output_unless_asked(world: World) -> None:
    quiet = world.cli("sync", "--full")
    assert quiet.exit_code == 0, quiet.stderr
    assert " INFO " not in quiet.stderr and "Applied:" in quiet.stdout
    world.monkeypatch.setenv("TIERSYNC_LOG_LEVEL", "INFO")
    asked = world.cli("sync")
    assert 'INFO worker.engine: {"accounts":' in asked.stderr and '"event": "tiersync.run"' in asked.stderr


def test_status_shows_the_last_runs_and_the_watermark(world: World) -> None:
    assert world.cli("sync", "--full").exit_code == 0
    assert world.cli("sync").exit_code == 0
    status = world.cli("status", "--json")
    assert status.exit_code == 0, status.stderr
    document = status.json()
    assert [r["mode"] for r in document["runs"]] == ["incremental", "full"]
    assert document["runs"][1]["organizations_written"] > 0 and document["runs"][0]["trigger"] == "cli"
    assert document["watermark"] and document["lock_holder"] is None
    assert world.sandbox.zendesk.api_token not in status.stdout
    human = world.cli("status")
    assert "Last runs (2)" in human.stdout and "Run lock: free" in human.stdout


def test_redis_down_is_one_line_exit_4_and_nothing_written(world: World) -> None:
    world.monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    run = world.cli("sync", "--full")
    assert run.exit_code == 4, run.stdout + run.stderr
    assert run.stderr.startswith("error: redis: cannot ") and len(run.stderr.splitlines()) == 2
    assert world.zendesk_writes() == 0
    health = world.cli("health")
    assert health.exit_code == 4 and health.stderr.startswith("error: redis: cannot reach the server")


def test_health_is_ok_with_a_working_store(world: World) -> None:
    run = world.cli("health")
    assert run.exit_code == 0 and run.stdout.startswith("ok: state file")


def test_resync_a_tier_rechecks_only_that_tiers_organizations(world: World) -> None:
    assert world.cli("sync", "--full").exit_code == 0
    expected = expected_tags(world)
    starters = [o for o, tag in expected.items() if tag == "tier_starter"]
    enterprises = [o for o, tag in expected.items() if tag == "tier_enterprise"]
    for organization_id in (starters[0], enterprises[0]):  # both changed by hand in Zendesk
        world.sandbox.zendesk.organizations[organization_id]["organization_fields"]["support_tier"] = "tier_professional"
    run = world.cli("resync", "--tier", "starter", "--json", "--force")
    assert run.exit_code == 0, run.stderr
    assert run.json()["writes"]["updated"] == 1
    assert world.tier_of(starters[0]) == "tier_starter"
    assert world.tier_of(enterprises[0]) == "tier_professional"  # not this tier's: left for its own resync
    bad = world.cli("resync", "--tier", "gold")
    assert bad.exit_code == 2 and "--tier 'gold' is not a tier" in bad.stderr
    both = world.cli("resync", "--all", "--tier", "starter")
    assert both.exit_code == 2 and "exactly one of them" in both.stderr
