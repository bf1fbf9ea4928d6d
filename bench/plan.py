#!/usr/bin/env python3
"""Benchmark: `docsync plan --format json` against `git diff --name-status -M`.

Generates (or reuses) a repository of about 40,000 Markdown pages and 5,000
commits under bench/out/repo, builds the static (musl) release binary users
run, then times both tools over the last 1,000 and the last 5,000 commits, on
all CPUs and pinned to one (taskset): one warm-up each, then interleaved runs,
medians and spread. With --real it also imports a real docs repository's
history (bench/out/public-docs, reused afterwards) and times a range of it.
Exits 1 when the static binary takes more than 1.25x git's wall time, or more
peak memory, on a range (--no-check turns that off), 2 when a tool fails or
the two disagree on the number of changes.

Python 3.11 standard library only. Run from anywhere:

    python3 bench/plan.py [--runs 7] [--no-check] [--regenerate] [--docsync PATH]
                          [--glibc] [--real GIT_DIR] [--cpus all,0]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
REPO = OUT / "repo"
STAMP = OUT / "repo.json"

# Bump when the generated history changes, so that old repositories are rebuilt.
GENERATOR_VERSION = 1
SEED = 20_240_601
SECTIONS = 20
TOPICS_PER_SECTION = 50
PAGES_PER_TOPIC = 40  # 20 * 50 * 40 = 40,000 pages
COMMITS = 5_000
RANGES = (1_000, 5_000)
MAX_RATIO = 1.25
START_TIME = int(datetime.datetime(2021, 1, 4, 9, tzinfo=datetime.timezone.utc).timestamp())

WORDS = """
the a an to of and in for on with by from as at is are be can will should must may this that these
each every when if then after before while until your you our we it its their they page guide
section topic project pipeline runner job stage artifact cache variable secret token branch tag
merge request commit push pull release version deployment environment cluster node service
container image registry package dependency module library function method class object field
value parameter option setting configuration file directory path repository workspace account
user group member role permission access policy rule condition trigger schedule webhook event
payload response header status error warning message log output input format template example
default custom optional required supported deprecated removed added changed fixed improved
create update delete list read write run start stop restart enable disable install upgrade
configure deploy build test check validate verify sync import export migrate backup restore
quickly safely automatically manually directly only also usually often always never instead
""".split()

HEADINGS = """
Overview|Before you begin|Prerequisites|Getting started|Installation|Configuration|Usage|Examples
|Troubleshooting|Known limitations|Security considerations|Performance|Reference|Related topics
|How it works|Step by step|Best practices|Frequently asked questions|Migrating|Next steps
""".replace("\n", "").split("|")

LANGS = ("yaml", "shell", "json", "toml", "python")

AUTHORS = [
    ("Ada Moreau", "ada.moreau"), ("Bilal Haddad", "bilal"), ("Chen Wei", "chen.wei"),
    ("Dana Kowalski", "dkowalski"), ("Émile Durand", "emile"), ("Farah Nasser", "fnasser"),
    ("Grace Okafor", "grace.o"), ("Hiro Tanaka", "htanaka"), ("Ines Ferreira", "ines"),
    ("Jonas Berg", "jberg"), ("Kavya Rao", "kavya"), ("Luis Ortega", "lortega"),
    ("Mia Schmidt", "mia.s"), ("Noah Levi", "nlevi"), ("Olga Petrova", "opetrova"),
    ("docs-bot", "docs-bot"),
]
TIMEZONES = ("+0000", "+0100", "+0200", "-0500", "-0800", "+0530", "+0900")


# ---------------------------------------------------------------- generation


class Pages:
    """The working tree as the generator sees it: path -> text, with O(1)
    random choice and removal."""

    def __init__(self) -> None:
        self.text: dict[str, str] = {}
        self.paths: list[str] = []
        self.index: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def put(self, path: str, text: str) -> None:
        if path not in self.text:
            self.index[path] = len(self.paths)
            self.paths.append(path)
        self.text[path] = text

    def remove(self, path: str) -> str:
        i = self.index.pop(path)
        last = self.paths.pop()
        if last != path:
            self.paths[i] = last
            self.index[last] = i
        return self.text.pop(path)

    def pick(self, rng: random.Random) -> str:
        return self.paths[rng.randrange(len(self.paths))]


class Writer:
    """Markdown that reads like documentation: one sentence per line
    (semantic line breaks), headings, lists, code blocks and links."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def sentence(self) -> str:
        rng = self.rng
        words = [rng.choice(WORDS) for _ in range(rng.randint(6, 18))]
        if rng.random() < 0.25:
            words.insert(rng.randrange(len(words)), f"`{rng.choice(WORDS)}_{rng.choice(WORDS)}`")
        if rng.random() < 0.05:
            words.append("— see the note below")
        text = " ".join(words)
        return text[0].upper() + text[1:] + rng.choice(".....?:")

    def block(self, topic_dir: str) -> list[str]:
        rng = self.rng
        kind = rng.random()
        if kind < 0.55:
            return [self.sentence() for _ in range(rng.randint(2, 5))] + [""]
        if kind < 0.75:
            return [f"- {self.sentence()}" for _ in range(rng.randint(3, 6))] + [""]
        if kind < 0.9:
            lang = rng.choice(LANGS)
            body = [f"{rng.choice(WORDS)}_{rng.choice(WORDS)}: {rng.randint(1, 9999)}" for _ in range(rng.randint(3, 8))]
            return [f"```{lang}", *body, "```", ""]
        other = f"page-{rng.randrange(SECTIONS * TOPICS_PER_SECTION * PAGES_PER_TOPIC):05d}.md"
        return [f"> **Note:** {self.sentence()} See [{rng.choice(HEADINGS).lower()}](../{Path(topic_dir).name}/{other}).", ""]

    def page(self, path: str) -> str:
        rng = self.rng
        target = rng.randint(1024, 4096)
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 5))).capitalize()
        lines = [f"# {title}", "", self.sentence(), ""]
        size = sum(len(line) + 1 for line in lines)
        topic_dir = str(Path(path).parent)
        while size < target:
            block = [f"## {rng.choice(HEADINGS)}", ""] if rng.random() < 0.2 else []
            block += self.block(topic_dir)
            lines += block
            size += sum(len(line) + 1 for line in block)
        return "\n".join(lines).rstrip("\n") + "\n"

    def edit(self, text: str) -> str:
        """A small edit: a reworded sentence, a new paragraph, a removed line."""
        rng = self.rng
        lines = text.split("\n")
        for _ in range(rng.randint(1, 3)):
            body = [i for i, line in enumerate(lines) if line and not line.startswith(("#", "```"))]
            kind = rng.random()
            if kind < 0.5 and body:
                i = rng.choice(body)
                prefix = "- " if lines[i].startswith("- ") else ""
                lines[i] = prefix + self.sentence()
            elif kind < 0.8:
                i = rng.randrange(2, len(lines))
                lines[i:i] = self.block("docs/x")
            elif len(body) > 10:
                del lines[rng.choice(body)]
        return "\n".join(lines).rstrip("\n") + "\n"


