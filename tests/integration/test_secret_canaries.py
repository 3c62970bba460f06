"""Secret canaries (issue 19 part 5, fault matrix row 19): no secret leaves the process, on any command or error path.

Every secret tiersync is given gets a distinctive canary value: the Salesforce access token, password, security
token, JWT private key and consumer key, the Zendesk API token and OAuth token, the Slack webhook URL (its path is
the credential) and the Redis password in REDIS_URL. Each row of :data:`CASES` runs commands through the console
script's own entry point with ``TIERSYNC_LOG_LEVEL=DEBUG`` against the HTTPS sandbox, a password-protected
redis-server and the Slack receiver, some of them with a fault that quotes the request (its credentials) back.
Then everything the run left is gathered (stdout, stderr, log records, every file under the test's directory:
reports, state, history; Slack payloads; every Redis key and value; what tiersync wrote into Zendesk) and searched
for every canary, in the encodings a leak would take (URL-encoded, base64 such as Zendesk's ``email/token:TOKEN``
basic credential, XML and HTML escapes, and any 12-character piece of a canary, which a truncated message leaves).
The Celery test does the same for a real worker started from the Procfile: the queued message (task arguments),
the unacked message while the task runs, and the worker's log.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
from click.testing import CliRunner

from tests.conftest import EXAMPLE_CONFIG
from tests.integration.conftest import World
from tests.integration.leak_search import Canary, decoded_views, leaks, redis_dump
from tests.integration.test_celery import processes, wait_for  # noqa: F401 - the fixture runs the Procfile's worker
from worker.cli import main
from worker.sandbox.httpbase import Request, echo_request
from worker.sandbox.seed import seed_demo
from worker.sandbox.seed.tickets import seed_tickets
from worker.sandbox.server import Sandbox
from worker.sandbox.slack import SlackReceiver

pytestmark = pytest.mark.integration

# ------------------------------------------------------------------------------------------------ the canaries
# Each value is distinctive in its core; some carry the characters encodings change (& < > + / = %).
SF_ACCESS_TOKEN = "00D000000000001!ARcnryAccessQ7xK2mV9pL4tZ8wR3hJ"
SF_PASSWORD = "cnryPassW0rdB7&<Zx9>+/Wq4=Lm7%"
SF_SECURITY_TOKEN = "cnrySecTokenD4fG8hK2mN6pQ"
SF_CONSUMER_KEY = "3MVG9cnryConsumerKeyB4nX8qL2wT6yU1"
ZD_API_TOKEN = "cnryZdApiTokenE5rT9yU3iO7pA1sD"
ZD_OAUTH_TOKEN = "cnryZdOAuthF6gH0jK4lZ8xC2vB5nM"
SLACK_TOKEN = "cnrySlackHookG7hJ1kL5zX9cV3bN"
REDIS_PASSWORD = "cnryRedisPwH8jK2/lZ6+xC0=vB"
REDIS_WRONG_PASSWORD = "cnryRedisWrongJ9kL3zX7cV1bN"
ZD_EMAIL = "sandbox-admin@example.com"

KEY_MARKS = ("-----BEGIN", "-----END")  # PEM armour lines are not secret; the body is


def static_canaries(slack_url: str) -> list[Canary]:
    """Every configured secret of a run (the Slack URL is known once the receiver listens)."""
    slack_path = slack_url.split("127.0.0.1", 1)[1].split("/", 1)[1]
    basic = f"{ZD_EMAIL}/token:{ZD_API_TOKEN}"
    return [
        Canary("SALESFORCE_ACCESS_TOKEN", SF_ACCESS_TOKEN, SF_ACCESS_TOKEN.split("!")[1]),
        Canary("SALESFORCE_PASSWORD", SF_PASSWORD, "cnryPassW0rdB7"),
        Canary("SALESFORCE_PASSWORD+SECURITY_TOKEN", SF_PASSWORD + SF_SECURITY_TOKEN, SF_SECURITY_TOKEN),
        Canary("SALESFORCE_SECURITY_TOKEN", SF_SECURITY_TOKEN, SF_SECURITY_TOKEN),
        Canary("SALESFORCE_CONSUMER_KEY", SF_CONSUMER_KEY, SF_CONSUMER_KEY),
        Canary("ZENDESK_API_TOKEN", ZD_API_TOKEN, ZD_API_TOKEN),
        Canary("ZENDESK basic credential", base64.b64encode(basic.encode()).decode(),
               base64.b64encode(basic.encode()).decode()[-24:]),
        Canary("ZENDESK_OAUTH_TOKEN", ZD_OAUTH_TOKEN, ZD_OAUTH_TOKEN),
        Canary("SLACK_WEBHOOK_URL", slack_url, SLACK_TOKEN),
        Canary("SLACK_WEBHOOK_URL path", "/" + slack_path, SLACK_TOKEN),
        Canary("REDIS_URL password", REDIS_PASSWORD, "cnryRedisPwH8jK2"),
        Canary("REDIS_URL password (wrong one)", REDIS_WRONG_PASSWORD, REDIS_WRONG_PASSWORD),
    ]


def key_canaries(pem: str) -> list[Canary]:
    """The private key's body lines: any of them, or any 12-character piece, is a leak."""
    lines = [line for line in pem.splitlines() if line and not line.startswith(KEY_MARKS)]
    return [Canary(f"SALESFORCE_PRIVATE_KEY_FILE line {n}", line, line, encoded=False)
            for n, line in enumerate(lines[1:-1], 2)]


