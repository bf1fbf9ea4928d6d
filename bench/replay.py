#!/usr/bin/env python3
"""History replay: would `docsync lint` have blocked a commit over findings
that were already there before it?

Replays the newest --commits first-parent commits of a real repository, each
as its own range (`docsync lint --from <commit>^ --to <commit> --format json`,
no target configured: the project directory is checked as a GitBook space,
or as the spaces of its site file). A commit made by the platform itself
(author gitbook-bot or ghost@gitbook.com) is not replayed: docsync skips it.
Merge commits are replayed against their first parent, as a push would be.

For each replayed commit that lint blocks (exit 1), the script checks every
new error against the findings at the commit's parent (the previous run's
findings, or one more lint of the parent): same rule, same file (through
git's renames), same message. A commit blocked only by errors its parent
already had is a false block; there must be none.

Python 3.11 standard library only:

    python3 bench/replay.py --repo GIT_DIR [--commits 300] [--docsync PATH]
        [--project-directory DIR] [--no-check]

GIT_DIR is a local clone or mirror (bare is fine); it is cloned without a
checkout into bench/out/replay-<name> (git-ignored) and reused. Exit status:
0 when no commit is falsely blocked, 1 when some are, 2 when lint failed
otherwise (exit 2, 3 or 4).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from harness import static_binary

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PLATFORM_AUTHORS = ("gitbook-bot", "ghost@gitbook.com")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def lint(docsync: Path, repo: Path, base: str, head: str, directory: str) -> tuple[int, list[dict], float]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), "NO_COLOR": "1"}
    if directory:
        env["DOCSYNC_PROJECT_DIRECTORY"] = directory
    started = time.perf_counter()
    run = subprocess.run(
        [str(docsync), "lint", "--format", "json", "--from", base, "--to", head],
        cwd=repo, env=env, capture_output=True, text=True,
    )
    elapsed = time.perf_counter() - started
    if run.returncode not in (0, 1):
        sys.stderr.write(f"lint {base[:8]}..{head[:8]} exited {run.returncode}:\n{run.stderr}\n")
        sys.exit(2)
    return run.returncode, json.loads(run.stdout)["findings"], elapsed


def identity(finding: dict, path: str | None = None) -> tuple[str, str, str]:
    return (finding["rule"], path or finding["path"], finding["message"])


def renames(repo: Path, base: str, head: str) -> dict[str, str]:
    """New path → old path, as `git diff -M` pairs them (none when a blob
    is missing: a snapshot may lack large objects)."""
    try:
        out = git(repo, "diff", "--name-status", "-M", "-z", base, head).split("\0")
    except subprocess.CalledProcessError:
        return {}
    found, index = {}, 0
    while index < len(out) - 1:
        status = out[index]
        if status.startswith("R"):
            found[out[index + 2]] = out[index + 1]
            index += 3
        else:
            index += 2
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", required=True, type=Path, help="a local clone or mirror of the repository")
    parser.add_argument("--commits", type=int, default=300, help="how many first-parent commits to replay")
    parser.add_argument("--docsync", type=Path, help="the binary to run (default: build the release binary)")
    parser.add_argument("--project-directory", default="", help="DOCSYNC_PROJECT_DIRECTORY for every run")
    parser.add_argument("--no-check", action="store_true", help="report, but exit 0 even with false blocks")
    args = parser.parse_args()

    docsync = static_binary(args.docsync).resolve()
    name = args.repo.resolve().name if args.repo.resolve().name not in ("repo", ".git") else args.repo.resolve().parent.name
    work = OUT / f"replay-{name}"
    if not work.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "-q", "--no-checkout", str(args.repo.resolve()), str(work)], check=True)

    log = git(work, "log", "--first-parent", f"-n{args.commits + 1}", "--format=%H%x00%P%x00%an%x00%ae%x00%s")
    commits = []
    for line in log.splitlines():
        sha, parents, author, email, subject = line.split("\0")
        commits.append((sha, parents.split()[0] if parents else None, author, email, subject))
    commits.reverse()  # oldest first: each run's findings are the next one's base findings

    findings_at: dict[str, list[dict]] = {}
    replayed = blocked = false_blocks = platform = 0
    times = []
    for sha, parent, author, email, subject in commits[1:]:
        if any(a in (author.lower(), email.lower()) for a in PLATFORM_AUTHORS):
            platform += 1
            continue
        if parent is None:
            continue
        code, findings, elapsed = lint(docsync, work, parent, sha, args.project_directory)
        times.append(elapsed)
        findings_at[sha] = findings
        replayed += 1
        if code != 1:
            continue
        blocked += 1
        if parent not in findings_at:
            # Every finding at the parent: the empty range parent..parent.
            findings_at[parent] = lint(docsync, work, parent, parent, args.project_directory)[1]
        moved = renames(work, parent, sha)
        at_base = [identity(f) for f in findings_at[parent]]
        new_errors = [f for f in findings if f["new"] and f["severity"] == "error"]
        old = [f for f in new_errors if identity(f, moved.get(f["path"])) in at_base]
        if len(old) == len(new_errors):
            false_blocks += 1
            print(f"falsely blocked: {sha[:8]} {subject[:60]!r}: {len(old)} error(s) its parent had, e.g. "
                  f"{old[0]['path']}:{old[0]['line']} {old[0]['rule']}")
        else:
            print(f"blocked: {sha[:8]} {subject[:60]!r}: {len(new_errors) - len(old)} new error(s), e.g. "
                  f"{next(f for f in new_errors if f not in old)['path']} "
                  f"{next(f for f in new_errors if f not in old)['rule']}")
    times.sort()
    median = times[len(times) // 2] if times else 0.0
    print(f"\n{name}: {replayed} commits replayed ({platform} by the platform skipped), {blocked} blocked, "
          f"{false_blocks} blocked only by errors their parent had; lint median {median:.3f} s")
    return 1 if false_blocks and not args.no_check else 0


if __name__ == "__main__":
    sys.exit(main())