def topic_dir(section: int, topic: int) -> str:
    return f"docs/section-{section:02d}/topic-{section * TOPICS_PER_SECTION + topic:03d}"


def generate(repo: Path) -> dict:
    """Writes the whole history through one `git fast-import` stream."""
    started = time.perf_counter()
    rng = random.Random(SEED)
    writer = Writer(rng)
    pages = Pages()
    counts: Counter[str] = Counter()

    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    git(repo, "init", "--quiet", "--initial-branch=main")
    for key, value in (("gc.auto", "0"), ("user.name", "bench"), ("user.email", "bench@example.invalid")):
        git(repo, "config", key, value)

    importer = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"], cwd=repo, stdin=subprocess.PIPE
    )
    assert importer.stdin is not None
    out = importer.stdin
    clock = [START_TIME]

    def data(payload: str) -> None:
        raw = payload.encode()
        out.write(b"data %d\n" % len(raw))
        out.write(raw)
        out.write(b"\n")

    def commit(message: str, ops: list[bytes]) -> None:
        clock[0] += rng.randint(300, 8 * 3600)
        name, login = rng.choice(AUTHORS)
        who = f"{name} <{login}@example.com> {clock[0]} {rng.choice(TIMEZONES)}".encode()
        out.write(b"commit refs/heads/main\nauthor " + who + b"\ncommitter " + who + b"\n")
        data(message)
        for op in ops:
            out.write(op)

    def modify(path: str, text: str) -> bytes:
        raw = text.encode()
        return b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(raw), raw)

    # The initial import.
    ops = [modify("README.md", "# Product documentation\n\nThe pages live under `docs/`.\n")]
    ops.append(modify(".gitbook.yaml", "root: ./docs/\n"))
    serial = 0
    for section in range(SECTIONS):
        for topic in range(TOPICS_PER_SECTION):
            for _ in range(PAGES_PER_TOPIC):
                path = f"{topic_dir(section, topic)}/page-{serial:05d}.md"
                serial += 1
                text = writer.page(path)
                pages.put(path, text)
                ops.append(modify(path, text))
    commit("Import the documentation\n", ops)

    def new_path(base_dir: str | None = None) -> str:
        nonlocal serial
        directory = base_dir or topic_dir(rng.randrange(SECTIONS), rng.randrange(TOPICS_PER_SECTION))
        serial += 1
        return f"{directory}/page-{serial:05d}.md"

    def rename_target(old: str) -> str:
        if rng.random() < 0.5:
            # Same topic, a more descriptive name.
            stem = Path(old).stem
            return f"{Path(old).parent}/{stem}-{rng.choice(WORDS)}-{rng.choice(WORDS)}.md"
        return new_path()

    for number in range(1, COMMITS + 1):
        kind = rng.random()
        ops = []
        if kind < 0.84:
            touched = {pages.pick(rng) for _ in range(rng.choices((1, 2, 3, 4, 8), (50, 25, 12, 8, 5))[0])}
            for path in sorted(touched):
                text = writer.edit(pages.text[path])
                pages.put(path, text)
                ops.append(modify(path, text))
            counts["modified"] += len(touched)
            subject = f"Update {Path(min(touched)).stem}" if len(touched) == 1 else f"Update {len(touched)} pages"
        elif kind < 0.90:
            directory = topic_dir(rng.randrange(SECTIONS), rng.randrange(TOPICS_PER_SECTION))
            added = [new_path(directory) for _ in range(rng.randint(1, 3))]
            for path in added:
                text = writer.page(path)
                pages.put(path, text)
                ops.append(modify(path, text))
            counts["added"] += len(added)
            subject = f"Add {len(added)} pages to {Path(directory).name}"
        elif kind < 0.93:
            removed = {pages.pick(rng) for _ in range(rng.randint(1, 2))}
            for path in sorted(removed):
                pages.remove(path)
                ops.append(b"D %s\n" % path.encode())
            counts["deleted"] += len(removed)
            subject = f"Remove outdated {Path(min(removed)).stem}"
        elif kind < 0.9985:
            moved = {pages.pick(rng) for _ in range(rng.randint(1, 2))}
            for old in sorted(moved):
                new = rename_target(old)
                text = pages.remove(old)
                if rng.random() < 0.5:
                    ops.append(b"R %s %s\n" % (old.encode(), new.encode()))
                    counts["renamed exactly"] += 1
                else:
                    text = writer.edit(text)
                    ops.append(b"D %s\n" % old.encode())
                    ops.append(modify(new, text))
                    counts["renamed with edits"] += 1
                pages.put(new, text)
            subject = f"Move {Path(min(moved)).stem}"
        else:
            # A reorganisation: a whole topic moves to another section.
            section = rng.randrange(SECTIONS)
            source = topic_dir(section, rng.randrange(TOPICS_PER_SECTION))
            target = f"docs/section-{(section + 1) % SECTIONS:02d}/{Path(source).name}-{number}"
            moved = [p for p in pages.paths if p.startswith(source + "/")]
            for old in sorted(moved):
                new = f"{target}/{Path(old).name}"
                pages.put(new, pages.remove(old))
                ops.append(b"R %s %s\n" % (old.encode(), new.encode()))
            counts["moved with a topic"] += len(moved)
            subject = f"Move {Path(source).name} to section {(section + 1) % SECTIONS:02d}"
        body = ""
        if rng.random() < 0.3:
            body = "\n" + "\n".join(writer.sentence() for _ in range(rng.randint(1, 3))) + "\n"
        commit(f"{subject}\n{body}", ops)

    out.write(b"done\n")
    out.close()
    if importer.wait() != 0:
        raise SystemExit("error: git fast-import failed (see above)")
    steps = {"history": time.perf_counter() - started}
    # A clone from a server gets a delta-compressed pack; so does the benchmark.
    git(repo, "repack", "-a", "-d", "-f", "-q", "--window=10", "--depth=50")
    steps["repack"] = time.perf_counter() - started - sum(steps.values())
    git(repo, "checkout", "--quiet", "-f", "main")
    steps["checkout"] = time.perf_counter() - started - sum(steps.values())
    return {
        "pages_at_head": len(pages),
        "operations": dict(counts),
        "step_seconds": {step: round(seconds, 1) for step, seconds in steps.items()},
    }


