from worker.envnames import mentions_a_service, unknown_variables

KNOWN = ["SALESFORCE_USERNAME", "SALESFORCE_PASSWORD", "ZENDESK_URL", "ZENDESK_API_TOKEN", "TIERSYNC_HTTP_TIMEOUT"]


def test_misspelled_variables_are_named_with_a_suggestion() -> None:
    found = unknown_variables(KNOWN, {"environment": ["SALESFORCE_USER", "PATH", "ZENDESK_URL"],
                                      ".env": ["tiersync_http_timout"]})
    assert [f.describe() for f in found] == [
        "SALESFORCE_USER (environment) is not a tiersync variable; did you mean SALESFORCE_USERNAME?",
        "TIERSYNC_HTTP_TIMOUT (.env) is not a tiersync variable; did you mean TIERSYNC_HTTP_TIMEOUT?"]


def test_nothing_to_say_about_correct_or_foreign_names() -> None:
    assert unknown_variables(KNOWN, {"environment": ["HOME", "ZENDESK_URL", "ZENPY_FORCE_NETLOC"]}) == []


def test_mentions_a_service_counts_misspellings_too() -> None:
    assert mentions_a_service({"environment": ["zendesk_urll"]})
    assert not mentions_a_service({"environment": ["TIERSYNC_CONFIG", "HOME"]})
