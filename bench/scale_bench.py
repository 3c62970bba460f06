"""Scale benchmark (issue 18): tiersync's API calls, time and memory beside the floor a perfect client needs.

Runs the real ``tiersync`` CLI in a subprocess (launched from a small spawned process, so os.wait4's peak RSS
and CPU time are that process's own) against the HTTPS sandbox served from this process. For each N in
``--accounts``:

  1. seed the sandbox (``seed_demo``: ~84% of the accounts get exactly one matchable organization; the rest
     are prospects, duplicates, accounts without an organization, unknown or blank tiers; plus orphans);
  2. ``sync --full`` sets every tier (row "initial"; it also creates the dropdown field);
  3. for each ``--change-rate`` R (percent of the matched accounts: in scope, exactly one organization, a known
     tier), the tiers of that share are moved to the next tier in Salesforce (``update_account``), then:
       - ``sync --full`` (row "full"), when ``--runs`` has ``full``;
       - ``sync`` (row "incremental"), when ``--runs`` has ``incremental``, on a fresh draw of R% changes.
         When the run before it wrote, an incremental ``sync`` first reads those writes back through the
         export (row "read back"; nothing changed in Salesforce), so the measured incremental run sees R%
         of changes and nothing else.
     With ``--naive``, ``bench/naive.py`` (one search per account, one PUT per difference) runs on the same
     changed state before tiersync's full run (or its incremental run when ``--runs incremental``); the
     Zendesk organizations are then put back as they were, so tiersync meets the same state.
  4. with ``incremental`` in ``--runs``: a last ``sync`` after an incremental one, nothing changed (row "idle").
  The sandbox clock moves on ``sandbox.advance(61)`` before every run (the export leaves out the last minute).
  The fake Zendesk gets an external-id index (``index_external_ids``): its own lookup scans every organization
  per id, which at 100,000 organizations would put seconds of the fake's CPU into each ``show_many`` call.
  Every run gets ``--force`` (a 100% change would trip ``max_change_fraction``; the rail is not measured here).

Figures per run, from the sandbox's own request log (not from tiersync's report of itself):
  SF calls: every Salesforce request. ZD reads: Zendesk GETs but job polls. ZD writes: PUT/POST/DELETE/PATCH.
  Job polls: GET /api/v2/job_statuses*. 429s: Zendesk answers of 429 (the account limit, the export limit).
  Wall time, CPU time (user + sys of the tiersync process, os.wait4), peak RSS (ru_maxrss of that process),
  sandbox CPU (this process's CPU while the run lasted: the fake servers' share of the machine), and the size
  of tiersync's run state file after the run (what every later run loads).

Floor (the calls a perfect client needs; P = MAX_JOBS_IN_FLIGHT of worker/io/zendesk.py, jobs in flight at once):
  W          = organizations whose dropdown value the run changed (sandbox snapshot before and after the run)
  full:        SF        = ceil(accounts in scope / 2000)                   query pages of 2,000
               ZD reads  = ceil(organizations / 100) + 1                    cursor pages of 100, the field
  incremental: SF        = max(1, ceil(accounts changed in Salesforce / 2000))
               ZD reads  = max(1, ceil(organizations changed in Zendesk since the last run / 1000))
                                                                            export pages of 1,000
                           + ceil(accounts changed in Salesforce / 100)     show_many by external id
                           + (1 if W > 0)                                   the field, only to write
  every run:   ZD writes = ceil(W / 100)                                    update_many jobs
                           + 1 when the run creates the dropdown field
               job polls = ceil(ceil(W / 100) / P)                          one poll round per P jobs
  So an idle incremental run's floor is 1 Salesforce call + 1 Zendesk call (one empty export page).
  "Organizations changed in Zendesk since the last run" is what the run before wrote (a read-back run).
  The naive row's floor is the full floor.

Paced mode (``--paced RPM``): the sandbox answers 429 (Retry-After) past RPM Zendesk requests a clock minute
(``rate_limit_per_minute``, the account-wide budget). Real time passes. Burst floor: the waiting the limit
imposes when the first minute's budget may be spent at once: 0 s when ZD calls <= RPM, else
ceil(calls / RPM - 1) minutes. The naive baseline runs with the limit lifted (it would take calls / RPM minutes).

Usage:
  python bench/scale_bench.py [--accounts N ...] [--change-rate R ...] [--runs full incremental]
                              [--paced RPM] [--naive] [--seed S] [--output FILE.json] [--profile DIR] [--verbose]
  make bench ARGS="..."    (the same; make bench-scenario runs bench/sync_bench.py)
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import multiprocessing
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from worker.core.config import TierFile, load_tier_file  # noqa: E402
from worker.io.zendesk import BATCH, MAX_JOBS_IN_FLIGHT  # noqa: E402
from worker.sandbox import soql  # noqa: E402
from worker.sandbox.httpbase import Request, Response  # noqa: E402
from worker.sandbox.seed import seed_demo  # noqa: E402
from worker.sandbox.server import Sandbox  # noqa: E402
from worker.sandbox.sobjects import ACCOUNT_SCHEMA  # noqa: E402

CONFIG = ROOT / "config" / "tiers.yaml"
SF_PAGE = 2000  # Salesforce query batch (the largest; the sandbox's default too)
ZD_PAGE = 100  # Zendesk cursor pagination page
EXPORT_PAGE = 1000  # Zendesk time-based incremental export page
JOB_POLLS = "/api/v2/job_statuses"
WRITE_METHODS = ("PUT", "POST", "DELETE", "PATCH")
NAIVE = ROOT / "bench" / "naive.py"
MEMTRACE = ROOT / "bench" / "memtrace.py"
RSS_TIMELINE = ROOT / "bench" / "rsstimeline.py"


# ----------------------------------------------------------------------------- processes
@dataclass
class Proc:
    stdout: str
    stderr: str
    seconds: float
    cpu_seconds: float
    rss_mib: float
    code: int


def run_process(argv: list[str], env: dict[str, str]) -> Proc:
    """Run one command to its end (in the spawned launcher); its own rusage via os.wait4 (ru_maxrss in KiB)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = code = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        return Proc(out.read(), err.read(), seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code)


