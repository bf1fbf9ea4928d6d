#!/usr/bin/env python3
"""`docsync sync` of 300 GitBook targets against a GitBook stand-in that
answers every request in 100 ms (issue 23): wall time against the ideal,
requests ÷ concurrency × 100 ms.

A repository of 300 spaces (one directory of 22 pages and one GitBook
target each), whose last push changes a page in every space, is synced by the static
binary in a GitLab push pipeline's environment (the variables the
integration tests set, `tests/it/common::ci_env`). The stand-in is a timing
stand-in, not a conformance peer (the tests use Prism on GitBook's pinned
OpenAPI description for that): a threaded server on 127.0.0.1 that answers
each call `sync` makes for a target, in the shapes of that description
(`--check-shapes` validates one answer of each kind against
`.cache/gitbook-api/openapi.subset.json`), after 100 ms:

- `GET content`: the live revision, one page per file of the space,
  imported from `before` (after this run's import: from `head`);
- `GET change-requests`: none open;
- `GET git/info`: before the import an old finished import; after it, our
  import, already `success` (a GitBook that finishes at once: the verdict
  is there at the first read, so nothing but docsync's own pacing makes a
  target wait);
- `POST git/import`: 204, with the `Date` header every answer has.

Anything else is answered 404 and fails the run. The stand-in counts every
request, the imports per space (exactly one each, or the run fails), and
the requests in flight. The ideal is the run's own request count ÷
`DOCSYNC_CONCURRENCY` (default 8) × 100 ms; the requirement is a median
wall time within 1.2× of it.

docsync runs pinned to CPU 0 (`taskset -c 0`), this script and its
stand-in to CPU 1, when there are two.

    python3 bench/sync.py                  # build the static binary, generate bench/out/sync, measure
    python3 bench/sync.py --runs 5 --docsync PATH --no-check
    python3 bench/sync.py --spaces 50 --pages 5   # another size (generated once per size)

Python 3.11, standard library only (`--check-shapes` runs `.cache/venv`'s
`python`, which has `jsonschema` through check-jsonschema).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import gitbook_answers
from harness import OUT as BENCH_OUT, ROOT, SlowApiHandler, git, push_pipeline_env, serve, static_binary

OUT = BENCH_OUT / "sync"
ANSWER_DELAY = 0.100
CONCURRENCY = 8  # docsync's default (src/settings/declarations.rs)
RATIO = 1.2
TOKEN = "gbtok-bench-sync-1234"
GIT_TOKEN = "glpat-bench-sync-5678"
PROJECT_URL = "https://gitlab.example.com/group/project"
SPACE_PATH = re.compile(r"^/v1/spaces/([A-Za-z0-9_-]+)/(content|change-requests|git/info|git/import)$")
OLD_STARTED = "2026-11-01T10:00:00.000Z"
OLD_ENDED = "2026-11-01T10:00:30.000Z"


# ---------------------------------------------------------------------------
# The repository


def space_id(index: int) -> str:
    return f"spcSync{index:03}"


def generate(spaces: int, pages: int) -> tuple[Path, str, str]:
    """The repository (made once per size): `spaces` directories of a
    README, a guide and `pages` more pages each, packed as a CI job's clone
    holds them; then a push that changes every guide. Returns it, `before`
    and `head`."""
    repo = OUT / f"repo-{spaces}x{pages}"
    if not (repo / ".git").exists():
        shutil.rmtree(repo, ignore_errors=True)
        repo.mkdir(parents=True)
        git(repo, "init", "-q", "-b", "main")
        git(repo, "remote", "add", "origin", PROJECT_URL + ".git")
        config = '[defaults]\ngitbook_token_env = "BENCH_GITBOOK_TOKEN"\ngit_token_env = "BENCH_GIT_TOKEN"\n'
        for i in range(spaces):
            name = f"space-{i:03}"
            config += f'\n[[target]]\nname = "{name}"\nkind = "gitbook"\ngitbook_space = "{space_id(i)}"\nproject_directory = "{name}"\n'
            (repo / name).mkdir()
            for file, title in space_files(pages):
                (repo / name / file).write_text(f"# {title}\n\n" + "A sentence about it.\n" * 20)
        (repo / "docsync.toml").write_text(config)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"{spaces} spaces")
        for i in range(spaces):
            (repo / f"space-{i:03}" / "guide.md").write_text("# Guide\n\nHow to use it, revised.\n")
        git(repo, "commit", "-q", "-a", "-m", "Revise every guide")
        git(repo, "repack", "-adq")
    return repo, git(repo, "rev-parse", "HEAD~1"), git(repo, "rev-parse", "HEAD")


def space_files(pages: int) -> list[tuple[str, str]]:
    """Each space's files and their titles: the README, the guide (which
    the push changes) and `pages` more."""
    return [("README.md", "Home"), ("guide.md", "Guide")] + [(f"page-{n:02}.md", f"Page {n}") for n in range(pages)]


# ---------------------------------------------------------------------------
# The stand-in


@dataclass
class Exchange:
    kind: str  # "GET content", "POST git/import", …
    space: str
    start: float  # monotonic, when the request was read
    end: float  # when its answer was about to be written


@dataclass
class StandIn:
    before: str = ""
    head: str = ""
    pages: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    imported: dict[str, str] = field(default_factory=dict)  # space -> startedAt of our import
    imports: dict[str, int] = field(default_factory=dict)  # space -> POSTs
    exchanges: list[Exchange] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    def reset(self) -> None:
        with self.lock:
            self.imported.clear()
            self.imports.clear()
            self.exchanges = []
            self.unexpected = []
            self.in_flight = 0
            self.max_in_flight = 0


STAND_IN = StandIn()


def revision(space: str, oid: str) -> dict:
    return gitbook_answers.revision(space, oid, space_files(STAND_IN.pages))


def git_sync_state(operation: dict) -> dict:
    return gitbook_answers.git_sync_state(operation, "group/project", f"{PROJECT_URL}/-/tree/main")


def answer(method: str, route: str, space: str) -> tuple[int, dict | None]:
    """The stand-in's answer to one call about `space`."""
    with STAND_IN.lock:
        ours = STAND_IN.imported.get(space)
    if method == "GET" and route == "content":
        return 200, revision(space, STAND_IN.head if ours else STAND_IN.before)
    if method == "GET" and route == "change-requests":
        return 200, gitbook_answers.NO_CHANGE_REQUESTS
    if method == "GET" and route == "git/info":
        if ours:
            operation = {"state": "success", "direction": "import", "startedAt": ours, "endedAt": ours}
        else:
            operation = {"state": "success", "direction": "import", "startedAt": OLD_STARTED, "endedAt": OLD_ENDED}
        return 200, git_sync_state(operation)
    if method == "POST" and route == "git/import":
        with STAND_IN.lock:
            STAND_IN.imports[space] = STAND_IN.imports.get(space, 0) + 1
            STAND_IN.imported[space] = gitbook_answers.rfc3339(time.time())
        return 204, None
    return 404, {"error": {"code": 404, "message": f"the stand-in does not answer {method} {route}"}}


