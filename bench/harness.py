"""What every benchmark in bench/ shares: the binary it times (the static
one users run), git with a fixed identity and clock, the median of timed
runs, and the base of the slow local API stand-ins.

Python 3.11 standard library only; the scripts import it from their own
folder (`python3 bench/NAME.py` puts bench/ first on the module path).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
MUSL_TARGET = "x86_64-unknown-linux-musl"


def static_binary(given: Path | None) -> Path:
    """`given` (a script's --docsync), else the static musl release build
    users run (the README's, the Dockerfile's and the packaging test's
    command): figures come from that binary, not a glibc build."""
    if given is not None:
        return given
    argv = ["cargo", "build", "--release", "--locked", "--quiet", "--target", MUSL_TARGET]
    print(f"building docsync ({' '.join(argv)})…", file=sys.stderr, flush=True)
    if subprocess.run(argv, cwd=ROOT).returncode != 0:
        raise SystemExit("error: the static release build failed (see above); fix it, or pass --docsync PATH")
    return ROOT / "target" / MUSL_TARGET / "release" / "docsync"


def git_env(home: Path = OUT, date: str = "2026-11-22T10:00:00Z") -> dict[str, str]:
    """An environment in which git reads no user or system configuration
    and writes the same commits on every machine."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }


def git(repo: Path, *args: str, home: Path = OUT, date: str = "2026-11-22T10:00:00Z") -> str:
    """Runs git in `repo` with [`git_env`]; its standard output, stripped."""
    result = subprocess.run(
        ["git", *args], cwd=repo, env=git_env(home, date), check=True, capture_output=True, text=True
    )
    return result.stdout.strip()


def seconds_of(argv: list[str], cwd: Path, env: dict, codes: tuple[int, ...] = (0,)) -> float:
    """The wall time of one run of `argv`; a run that exits with a code not
    in `codes` stops the benchmark with its log."""
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True)
    elapsed = time.perf_counter() - started
    if result.returncode not in codes:
        raise SystemExit(f"error: {' '.join(argv)} exited {result.returncode}:\n{result.stderr.decode()}")
    return elapsed


def median_seconds(argv: list[str], cwd: Path, env: dict, runs: int, codes: tuple[int, ...] = (0,)) -> float:
    """The median wall time of `runs` runs of `argv`, after one warm-up run
    that is not counted."""
    seconds_of(argv, cwd, env, codes)
    return statistics.median(seconds_of(argv, cwd, env, codes) for _ in range(runs))


def interleaved_medians(cases: dict[str, list[str]], cwd: Path, env: dict, runs: int) -> dict[str, float]:
    """The median wall time of each case's command, the cases run in turn
    (one of each per round, after a warm-up round), so that a machine
    slowing down or speeding up weighs on every case alike: the ratios
    between them are what the benchmarks compare."""
    for argv in cases.values():
        seconds_of(argv, cwd, env)
    times: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(runs):
        for label, argv in cases.items():
            times[label].append(seconds_of(argv, cwd, env))
    return {label: statistics.median(found) for label, found in times.items()}


class SlowApiHandler(BaseHTTPRequestHandler):
    """The base of the benchmarks' local API stand-ins: every GET and POST
    goes to `exchange`, which the stand-in writes."""

    # Keep-alive, as a real API: docsync's client reuses its connections.
    protocol_version = "HTTP/1.1"
    # The headers and the body go out in two writes: with Nagle's algorithm
    # the body would wait for the client's delayed ACK of the headers, 40 ms
    # on Linux, which no real API adds to an answer.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.exchange()

    def do_POST(self) -> None:  # noqa: N802
        self.exchange()

    def exchange(self) -> None:
        raise NotImplementedError

    def answer(self, status: int, body: dict | None) -> None:
        """Sends `status` (with the Date header docsync matches GitBook's
        operations by) and `body` as JSON, or no body."""
        self.send_response(status)
        if body is None:
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(handler: type[SlowApiHandler]) -> ThreadingHTTPServer:
    """A stand-in on 127.0.0.1 at a free port, a thread per request."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def push_pipeline_env(before: str, head: str, home: Path, project_url: str) -> dict[str, str]:
    """The CI variables of a push pipeline to the default branch `main`,
    from `before` to `head`, as tests/it/common::ci_env sets them."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "NO_COLOR": "1",
        "GITLAB_CI": "true",
        "CI": "true",
        "CI_DEFAULT_BRANCH": "main",
        "CI_PROJECT_URL": project_url,
        "CI_PIPELINE_SOURCE": "push",
        "CI_COMMIT_BRANCH": "main",
        "CI_COMMIT_REF_NAME": "main",
        "CI_COMMIT_SHA": head,
        "CI_COMMIT_BEFORE_SHA": before,
    }