class RequestLog:
    """Wraps a fake service's ``handle`` on the instance: (monotonic time, method, path, status) per request."""

    def __init__(self, app: Any) -> None:
        self.entries: list[tuple[float, str, str, int]] = []
        self._handle: Callable[[Request], Response] = app.handle
        app.handle = self

    def __call__(self, request: Request) -> Response:
        response = self._handle(request)
        path = request.path.rstrip("/").removesuffix(".json")
        self.entries.append((time.monotonic(), request.method, path, response.status))
        return response

    def clear(self) -> None:
        self.entries = []


def index_external_ids(zd: Any, rng: random.Random) -> None:
    """Give the fake Zendesk an external-id index (on the instance; worker/sandbox is left as it is).

    The fake's ``find_by_external_id`` scans every organization for each id: one ``show_many`` of 100 external
    ids at 100,000 organizations is ten million comparisons, seconds of the sandbox's CPU on the machine
    tiersync runs on. The index answers the same (same matching, in id order) as long as no external id
    changes, which nothing in this bench does; a sample is checked against the scan.
    """
    index: dict[str, list[int]] = {}
    with zd.lock:
        for org_id in sorted(zd.organizations):
            external = zd.organizations[org_id]["external_id"]
            if external is not None:
                index.setdefault(str(external).casefold(), []).append(org_id)
        sample = rng.sample(sorted(index), min(20, len(index)))
        expected = {key: zd.find_by_external_id(key) for key in sample}

    def find_by_external_id(external_id: str) -> list[dict[str, Any]]:
        organizations = zd.organizations
        return [organizations[i] for i in index.get(external_id.strip().casefold(), ()) if i in organizations]

    assert all(find_by_external_id(key) == found for key, found in expected.items()), "external-id index differs"
    zd.find_by_external_id = find_by_external_id