class Handler(SlowApiHandler):
    def exchange(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        start = time.monotonic()
        with STAND_IN.lock:
            STAND_IN.in_flight += 1
            STAND_IN.max_in_flight = max(STAND_IN.max_in_flight, STAND_IN.in_flight)
        time.sleep(ANSWER_DELAY)
        path = urlsplit(self.path).path
        match = SPACE_PATH.match(path)
        if match:
            space, route = match.groups()
            status, body = answer(self.command, route, space)
        else:
            space, route, status, body = "", path, 404, {"error": {"code": 404, "message": "unknown route"}}
        end = time.monotonic()
        with STAND_IN.lock:
            STAND_IN.in_flight -= 1
            STAND_IN.exchanges.append(Exchange(f"{self.command} {route}", space, start, end))
            if status == 404:
                STAND_IN.unexpected.append(f"{self.command} {self.path}")
        self.answer(status, body)


CHECKS = """
import json, sys
import jsonschema
spec = json.load(open(sys.argv[1]))
for name, schema, instance in json.load(sys.stdin):
    wrapped = {"components": spec["components"], **schema}
    jsonschema.validate(instance, wrapped)
    print("ok:", name)
"""


def check_shapes() -> None:
    """Validates one answer of each kind against the pinned subset, with
    the jsonschema of `.cache/venv` (check-jsonschema's)."""
    subset = ROOT / ".cache" / "gitbook-api" / "openapi.subset.json"
    python = ROOT / ".cache" / "venv" / "bin" / "python"
    if not subset.exists() or not python.exists():
        raise SystemExit("error: --check-shapes needs scripts/install-peers and scripts/gitbook-openapi-subset")
    paths = json.loads(subset.read_text())["paths"]

    def schema(path: str, status: str) -> dict:
        return paths[path]["get"]["responses"][status]["content"]["application/json"]["schema"]

    samples = [
        ("GET content", schema("/spaces/{spaceId}/content", "200"), revision("spcX", "a" * 40)),
        ("GET change-requests", schema("/spaces/{spaceId}/change-requests", "200"), {"items": [], "count": 0}),
        ("GET git/info", schema("/spaces/{spaceId}/git/info", "200"),
         git_sync_state({"state": "success", "direction": "import", "startedAt": OLD_STARTED, "endedAt": OLD_ENDED})),
    ]
    assert "204" in json.loads(subset.read_text())["paths"]["/spaces/{spaceId}/git/import"]["post"]["responses"]
    result = subprocess.run([str(python), "-c", CHECKS, str(subset)], input=json.dumps(samples), text=True,
                            capture_output=True)
    if result.returncode != 0:
        raise SystemExit(f"error: an answer of the stand-in does not match the spec:\n{result.stderr}")
    print(result.stdout.strip().replace("\n", "; ") + "; POST git/import: 204", file=sys.stderr)


# ---------------------------------------------------------------------------
# Running docsync


@dataclass
class RunResult:
    wall: float
    exchanges: list[Exchange]
    max_in_flight: int
    started: float  # monotonic, when docsync was started


def run_once(docsync: str, repo: Path, env: dict, spaces: int, pin: bool) -> RunResult:
    STAND_IN.reset()
    argv = [docsync, "sync", "--format", "json"]
    if pin:
        argv = ["taskset", "-c", "0", *argv]
    started = time.monotonic()
    process = subprocess.Popen(argv, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # docsync's log, each line stamped with the seconds since its start.
    log_lines: list[str] = []
    log_reader = threading.Thread(
        target=lambda: log_lines.extend(
            f"{time.monotonic() - started:7.3f} {line.decode(errors='replace')}" for line in process.stderr
        )
    )
    log_reader.start()
    stdout = process.stdout.read()
    process.wait()
    wall = time.monotonic() - started
    log_reader.join()
    stderr = "".join(log_lines)
    (OUT / "last-run.log").write_text(stderr)
    if process.returncode != 0:
        raise SystemExit(f"error: docsync sync exited {process.returncode}:\n{stderr[-4000:]}")
    outcomes: dict[str, int] = {}
    for target in json.loads(stdout)["targets"]:
        status = (target.get("outcome") or {}).get("status", "none")
        outcomes[status] = outcomes.get(status, 0) + 1
    with STAND_IN.lock:
        exchanges, imports, unexpected = list(STAND_IN.exchanges), dict(STAND_IN.imports), list(STAND_IN.unexpected)
        max_in_flight = STAND_IN.max_in_flight
    if unexpected:
        raise SystemExit(f"error: docsync made calls the stand-in does not answer: {unexpected[:5]}")
    if outcomes != {"verified": spaces}:
        raise SystemExit(f"error: not every target ended verified: {outcomes}\n{stderr[-4000:]}")
    if len(imports) != spaces or any(count != 1 for count in imports.values()):
        twice = {space: count for space, count in imports.items() if count != 1}
        raise SystemExit(f"error: not one import per space: {len(imports)} spaces imported; {twice}")
    return RunResult(wall, exchanges, max_in_flight, started)


def where_the_time_went(run: RunResult, concurrency: int) -> str:
    """Before the first request, after the last answer, and the slots left
    idle between: what separates the run from the ideal."""
    first = min(e.start for e in run.exchanges)
    last = max(e.end for e in run.exchanges)
    busy = sum(e.end - e.start for e in run.exchanges)
    span = last - first
    kinds: dict[str, list[Exchange]] = {}
    for e in run.exchanges:
        kinds.setdefault(e.kind, []).append(e)
    phases = ", ".join(
        f"{kind} {len(items)} ({min(e.start for e in items) - first:.2f}–{max(e.end for e in items) - first:.2f} s)"
        for kind, items in sorted(kinds.items(), key=lambda item: min(e.start for e in item[1]))
    )
    return (
        f"{first - run.started:.2f} s before the first request, {run.started + run.wall - last:.2f} s after the last "
        f"answer; between, {span:.2f} s with {busy / span:.2f} of {concurrency} slots busy on average; {phases}"
    )


def busy_slots_by_second(run: RunResult) -> str:
    """The slots busy on average in each second of the run, from docsync's
    start: where they drop, docsync is waiting on itself."""
    seconds = int(run.wall) + 1
    busy = [0.0] * seconds
    for e in run.exchanges:
        at = e.start - run.started
        end = e.end - run.started
        while at < end:
            second = int(at)
            step = min(end, second + 1) - at
            busy[min(second, seconds - 1)] += step
            at += step
    return " ".join(f"{b:.1f}" for b in busy)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="timed runs after one warm-up (default 3)")
    parser.add_argument("--spaces", type=int, default=300, help="spaces, one target each (default 300)")
    parser.add_argument("--pages", type=int, default=20, help="pages per space besides its README and guide (default 20)")
    parser.add_argument("--docsync", type=Path, help="time this binary instead of building the static one")
    parser.add_argument("--concurrency", type=int, help="set DOCSYNC_CONCURRENCY (default: docsync's, 8)")
    parser.add_argument("--check-shapes", action="store_true", help="validate the stand-in's answers against the spec")
    parser.add_argument("--no-check", action="store_true", help="report only; never fail on the ratio")
    parser.add_argument("--verbose", action="store_true",
                        help="where each run's time went (docsync's log, timed: bench/out/sync/last-run.log)")
    args = parser.parse_args()

    docsync = str(static_binary(args.docsync).resolve())
    repo, before, head = generate(args.spaces, args.pages)
    STAND_IN.before, STAND_IN.head, STAND_IN.pages = before, head, args.pages
    if args.check_shapes:
        check_shapes()
    pin = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
    if pin:
        os.sched_setaffinity(0, {1})
    server = serve(Handler)
    concurrency = args.concurrency or CONCURRENCY
    env = {
        **push_pipeline_env(before, head, OUT, PROJECT_URL),
        "BENCH_GITBOOK_TOKEN": TOKEN,
        "BENCH_GIT_TOKEN": GIT_TOKEN,
        "DOCSYNC_GITBOOK_API_URL": f"http://127.0.0.1:{server.server_address[1]}/v1",
        "DOCSYNC_REPORT": "none",
    }
    if args.concurrency:
        env["DOCSYNC_CONCURRENCY"] = str(args.concurrency)

    run_once(docsync, repo, env, args.spaces, pin)  # warm-up: page cache, not counted
    runs = []
    for i in range(args.runs):
        run = run_once(docsync, repo, env, args.spaces, pin)
        runs.append(run)
        if args.verbose:
            print(f"run {i + 1}: {run.wall:.2f} s, {len(run.exchanges)} requests; {where_the_time_went(run, concurrency)}",
                  file=sys.stderr)
            print(f"  busy slots, second by second: {busy_slots_by_second(run)}", file=sys.stderr)
    server.shutdown()

    print(f"docsync sync, {args.spaces} GitBook targets, every answer after {ANSWER_DELAY * 1000:.0f} ms, "
          f"concurrency {concurrency}; {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; "
          f"load average {os.getloadavg()[0]:.2f}; docsync {'pinned to CPU 0' if pin else 'unpinned'}; {docsync}")
    print()
    print("| run | wall | requests | max in flight | ideal | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    ratios = []
    for i, run in enumerate(runs, 1):
        ideal = len(run.exchanges) / concurrency * ANSWER_DELAY
        ratios.append(run.wall / ideal)
        print(f"| {i} | {run.wall:.2f} s | {len(run.exchanges)} | {run.max_in_flight} | {ideal:.2f} s | "
              f"{run.wall / ideal:.2f}× |")
    median_run = sorted(runs, key=lambda r: r.wall)[len(runs) // 2]
    median_ideal = len(median_run.exchanges) / concurrency * ANSWER_DELAY
    ratio = median_run.wall / median_ideal
    kinds: dict[str, int] = {}
    for e in median_run.exchanges:
        kinds[e.kind] = kinds.get(e.kind, 0) + 1
    print()
    print(f"median: {median_run.wall:.2f} s for {len(median_run.exchanges)} requests "
          f"({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}); ideal {median_ideal:.2f} s; "
          f"**{ratio:.2f}×** (required ≤ {RATIO}×)")
    print(f"where the time went: {where_the_time_went(median_run, concurrency)}")
    if ratio > RATIO and not args.no_check:
        print(f"FAIL: {ratio:.2f}× > {RATIO}×", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