# ------------------------------------------------------------------ running


def git(repo: Path, *args: str, capture: bool = False) -> str:
    result = subprocess.run(["git", *args], cwd=repo, check=True, text=True,
                            stdout=subprocess.PIPE if capture else None)
    return result.stdout if capture else ""


def bench_env() -> dict[str, str]:
    """Both tools run with the same, nearly empty environment."""
    return {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}


@dataclass
class Sample:
    seconds: float
    cpu_seconds: float
    max_rss_kb: int


class BenchError(Exception):
    """A run that cannot be timed: a tool failed, or the two disagree."""


def measure(argv: list[str], cwd: Path, stdout) -> Sample:
    """Runs one command; its own wall time, CPU time and peak RSS (wait4)."""
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        child = subprocess.Popen(argv, cwd=cwd, env=bench_env(), stdout=stdout, stderr=stderr)
        # wait4 reports this child's own rusage; Popen.wait would not.
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            stderr.seek(0)
            log = stderr.read().decode(errors="replace").strip()
            raise BenchError(f"`{' '.join(argv)}` exited with {child.returncode}:\n{log}")
    return Sample(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)


def git_changes(text: str) -> list[tuple[str, str, str | None]]:
    changes = []
    for line in text.splitlines():
        fields = line.split("\t")
        letter = fields[0][0]
        if letter == "R":
            changes.append(("R", fields[2], fields[1]))
        else:
            # docsync reports a type change (git's T) as a modification.
            changes.append(("M" if letter == "T" else letter, fields[1], None))
    return changes


