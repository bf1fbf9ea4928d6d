#!/usr/bin/env python3
"""Fan-out planning speed: `docsync plan` and `docsync pipeline` on a
repository of 300 spaces (one directory and one GitBook target each) whose
last push changes 12 of them, against `docsync plan` with one target on the
same repository.

It times the static (musl) release binary users run, built once
(`cargo build --release --locked --target x86_64-unknown-linux-musl`), or
the binary `--docsync` names. Nothing is sent anywhere: a push pipeline
outside GitLab's API (no token, no environment), so the figures are the
facts, the decision and the writing alone.

    python3 bench/fanout.py              # build, generate bench/out/fanout, measure
    python3 bench/fanout.py --runs 21    # more timed runs per command (default 11)
    python3 bench/fanout.py --docsync PATH

Requirement (issue: fan-out): `plan` and `pipeline` for 300 targets within
1.5x of `plan` for one target. Exit 1 when it does not hold, unless
--no-check.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness import OUT as BENCH_OUT, git, interleaved_medians, push_pipeline_env, static_binary

OUT = BENCH_OUT / "fanout"
SPACES = 300
CHANGED = [0, 7, 42, 99, 100, 123, 150, 199, 200, 256, 298, 299]
TOKEN = "gbtok-bench-fanout-1234"
RATIO = 1.5


def config(names: list[str]) -> str:
    text = '[defaults]\ngitbook_token_env = "GITBOOK_TOKEN"\n'
    for name in names:
        text += f'\n[[target]]\nname = "{name}"\nkind = "gitbook"\ngitbook_space = "spc{name[-3:]}"\nproject_directory = "{name}"\n'
    return text


def generate() -> tuple[Path, str, str]:
    """The repository (made once): 300 spaces of 20 pages each, then a
    push that changes 12. Returns it, `before` and `head`."""
    repo = OUT / "repo"
    names = [f"space-{i:03}" for i in range(SPACES)]
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        git(repo, "init", "-q", "-b", "main")
        for name in names:
            (repo / name).mkdir(exist_ok=True)
            (repo / name / "README.md").write_text(f"# {name}\n")
            for page in range(20):
                (repo / name / f"page-{page:02}.md").write_text(f"# Page {page}\n\n" + "A sentence.\n" * 40)
        (repo / "docsync.toml").write_text(config(names))
        (repo / "one-target.toml").write_text(config(names[42:43]))
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "300 spaces")
        for i in CHANGED:
            (repo / names[i] / "guide.md").write_text("# Guide\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "Change 12 spaces")
    return repo, git(repo, "rev-parse", "HEAD~1"), git(repo, "rev-parse", "HEAD")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--docsync", type=Path)
    parser.add_argument("--no-check", action="store_true")
    args = parser.parse_args()

    docsync = str(static_binary(args.docsync).resolve())
    repo, before, head = generate()
    env = {**push_pipeline_env(before, head, OUT, "https://gitlab.example.com/group/project"), "GITBOOK_TOKEN": TOKEN}
    child = str(OUT / "child-pipeline.yml")
    cases = [
        ("plan, 1 target", [docsync, "plan", "--format", "json", "--config", "one-target.toml"]),
        ("plan, 300 targets", [docsync, "plan", "--format", "json"]),
        ("pipeline, 300 targets", [docsync, "pipeline", "--output", child]),
    ]
    results = interleaved_medians(dict(cases), repo, env, args.runs)
    baseline = results["plan, 1 target"]
    print(f"{'command':<24} {'median':>9} {'vs plan, 1 target':>18}")
    for label, seconds in results.items():
        print(f"{label:<24} {seconds * 1000:>7.1f}ms {seconds / baseline:>17.2f}x")
    jobs = sum(1 for line in Path(child).read_text().splitlines() if line.startswith('  "sync '))
    print(f"child pipeline: {jobs} jobs (expected {len(CHANGED)})")
    worst = max(results["plan, 300 targets"], results["pipeline, 300 targets"]) / baseline
    ok = worst <= RATIO and jobs == len(CHANGED)
    if not ok and not args.no_check:
        print(f"FAIL: {worst:.2f}x > {RATIO}x, or {jobs} jobs", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