def test_the_search_finds_each_encoding_of_a_canary() -> None:
    """The detector itself: a leak in any of the encodings, or a cut-off piece, is found; clean text is not."""
    canaries = static_canaries("http://127.0.0.1:1/services/T000/B000/" + SLACK_TOKEN)
    basic = base64.b64encode(f"{ZD_EMAIL}/token:{ZD_API_TOKEN}".encode()).decode()
    body = base64.b64encode(json.dumps({"args": [SF_SECURITY_TOKEN]}).encode()).decode()  # a Celery message body
    for text in (f"Authorization: Basic {basic}", quote(SF_PASSWORD, safe=""), html.escape(SF_PASSWORD),
                 f"...{ZD_OAUTH_TOKEN[:14]}", f'{{"body": "{body}"}}', f"redis://:{quote(REDIS_PASSWORD)}@h/0"):
        assert leaks({"sample": text}, canaries), text
    assert leaks({"sample": "error: zendesk rejected the credentials (Authorization: Basic ****)"}, canaries) == []


# ------------------------------------------------------------------------------------------------ the world
@dataclass
class Output:
    """What one command printed."""

    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str


@dataclass
class CanaryWorld(World):
    """The sandbox with canary credentials, a password-protected Redis, a Slack receiver, and what runs printed."""

    slack: SlackReceiver = field(default=None)  # type: ignore[assignment]
    redis_url: str = ""
    tmp: Path = Path()
    key_pem: str = ""
    outputs: list[Output] = field(default_factory=list)
    echoed: list[str] = field(default_factory=list)  # fault bodies that quoted the request back
    log_lines: list[str] = field(default_factory=list)
    client_log_lines: list[str] = field(default_factory=list)  # raw, before any redaction: the client libraries'

    def run(self, *argv: str) -> Output:
        """Run ``tiersync ARGV`` through the console script's entry point (``worker.cli.main``), in-process."""
        args = tuple(a.replace("{account}", self.account_id()) for a in argv)
        with CliRunner().isolation() as (stdout, stderr, _), _argv(["tiersync", *args]):
            try:
                main()
                code = 0
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else 1
            result = Output(args, code, stdout.getvalue().decode(), stderr.getvalue().decode())
        self.outputs.append(result)
        return result

    def account_id(self) -> str:
        return next(iter(self.sandbox.salesforce.accounts))

    def echo(self, shape: Callable[[Request], Any]) -> Callable[[Request | None], Any]:
        """A fault body built by ``shape`` from the request, remembered (the positive control)."""
        def body(request: Request | None) -> Any:
            assert request is not None
            answer = shape(request)
            self.echoed.append(answer if isinstance(answer, str) else json.dumps(answer))
            return answer
        return body

    def set_env(self, **variables: str | None) -> None:
        for name, value in variables.items():
            if value is None:
                self.monkeypatch.delenv(name, raising=False)
            else:
                self.monkeypatch.setenv(name, value)


