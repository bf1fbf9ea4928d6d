#!/usr/bin/env python3
"""Benchmark: `docsync sync` with 50 GitBook targets against a slow local API.

A monorepo wants one job that syncs dozens of spaces at once with
a bounded number of requests in flight. This starts a GitBook-style API on
127.0.0.1 that answers every request after 100 ms:

- `POST /v1/spaces/<id>/git/import` -> 204, and the space's import time is
  noted (when the answer is sent, i.e. when the operation is queued);
- `GET /v1/spaces/<id>/git/info` -> before any import of this run, an older
  finished operation (startedAt in the past); after it, an import operation
  that is `running` (startedAt = the import time) until 1 s after the
  import, then `success`.

The server counts the requests in flight (from the moment a request is read
until its answer is about to be written) and keeps the maximum. It builds
the static docsync (`cargo build --release --locked --target
x86_64-unknown-linux-musl`), creates a temporary git
repository with 50 documentation directories that all change in HEAD and a
docsync.toml with 50 GitBook targets, and runs `docsync sync` from it
(outside CI docsync plans HEAD~1..HEAD as a push) with a cleared environment
except PATH and HOME:

  (a) DOCSYNC_WAIT=false: 50 imports queued, each after reading the space
      (its content and change requests, the guard against overwriting
      GitBook edits): 150 requests. Required: median <= 1.2x the ideal,
      requests / concurrency (8) x 100 ms = 1.875 s.
  (b) waiting on, default poll interval: 50 imports followed to success.
      Required: median <= 5 s.

Peak memory (ru_maxrss of the child, from os.wait4) must stay under 50 MB in
both. Each scenario runs N times (default 5); the script prints a Markdown
table with the median wall time, peak RSS, the maximum number of requests in
flight, and where the time went (the git/info reads before each import, the
POST round, the polls). Exits non-zero when a requirement fails (unless
--no-check) or when a run does not sync all 50 spaces (always).

Python 3.11 standard library only. Run from anywhere:

    python3 bench/targets.py [--runs 5] [--no-check] [--docsync PATH]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import gitbook_answers
from harness import SlowApiHandler, git, serve, static_binary

TARGETS = 50
ANSWER_DELAY = 0.100  # every answer, seconds
REPO_URL = "https://gitlab.example.com/bench/monorepo"
OPERATION_TIME = 1.0  # an import runs this long after it is queued
OLD_STARTED = "2026-01-01T00:00:00Z"
OLD_ENDED = "2026-01-01T00:00:40Z"
TOKEN_VARIABLE = "BENCH_GITBOOK_TOKEN"
GIT_TOKEN_VARIABLE = "BENCH_GIT_TOKEN"
# (a): queuing is requests only, so its floor is requests ÷ concurrency ×
# 100 ms; at most 1.2× that, as issue 23 asks of `sync` (bench/sync.py).
RATIO_NO_WAIT = 1.2
DEFAULT_CONCURRENCY = 8  # docsync's default (src/settings/declarations.rs)
LIMIT_WAIT = 5.0
LIMIT_RSS_MB = 50.0
SPACE_PATH = re.compile(r"^/v1/spaces/([A-Za-z0-9_-]+)/(git/info|git/import|content|change-requests)$")
# Each directory's files, as the live revision lists them.
SPACE_FILES = [("README.md", "Home"), ("guide.md", "Guide")]


# ---------------------------------------------------------------------------
# The GitBook-style server


@dataclass
class Exchange:
    """One request: its phase, space, and when it was read and answered
    (seconds on the monotonic clock)."""

    phase: str  # "read before import", "import", "poll", "verify", "unexpected"
    space: str
    start: float
    end: float
    state: str = ""


@dataclass
class ServerState:
    lock: threading.Lock = field(default_factory=threading.Lock)
    imports: dict[str, float] = field(default_factory=dict)  # space -> monotonic
    import_wall: dict[str, str] = field(default_factory=dict)  # space -> RFC 3339
    in_flight: int = 0
    max_in_flight: int = 0
    exchanges: list[Exchange] = field(default_factory=list)
    # The commits before and after the push: a space shows `before` until
    # it is imported (GitBook holds no edits of its own), then `head`.
    before: str = ""
    head: str = ""

    def reset(self) -> None:
        with self.lock:
            self.imports.clear()
            self.import_wall.clear()
            self.in_flight = 0
            self.max_in_flight = 0
            self.exchanges = []


STATE = ServerState()


class GitBookHandler(SlowApiHandler):
    def exchange(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        start = time.monotonic()
        with STATE.lock:
            STATE.in_flight += 1
            STATE.max_in_flight = max(STATE.max_in_flight, STATE.in_flight)
        time.sleep(ANSWER_DELAY)

        match = SPACE_PATH.match(urlsplit(self.path).path)
        route = match.group(2) if match else ""
        status, body, phase, space, shown = 599, {"message": f"unexpected {self.command} {self.path}"}, "unexpected", "", ""
        if route == "content" and self.command == "GET":
            space = match.group(1)
            with STATE.lock:
                imported = space in STATE.imports
            oid = STATE.head if imported else STATE.before
            phase = "verify" if imported else "read before import"
            status, body = 200, gitbook_answers.revision(space, oid, SPACE_FILES)
        elif route == "change-requests" and self.command == "GET":
            space = match.group(1)
            status, body, phase = 200, gitbook_answers.NO_CHANGE_REQUESTS, "read before import"
        elif route == "git/import" and self.command == "POST":
            space = match.group(1)
            with STATE.lock:
                STATE.imports[space] = time.monotonic()
                STATE.import_wall[space] = gitbook_answers.rfc3339(time.time())
            status, body, phase = 204, None, "import"
        elif route == "git/info" and self.command == "GET":
            space = match.group(1)
            with STATE.lock:
                imported = STATE.imports.get(space)
                started = STATE.import_wall.get(space)
            if imported is None:
                phase = "read before import"
                shown = "old success"
                operation = {"state": "success", "direction": "import", "stage": "done",
                             "startedAt": OLD_STARTED, "endedAt": OLD_ENDED}
            else:
                phase = "poll"
                running = time.monotonic() < imported + OPERATION_TIME
                shown = "running" if running else "success"
                operation = {"state": shown, "direction": "import", "stage": "importing" if running else "done",
                             "startedAt": started}
                if not running:
                    operation["endedAt"] = gitbook_answers.rfc3339(time.time())
            status, body = 200, gitbook_answers.git_sync_state(operation, "bench/monorepo", REPO_URL)

        end = time.monotonic()
        with STATE.lock:
            STATE.in_flight -= 1
            STATE.exchanges.append(Exchange(phase, space, start, end, shown))
        self.answer(status, body)


# ---------------------------------------------------------------------------
# The repository


def make_repo(parent: Path) -> Path:
    """50 documentation directories, every one changed by HEAD, and a
    docsync.toml with one GitBook target per directory."""
    repo = parent / "monorepo"
    home = parent / "home"
    repo.mkdir()
    home.mkdir()
    git(repo, "-c", "init.defaultBranch=main", "init", "-q", home=home)
    git(repo, "remote", "add", "origin", f"{REPO_URL}.git", home=home)
    config = [
        "[defaults]",
        f'gitbook_token_env = "{TOKEN_VARIABLE}"',
        f'git_token_env = "{GIT_TOKEN_VARIABLE}"',
        "",
    ]
    for i in range(TARGETS):
        name = f"docs-{i:02d}"
        config += [
            "[[target]]",
            f'name = "{name}"',
            'kind = "gitbook"',
            f'gitbook_space = "spcBench{i:02d}"',
            f'project_directory = "{name}"',
            "",
        ]
        (repo / name).mkdir()
        (repo / name / "README.md").write_text(f"# {name}\n")
        (repo / name / "guide.md").write_text(f"# Guide of {name}\n")
    (repo / "docsync.toml").write_text("\n".join(config))
    (repo / "README.md").write_text("# Monorepo\n")
    git(repo, "add", "-A", home=home)
    git(repo, "commit", "-q", "-m", "50 documentation directories", home=home)
    for i in range(TARGETS):
        (repo / f"docs-{i:02d}" / "guide.md").write_text(f"# Guide of docs-{i:02d}\n\nRevised.\n")
    git(repo, "commit", "-q", "-a", "-m", "Revise every guide", home=home)
    return repo


# ---------------------------------------------------------------------------
# Running docsync


@dataclass
class RunResult:
    wall: float
    max_rss_kb: int
    max_in_flight: int
    exchanges: list[Exchange]
    outcomes: dict[str, int]


def run_once(docsync: Path, repo: Path, api: str, wait: bool, extra_env: dict[str, str], scratch: Path) -> RunResult:
    STATE.reset()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(scratch)),
        "DOCSYNC_GITBOOK_API_URL": api,
        "DOCSYNC_REPORT": "none",
        "DOCSYNC_WAIT": "true" if wait else "false",
        TOKEN_VARIABLE: "gb-bench-token",
        GIT_TOKEN_VARIABLE: "git-bench-token",
        **extra_env,
    }
    stdout_path, stderr_path = scratch / "stdout.json", scratch / "stderr.log"
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen([str(docsync), "sync", "--format", "json"], cwd=repo, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"docsync exited {process.returncode}:\n{stderr_path.read_text()}")
    result = json.loads(stdout_path.read_text())
    outcomes: dict[str, int] = {}
    for target in result["targets"]:
        key = target.get("outcome", {}).get("status", "none")
        outcomes[key] = outcomes.get(key, 0) + 1
    expected = "verified" if wait else "queued"
    with STATE.lock:
        exchanges = list(STATE.exchanges)
        max_in_flight = STATE.max_in_flight
        imported = set(STATE.imports)
    if outcomes != {expected: TARGETS} or len(imported) != TARGETS:
        sys.exit(f"not every space was {expected}: {outcomes}, {len(imported)} imports\n{stderr_path.read_text()}")
    return RunResult(wall, usage.ru_maxrss, max_in_flight, exchanges, outcomes)


def phases(run: RunResult, started: float) -> dict[str, tuple[int, float, float]]:
    """Per phase: requests, first read and last answer (seconds after the
    first request of the run)."""
    found: dict[str, list[Exchange]] = {}
    for exchange in run.exchanges:
        found.setdefault(exchange.phase, []).append(exchange)
    return {
        phase: (len(items), min(e.start for e in items) - started, max(e.end for e in items) - started)
        for phase, items in found.items()
    }


def describe_phases(run: RunResult) -> str:
    if not run.exchanges:
        return "-"
    first = min(e.start for e in run.exchanges)
    parts = []
    for phase in ("read before import", "import", "poll", "verify", "unexpected"):
        found = phases(run, first).get(phase)
        if found:
            count, start, end = found
            parts.append(f"{phase}: {count} req, {start:.2f}-{end:.2f} s")
    polls = [e for e in run.exchanges if e.phase == "poll"]
    early = sum(1 for e in polls if e.state == "running")
    if polls:
        parts.append(f"polls answered running: {early}")
    return "; ".join(parts)


# ---------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per scenario (default 5)")
    parser.add_argument("--no-check", action="store_true", help="report only; never fail on a requirement")
    parser.add_argument("--docsync", type=Path, help="use this binary instead of building one")
    parser.add_argument("--concurrency", type=int, help="set DOCSYNC_CONCURRENCY (default: docsync's own, 8)")
    parser.add_argument("--poll-interval", help="set DOCSYNC_POLL_INTERVAL for (b), like 250ms (default: docsync's own)")
    parser.add_argument("--verbose", action="store_true", help="print every run's phases")
    args = parser.parse_args()

    docsync = static_binary(args.docsync).resolve()
    server = serve(GitBookHandler)
    api = f"http://127.0.0.1:{server.server_address[1]}/v1"
    extra: dict[str, str] = {}
    if args.concurrency:
        extra["DOCSYNC_CONCURRENCY"] = str(args.concurrency)

    scenarios = [
        ("(a) DOCSYNC_WAIT=false", False, None, {}),
        ("(b) waiting on", True, LIMIT_WAIT, {"DOCSYNC_POLL_INTERVAL": args.poll_interval} if args.poll_interval else {}),
    ]
    rows = []
    failed = []
    with tempfile.TemporaryDirectory(prefix="docsync-bench-targets-") as tmp:
        scratch = Path(tmp)
        repo = make_repo(scratch)
        STATE.before, STATE.head = (git(repo, "rev-parse", rev, home=scratch) for rev in ("HEAD~1", "HEAD"))
        for label, wait, limit, scenario_env in scenarios:
            # One warm-up run (page cache, first connection), not counted.
            run_once(docsync, repo, api, wait, {**extra, **scenario_env}, scratch)
            runs = []
            for i in range(args.runs):
                run = run_once(docsync, repo, api, wait, {**extra, **scenario_env}, scratch)
                runs.append(run)
                if args.verbose:
                    print(f"{label} run {i + 1}: {run.wall:.3f} s, {run.max_rss_kb / 1024:.1f} MB, "
                          f"max in flight {run.max_in_flight}; {describe_phases(run)}", file=sys.stderr)
            walls = [r.wall for r in runs]
            median = statistics.median(walls)
            rss_mb = max(r.max_rss_kb for r in runs) / 1024
            in_flight = max(r.max_in_flight for r in runs)
            requests = statistics.median(len(r.exchanges) for r in runs)
            median_run = sorted(runs, key=lambda r: r.wall)[len(runs) // 2]
            if limit is None:
                limit = round(RATIO_NO_WAIT * requests / (args.concurrency or DEFAULT_CONCURRENCY) * ANSWER_DELAY, 3)
            ok = median <= limit and rss_mb < LIMIT_RSS_MB
            if not ok:
                failed.append(label)
            rows.append((label, len(runs), median, min(walls), max(walls), rss_mb, in_flight, requests,
                         f"<= {limit} s, < {LIMIT_RSS_MB:.0f} MB", "pass" if ok else "FAIL", describe_phases(median_run)))

    server.shutdown()
    today = datetime.date.today().isoformat()
    print(f"docsync sync, {TARGETS} GitBook targets, every answer after {int(ANSWER_DELAY * 1000)} ms; "
          f"{today}; {os.cpu_count()} CPUs ({cpu_model()}); {platform.system()} {platform.release()}")
    print()
    print("| scenario | runs | median | min | max | peak RSS | max in flight | requests | required | result |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, runs, median, low, high, rss, in_flight, requests, required, verdict, _ in rows:
        print(f"| {label} | {runs} | {median:.3f} s | {low:.3f} s | {high:.3f} s | {rss:.1f} MB | {in_flight} | "
              f"{requests:g} | {required} | {verdict} |")
    print()
    print("Where the time went (the median run; seconds after its first request):")
    print()
    for row in rows:
        print(f"- {row[0]}: {row[-1]}")
    if failed and not args.no_check:
        print(f"\nrequirement failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