def docsync_changes(text: str) -> list[tuple[str, str, str | None]]:
    letters = {"added": "A", "modified": "M", "deleted": "D", "renamed": "R"}
    return [(letters[c["status"]], c["path"], c.get("old_path")) for c in json.loads(text)["changes"]]


def compare_outputs(repo: Path, label: str, git_cmd: list[str], docsync_cmd: list[str]) -> tuple[int, Counter]:
    """The warm-up runs: both tools once, outputs kept and compared."""
    OUT.mkdir(exist_ok=True)
    results = {}
    for name, argv in (("git", git_cmd), ("docsync", docsync_cmd)):
        path = OUT / f"{name}-{label.replace('~', '').replace('..', '-').replace(' ', '-')}.out"
        with path.open("wb") as sink:
            measure(argv, repo, sink)
        results[name] = path.read_text()
    ours, theirs = docsync_changes(results["docsync"]), git_changes(results["git"])
    by_status = Counter(status for status, _, _ in theirs)
    only_ours, only_theirs = sorted(set(ours) - set(theirs)), sorted(set(theirs) - set(ours))
    examples = f"only docsync: {only_ours[:2]}, only git: {only_theirs[:2]}"
    if len(ours) != len(theirs) or Counter(s for s, _, _ in ours) != by_status:
        raise BenchError(
            f"docsync lists {len(ours)} changes {dict(Counter(s for s, _, _ in ours))}, git lists "
            f"{len(theirs)} {dict(by_status)}; {examples}; both outputs are in {OUT}"
        )
    if only_ours or only_theirs:
        print(f"warning: {label}: same counts, but {len(only_ours)} entries differ; {examples}", file=sys.stderr)
    return len(theirs), by_status