class _argv:
    """``sys.argv`` set for the duration of a block."""

    def __init__(self, argv: list[str]) -> None:
        self.argv, self.saved = argv, list(sys.argv)

    def __enter__(self) -> None:
        sys.argv[:] = self.argv

    def __exit__(self, *exc: object) -> None:
        sys.argv[:] = self.saved


CLIENT_LOGGERS = ("zenpy", "simple_salesforce", "urllib3", "requests", "slack_sdk")


class _Recorder(logging.Handler):
    """A handler someone else installed on the root logger (as Celery does): tiersync must redact it too."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.lines = lines
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    """A redis-server of our own, with ``--requirepass`` the canary, on a free port and a temporary directory."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    directory = tempfile.mkdtemp(prefix="tiersync-canary-redis-")
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--requirepass", REDIS_PASSWORD,
                               "--save", "", "--appendonly", "no", "--dir", directory],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port, password=REDIS_PASSWORD)
    try:
        wait_for(lambda: _answers(client), 10, "the canary redis-server answers PING")
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="module")
def key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, redis_port: int, key_pem: str) -> Iterator[CanaryWorld]:
    """Overrides the integration ``world`` (also for test_celery's ``processes``): canary credentials everywhere."""
    config_path = tmp_path / "tiers.yaml"
    config_path.write_text(EXAMPLE_CONFIG.read_text())
    redis_url = f"redis://:{quote(REDIS_PASSWORD, safe='')}@127.0.0.1:{redis_port}/0"
    redis.Redis.from_url(redis_url).flushdb()
    lines: list[str] = []
    recorder = _Recorder(lines)
    logging.getLogger().addHandler(recorder)
    client_lines: list[str] = []
    client_recorder = _Recorder(client_lines)  # on the libraries' own loggers: sees their records unredacted
    for name in CLIENT_LOGGERS:
        logging.getLogger(name).addHandler(client_recorder)
    with Sandbox() as sandbox, SlackReceiver(token=SLACK_TOKEN) as slack:
        sf, zd = sandbox.salesforce, sandbox.zendesk
        sf.access_token, sf.password, sf.security_token, sf.consumer_key = (
            SF_ACCESS_TOKEN, SF_PASSWORD, SF_SECURITY_TOKEN, SF_CONSUMER_KEY)
        sf.jwt_public_key = _public_key(key_pem)
        zd.email, zd.api_token, zd.oauth_token = ZD_EMAIL, ZD_API_TOKEN, ZD_OAUTH_TOKEN
        seeded = seed_demo(sandbox, accounts=12, seed=7)
        (tmp_path / "jwt.pem").write_text(key_pem)
        for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):  # slack-sdk would use them
            monkeypatch.delenv(name, raising=False)
        for name, value in {**sandbox.env(), "TIERSYNC_CONFIG": str(config_path), "REDIS_URL": redis_url,
                            "TIERSYNC_STATE_DIR": str(tmp_path / "state"), "TIERSYNC_LOG_LEVEL": "DEBUG",
                            "TIERSYNC_REPORT_DIR": str(tmp_path / "reports"), "SLACK_WEBHOOK_URL": slack.url,
                            "TIERSYNC_MAX_ATTEMPTS": "2", "TIERSYNC_LOCK_WAIT": "5",
                            "TIERSYNC_ALERT_REPEAT_AFTER": "0"}.items():
            monkeypatch.setenv(name, value)
        yield CanaryWorld(sandbox, seeded, monkeypatch, config_path, slack=slack, redis_url=redis_url,
                          tmp=tmp_path, key_pem=key_pem, log_lines=lines, client_log_lines=client_lines)
    logging.getLogger().removeHandler(recorder)
    for name in CLIENT_LOGGERS:
        logging.getLogger(name).removeHandler(client_recorder)
    redis.Redis.from_url(redis_url).flushdb()


def _public_key(pem: str) -> bytes:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pem.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