# ----------------------------------------------------------------------------- floor and rows
@dataclass
class Calls:
    sf: int = 0
    reads: int = 0
    writes: int = 0
    polls: int = 0

    @property
    def total(self) -> int:
        return self.sf + self.reads + self.writes + self.polls


def write_floor(written: int, field_created: bool) -> tuple[int, int]:
    jobs = math.ceil(written / BATCH)
    return jobs + int(field_created), math.ceil(jobs / MAX_JOBS_IN_FLIGHT)


def full_floor(in_scope: int, organizations: int, written: int, field_created: bool = False, *,
               export: bool = False) -> Calls:
    writes, polls = write_floor(written, field_created)
    pages = math.ceil(organizations / (EXPORT_PAGE if export else ZD_PAGE))
    return Calls(math.ceil(in_scope / SF_PAGE), pages + 1, writes, polls)


def incremental_floor(sf_changed: int, zd_changed: int, written: int) -> Calls:
    writes, polls = write_floor(written, False)
    reads = max(1, math.ceil(zd_changed / EXPORT_PAGE)) + math.ceil(sf_changed / BATCH) + int(written > 0)
    return Calls(max(1, math.ceil(sf_changed / SF_PAGE)), reads, writes, polls)


def burst_floor_seconds(calls: int, limit: int) -> float:
    return 0.0 if calls <= limit else 60.0 * math.ceil(calls / limit - 1)


@dataclass
class Row:
    accounts: int
    run: str
    rate: float
    changed: int  # accounts whose tier this step changed in Salesforce
    written: int  # organizations whose value the run changed in Zendesk
    calls: Calls
    floor: Calls
    rate_limited: int
    rate_limited_late: int  # 429s more than a minute after the run started
    seconds: float
    cpu_seconds: float
    rss_mib: float
    sandbox_cpu_seconds: float
    state_kib: float = 0.0  # the run state tiersync keeps between runs (its state directory), after this run
    jobs: int = 0
    burst_floor_seconds: float | None = None
    naive_total: int | None = None
    notes: list[str] = field(default_factory=list)
    paths: Counter[tuple[str, str, str]] = field(default_factory=Counter)


@dataclass
class Measured:
    proc: Proc
    calls: Calls
    rate_limited: int = 0
    rate_limited_late: int = 0  # more than a minute after the process started
    written: int = 0
    sandbox_cpu: float = 0.0
    jobs: int = 0
    paths: Counter[tuple[str, str, str]] = field(default_factory=Counter)


def _shape(path: str) -> str:
    """A request path with its ids and cursors folded, to group the calls by endpoint."""
    path = re.sub(r"/query/[A-Za-z0-9]+-\d+$", "/query/{locator}", path)
    path = re.sub(r"/job_statuses/V3-[0-9a-f]+$", "/job_statuses/{id}", path)
    return re.sub(r"/\d+(?=/|$)", "/{id}", path)


def ratio(value: int, floor: int) -> str:
    if floor == 0:
        return "-" if value == 0 else "inf"
    return f"{value / floor:.2f}x"


def cell(value: int, floor: int) -> str:
    return f"{value:,} / {floor:,} ({ratio(value, floor)})"


