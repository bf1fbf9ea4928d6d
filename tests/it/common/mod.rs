//! What the integration tests share: a real git repository, built with the
//! git CLI in a temporary directory; the GitLab CI variables of each pipeline
//! kind; and the plumbing around a run of the binary.
//!
//! Every git command runs isolated from the machine it runs on: the
//! environment is cleared, `HOME` is a fresh directory (no user config),
//! `GIT_CONFIG_NOSYSTEM=1` (no system config), and author, committer and
//! dates come from the environment. Commit dates advance one minute per
//! commit from a fixed instant, so SHAs are the same on every run. The author
//! date is a day before the committer date, so a test can tell them apart.
//!
//! `docsync(args)` runs the real binary the same way: cleared environment,
//! only `PATH` and `HOME` (and `NO_COLOR`) set, the repository as working
//! directory. Tests add the `CI_*` and `DOCSYNC_*` variables they need.
//!
//! A [`Run`] is what a run left behind, with the context every assertion
//! message shows. [`run_in_background`] runs the binary off the async
//! runtime, so the test's wiremock servers keep answering it;
//! [`read_dotenv`] reads the job's report; [`mock_server`] starts a wiremock
//! server whose catch-all names any route docsync should not have called.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::rc::Rc;
use std::time::{Duration, Instant};

pub mod git_server;
pub mod prism;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The repository's root (where `Cargo.toml` is).
pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A file of the project, such as `Dockerfile` or `templates/docsync.yml`.
pub fn read_project_file(name: &str) -> String {
    std::fs::read_to_string(manifest_dir().join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
}

/// A tool `scripts/install-peers` installs into `.cache/`.
pub fn peer(relative: &str) -> PathBuf {
    let path = manifest_dir().join(".cache").join(relative);
    assert!(path.exists(), "{} is missing: run scripts/install-peers", path.display());
    path
}

/// A test that cannot run here (a tool or privilege is missing): it fails
/// when the variable `CI` is set, where everything must run, and says it
/// was skipped otherwise. The caller returns right after.
pub fn cannot_run(test: &str, missing: &str) {
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{test} cannot run: {missing} (CI is set, so this is a failure, not a skip)");
    }
    eprintln!("SKIPPED {test}: {missing} (it fails instead when CI is set)");
}

/// A finished process's status and output, for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A job's variables, or a dotenv report: name to value, sorted by name.
pub type Env = BTreeMap<String, String>;

/// What GitLab sets as `CI_COMMIT_BEFORE_SHA` when there is no previous commit.
pub const ZERO_SHA: &str = "0000000000000000000000000000000000000000";
/// `CI_PROJECT_URL` of every pipeline.
pub const PROJECT_URL: &str = "https://gitlab.example.com/group/project";
/// `CI_PIPELINE_CREATED_AT` of every pipeline, and the same instant in UTC.
pub const PIPELINE_CREATED_AT: &str = "2026-11-22T16:00:00+01:00";
pub const PIPELINE_CREATED_AT_UTC: &str = "2026-11-22T15:00:00Z";

pub const AUTHOR_NAME: &str = "Ada Writer";
pub const AUTHOR_EMAIL: &str = "ada@example.com";
/// 2026-11-22T09:00:00Z: the committer time of the first commit.
const FIRST_COMMIT_TIME: i64 = 1_795_338_000;

/// A git repository in a temporary directory. Repositories made from it
/// (`clone_shallow`) live in the same temporary directory, next to it.
pub struct TestRepo {
    root: Rc<TempDir>,
    pub path: PathBuf,
    home: PathBuf,
    commits: Rc<Cell<i64>>,
}

impl TestRepo {
    /// An empty repository (branch `main`, no commits) at `<tmp>/repo`.
    pub fn new() -> TestRepo {
        let root = Rc::new(tempfile::tempdir().expect("create a temporary directory"));
        let home = root.path().join("home");
        std::fs::create_dir(&home).expect("create HOME");
        let repo = TestRepo { path: root.path().join("repo"), root, home, commits: Rc::new(Cell::new(0)) };
        repo.git_in(repo.root.path(), &["-c", "init.defaultBranch=main", "init", "-q", "repo"]);
        repo
    }