MUSL_TARGET = "x86_64-unknown-linux-musl"


def build(root: Path, static: bool) -> Path:
    """The static musl binary users run (the README's and the Dockerfile's
    command), or the glibc release build for comparison."""
    argv = ["cargo", "build", "--release", "--locked", "--quiet"]
    if static:
        argv += ["--target", MUSL_TARGET]
    print(f"building docsync ({' '.join(argv[:5])})…", file=sys.stderr, flush=True)
    if subprocess.run(argv, cwd=root).returncode != 0:
        raise SystemExit("error: the release build failed (see above); fix it, or pass --docsync PATH")
    return root / "target" / (MUSL_TARGET if static else "") / "release" / "docsync"


# ----------------------------------------------------- a real docs history


def import_real(source: Path, repo: Path) -> None:
    """Copies the history of HEAD of `source` (a local git directory, such as
    a mirror) into `repo`. Objects the source lacks (a snapshot may hold only
    pointers for its largest files) become small placeholder blobs, so that
    git and docsync read the same complete history."""
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "config", "gc.auto", "0")
    work = source
    missing = {
        line[1:].strip().encode()
        for line in git(work, "rev-list", "--objects", "--missing=print", "HEAD", capture=True).splitlines()
        if line.startswith("?")
    }
    (repo / ".git" / "objects" / "info" / "alternates").write_text(str(work / "objects") + "\n")
    exporter = subprocess.Popen(
        ["git", "fast-export", "--no-data", "--signed-tags=strip", "--reencode=yes", "HEAD"],
        cwd=work, stdout=subprocess.PIPE,
    )
    importer = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=repo, stdin=subprocess.PIPE)
    assert exporter.stdout is not None and importer.stdin is not None
    source_stream, sink = exporter.stdout, importer.stdin
    while line := source_stream.readline():
        if line.startswith(b"data "):
            sink.write(line + source_stream.read(int(line[5:])))
            continue
        fields = line.split(b" ", 3)
        if fields[0] == b"M" and len(fields) == 4 and fields[2] in missing:
            placeholder = b"missing from the snapshot: " + fields[2] + b"\n"
            sink.write(b"M %s inline %s" % (fields[1], fields[3]))
            sink.write(b"data %d\n%s\n" % (len(placeholder), placeholder))
            continue
        sink.write(line)
    sink.close()
    if exporter.wait() != 0 or importer.wait() != 0:
        raise SystemExit(f"error: could not copy the history of {source}")
    # A pack of its own, as a clone has; then the source can go.
    git(repo, "repack", "-a", "-d", "-q")
    (repo / ".git" / "objects" / "info" / "alternates").unlink()
    git(repo, "symbolic-ref", "HEAD", "refs/heads/main")
    print(f"imported {source} into {repo}: {len(missing)} missing objects replaced", file=sys.stderr)


