#!/usr/bin/env python3
"""Benchmark: `docsync lint` (the docs pre-flight) on generated GitBook spaces.

Generates two spaces under bench/out/lint-<pages> (a SUMMARY.md listing every
page, a .gitbook.yaml with redirects, pages with front matter, links, images,
hints, tabs and code blocks), each one git repository with two commits (the
second edits a few pages), then times `docsync lint --format json` of the given
binary: one warm-up run, then --runs timed runs; prints the medians and the
time per 1,000 pages, so linear growth shows as an equal figure for both sizes.
Exits 1 when the 5,000-page median exceeds --budget seconds (default 1.0).

Python 3.11 standard library only. Run from anywhere:

    python3 bench/lint.py [--runs 7] [--docsync PATH] [--regenerate] [--no-check] [--sizes 5000,100000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import harness

OUT = harness.OUT
SIZES = (5_000, 40_000)
SEED = 20_261_129
GENERATOR_VERSION = 3
PAGES_PER_FOLDER = 50

WORDS = (
    "the a to of and in for on with page guide section topic project pipeline runner job branch "
    "merge request commit push release version deployment environment token secret file directory "
    "space import export sync content block hint tab image link summary redirect front matter"
).split()


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))).capitalize() + "."


def page(rng: random.Random, index: int, pages: int) -> str:
    """A page of the shapes GitBook writes, about 1.5 KB."""
    folder = index // PAGES_PER_FOLDER
    other = rng.randrange(pages - 1)  # the readme is the last of `pages`
    other_path = f"../folder-{other // PAGES_PER_FOLDER:04d}/page-{other:05d}.md"
    lines = [
        "---",
        f"description: {sentence(rng)}",
        "layout:",
        "  width: wide",
        "  title:",
        "    visible: true",
        "---",
        "",
        f"# Page {index}",
        "",
        sentence(rng) + " " + sentence(rng),
        "",
        f"See [another page]({other_path}) and [the top](#page-{index}).",
        "",
        '{% hint style="info" %}',
        sentence(rng),
        "{% endhint %}",
        "",
        f"<figure><img src=\"../.gitbook/assets/image-{folder:04d}.png\" alt=\"\"><figcaption></figcaption></figure>",
        "",
        "{% tabs %}",
        '{% tab title="Shell" %}',
        "```bash",
        "docsync lint  # {% not a block %} [not a link](nowhere.md)",
        "```",
        "{% endtab %}",
        "{% endtabs %}",
        "",
    ]
    for _ in range(rng.randint(3, 6)):
        lines += [f"## {sentence(rng)[:40]}", "", sentence(rng), sentence(rng), "", f"* {sentence(rng)}", f"* {sentence(rng)}", ""]
    return "\n".join(lines) + "\n"


def git(repo: Path, *args: str) -> None:
    harness.git(repo, *args, date="2026-11-29T12:00:00Z")


def generate(pages: int, regenerate: bool) -> Path:
    repo = OUT / f"lint-{pages}"
    stamp = OUT / f"lint-{pages}.json"
    wanted = {"version": GENERATOR_VERSION, "pages": pages, "seed": SEED}
    if not regenerate and stamp.exists() and json.loads(stamp.read_text()) == wanted and (repo / ".git").exists():
        return repo
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    rng = random.Random(SEED + pages)
    started = time.monotonic()
    git(repo, "-c", "init.defaultBranch=main", "init", "-q")
    summary = ["# Table of contents", "", "* [Home](README.md)", ""]
    # The readme is a page too: `pages` in all.
    for index in range(pages - 1):
        folder = index // PAGES_PER_FOLDER
        if index % PAGES_PER_FOLDER == 0:
            summary += ["", f'## Folder {folder} <a href="#folder-{folder}" id="folder-{folder}"></a>', ""]
            assets = repo / ".gitbook" / "assets"
            assets.mkdir(parents=True, exist_ok=True)
            (assets / f"image-{folder:04d}.png").write_bytes(b"png")
        path = repo / f"folder-{folder:04d}" / f"page-{index:05d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page(rng, index, pages))
        summary.append(f"* [Page {index}](folder-{folder:04d}/page-{index:05d}.md)")
    (repo / "README.md").write_text("# Home\n\nStart with [page 0](folder-0000/page-00000.md).\n")
    (repo / "SUMMARY.md").write_text("\n".join(summary) + "\n")
    (repo / ".gitbook.yaml").write_text("root: ./\nredirects:\n  old/start: folder-0000/page-00000.md\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Generated space")
    for index in rng.sample(range(pages), 20):
        path = repo / f"folder-{index // PAGES_PER_FOLDER:04d}" / f"page-{index:05d}.md"
        path.write_text(path.read_text() + "\nEdited.\n")
    git(repo, "commit", "-q", "-am", "Edit a few pages")
    stamp.write_text(json.dumps(wanted))
    print(f"generated {repo} ({pages} pages) in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return repo


def with_old_error(repo: Path, pages: int) -> Path:
    """The space, then a commit planting a broken link in a page, then one
    editing that page: the old error lies in a file the range touched, so
    docsync reads and checks the base too (the pre-flight's costliest
    case)."""
    derived = OUT / f"lint-{pages}-old-error"
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True).stdout
    stamp = OUT / f"lint-{pages}-old-error.json"
    if stamp.exists() and stamp.read_text() == head and (derived / ".git").exists():
        return derived
    shutil.rmtree(derived, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", str(repo), str(derived)], check=True)
    page = derived / "folder-0000" / "page-00000.md"
    page.write_text(page.read_text() + "\nSee [the old setup](old-setup.md).\n")
    git(derived, "commit", "-q", "-am", "Link a page that does not exist")
    page.write_text(page.read_text() + "\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    git(derived, "commit", "-q", "-am", "Add a table to the page")
    stamp.write_text(head)
    return derived


def time_lint(binary: Path, repo: Path, runs: int, codes: tuple[int, ...] = (0,)) -> tuple[float, dict]:
    command = [str(binary), "lint", "--format", "json"]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(OUT)}
    warm = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True)
    if warm.returncode not in codes:
        sys.exit(f"docsync lint failed in {repo} ({warm.returncode}):\n{warm.stdout[-2000:]}\n{warm.stderr[-2000:]}")
    return harness.median_seconds(command, repo, env, runs, codes), json.loads(warm.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--docsync", type=Path, help="time this binary; skip the build")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds allowed for 5,000 pages")
    parser.add_argument("--no-check", action="store_true")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)),
                        help="comma-separated page counts of the generated spaces (the first is checked against --budget)")
    parser.add_argument("--old-error", action="store_true",
                        help="also time each space after an edit of a page holding an old error (the base is read too)")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    binary = harness.static_binary(args.docsync).resolve()
    print(f"binary: {binary}  cpus: {os.cpu_count()}  runs: {args.runs}")
    print(f"{'pages':>8} {'median s':>10} {'ms / 1,000 pages':>17} {'findings':>9}")
    medians = {}
    sizes = [int(size) for size in args.sizes.split(",")]
    for pages in sizes:
        repo = generate(pages, args.regenerate)
        median, result = time_lint(binary, repo, args.runs)
        medians[pages] = median
        # Over GitBook's 5,000 pages the space itself is a finding.
        unexpected = [f for f in result["findings"] if not (pages > 5_000 and f["rule"] == "too-large")]
        findings = len(result["findings"])
        print(f"{pages:>8} {median:>10.3f} {median / pages * 1e6:>17.1f} {findings:>9}")
        if unexpected:
            print(f"  unexpected findings in the generated space: {unexpected[:3]}", file=sys.stderr)
            return 2
        if args.old_error:
            # Exit 1 is allowed: a binary that calls the old error new fails.
            median, result = time_lint(binary, with_old_error(repo, pages), args.runs, codes=(0, 1))
            new = sum(1 for f in result["findings"] if f["new"])
            print(f"{pages:>8} {median:>10.3f} {median / pages * 1e6:>17.1f} {len(result['findings']):>9}"
                  f"  old error in an edited page ({new} counted new)")
    if not args.no_check and medians[sizes[0]] > args.budget:
        print(f"FAIL: {sizes[0]} pages took {medians[sizes[0]]:.3f} s, over {args.budget} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