    /// `git clone --depth <depth> file://<this repository>` into `<tmp>/<name>`.
    pub fn clone_shallow(&self, name: &str, depth: u32) -> TestRepo {
        let depth = depth.to_string();
        self.git_in(self.root.path(), &["clone", "-q", "--depth", &depth, &self.file_url(), name]);
        TestRepo {
            root: Rc::clone(&self.root),
            path: self.root.path().join(name),
            home: self.home.clone(),
            commits: Rc::clone(&self.commits),
        }
    }

    /// `file://` URL of this repository.
    pub fn file_url(&self) -> String {
        format!("file://{}", self.path.display())
    }

    /// A new empty directory next to the repository, outside any repository.
    pub fn outside_dir(&self, name: &str) -> PathBuf {
        let dir = self.root.path().join(name);
        std::fs::create_dir_all(&dir).expect("create a directory outside the repository");
        dir
    }

    /// The temporary directory holding this repository and its siblings.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Writes a file of the working tree, creating its directories.
    pub fn write(&self, path: &str, content: &str) {
        let file = self.path.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).expect("create directories");
        }
        std::fs::write(&file, content).unwrap_or_else(|e| panic!("write {path}: {e}"));
    }

    /// `git rm`.
    pub fn remove(&self, path: &str) {
        self.git(&["rm", "-q", "--", path]);
    }

    /// `git mv`, creating the destination's directories.
    pub fn mv(&self, from: &str, to: &str) {
        if let Some(parent) = self.path.join(to).parent() {
            std::fs::create_dir_all(parent).expect("create directories");
        }
        self.git(&["mv", "--", from, to]);
    }

    /// Stages everything and commits it (empty commits allowed); returns the SHA.
    pub fn commit(&self, message: &str) -> String {
        self.commit_as(AUTHOR_NAME, AUTHOR_EMAIL, message)
    }

    /// Like `commit`, with another author (the committer stays the same).
    pub fn commit_as(&self, author_name: &str, author_email: &str, message: &str) -> String {
        self.commits.set(self.commits.get() + 1);
        self.git(&["add", "-A"]);
        let output = self
            .git_command()
            .env("GIT_AUTHOR_NAME", author_name)
            .env("GIT_AUTHOR_EMAIL", author_email)
            .args(["commit", "-q", "--allow-empty", "--no-verify", "-m", message])
            .output()
            .expect("run git commit");
        check("commit", &output);
        self.head()
    }

    /// `git branch <name>` at `HEAD`.
    pub fn branch(&self, name: &str) {
        self.git(&["branch", name]);
    }

    /// `git checkout <revision>` (a branch, or a commit for a detached head).
    pub fn checkout(&self, revision: &str) {
        self.git(&["checkout", "-q", revision]);
    }

    /// The SHA of a revision.
    pub fn rev(&self, revision: &str) -> String {
        self.git(&["rev-parse", "--verify", &format!("{revision}^{{commit}}")])
    }

    pub fn head(&self) -> String {
        self.rev("HEAD")
    }

    /// Runs git in the repository; panics with its stderr when it fails.
    /// Returns stdout without the final newline.
    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.path, args)
    }

    /// Runs git in the repository and returns whatever happened.
    pub fn git_output(&self, args: &[&str]) -> Output {
        self.git_command().args(args).output().expect("run git")
    }

    /// `git diff --name-status -M base head`, in the words of docsync's JSON
    /// contract, sorted by path.
    pub fn name_status(&self, base: &str, head: &str) -> Vec<FileChange> {
        let raw = self.git(&["diff", "-z", "--name-status", "-M", base, head]);
        let mut fields = raw.split('\0').filter(|f| !f.is_empty());
        let mut changes = Vec::new();
        while let Some(letter) = fields.next() {
            let mut next = || fields.next().expect("a path after the status").to_owned();
            let change = match &letter[..1] {
                "A" => FileChange::new("added", next(), None),
                "M" | "T" => FileChange::new("modified", next(), None),
                "D" => FileChange::new("deleted", next(), None),
                "R" => {
                    let old = next();
                    FileChange::new("renamed", next(), Some(old))
                }
                other => panic!("unexpected status {other} from git diff"),
            };
            changes.push(change);
        }
        changes.sort();
        changes
    }

    /// Every file of a commit, as a full sync reports them: all `added`.
    pub fn all_files(&self, revision: &str) -> Vec<FileChange> {
        let raw = self.git(&["ls-tree", "-r", "-z", "--name-only", revision]);
        let mut changes: Vec<FileChange> =
            raw.split('\0').filter(|p| !p.is_empty()).map(|p| FileChange::new("added", p.to_owned(), None)).collect();
        changes.sort();
        changes
    }

    /// A commit's committer time in UTC, `2026-11-22T09:01:00Z`.
    pub fn committer_time_utc(&self, revision: &str) -> String {
        self.git(&["log", "-1", "--date=format-local:%Y-%m-%dT%H:%M:%SZ", "--format=%cd", revision])
    }

    /// The real `docsync` binary, with a cleared environment, in this repository.
    pub fn docsync(&self, args: &[&str]) -> Command {
        let mut command = Command::cargo_bin("docsync").expect("the docsync binary is built");
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            // Plain logs, so tests can search stderr for words.
            .env("NO_COLOR", "1")
            .current_dir(&self.path)
            .args(args);
        command
    }

    fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let output = self.git_command_in(dir).args(args).output().expect("run git");
        check(&args.join(" "), &output);
        let mut stdout = String::from_utf8(output.stdout).expect("git prints UTF-8");
        if stdout.ends_with('\n') {
            stdout.pop();
        }
        stdout
    }

    /// An isolated `git` command (see the module docs), in the repository.
    pub fn git_command(&self) -> std::process::Command {
        self.git_command_in(&self.path)
    }

    /// Any program (`git-daemon`, say) with the same isolated environment.
    pub fn command(&self, program: impl AsRef<OsStr>) -> std::process::Command {
        self.command_in(program, &self.path)
    }

    fn git_command_in(&self, dir: &Path) -> std::process::Command {
        self.command_in("git", dir)
    }

    fn command_in(&self, program: impl AsRef<OsStr>, dir: &Path) -> std::process::Command {
        let committed = FIRST_COMMIT_TIME + 60 * self.commits.get();
        let mut command = std::process::Command::new(program);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("LC_ALL", "C")
            .env("TZ", "UTC")
            .env("GIT_AUTHOR_NAME", AUTHOR_NAME)
            .env("GIT_AUTHOR_EMAIL", AUTHOR_EMAIL)
            .env("GIT_AUTHOR_DATE", format!("{} +0200", committed - 86_400))
            .env("GIT_COMMITTER_NAME", "CI Committer")
            .env("GIT_COMMITTER_EMAIL", "committer@example.com")
            .env("GIT_COMMITTER_DATE", format!("{committed} +0100"))
            .current_dir(dir);
        command
    }
}