def rss_floor_mb() -> float:
    """A child's ru_maxrss is at least this process's peak RSS at the time
    (VmHWM, which, unlike ru_maxrss, an exec resets)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {model}"


@dataclass
class Case:
    """One range of one repository, timed with both tools under one CPU set."""
    repo: Path
    label: str
    base: str
    head: str
    cpus: str  # "all", or a CPU list for taskset


def pinned(argv: list[str], cpus: str) -> list[str]:
    # taskset execs the tool in its own process: wait4 sees the tool's rusage.
    return argv if cpus == "all" else ["taskset", "-c", cpus, *argv]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each tool per range (default 7)")
    parser.add_argument("--no-check", action="store_true",
                        help=f"do not fail when docsync exceeds {MAX_RATIO}x git's time or git's peak memory")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the repository even if it is current")
    parser.add_argument("--docsync", type=Path, help="benchmark this binary instead of building the static one")
    parser.add_argument("--glibc", action="store_true",
                        help="also time the glibc release build (cargo build --release), beside the static one")
    parser.add_argument("--real", type=Path, metavar="GIT_DIR",
                        help="import this real docs repository's history (a local git directory, such as a mirror "
                             f"of GitbookIO/public-docs) into {OUT / 'public-docs'} and time it too")
    parser.add_argument("--real-range", default="HEAD~400..HEAD~100",
                        help="the range of the real repository (default HEAD~400..HEAD~100)")
    parser.add_argument("--cpus", default="all,0",
                        help="CPU sets to run under, comma-separated: `all`, or a taskset list (default all,0)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    wanted = {"version": GENERATOR_VERSION, "seed": SEED, "commits": COMMITS,
              "pages": SECTIONS * TOPICS_PER_SECTION * PAGES_PER_TOPIC}
    stamp = json.loads(STAMP.read_text()) if STAMP.exists() else {}
    if args.regenerate or {k: stamp.get(k) for k in wanted} != wanted or not (REPO / ".git").is_dir():
        print(f"generating {REPO} ({wanted['pages']} pages, {COMMITS} commits)…", file=sys.stderr, flush=True)
        start = time.perf_counter()
        summary = generate(REPO)
        stamp = {**wanted, **summary, "generation_seconds": round(time.perf_counter() - start, 1)}
        STAMP.write_text(json.dumps(stamp, indent=2) + "\n")
        print(f"generated in {stamp['generation_seconds']} s: {summary}", file=sys.stderr, flush=True)
        # The generator holds every page in memory. A child started by vfork
        # and exec inherits this process's peak RSS as its own starting
        # ru_maxrss, so measure from a fresh, small interpreter.
        rest = [arg for arg in sys.argv[1:] if arg != "--regenerate"]
        os.execv(sys.executable, [sys.executable, str(Path(__file__).resolve()), *rest])
    else:
        print(f"reusing {REPO} (generated in {stamp.get('generation_seconds')} s)", file=sys.stderr)

    real_repo = OUT / "public-docs"
    if args.real:
        import_real(args.real.resolve(), real_repo)

    binaries = {"static": args.docsync.resolve() if args.docsync else build(ROOT, static=True)}
    if args.glibc:
        binaries["glibc"] = build(ROOT, static=False)
    for binary in binaries.values():
        print(f"{binary}: {binary.stat().st_size:,} bytes", file=sys.stderr)

    cases = []
    repos = [(REPO, [f"HEAD~{n}..HEAD" for n in RANGES])]
    if (real_repo / ".git").is_dir():
        repos.append((real_repo, [args.real_range]))
    for repo, labels in repos:
        # git's renames depend on diff.* settings (diff.renameLimit above
        # all); docsync assumes git's defaults.
        diff_config = subprocess.run(["git", "config", "--get-regexp", r"^diff\."], cwd=repo, env=bench_env(),
                                     capture_output=True, text=True).stdout.strip()
        if diff_config:
            print(f"warning: {repo}: git's diff settings are not the defaults:\n{diff_config}", file=sys.stderr)
        for label in labels:
            base, head = (git(repo, "rev-parse", rev, capture=True).strip() for rev in label.split(".."))
            for cpus in args.cpus.split(","):
                cases.append(Case(repo, label, base, head, cpus))

    load_before = os.getloadavg()
    rows, errors = [], []
    for case in cases:
        for name, binary in binaries.items():
            # Unquoted non-ASCII paths, as docsync prints them; the timing is the same.
            git_cmd = ["git", "-c", "core.quotePath=false", "diff", "--name-status", "-M", case.base, case.head]
            docsync_cmd = [str(binary), "plan", "--format", "json", "--from", case.base, "--to", case.head]
            try:
                row = time_range(case, pinned(git_cmd, case.cpus), pinned(docsync_cmd, case.cpus), args.runs)
            except BenchError as error:
                errors.append(f"{case.repo.name} {case.label}: {error}")
                continue
            rows.append({**row, "binary": name, "case": case})

    print(f"\n{datetime.date.today().isoformat()}, {machine()}; load average {load_before[0]:.2f} "
          f"{load_before[1]:.2f} before, {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} after; "
          f"median (min–max) of {args.runs} interleaved runs after one warm-up each\n")
    print("| repository | range | CPUs | docsync | git ms | docsync ms | ratio | git peak RSS MB "
          "| docsync peak RSS MB | git CPU ms | docsync CPU ms | changes |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    failed = False
    for row in rows:
        case = row["case"]
        detail = " ".join(f"{k} {v}" for k, v in row["by_status"].items())
        print(f"| {case.repo.name} | {case.label} | {'2' if case.cpus == 'all' else 'pinned ' + case.cpus} "
              f"| {row['binary']} | {spread(row['git_ms'])} | {spread(row['ours_ms'])} | {row['ratio']:.2f}× "
              f"| {row['git_rss']:.0f} | {row['ours_rss']:.0f} | {row['git_cpu']:.0f} | {row['ours_cpu']:.0f} "
              f"| {row['changes']} ({detail}) |")
        if row["binary"] == "static" and (row["ratio"] > MAX_RATIO or row["ours_rss"] > row["git_rss"]):
            failed = True
    floor_mb = rss_floor_mb()
    print(f"\nPeak RSS floor (this script's own peak): {floor_mb:.0f} MB")
    for name, binary in binaries.items():
        print(f"docsync ({name}): {binary} ({binary.stat().st_size:,} bytes)")
    print("git:     git -c core.quotePath=false diff --name-status -M <base> <head>\n"
          "docsync: docsync plan --format json --from <base> --to <head>\n"
          "(env -i PATH=… HOME=…, in the repository, stdout to /dev/null, base and head as full SHAs; "
          "`pinned 0` runs both under taskset -c 0)")
    for error in errors:
        print(f"\nerror: {error}", file=sys.stderr)
    if errors:
        return 2
    if failed and not args.no_check:
        print(f"\nerror: the static binary took more than {MAX_RATIO}× git's wall time, or more memory, "
              "on a range", file=sys.stderr)
        return 1
    return 0


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} ({min(values):.0f}–{max(values):.0f})"


def time_range(case: Case, git_cmd: list[str], docsync_cmd: list[str], runs: int) -> dict:
    label = f"{case.repo.name} {case.label} cpus={case.cpus}"
    changes, by_status = compare_outputs(case.repo, label, git_cmd, docsync_cmd)
    samples: dict[str, list[Sample]] = {"git": [], "docsync": []}
    for run in range(runs):
        # Alternate who goes first, so neither always runs right after the other.
        order = [("git", git_cmd), ("docsync", docsync_cmd)]
        for name, argv in order if run % 2 == 0 else reversed(order):
            samples[name].append(measure(argv, case.repo, subprocess.DEVNULL))
    print(f"{label}: git {[round(s.seconds * 1000) for s in samples['git']]} ms, "
          f"docsync {[round(s.seconds * 1000) for s in samples['docsync']]} ms", file=sys.stderr)

    def ms(name: str, field: str) -> list[float]:
        return [getattr(s, field) * 1000 for s in samples[name]]

    git_ms, ours_ms = ms("git", "seconds"), ms("docsync", "seconds")
    return {
        "changes": changes,
        "by_status": dict(sorted(by_status.items())),
        "git_ms": git_ms,
        "ours_ms": ours_ms,
        "ratio": statistics.median(ours_ms) / statistics.median(git_ms),
        "git_cpu": statistics.median(ms("git", "cpu_seconds")),
        "ours_cpu": statistics.median(ms("docsync", "cpu_seconds")),
        "ours_rss": max(s.max_rss_kb for s in samples["docsync"]) / 1024,
        "git_rss": max(s.max_rss_kb for s in samples["git"]) / 1024,
    }


if __name__ == "__main__":
    sys.exit(main())