# ----------------------------------------------------------------------------- the bench
class Bench:
    def __init__(self, sandbox: Sandbox, launcher: Any, state_dir: str, options: argparse.Namespace,
                 tiers: TierFile) -> None:
        self.sb, self.launcher, self.options, self.tiers = sandbox, launcher, options, tiers
        self.sf, self.zd = sandbox.salesforce, sandbox.zendesk
        self.state_dir = Path(state_dir)
        config = CONFIG
        if options.full_read == "export":  # the tier file with zendesk.full_read: export, beside the state
            config = Path(state_dir) / "tiers-export.yaml"
            config.write_text(CONFIG.read_text().replace("zendesk:\n", "zendesk:\n  full_read: export\n", 1))
        self.env = {**os.environ, **sandbox.env(), "TIERSYNC_STATE_DIR": state_dir, "TIERSYNC_CONFIG": str(config),
                    "TIERSYNC_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
        self.env.pop("REDIS_URL", None)  # run state in the state directory, as the CLI alone keeps it
        self.zd_log = RequestLog(self.zd)
        self.rng = random.Random(options.seed)
        self.key = tiers.zendesk.organization_field
        assert tiers.salesforce.tier_field, "the bench changes tiers through the tier file's tier_field"
        self.tier_field = tiers.salesforce.tier_field
        self.tag_of = {value.strip().casefold(): tier.tag for tier in tiers.tiers for value in tier.salesforce_values}
        tags = [tier.tag for tier in tiers.tiers]
        self.next_value = {tier.tag: tiers.tiers[(tags.index(tier.tag) + 1) % len(tags)].salesforce_values[0]
                           for tier in tiers.tiers}
        self.pending_readback = 0  # organizations the last run wrote: the next incremental's export reads them
        self.rows: list[Row] = []
        self.naive_totals: dict[float, int] = {}
        self.accounts = 0
        self.org_by_id15: dict[str, int] = {}

    # --------------------------------------------------------------- state of the fakes
    def in_scope(self) -> list[str]:
        """Ids of the live accounts the tier file's ``where`` selects (the sandbox's own SOQL)."""
        where = self.tiers.salesforce.where
        query = soql.parse(f"SELECT Id FROM Account{' WHERE ' + where if where else ''}", {"Account": ACCOUNT_SCHEMA})
        with self.sf.lock:
            live = [r for r in self.sf.accounts.values() if not r["IsDeleted"]]
            return [r["Id"] for r in query.run(live, ACCOUNT_SCHEMA.fields)]

    def index_organizations(self) -> None:
        counts: Counter[str] = Counter()
        first: dict[str, int] = {}
        with self.zd.lock:
            for org_id, org in self.zd.organizations.items():
                external = str(org["external_id"] or "")
                if len(external) in (15, 18):
                    counts[external[:15].casefold()] += 1
                    first.setdefault(external[:15].casefold(), org_id)
        self.org_by_id15 = {key: org_id for key, org_id in first.items() if counts[key] == 1}

    def matched(self) -> list[str]:
        """Accounts in scope with exactly one organization and a known tier value."""
        out = []
        for account_id in self.in_scope():
            value = self.sf.accounts[account_id][self.tier_field]
            if account_id[:15].casefold() in self.org_by_id15 and self.tag_of.get(str(value or "").strip().casefold()):
                out.append(account_id)
        return out

    def change(self, rate: float) -> dict[str, str]:
        """Move ``rate`` % of the matched accounts to the next tier; returns account id -> its new tag."""
        matched = sorted(self.matched())
        chosen = self.rng.sample(matched, round(len(matched) * rate / 100))
        changed = {}
        for account_id in chosen:
            tag = self.tag_of[str(self.sf.accounts[account_id][self.tier_field] or "").strip().casefold()]
            value = self.next_value[tag]
            self.sf.update_account(account_id, **{self.tier_field: value})
            changed[account_id] = self.tag_of[value.strip().casefold()]
        return changed

    def snapshot(self) -> dict[int, Any]:
        with self.zd.lock:
            return {org_id: org["organization_fields"].get(self.key) for org_id, org in self.zd.organizations.items()}

    def verify(self, changed: dict[str, str], label: str) -> None:
        values = self.snapshot()
        wrong = [a for a, tag in changed.items() if values[self.org_by_id15[a[:15].casefold()]] != tag]
        assert not wrong, f"{label}: {len(wrong)} changed accounts' organizations do not hold the new tier"

    # --------------------------------------------------------------- one measured process
    def measure(self, argv: list[str]) -> Measured:
        """Run ``argv`` and count what the fakes saw meanwhile."""
        self.zd_log.clear()
        self.zd.reset_requests()
        self.sf.reset_requests()
        before = self.snapshot()
        own = resource.getrusage(resource.RUSAGE_SELF)
        started = time.monotonic()
        proc: Proc = self.launcher.apply(run_process, (argv, self.env))
        own_after = resource.getrusage(resource.RUSAGE_SELF)
        after = self.snapshot()
        assert not self.sb.errors, f"the sandbox failed: {self.sb.errors[-1]}"
        m = Measured(proc, Calls(sf=len(self.sf.requests)))
        m.paths.update(("salesforce", method, _shape(path)) for method, path in self.sf.requests)
        for moment, method, path, status in self.zd_log.entries:
            m.paths[("zendesk", method, _shape(path) + (" -> 429" if status == 429 else ""))] += 1
            if method == "GET" and path.startswith(JOB_POLLS):
                m.calls.polls += 1
            elif method == "GET":
                m.calls.reads += 1
            elif method in WRITE_METHODS:
                m.calls.writes += 1
                m.jobs += path == "/api/v2/organizations/update_many" and status == 200
            if status == 429:
                m.rate_limited += 1
                m.rate_limited_late += moment - started > 60
        m.written = sum(1 for org_id, value in after.items() if before.get(org_id) != value)
        m.sandbox_cpu = (own_after.ru_utime + own_after.ru_stime) - (own.ru_utime + own.ru_stime)
        return m

    def label(self, run: str, rate: float) -> str:
        return f"{self.accounts}-{run.replace(' ', '-')}-{rate:g}"

    def tiersync(self, run: str, rate: float, args: list[str], changed: dict[str, str]) -> Row:
        label = self.label(run, rate)
        argv = [sys.executable, "-m", "worker.cli", *args, "--json", "--force"]
        if self.options.profile:
            argv[1:3] = ["-m", "cProfile", "-o", str(Path(self.options.profile) / f"{label}.pstats"), "-m",
                         "worker.cli"]
        elif self.options.rss:
            argv[1:3] = [str(RSS_TIMELINE)]
        elif self.options.memory and run != "initial":  # the measured runs only: tracing is slow
            argv[1:3] = [str(MEMTRACE)]
            self.env["TIERSYNC_MEMTRACE_OUT"] = str(Path(self.options.memory) / f"{label}.txt")
        self.sb.advance(61)
        zd_changed = self.pending_readback
        m = self.measure(argv)
        proc = m.proc
        if self.options.rss:
            (Path(self.options.rss) / f"{label}.txt").write_text(proc.stderr[proc.stderr.find("RSS timeline"):])
        if proc.code != 0:
            sys.stderr.write(proc.stderr)
            raise SystemExit(f"tiersync {' '.join(args)} exited {proc.code}")
        summary = json.loads(proc.stdout)
        field_created = summary.get("field", {}).get("action") == "create"
        if "--full" in args:
            floor = full_floor(len(self.in_scope()), len(self.zd.organizations), m.written, field_created,
                               export=self.options.full_read == "export")
        else:
            floor = incremental_floor(len(changed), zd_changed, m.written)
        row_state = sum(f.stat().st_size for f in self.state_dir.glob("state-*.json")) / 1024
        notes = list(summary.get("notes") or [])
        if summary.get("timings"):  # per-phase timings, should tiersync's --json report them
            notes.append("timings: " + json.dumps(summary["timings"]))
        row = self.row(run, rate, changed, m, floor, notes=notes)
        row.state_kib = row_state
        row.naive_total = self.naive_totals.get(rate)
        self.pending_readback = m.written
        self.verify(changed, label)
        if run in ("incremental", "full", "idle") and rate == 0:
            assert m.calls.writes == 0 and m.written == 0, f"{label}: nothing changed, yet the run wrote"
        return self.add(row)

    def naive(self, rate: float, changed: dict[str, str]) -> Row:
        """The naive baseline on the current state; Zendesk's organizations are put back afterwards."""
        with self.zd.lock:
            saved = copy.deepcopy(self.zd.organizations)
            limit, self.zd.rate_limit_per_minute = self.zd.rate_limit_per_minute, 10**9
        self.sb.advance(61)
        try:
            m = self.measure([sys.executable, str(NAIVE)])
        finally:
            with self.zd.lock:
                self.zd.organizations.clear()
                self.zd.organizations.update(saved)
                self.zd.org_update_times.clear()
                self.zd.rate_limit_per_minute = limit
        if m.proc.code != 0:
            sys.stderr.write(m.proc.stderr)
            raise SystemExit(f"bench/naive.py exited {m.proc.code}")
        report = json.loads(m.proc.stdout)
        floor = full_floor(len(self.in_scope()), len(self.zd.organizations), m.written)
        row = self.row("naive", rate, changed, m, floor,
                       notes=[", ".join(f"{k} {v:,}" for k, v in sorted(report["outcomes"].items()))])
        self.naive_totals[rate] = m.calls.total
        return self.add(row)

    def row(self, run: str, rate: float, changed: dict[str, str], m: Measured, floor: Calls, notes: list[str]) -> Row:
        row = Row(self.accounts, run, rate, len(changed), m.written, m.calls, floor, m.rate_limited,
                  m.rate_limited_late, m.proc.seconds, m.proc.cpu_seconds, m.proc.rss_mib, m.sandbox_cpu, m.jobs,
                  notes=notes, paths=m.paths)
        if self.options.paced:
            zendesk_calls = m.calls.reads + m.calls.writes + m.calls.polls
            row.burst_floor_seconds = burst_floor_seconds(zendesk_calls, self.options.paced)
        return row

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        c, f = row.calls, row.floor
        print(f"  {row.run:<12} {row.rate:>5g}%  changed {row.changed:>6,}  written {row.written:>6,}  "
              f"SF {cell(c.sf, f.sf)}  ZD reads {cell(c.reads, f.reads)}  writes {cell(c.writes, f.writes)}  "
              f"polls {cell(c.polls, f.polls)}  429s {row.rate_limited}  all {cell(c.total, f.total)}  "
              f"{row.seconds:.1f}s wall  {row.cpu_seconds:.1f}s CPU  {row.rss_mib:.0f} MiB  "
              f"(sandbox {row.sandbox_cpu_seconds:.1f}s CPU)", flush=True)
        for note in row.notes:
            print(f"      note: {note}")
        if self.options.verbose:
            for (service, method, path), n in sorted(row.paths.items()):
                print(f"      {n:>7,}  {service:<10} {method:<6} {path}")
        if self.options.profile and row.run != "naive":
            print_profile(Path(self.options.profile) / f"{self.label(row.run, row.rate)}.pstats")
        return row

    # --------------------------------------------------------------- one N
    def scale(self, accounts: int) -> None:
        self.accounts = accounts
        started = time.perf_counter()
        seeded = seed_demo(self.sb, accounts=accounts, seed=self.options.seed)
        self.index_organizations()
        index_external_ids(self.zd, random.Random(self.options.seed))
        print(f"\nN = {accounts:,}: seeded {len(self.in_scope()):,} accounts in scope, "
              f"{seeded.organizations:,} organizations, {len(self.matched()):,} matched, "
              f"in {time.perf_counter() - started:.1f}s", flush=True)
        if self.options.paced:
            self.zd.rate_limit_per_minute = self.options.paced
        self.tiersync("initial", 0, ["sync", "--full"], {})
        for rate in self.options.change_rate:
            if "full" in self.options.runs:
                changed = self.change(rate)
                if self.options.naive:
                    self.naive(rate, changed)
                self.tiersync("full", rate, ["sync", "--full"], changed)
            if "incremental" in self.options.runs:
                if self.pending_readback:
                    self.tiersync("read back", 0, ["sync"], {})
                changed = self.change(rate)
                if self.options.naive and "full" not in self.options.runs:
                    self.naive(rate, changed)
                self.tiersync("incremental", rate, ["sync"], changed)
        if "incremental" in self.options.runs:  # nothing changed since an incremental run: the 1 + 1 floor
            if self.pending_readback:
                self.tiersync("read back", 0, ["sync"], {})
            self.tiersync("idle", 0, ["sync"], {})


# Where a run's time goes, by the cumulative time of these functions (file suffix, function name) under cProfile.
# A phase whose function is renamed in worker/ is left out rather than failing the bench.
PHASES = (
    ("imports", "<frozen importlib._bootstrap>", "_find_and_load"),
    ("run_sync (read + plan + apply + state)", "worker/engine.py", "run_sync"),
    ("  read both sides", "worker/reading.py", "read_sides"),
    ("    Zendesk organizations (zenpy objects)", "worker/io/zendesk.py", "all_organizations"),
    ("    Zendesk export", "worker/io/zendesk.py", "changed_organizations"),
    ("    Salesforce accounts", "worker/io/salesforce.py", "read"),
    ("    Salesforce changes", "worker/io/salesforce.py", "read_changes"),
    ("  plan", "worker/engine.py", "_plan_organizations"),
    ("  write (update_many + polls)", "worker/io/zendesk.py", "write_tags"),
    ("  next run state", "worker/engine.py", "_next_state"),
    ("  zenpy JSON -> objects", "zenpy/lib/mapping.py", "object_from_json"),
)


def print_profile(path: Path) -> None:
    import pstats  # only with --profile

    stats: dict[Any, Any] = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    total = max((entry[3] for entry in stats.values()), default=0.0)
    print(f"      profile ({path.name}; cProfile slows the run): {total:.2f}s in all")
    for label, file_suffix, function in PHASES:
        cumulative = max((entry[3] for (file, _, name), entry in stats.items()
                          if name == function and file.endswith(file_suffix)), default=None)
        if cumulative is not None:
            print(f"      {cumulative:>7.2f}s  {label}")


# ----------------------------------------------------------------------------- output
def table(rows: list[Row], paced: int | None) -> str:
    head = ["N", "run", "change", "accounts changed", "orgs written", "SF calls / floor", "ZD reads / floor",
            "ZD writes / floor", "job polls / floor", "429s", "all calls / floor", "vs naive", "wall s", "CPU s",
            "peak RSS MiB", "sandbox CPU s", "state KiB"]
    if paced:
        head += [f"burst floor s ({paced}/min)", "429s after 1st min"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|"]
    for r in rows:
        c, f = r.calls, r.floor
        vs = "" if r.run == "naive" or not r.naive_total else f"{c.total / r.naive_total:.3f}x"
        change = f"{r.rate:g}%" if r.run in ("full", "incremental", "naive") else "-"
        cells = [f"{r.accounts:,}", r.run, change, f"{r.changed:,}", f"{r.written:,}", cell(c.sf, f.sf),
                 cell(c.reads, f.reads), cell(c.writes, f.writes), cell(c.polls, f.polls), f"{r.rate_limited:,}",
                 cell(c.total, f.total), vs, f"{r.seconds:.1f}", f"{r.cpu_seconds:.1f}", f"{r.rss_mib:.0f}",
                 f"{r.sandbox_cpu_seconds:.1f}", f"{r.state_kib:,.0f}" if r.run != "naive" else ""]
        if paced:
            cells += [f"{r.burst_floor_seconds or 0:.0f}", f"{r.rate_limited_late:,}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


LEGEND = f"""\
Legend. Each call cell is "measured / floor (ratio)", counted in the sandbox's request log.
  SF calls: Salesforce requests. ZD reads: Zendesk GETs but job polls. ZD writes: PUT/POST/DELETE.
  job polls: GET {JOB_POLLS}*. 429s: Zendesk answers of 429. vs naive: all calls / the naive run's at that rate.
  initial: the first full sync (creates the field, sets every tier). full: sync --full after R% changed.
  read back: sync right after a run that wrote (its export returns those writes; nothing changed in Salesforce).
  incremental: sync after R% changed. idle: sync after an incremental sync, nothing changed on either side.
  naive: bench/naive.py (a search per account, a PUT per difference).
  Floor: full = ceil(in scope/{SF_PAGE}) SF + ceil(orgs/{ZD_PAGE}) + 1 field reads; incremental =
  max(1, ceil(changed/{SF_PAGE})) SF + max(1, ceil(read back/{EXPORT_PAGE})) export + ceil(changed/{BATCH})
  show_many + 1 field read when writing; writes = ceil(W/{BATCH}) update_many (+1 field create); polls =
  ceil(jobs/{MAX_JOBS_IN_FLIGHT}). W = organizations whose value changed.
  wall s: the process's lifetime. CPU s: its user + sys time. peak RSS: its ru_maxrss. sandbox CPU s: this
  process's CPU meanwhile (the fake servers, on the same 2 cores). state KiB: tiersync's run state file
  (state-*.json in TIERSYNC_STATE_DIR) after the run: what every later run loads.
  Paced: burst floor s = 0 when ZD calls <= RPM, else ceil(calls/RPM - 1) minutes. The sandbox's windows are
  clock minutes, so the first one may end early and a run may wait less than its burst floor."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[10_000], metavar="N",
                        help="accounts to seed, one sandbox per N (default 10000)")
    parser.add_argument("--change-rate", type=float, nargs="+", default=[1.0], metavar="R",
                        help="percent of the matched accounts whose tier changes before each measured run")
    parser.add_argument("--runs", nargs="+", choices=("full", "incremental"), default=["full", "incremental"],
                        help="which measured runs to make at each change rate (default both)")
    parser.add_argument("--paced", type=int, metavar="RPM", help="Zendesk requests allowed a minute (429 past it)")
    parser.add_argument("--naive", action="store_true", help="also run the naive baseline (bench/naive.py)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the demo data and of the changes")
    parser.add_argument("--output", metavar="FILE", help="also write the rows as JSON")
    parser.add_argument("--profile", metavar="DIR", help="run tiersync under cProfile; .pstats files in DIR")
    parser.add_argument("--full-read", choices=("list", "export"), default="list",
                        help="zendesk.full_read of the tier file the runs use (default list)")
    parser.add_argument("--rss", metavar="DIR",
                        help="print tiersync's resident memory at each stage (bench/rsstimeline.py) to DIR")
    parser.add_argument("--memory", metavar="DIR",
                        help="run tiersync under tracemalloc (bench/memtrace.py); where its peak memory goes, in DIR")
    parser.add_argument("--verbose", action="store_true", help="print each run's requests by endpoint")
    options = parser.parse_args()
    if any(not 0 <= r <= 100 for r in options.change_rate):
        parser.error("--change-rate is a percentage, 0 to 100")
    if options.profile:
        Path(options.profile).mkdir(parents=True, exist_ok=True)
    tiers = load_tier_file(CONFIG)
    print(f"floor: P = {MAX_JOBS_IN_FLIGHT} jobs in flight; pages: SF {SF_PAGE}, ZD {ZD_PAGE}, export {EXPORT_PAGE}, "
          f"show_many/update_many {BATCH}" + (f"; paced at {options.paced} Zendesk requests a minute"
                                                if options.paced else ""))
    # ru_maxrss survives exec, so a child forked from this process (which holds the seeded sandbox) would report
    # this process's size: children are launched from a small spawned process instead.
    launcher = multiprocessing.get_context("spawn").Pool(1)
    rows: list[Row] = []
    with launcher:
        for accounts in options.accounts:
            with Sandbox() as sandbox, tempfile.TemporaryDirectory() as state_dir:
                bench = Bench(sandbox, launcher, state_dir, options, tiers)
                bench.scale(accounts)
                rows.extend(bench.rows)
    print()
    print(table(rows, options.paced))
    print()
    print(LEGEND)
    if options.output:
        document = [{**asdict(r), "paths": [[*key, n] for key, n in sorted(r.paths.items())]} for r in rows]
        Path(options.output).write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