fn check(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "git {what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// One changed path, as docsync's JSON contract and `git diff` both say it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileChange {
    pub path: String,
    pub status: String,
    pub old_path: Option<String>,
}

impl FileChange {
    pub fn new(status: &str, path: String, old_path: Option<String>) -> FileChange {
        FileChange { path, status: status.to_owned(), old_path }
    }
}

/// The kinds of GitLab pipeline docsync tells apart.
pub enum Pipeline<'a> {
    /// A push to `branch`, from `before` (or [`ZERO_SHA`]) to `sha`.
    Push { branch: &'a str, before: &'a str, sha: &'a str },
    /// A pipeline for a new tag.
    Tag { tag: &'a str, sha: &'a str },
    /// A merge request pipeline. `source_branch_sha` is set in merged-results
    /// pipelines, where `sha` is GitLab's temporary merge commit.
    MergeRequest { iid: u32, diff_base: &'a str, sha: &'a str, source_branch_sha: Option<&'a str> },
    /// `web`, `api`, `trigger`, `schedule` or `pipeline`.
    Manual { source: &'a str, branch: &'a str, sha: &'a str },
}

/// The variables GitLab sets for a pipeline of this kind (default branch
/// `main`, created at [`PIPELINE_CREATED_AT`]). Tests add or remove entries.
pub fn ci_env(pipeline: Pipeline<'_>) -> Env {
    let mut vars = BTreeMap::new();
    let mut set = |key: &str, value: &str| {
        vars.insert(key.to_owned(), value.to_owned());
    };
    set("GITLAB_CI", "true");
    set("CI", "true");
    set("CI_DEFAULT_BRANCH", "main");
    set("CI_PROJECT_URL", PROJECT_URL);
    set("CI_PIPELINE_CREATED_AT", PIPELINE_CREATED_AT);
    match pipeline {
        Pipeline::Push { branch, before, sha } => {
            set("CI_PIPELINE_SOURCE", "push");
            set("CI_COMMIT_SHA", sha);
            set("CI_COMMIT_BEFORE_SHA", before);
            set("CI_COMMIT_BRANCH", branch);
            set("CI_COMMIT_REF_NAME", branch);
        }
        Pipeline::Tag { tag, sha } => {
            set("CI_PIPELINE_SOURCE", "push");
            set("CI_COMMIT_SHA", sha);
            set("CI_COMMIT_BEFORE_SHA", ZERO_SHA);
            set("CI_COMMIT_TAG", tag);
            set("CI_COMMIT_REF_NAME", tag);
        }
        Pipeline::MergeRequest { iid, diff_base, sha, source_branch_sha } => {
            set("CI_PIPELINE_SOURCE", "merge_request_event");
            set("CI_COMMIT_SHA", sha);
            set("CI_COMMIT_BEFORE_SHA", ZERO_SHA);
            set("CI_COMMIT_REF_NAME", "feature");
            set("CI_MERGE_REQUEST_IID", &iid.to_string());
            set("CI_MERGE_REQUEST_DIFF_BASE_SHA", diff_base);
            set("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature");
            set("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main");
            // GitLab sets it, empty, outside merged-results pipelines.
            set("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", source_branch_sha.unwrap_or(""));
        }
        Pipeline::Manual { source, branch, sha } => {
            set("CI_PIPELINE_SOURCE", source);
            set("CI_COMMIT_SHA", sha);
            set("CI_COMMIT_BEFORE_SHA", ZERO_SHA);
            set("CI_COMMIT_BRANCH", branch);
            set("CI_COMMIT_REF_NAME", branch);
        }
    }
    vars
}

/// `env` plus the given variables (replacing any of the same name).
pub fn with(mut env: Env, extra: &[(&str, &str)]) -> Env {
    for (key, value) in extra {
        env.insert((*key).to_owned(), (*value).to_owned());
    }
    env
}

/// A port on 127.0.0.1 that nothing listens on once this returns: for
/// servers a test starts, or for a connection that must be refused.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("find a free port on 127.0.0.1")
}

// ---------------------------------------------------------------------------
// A CI job and its runs

/// A pipeline job: the repository, the job's variables, where its dotenv
/// report goes, and the range the push covers.
pub struct Job {
    pub repo: TestRepo,
    pub env: Env,
    pub report: PathBuf,
    pub base: String,
    pub head: String,
}

/// Quick polls and retries, so a job that meets a fault ends within
/// moments: the tests count requests and never wait on the clock.
pub const QUICK_RETRIES: [(&str, &str); 4] = [
    ("DOCSYNC_POLL_INTERVAL", "50ms"),
    ("DOCSYNC_RETRIES", "0"),
    ("DOCSYNC_RETRY_DELAY", "50ms"),
    ("DOCSYNC_HTTP_TIMEOUT", "5s"),
];

impl Job {
    /// The job over `base..head` of `repo`: the variables `env` plus
    /// [`QUICK_RETRIES`], its dotenv and JSON reports (`DOCSYNC_REPORT`,
    /// `DOCSYNC_REPORT_JSON`) in an `artifacts` folder beside the repository.
    /// Set the test's own variables afterwards, to replace any of these.
    pub fn new(repo: TestRepo, env: Env, base: String, head: String) -> Job {
        let artifacts = repo.outside_dir("artifacts");
        let report = artifacts.join("docsync.env");
        let mut env = with(env, &QUICK_RETRIES);
        env.insert("DOCSYNC_REPORT".to_owned(), report.display().to_string());
        env.insert("DOCSYNC_REPORT_JSON".to_owned(), artifacts.join("docsync.json").display().to_string());
        Job { repo, env, report, base, head }
    }

    /// Sets one of the job's variables.
    pub fn set(&mut self, key: &str, value: &str) {
        self.env.insert(key.to_owned(), value.to_owned());
    }
}

/// What a run of the binary left behind. `stdout` and `stderr` are decoded
/// once, so assertions can search them as text.
pub struct Run {
    pub output: Output,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    fn new(output: Output, elapsed: Duration) -> Run {
        Run {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            output,
            elapsed,
        }
    }

    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// Everything a failure message needs to explain the run.
    pub fn context(&self) -> String {
        format!("exit {:?} after {:?}\nstdout:\n{}\nstderr:\n{}", self.code(), self.elapsed, self.stdout, self.stderr)
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", self.context()))
    }

    pub fn assert_code(&self, code: i32) {
        assert_eq!(self.code(), Some(code), "{}", self.context());
    }
}

/// Runs `command` to its end on this thread: for tests with no mock server
/// on their async runtime.
pub fn run_to_end(mut command: Command) -> Run {
    let started = Instant::now();
    let output = command.output().expect("run docsync");
    Run::new(output, started.elapsed())
}

/// `docsync lint --format json` with `env` and `extra` arguments, run to its
/// end (outside CI the range is HEAD~1..HEAD).
pub fn lint(repo: &TestRepo, env: &Env, extra: &[&str]) -> Run {
    let mut args = vec!["lint", "--format", "json"];
    args.extend_from_slice(extra);
    let mut command = repo.docsync(&args);
    command.envs(env);
    run_to_end(command)
}

/// The `findings` of a `lint --format json` result.
pub fn findings(run: &Run) -> Vec<Value> {
    run.json()["findings"].as_array().unwrap_or_else(|| panic!("no findings list\n{}", run.context())).clone()
}

/// Runs `command` on a blocking thread, killed after `timeout`: the wiremock
/// servers of the test live on its async runtime and must keep serving while
/// the binary waits for their answers.
pub async fn run_in_background(mut command: Command, timeout: Duration) -> Run {
    command.timeout(timeout);
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the docsync thread finished")
        .expect("run docsync");
    Run::new(output, started.elapsed())
}

/// The `KEY=value` lines of a dotenv report; panics naming the file when it
/// was not written, and naming the line when one is not `KEY=value`.
/// The summary of [`space_with_old_errors`]: home, guide and table.
pub const SPACE_SUMMARY: &str =
    "# Table of contents\n\n* [Home](README.md)\n* [Guide](guide.md)\n* [Table](table.md)\n";

/// A GitBook space in `docs/` whose `table.md` (`table`, holding the
/// broken links) is the repository's old errors, committed as `message`.
pub fn space_with_old_errors(table: &str, message: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.write("docs/README.md", "# Home\n\nStart with the [guide](guide.md).\n");
    repo.write("docs/SUMMARY.md", SPACE_SUMMARY);
    repo.write("docs/guide.md", "# Guide\n\nSee the [table](table.md).\n");
    repo.write("docs/table.md", table);
    repo.commit(message);
    repo
}

pub fn read_dotenv(path: &Path) -> Env {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("the report {} was not written: {e}", path.display()));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (key, value) = line.split_once('=').unwrap_or_else(|| panic!("not KEY=value: {line:?}\n{text}"));
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Mock servers

/// A wiremock server with [`mount_catch_all`] in place.
pub async fn mock_server() -> MockServer {
    let server = MockServer::start().await;
    mount_catch_all(&server).await;
    server
}

/// Answers `599` naming any route no other mock answers, at the lowest
/// priority: a request docsync should not send then shows up in its output
/// and in the assertion messages, instead of as wiremock's bare 404.
pub async fn mount_catch_all(server: &MockServer) {
    Mock::given(any())
        .respond_with(unexpected_request)
        .with_priority(u8::MAX)
        .named("catch-all: unexpected route")
        .mount(server)
        .await;
}

/// The catch-all's answer, for responders that meet a route they do not know.
pub fn unexpected_request(request: &Request) -> ResponseTemplate {
    ResponseTemplate::new(599).set_body_string(format!("unexpected request: {} {}", request.method, request.url.path()))
}

// ---------------------------------------------------------------------------
// GitBook's answers, as its published spec shapes them

/// When the operation GitBook shows before docsync's request started.
pub const OLD_STARTED: &str = "2026-11-22T14:00:00Z";
/// When the operation docsync's request queued started.
pub const NEW_STARTED: &str = "2026-11-22T15:00:05Z";

/// GitBook's clock when it accepts docsync's request: the `Date` of its
/// `204`, between the two operations above. docsync takes an operation for
/// its own only when it started no earlier than this.
pub const ACCEPTED_DATE: &str = "Sun, 22 Nov 2026 15:00:04 GMT";

/// GitBook's answer to an import or export: queued, at [`ACCEPTED_DATE`].
pub fn gitbook_accepted() -> ResponseTemplate {
    ResponseTemplate::new(204).insert_header("date", ACCEPTED_DATE)
}

/// A `GitSyncState` answer of `GET git/info`, with this operation if any.
pub fn gitbook_state(operation: Option<Value>) -> Value {
    let mut state = serde_json::json!({
        "installationId": "inst-1",
        "installationProvider": "gitlab",
        "installationStatus": "active",
        "repoName": "group/project",
        "url": "https://gitlab.example.com/group/project/-/tree/main",
    });
    if let Some(operation) = operation {
        state["operation"] = operation;
    }
    state
}

/// GitBook's live revision of a space, as its spec shapes it: one page,
/// imported from commit `oid`.
pub fn live_revision(oid: &str) -> Value {
    serde_json::json!({
        "object": "revision", "id": "rev-live", "type": "update", "parents": ["rev-0"],
        "pages": [{ "id": "p-1", "kind": "sheet", "type": "document", "title": "Docs", "path": "readme",
                    "slug": "readme", "pages": [], "urls": { "app": "https://app.gitbook.com/o/org/s/spc/readme" },
                    "git": { "oid": "b1", "path": "README.md" } }],
        "files": [], "reusableContents": [], "tags": [],
        "createdAt": "2026-11-22T14:00:40Z",
        "git": { "oid": oid, "message": "docs", "createdByGitBook": false },
        "urls": { "app": "https://app.gitbook.com/o/org/s/spc/" },
    })
}

/// The space's live revision before the job's import holds `oid`, the
/// commit the last push imported (an ancestor of the head): docsync reads
/// it once before every branch import (docs/gitbook.md, "Edits made in
/// GitBook"). Answers that first read only; later reads go to the test's
/// own mocks.
pub async fn mount_live_before_import(server: &MockServer, space: &str, oid: &str) {
    Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path_regex(format!("^(/.*)?/spaces/{space}/content$")))
        .respond_with(ResponseTemplate::new(200).set_body_json(live_revision(oid)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
}

/// GitBook's finished operation from before the job.
pub fn old_success() -> Value {
    gitbook_state(Some(serde_json::json!({
        "state": "success", "direction": "import", "stage": "done",
        "startedAt": OLD_STARTED, "endedAt": "2026-11-22T14:00:40Z",
    })))
}