# ------------------------------------------------------------------------------------------------ capture
def captured(world: CanaryWorld, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Everything the runs left behind, by place."""
    places: dict[str, str] = {}
    for n, output in enumerate(world.outputs):
        name = f"#{n} tiersync {' '.join(output.argv)}"
        places[f"{name} stdout"], places[f"{name} stderr"] = output.stdout, output.stderr
    places["log records (a foreign root handler)"] = "\n".join(world.log_lines)
    places["client libraries' log records, unredacted"] = "\n".join(world.client_log_lines)
    for path in sorted(world.tmp.rglob("*")):
        if path.is_file() and path.name not in ("jwt.pem", ".env"):  # where the key and the secrets belong
            places[f"file {path.relative_to(world.tmp)}"] = path.read_bytes().decode("utf-8", "replace")
    places["slack payloads"] = "\n".join(post.raw.decode("utf-8", "replace") for post in world.slack.posts)
    places["redis keys and values"] = redis_dump(world.redis_url)
    zd = world.sandbox.zendesk
    places["what tiersync wrote into zendesk"] = json.dumps(
        [zd.organizations, zd.fields, zd.trigger_categories, zd.triggers, zd.views, zd.sla_policies], default=str)
    return {**places, **(extra or {})}


# ------------------------------------------------------------------------------------------------ the cases
def auth_header_first(request: Request) -> str:
    """The request's headers as a JSON list, the credential first: no ``Authorization: ...`` pattern to spot."""
    headers = sorted(request.headers.items(), key=lambda item: item[0].lower() != "authorization")
    return json.dumps([list(item) for item in headers])


def bare_credential(request: Request) -> str:
    """The credential alone, as a gateway's 'refused credential ...' message quotes it."""
    return f"refused credential {(request.header('Authorization') or '').split(' ')[-1]} for {request.path}"


def straddling(limit: int) -> Callable[[Request], str]:
    """The credential placed across character ``limit``, its last 10 characters past it: where a message is cut."""
    def shape(request: Request) -> str:
        credential = (request.header("Authorization") or "").split(" ")[-1]
        return "x" * (limit - len(credential) + 10) + credential + " " + echo_request(request)
    return shape


def soap_fault_quoting_the_password(request: Request) -> str:
    """A SOAP login fault whose message quotes the password field as sent: XML-escaped, the security token appended."""
    sent = re.search(r"<n1:password>(.*?)</n1:password>", request.body.decode(), re.DOTALL)
    return f"INVALID_LOGIN: password {sent.group(1) if sent else ''} refused"


def zendesk_json(request: Request) -> dict[str, str]:
    """Zendesk's error shape, its description quoting the headers."""
    return {"error": "Forbidden", "description": auth_header_first(request)}


def salesforce_json(request: Request) -> list[dict[str, str]]:
    """Salesforce's error shape, its message quoting the headers."""
    return [{"errorCode": "INVALID_SESSION_ID", "message": auth_header_first(request)}]


def drift(world: CanaryWorld) -> None:
    """A full sync, then one organization's tier cleared by hand: drift for reconcile (and a Slack alert)."""
    assert world.run("sync", "--full").exit_code == 0
    org_id = next(o for o, org in world.sandbox.zendesk.organizations.items()
                  if org["organization_fields"].get("support_tier"))
    world.sandbox.zendesk.set_org_field(org_id, "support_tier", None)


def synced(world: CanaryWorld) -> None:
    assert world.run("sync", "--full").exit_code == 0


def with_tickets(world: CanaryWorld) -> None:
    synced(world)
    seed_tickets(world.sandbox, count=40, days=30, seed=3,
                 tier_tags=("tier_enterprise", "tier_professional", "tier_starter"))


def password_login(world: CanaryWorld) -> None:
    world.set_env(SALESFORCE_ACCESS_TOKEN=None, SALESFORCE_USERNAME=world.sandbox.salesforce.username,
                  SALESFORCE_PASSWORD=SF_PASSWORD, SALESFORCE_SECURITY_TOKEN=SF_SECURITY_TOKEN)


def oauth_zendesk(world: CanaryWorld) -> None:
    world.set_env(ZENDESK_EMAIL=None, ZENDESK_API_TOKEN=None, ZENDESK_OAUTH_TOKEN=ZD_OAUTH_TOKEN)


def jwt_login(world: CanaryWorld) -> None:
    """Mode 3; login.salesforce.com is the sandbox (as a hosts entry would make it), the token endpoint signs in."""
    from worker.io.http import ServiceSession

    world.set_env(SALESFORCE_ACCESS_TOKEN=None, SALESFORCE_INSTANCE_URL=None,
                  SALESFORCE_USERNAME=world.sandbox.salesforce.username, SALESFORCE_CONSUMER_KEY=SF_CONSUMER_KEY,
                  SALESFORCE_PRIVATE_KEY_FILE=str(world.tmp / "jwt.pem"))
    send, sandbox_url = ServiceSession.request, world.sandbox.salesforce_url

    def to_sandbox(self: ServiceSession, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        return send(self, method, str(url).replace("https://login.salesforce.com", sandbox_url), *args, **kwargs)

    world.monkeypatch.setattr(ServiceSession, "request", to_sandbox)


def zendesk_fault(status: int, shape: Callable[[Request], Any], **options: Any) -> Callable[[CanaryWorld], None]:
    def prepare(world: CanaryWorld) -> None:
        world.sandbox.zendesk.fail_next(options.pop("count", 1), status, world.echo(shape), **options)
    return prepare


def salesforce_fault(status: int, shape: Callable[[Request], Any], **options: Any) -> Callable[[CanaryWorld], None]:
    def prepare(world: CanaryWorld) -> None:
        world.sandbox.salesforce.fail_next(options.pop("count", 1), status, world.echo(shape), **options)
    return prepare


def slack_fault(status: int, **options: Any) -> Callable[[CanaryWorld], None]:
    def prepare(world: CanaryWorld) -> None:
        drift(world)
        world.slack.fail_next(status, world.echo(echo_request), **options)
    return prepare


def quick_slack(world: CanaryWorld) -> None:
    """reconcile's notifier with a 1-second timeout and one attempt (the product's: 10 s, 3 attempts; same code)."""
    from worker.cli import reconcile as reconcile_cli
    from worker.io.slack import SlackNotifier

    def notifier(settings: Any) -> SlackNotifier:
        return SlackNotifier(settings.slack_webhook_url.get_secret_value(), timeout=1, max_attempts=1)

    world.monkeypatch.setattr(reconcile_cli, "notifier_from_settings", notifier)


def slack_timeout(world: CanaryWorld) -> None:
    """Slack answers after the notifier's timeout."""
    drift(world)
    quick_slack(world)
    world.slack.fail_next(200, "ok", delay=1.2)


def slack_refused(world: CanaryWorld) -> None:
    drift(world)
    quick_slack(world)
    world.set_env(SLACK_WEBHOOK_URL=f"http://127.0.0.1:{_free_port()}/services/T000/B000/{SLACK_TOKEN}")


def zendesk_times_out(world: CanaryWorld) -> None:
    world.set_env(TIERSYNC_HTTP_TIMEOUT="1", TIERSYNC_MAX_ATTEMPTS="1")
    world.sandbox.zendesk.fail_next(1, 200, world.echo(echo_request), delay=1.5)


def salesforce_refused(world: CanaryWorld) -> None:
    world.set_env(SALESFORCE_INSTANCE_URL=f"https://127.0.0.1:{_free_port()}")


def zendesk_redirects_with_token(world: CanaryWorld) -> None:
    world.sandbox.zendesk.fail_next(1, 302, world.echo(echo_request),
                                    {"Location": f"https://elsewhere.example/x?token={ZD_API_TOKEN}"})


def redis_wrong_password(world: CanaryWorld) -> None:
    world.set_env(REDIS_URL=world.redis_url.replace(quote(REDIS_PASSWORD, safe=""), REDIS_WRONG_PASSWORD))


def redis_refused(world: CanaryWorld) -> None:
    world.set_env(REDIS_URL=f"redis://:{quote(REDIS_PASSWORD, safe='')}@127.0.0.1:{_free_port()}/0")


def internal_error_quoting_a_url(world: CanaryWorld) -> None:
    """A bug whose exception quotes a URL with the token in it reaches the last line of defence (exit 1)."""
    from worker import services

    def broken(settings: Any, session: Any) -> Any:
        raise RuntimeError(f"cannot GET {world.sandbox.zendesk_url}/api/v2/x?token={ZD_API_TOKEN}&sid={SF_ACCESS_TOKEN}")

    world.monkeypatch.setattr(services.zendesk, "connect", broken)


def misspelled_secret(world: CanaryWorld) -> None:
    """A secret under a misspelled name: tiersync warns about the name (and `run` refuses it), never the value."""
    world.set_env(SALESFORCE_SECURTY_TOKEN=SF_SECURITY_TOKEN, ZENDESK_OAUTH_TOKN=ZD_OAUTH_TOKEN)


def dotenv_file(world: CanaryWorld) -> None:
    """Every credential from a .env file in the working directory instead of the environment."""
    names = ("SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN", "ZENDESK_URL", "ZENDESK_EMAIL", "ZENDESK_API_TOKEN",
             "REDIS_URL", "SLACK_WEBHOOK_URL")
    (world.tmp / ".env").write_text("".join(f"{name}={os.environ[name]}\n" for name in names))
    world.set_env(**dict.fromkeys(names))


def state_files(world: CanaryWorld) -> None:
    world.set_env(REDIS_URL=None)


def combine(*steps: Callable[[CanaryWorld], None]) -> Callable[[CanaryWorld], None]:
    def prepare(world: CanaryWorld) -> None:
        for step in steps:
            step(world)
    return prepare


@dataclass(frozen=True)
class Case:
    """A row: what to set up (credentials, faults, earlier runs), the commands, and the exit code each must give."""

    name: str
    commands: tuple[tuple[str, ...], ...]
    exits: tuple[int, ...]
    prepare: Callable[[CanaryWorld], None] | None = None
    echoes: bool = False  # a fault quotes the request back: the canary must be in what the fake answered


CASES = [
    Case("sync dry-run, json, full; resync by id, all, tier", (
        ("sync", "--dry-run"), ("sync", "--json"), ("sync", "--full"), ("resync", "{account}", "--json"),
        ("resync", "--all"), ("resync", "--tier", "enterprise", "--dry-run")), (0, 0, 0, 0, 0, 0)),
    Case("routing plan and apply, plan", (
        ("routing", "plan"), ("routing", "plan", "--json"), ("routing", "apply"), ("plan", "--full", "--json")),
        (0, 0, 0, 0)),
    Case("reconcile: every format, files and stdout, Slack alert, --fix", (
        ("reconcile",), ("reconcile", "--format", "json"), ("reconcile", "--format", "csv"),
        ("reconcile", "--format", "html"), ("reconcile", "--format", "markdown"),
        ("reconcile", "--output", "out-reconcile"), ("reconcile", "--fail-on-drift", "--no-alert"),
        ("reconcile", "--fix", "--output", "out-fix")), (0, 0, 0, 0, 0, 0, 10, 0), drift),
    Case("report service, status, doctor, explain, health", (
        ("report", "service", "--output", "out-service"), ("report", "service", "--format", "json"),
        ("status",), ("status", "--json"), ("doctor",), ("explain", "{account}"), ("health",)),
        (0, 0, 0, 0, 0, 0, 0), with_tickets),
    Case("password sign-in and Zendesk OAuth: sync, doctor", (("sync", "--full", "--json"), ("doctor",)), (0, 0),
         combine(password_login, oauth_zendesk)),
    Case("JWT sign-in: sync, explain, doctor", (("sync", "--full"), ("explain", "{account}"), ("doctor",)),
         (0, 0, 0), jwt_login),
    Case("secrets in a .env file: sync, reconcile, status, doctor", (
        ("sync", "--full"), ("reconcile", "--output", "out"), ("status",), ("doctor",)), (0, 0, 0, 0), dotenv_file),
    Case("secrets under misspelled names: sync warns, doctor lists, run refuses", (
        ("sync",), ("doctor",), ("run",)), (0, 0, 2), misspelled_secret),
    Case("state files instead of Redis: sync, status", (("sync", "--full"), ("status", "--json")), (0, 0),
         state_files),
    Case("zendesk 401 quoting the headers as JSON", (("sync", "--json"),), (3,), zendesk_fault(401, zendesk_json), True),
    Case("zendesk 401 quoting the bare credential (OAuth)", (("sync",),), (3,),
         combine(oauth_zendesk, zendesk_fault(401, bare_credential)), True),
    Case("zendesk 403 quoting the whole request as text", (("routing", "plan"),), (3,),
         zendesk_fault(403, echo_request), True),
    Case("zendesk 403, the credential across the 300th character", (("sync",),), (3,),
         zendesk_fault(403, lambda request: {"error": "Forbidden", "description": straddling(300)(request)}), True),
    Case("zendesk 500 quoting the request, retried then given up", (("reconcile", "--format", "json"),), (4,),
         zendesk_fault(500, echo_request, count=2), True),
    Case("zendesk times out", (("sync",),), (4,), zendesk_times_out),
    Case("zendesk redirect to a URL carrying the token", (("sync", "--json"),), (4,),
         zendesk_redirects_with_token, True),
    Case("salesforce 401 quoting the headers (Salesforce's JSON)", (("sync",),), (3,),
         salesforce_fault(401, salesforce_json, path_contains="/query"), True),
    Case("salesforce 500 text, the credential across the 200th character", (("explain", "{account}"),), (4,),
         salesforce_fault(500, straddling(200), count=2, path_contains="/services/data/"), True),
    Case("salesforce SOAP login refused, quoting the login body", (("sync",), ("doctor",)), (3, 3),
         combine(password_login, salesforce_fault(500, echo_request, count=2, path_contains="/Soap/")), True),
    Case("salesforce SOAP login refused, quoting the password as XML", (("sync",),), (3,),
         combine(password_login, salesforce_fault(500, soap_fault_quoting_the_password, path_contains="/Soap/")), True),
    Case("salesforce JWT token endpoint refused, quoting the assertion", (("sync",),), (3,),
         combine(jwt_login, salesforce_fault(400, lambda request: {"error": "invalid_grant",
                                                                   "error_description": echo_request(request)},
                                             path_contains="/oauth2/token")), True),
    Case("salesforce connection refused", (("sync",), ("doctor",)), (4, 4), salesforce_refused),
    Case("slack 500 quoting the request (then sent)", (("reconcile",),), (0,), slack_fault(500), True),
    Case("slack 404 quoting the request", (("reconcile", "--output", "out"),), (0,), slack_fault(404), True),
    Case("slack times out", (("reconcile",),), (0,), slack_timeout),
    Case("slack connection refused", (("reconcile",),), (0,), slack_refused),
    Case("redis refuses the password", (("status",), ("sync",), ("doctor",), ("health",)), (3, 3, 3, 3),
         redis_wrong_password),
    Case("redis connection refused", (("status", "--json"), ("resync", "--all", "--enqueue")), (4, 4), redis_refused),
    Case("internal error quoting a URL with tokens", (("sync",),), (1,), internal_error_quoting_a_url),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_no_secret_leaves_through_any_command_or_error_path(world: CanaryWorld, case: Case) -> None:
    if case.prepare is not None:
        case.prepare(world)
    runs = [world.run(*argv) for argv in case.commands]
    assert [run.exit_code for run in runs] == list(case.exits), [(r.argv, r.exit_code, r.stderr[-600:]) for r in runs]
    canaries = static_canaries(world.slack.url) + key_canaries(world.key_pem) + [
        Canary("the JWT bearer assertion", assertion, assertion.rsplit(".", 1)[-1])
        for assertion in world.sandbox.salesforce.jwt_assertions if assertion]
    if case.echoes:  # the fault did quote a secret back: a leak had its chance
        assert leaks({"the fakes' answers": "\n".join(world.echoed)}, canaries), world.echoed
    for name in ("zenpy", "simple_salesforce", "urllib3", "requests"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING, name
    assert not [line for line in world.client_log_lines if line.startswith(("DEBUG", "INFO"))]
    assert logging.getLogger().level == logging.DEBUG  # TIERSYNC_LOG_LEVEL=DEBUG took effect
    found = leaks(captured(world), canaries)
    assert found == [], "\n".join(found)


# ------------------------------------------------------------------------------------------------ Celery
def send_task(redis_url: str, name: str) -> None:
    """Queue task ``name`` on the broker at ``redis_url``, as beat does (``tiersync resync --enqueue`` queues resyncs)."""
    from worker.celery import app

    with app.connection_for_write(redis_url) as connection:
        app.send_task(name, kwargs={"trigger": "beat"}, connection=connection)


def test_celery_messages_unacked_tasks_and_the_worker_log_hold_no_secret(
        world: CanaryWorld, processes, tmp_path: Path) -> None:  # noqa: F811 - test_celery's fixture
    """Queue resyncs with ``--enqueue``, run them on a real worker (the Procfile's line) against the password-protected
    Redis, one of them held mid-write (unacked) and one refused by Zendesk with the headers quoted back, then a
    reconcile and a service report as beat queues them; a second worker has a wrong Redis password. Then search the
    queued messages (task arguments), the unacked ones, the database after, both workers' logs and every file."""
    from worker.io.state import namespace_for

    client = redis.Redis.from_url(world.redis_url)
    history = f"tiersync:history:{namespace_for(world.sandbox.zendesk_url.removeprefix('https://'))}"

    def exit_codes() -> set[int]:
        return {json.loads(raw)["exit_code"] for raw in client.lrange(history, 0, -1)}

    assert world.run("resync", "{account}", "--enqueue", "--json").exit_code == 0
    queued = redis_dump(world.redis_url)
    assert client.llen("celery") == 1 and any(world.account_id() in view for view in decoded_views(queued))
    zendesk = world.sandbox.zendesk
    zendesk.job_polls_before_done = 10**6  # update_many jobs stay in flight until TIERSYNC_JOB_TIMEOUT
    worker = processes("worker", REDIS_URL=world.redis_url, TIERSYNC_JOB_TIMEOUT="2")
    refused = processes("worker", REDIS_URL=world.redis_url.replace(quote(REDIS_PASSWORD, safe=""), REDIS_WRONG_PASSWORD))
    assert world.run("resync", "--all", "--enqueue").exit_code == 0
    wait_for(lambda: client.hlen("unacked") > 0 and zendesk.count(method="PUT") > 0, 40,
             "a queued resync is mid-write, its message unacked")
    unacked = redis_dump(world.redis_url)
    wait_for(lambda: 8 in exit_codes(), 30, "the held run gave up on its jobs (exit 8)")
    zendesk.job_polls_before_done = 1
    zendesk.fail_next(1, 401, world.echo(zendesk_json))
    assert world.run("resync", "{account}", "--enqueue").exit_code == 0
    wait_for(lambda: 3 in exit_codes(), 30, "a run refused by Zendesk, the headers quoted back (exit 3)")
    # A refused run needs a person: its one Slack alert quotes the (redacted) error, and is searched too.
    wait_for(lambda: any("needs attention" in m["text"] for m in world.slack.messages), 30,
             "the refused run's alert reached Slack")
    org_id = next(iter(zendesk.organizations))
    zendesk.set_org_field(org_id, "support_tier", "tier_starter" if world.tier_of(org_id) != "tier_starter" else None)
    send_task(world.redis_url, "tiersync.reconcile")  # as beat would: report files into TIERSYNC_REPORT_DIR, an alert
    send_task(world.redis_url, "tiersync.service_report")
    reports = world.tmp / "reports"
    wait_for(lambda: len(list(reports.glob("reconcile-*.json"))) == 1 and len(world.slack.messages) == 2, 30,
             "the queued reconcile wrote its reports and alerted Slack")
    wait_for(lambda: any("service" in path.name for path in reports.iterdir()), 30, "the service report's files")
    wait_for(lambda: "invalid username-password pair" in (tmp_path / "worker-1.log").read_text(errors="replace"), 30,
             "the worker given a wrong Redis password says so")
    for process in (worker, refused):
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    worker_log = "\n".join(path.read_text(errors="replace") for path in sorted(tmp_path.glob("worker-*.log")))
    assert "tiersync.resync" in worker_log and "rejected the credentials" in worker_log, worker_log[-3000:]
    assert "tiersync.reconcile" in worker_log and "tiersync.service_report" in worker_log
    canaries = static_canaries(world.slack.url) + key_canaries(world.key_pem)
    assert leaks({"the fakes' answers": "\n".join(world.echoed)}, canaries)
    found = leaks(captured(world, {"queued messages": queued, "unacked messages": unacked,
                                   "worker log": worker_log}), canaries)
    assert found == [], "\n".join(found)
