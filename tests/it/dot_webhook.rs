//! The Dot target: the push event GitLab would send, run as the real binary.
//!
//! Conformance runs against a real GitLab push-webhook receiver, Debian's
//! `webhook` (installed by `scripts/install-peers`), configured to fire only
//! when `X-Gitlab-Token` matches and `X-Gitlab-Event` is `Push Hook`, and to
//! save what it receives. The saved payload is parsed with a typed model of
//! GitLab's push event (every key of GitLab's documented sample required)
//! and compared with what `git diff-tree` says of every commit.
//!
//! Fault behaviour (retries, exit codes, hints, idempotency keys) runs
//! against `wiremock`, with a catch-all that names any unexpected route.

use crate::common;

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::{Env, PROJECT_URL, Pipeline, TestRepo, ZERO_SHA, ci_env, free_port, with};

const SECRET: &str = "dot-webhook-secret-3f9a1c";
const SERVER_URL: &str = "https://gitlab.example.com";

// ---------------------------------------------------------------------------
// GitLab's push event, as a receiver reads it

/// GitLab's `Push Hook` body. Every key of the documented sample
/// (`fixtures/gitlab-push-event.json`) is required: a missing one fails the
/// parse, naming it.
#[derive(Debug, Deserialize)]
struct GitLabPushEvent {
    object_kind: String,
    event_name: String,
    before: String,
    after: String,
    #[serde(rename = "ref")]
    git_ref: String,
    ref_protected: bool,
    checkout_sha: String,
    user_id: u64,
    user_name: String,
    user_username: String,
    user_email: String,
    /// Always sent; `null` when the user has no avatar GitLab can link to.
    #[serde(deserialize_with = "present")]
    user_avatar: Option<String>,
    project_id: u64,
    project: GitLabProject,
    repository: GitLabRepository,
    commits: Vec<GitLabCommit>,
    total_commits_count: usize,
}

#[derive(Debug, Deserialize)]
struct GitLabProject {
    id: u64,
    name: String,
    description: String,
    web_url: String,
    /// Always sent; `null` for a project without an avatar.
    #[serde(deserialize_with = "present")]
    avatar_url: Option<String>,
    git_ssh_url: String,
    git_http_url: String,
    namespace: String,
    visibility_level: u8,
    path_with_namespace: String,
    default_branch: String,
    homepage: String,
    url: String,
    ssh_url: String,
    http_url: String,
}

#[derive(Debug, Deserialize)]
struct GitLabRepository {
    name: String,
    url: String,
    description: String,
    homepage: String,
    git_http_url: String,
    git_ssh_url: String,
    visibility_level: u8,
}

#[derive(Debug, Deserialize)]
struct GitLabCommit {
    id: String,
    message: String,
    title: String,
    timestamp: String,
    url: String,
    author: GitLabAuthor,
    added: Vec<String>,
    modified: Vec<String>,
    removed: Vec<String>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
struct GitLabAuthor {
    name: String,
    email: String,
}

/// A nullable key that must still be present: serde lets a missing
/// `Option` field pass as `None` unless the field has its own deserializer.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(deserializer)
}

fn parse_event(json: &str) -> Result<GitLabPushEvent, String> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| format!("{}: {}", e.path(), e.inner()))
}

const GITLAB_SAMPLE: &str = include_str!("../fixtures/gitlab-push-event.json");

#[test]
fn the_model_parses_gitlabs_own_sample_and_refuses_a_missing_key() {
    let event = parse_event(GITLAB_SAMPLE).unwrap_or_else(|e| panic!("GitLab's sample does not parse: {e}"));
    assert_eq!(event.object_kind, "push");
    assert_eq!(event.commits.len(), 2);
    assert_eq!(event.total_commits_count, 4);
    assert_eq!(event.project.avatar_url, None);
    assert!(event.user_avatar.is_some());

    // The model can fail: drop any key of the sample and the parse names it.
    let sample: Value = serde_json::from_str(GITLAB_SAMPLE).unwrap();
    for pointer in ["/user_avatar", "/project/avatar_url", "/ref_protected", "/repository/git_ssh_url"] {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let mut broken = sample.clone();
        broken.pointer_mut(if parent.is_empty() { "" } else { parent }).unwrap().as_object_mut().unwrap().remove(key);
        let error = parse_event(&broken.to_string()).expect_err(pointer);
        assert!(error.contains(&format!("missing field `{key}`")), "{pointer}: {error}");
    }
    let mut broken = sample;
    broken["commits"][1].as_object_mut().unwrap().remove("removed");
    assert!(parse_event(&broken.to_string()).unwrap_err().starts_with("commits[1]"));
}

// ---------------------------------------------------------------------------
// The real receiver

/// Debian's `webhook`, with one hook that fires only for a GitLab push event
/// carrying the right secret, and saves each delivery (payload and headers)
/// as one JSON line. A wrong secret gets a 401.
struct Receiver {
    child: Child,
    url: String,
    deliveries: PathBuf,
    log: PathBuf,
}

#[derive(Debug, Deserialize)]
struct Delivery {
    payload: Value,
    headers: BTreeMap<String, Value>,
}

impl Delivery {
    /// A header as received (names compared case-insensitively).
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.as_str())
    }
}

fn require_webhook() {
    match std::process::Command::new("webhook").arg("-version").output() {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!("`webhook -version` failed ({}): run scripts/install-peers", output.status),
        Err(error) => panic!("the `webhook` receiver is not installed ({error}): run scripts/install-peers"),
    }
}

impl Receiver {
    fn start(dir: &Path, secret: &str) -> Receiver {
        require_webhook();
        std::fs::create_dir_all(dir).unwrap();
        let deliveries = dir.join("deliveries.jsonl");
        let script = dir.join("save-delivery.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\n# $1: the payload, $2: the headers, each one line of JSON.\nprintf '{{\"payload\":%s,\"headers\":%s}}\\n' \"$1\" \"$2\" >> '{}'\necho saved\n",
                deliveries.display()
            ),
        )
        .unwrap();
        make_executable(&script);
        let hooks = serde_json::json!([{
            "id": "gitlab",
            "execute-command": script,
            "command-working-directory": dir,
            "pass-arguments-to-command": [{"source": "entire-payload"}, {"source": "entire-headers"}],
            // Answer once the payload is saved, not before.
            "include-command-output-in-response": true,
            "trigger-rule-mismatch-http-response-code": 401,
            "trigger-rule": {"and": [
                {"match": {"type": "value", "value": secret, "parameter": {"source": "header", "name": "X-Gitlab-Token"}}},
                {"match": {"type": "value", "value": "Push Hook", "parameter": {"source": "header", "name": "X-Gitlab-Event"}}}
            ]}
        }]);
        let hooks_file = dir.join("hooks.json");
        std::fs::write(&hooks_file, serde_json::to_string_pretty(&hooks).unwrap()).unwrap();
        let log = dir.join("webhook.log");

        // A free port can be taken between asking and binding: try a few.
        for _ in 0..5 {
            let port = free_port();
            let log_file = std::fs::File::create(&log).unwrap();
            let mut child = std::process::Command::new("webhook")
                .args(["-hooks", &hooks_file.to_string_lossy(), "-ip", "127.0.0.1", "-port", &port.to_string()])
                .arg("-verbose")
                .stdout(Stdio::from(log_file.try_clone().unwrap()))
                .stderr(Stdio::from(log_file))
                .spawn()
                .expect("start webhook");
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    let url = format!("http://127.0.0.1:{port}/hooks/gitlab");
                    return Receiver { child, url, deliveries, log };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("webhook did not start:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
    }

    fn deliveries(&self) -> Vec<Delivery> {
        let text = std::fs::read_to_string(&self.deliveries).unwrap_or_default();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("unreadable delivery ({e}): {line}")))
            .collect()
    }

    /// The one delivery this receiver got, parsed as GitLab's push event.
    fn only_delivery(&self) -> (Delivery, GitLabPushEvent) {
        let mut deliveries = self.deliveries();
        assert_eq!(deliveries.len(), 1, "exactly one delivery expected; webhook log:\n{}", self.log());
        let delivery = deliveries.remove(0);
        let event = parse_event(&delivery.payload.to_string())
            .unwrap_or_else(|e| panic!("the payload is not GitLab's push event: {e}\n{:#}", delivery.payload));
        (delivery, event)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

// ---------------------------------------------------------------------------
// Pipelines and runs

/// The variables of a pipeline of the project `group/project`, with
/// everything GitLab sets that the push event reads.
fn gitlab_env(pipeline: Pipeline<'_>, webhook_url: &str) -> Env {
    let mut env = ci_env(pipeline);
    for (key, value) in [
        ("CI_PROJECT_ID", "15"),
        ("CI_PROJECT_PATH", "group/project"),
        ("CI_PROJECT_NAME", "project"),
        ("CI_PROJECT_TITLE", "Project Docs"),
        ("CI_PROJECT_NAMESPACE", "group"),
        ("CI_PROJECT_DESCRIPTION", "Handbook and API context"),
        ("CI_PROJECT_VISIBILITY", "internal"),
        ("CI_SERVER_URL", SERVER_URL),
        ("CI_SERVER_HOST", "gitlab.example.com"),
        ("CI_SERVER_SHELL_SSH_HOST", "gitlab.example.com"),
        ("CI_SERVER_SHELL_SSH_PORT", "22"),
        ("CI_COMMIT_REF_PROTECTED", "true"),
        ("CI_CONFIG_PATH", ".gitlab-ci.yml"),
        ("GITLAB_USER_ID", "4"),
        ("GITLAB_USER_NAME", "Jöhn Smith"),
        ("GITLAB_USER_LOGIN", "jsmith"),
        ("GITLAB_USER_EMAIL", "john@example.com"),
        ("DOCSYNC_DOT_WEBHOOK_URL", webhook_url),
        ("DOCSYNC_DOT_WEBHOOK_SECRET", SECRET),
    ] {
        env.insert(key.to_owned(), value.to_owned());
    }
    env
}

fn push_env(before: &str, sha: &str, webhook_url: &str) -> Env {
    gitlab_env(Pipeline::Push { branch: "main", before, sha }, webhook_url)
}

/// `docsync <command> --format json`, its dotenv report outside the repository.
fn run(repo: &TestRepo, command: &str, env: &Env) -> Run {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let report = repo.outside_dir("reports").join(format!("{command}-{}.env", RUNS.fetch_add(1, Ordering::Relaxed)));
    let output = repo
        .docsync(&[command, "--format", "json"])
        .envs(env)
        .env("DOCSYNC_REPORT", &report)
        .output()
        .expect("run docsync");
    Run { output, report }
}

/// Not the shared `common::Run`: these runs are synchronous, each writes its
/// own dotenv report, and the tests search stdout, stderr and that report
/// together (`everything`).
struct Run {
    output: Output,
    report: PathBuf,
}

impl Run {
    fn code(&self) -> i32 {
        self.output.status.code().expect("docsync exited with a code")
    }
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout())
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\nstderr:\n{}", self.stdout(), self.stderr()))
    }
    fn report(&self) -> String {
        std::fs::read_to_string(&self.report).unwrap_or_default()
    }
    fn expect(&self, code: i32) -> &Run {
        assert_eq!(self.code(), code, "exit code\nstdout:\n{}\nstderr:\n{}", self.stdout(), self.stderr());
        self
    }
    /// Everything the run showed: stdout, stderr and the dotenv report.
    fn everything(&self) -> String {
        format!("{}\n{}\n{}", self.stdout(), self.stderr(), self.report())
    }
}

fn dot_target(result: &Value) -> &Value {
    result["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .find(|t| t["kind"] == "dot")
        .unwrap_or_else(|| panic!("no dot target: {result:#}"))
}

// ---------------------------------------------------------------------------
// What git says

fn relevant(path: &str) -> bool {
    [".md", ".markdown", ".yaml", ".yml"].iter().any(|ext| path.ends_with(ext))
}

/// `added`/`modified`/`removed` of one commit as GitLab's event lists them,
/// from `git diff-tree --no-commit-id --name-status -r -M` (against the first
/// parent for a merge), renames on both sides, filtered to Markdown and YAML,
/// each list sorted.
fn expected_files(repo: &TestRepo, commit: &str) -> [Vec<String>; 3] {
    let parents = repo.git(&["rev-list", "--parents", "-n", "1", commit]);
    let mut args = vec!["diff-tree", "--no-commit-id", "--name-status", "-r", "-M", "-z"];
    let first_parent = format!("{commit}^1");
    if parents.split(' ').count() > 2 {
        args.push(&first_parent);
    }
    args.push(commit);
    let raw = repo.git(&args);
    let mut fields = raw.split('\0').filter(|f| !f.is_empty());
    let (mut added, mut modified, mut removed) = (Vec::new(), Vec::new(), Vec::new());
    while let Some(status) = fields.next() {
        let mut next = || fields.next().expect("a path after the status").to_owned();
        match &status[..1] {
            "A" => added.push(next()),
            "M" | "T" => modified.push(next()),
            "D" => removed.push(next()),
            "R" => {
                removed.push(next());
                added.push(next());
            }
            other => panic!("unexpected status {other} from git diff-tree"),
        }
    }
    [added, modified, removed].map(|mut list| {
        list.retain(|p| relevant(p));
        list.sort();
        list
    })
}

fn sorted(list: &[String]) -> Vec<String> {
    let mut list = list.to_vec();
    list.sort();
    list
}

/// Checks every commit of the event against git, and the totals.
fn assert_commits_match_git(repo: &TestRepo, event: &GitLabPushEvent, before: &str, head: &str) {
    let range = format!("{before}..{head}");
    let total: usize = repo.git(&["rev-list", "--count", &range]).parse().unwrap();
    assert_eq!(event.total_commits_count, total, "total_commits_count");
    let mut newest: Vec<String> = repo.git(&["rev-list", "-n", "20", &range]).lines().map(str::to_owned).collect();
    newest.reverse();
    let listed: Vec<&str> = event.commits.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(listed, newest, "the newest 20 commits, oldest first");

    for commit in &event.commits {
        let id = &commit.id;
        let [added, modified, removed] = expected_files(repo, id);
        let subject = repo.git(&["log", "-1", "--format=%s", id]);
        assert_eq!(sorted(&commit.added), added, "added of {subject}");
        assert_eq!(sorted(&commit.modified), modified, "modified of {subject}");
        assert_eq!(sorted(&commit.removed), removed, "removed of {subject}");
        // The message exactly as stored: the commit object after its headers.
        let object = String::from_utf8(repo.git_output(&["cat-file", "commit", id]).stdout).unwrap();
        let message = object.split_once("\n\n").map_or("", |(_, message)| message);
        assert_eq!(commit.message, message, "message of {subject}");
        if subject.chars().count() < 100 {
            assert_eq!(commit.title, subject);
        } else {
            let kept = commit.title.strip_suffix("...").unwrap_or_else(|| panic!("{:?} is cut", commit.title));
            assert!(subject.starts_with(kept) && kept.chars().count() <= 78, "{:?} from {subject:?}", commit.title);
        }
        assert_eq!(commit.timestamp, repo.git(&["log", "-1", "--format=%cI", id]), "committer time of {subject}");
        assert_eq!(commit.url, format!("{PROJECT_URL}/-/commit/{id}"));
        assert_eq!(
            commit.author,
            GitLabAuthor {
                name: repo.git(&["log", "-1", "--format=%an", id]),
                email: repo.git(&["log", "-1", "--format=%ae", id]),
            }
        );
    }
}

fn assert_project_and_user(event: &GitLabPushEvent) {
    assert_eq!((event.object_kind.as_str(), event.event_name.as_str()), ("push", "push"));
    assert_eq!(event.git_ref, "refs/heads/main");
    assert!(event.ref_protected);
    assert_eq!(
        (event.user_id, event.user_name.as_str(), event.user_username.as_str(), event.user_email.as_str()),
        (4, "Jöhn Smith", "jsmith", "john@example.com")
    );
    assert_eq!(event.project_id, 15);
    let project = &event.project;
    assert_eq!(project.id, 15);
    assert_eq!(project.name, "Project Docs");
    assert_eq!(project.description, "Handbook and API context");
    assert_eq!(project.web_url, PROJECT_URL);
    assert_eq!(project.homepage, PROJECT_URL);
    assert_eq!(project.git_http_url, format!("{PROJECT_URL}.git"));
    assert_eq!(project.http_url, project.git_http_url);
    assert_eq!(project.git_ssh_url, "git@gitlab.example.com:group/project.git");
    assert_eq!(
        (project.ssh_url.as_str(), project.url.as_str()),
        (project.git_ssh_url.as_str(), project.git_ssh_url.as_str())
    );
    assert_eq!(project.namespace, "group");
    assert_eq!(project.path_with_namespace, "group/project");
    assert_eq!(project.default_branch, "main");
    assert_eq!(project.visibility_level, 10);
    let repository = &event.repository;
    assert_eq!(
        (repository.name.as_str(), repository.url.as_str(), repository.homepage.as_str()),
        (project.name.as_str(), project.url.as_str(), project.homepage.as_str())
    );
    assert_eq!(repository.description, project.description);
    assert_eq!(
        (repository.git_http_url.as_str(), repository.git_ssh_url.as_str()),
        (project.git_http_url.as_str(), project.git_ssh_url.as_str())
    );
    assert_eq!(repository.visibility_level, project.visibility_level);
}

fn assert_is_uuid(value: Option<&str>, name: &str) {
    let value = value.unwrap_or_else(|| panic!("no {name} header"));
    let groups: Vec<usize> = value.split('-').map(str::len).collect();
    assert!(
        groups == [8, 4, 4, 4, 12] && value.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
        "{name}: {value} is not a UUID"
    );
}

// ---------------------------------------------------------------------------
// Histories

/// A first commit with docs, code and files in and out of Dot's globs.
fn repo_with_docs() -> (TestRepo, String) {
    let repo = TestRepo::new();
    repo.write("README.md", "# Project\n");
    repo.write("docs/guide.md", "# Guide\n\nHow to start.\n");
    repo.write("docs/old-name.md", "# Old name\n\nA page about naming.\n");
    repo.write("docs/notes.txt", "plain notes, not docs yet\n");
    repo.write("docs/café.md", "# Café\n\nUnicode in the name.\n");
    repo.write("docs/legacy.md", "# Legacy\n\nSoon moved out of the docs.\n");
    repo.write("api/spec.yaml", "openapi: 3.1.0\n");
    repo.write("ci.yml", "stages: [test]\n");
    repo.write("src/main.rs", "fn main() {}\n");
    let first = repo.commit("Initial import");
    (repo, first)
}

/// 15 filler commits, then every kind of change (in the newest 20): edits,
/// unicode additions, renames within, into and out of the docs globs, a
/// unicode rename, deletions, a code-only commit and a merge.
fn many_kinds_of_change(repo: &TestRepo) -> String {
    for i in 0..15 {
        if i % 3 == 2 {
            repo.write("src/main.rs", &format!("fn main() {{ println!(\"{i}\"); }}\n"));
        } else {
            repo.write("docs/changelog.md", &format!("# Changelog\n\n{}", "- entry\n".repeat(i + 1)));
        }
        repo.commit(&format!("Filler {i}"));
    }
    repo.write("docs/guide.md", "# Guide\n\nHow to start, and more.\n");
    repo.write("api/spec.yaml", "openapi: 3.1.0\ninfo: {title: API}\n");
    repo.commit("Edit the guide and the spec");
    repo.write("docs/日本語/はじめに.md", "# はじめに\n");
    repo.write("docs/über uns.yml", "team: docs\n");
    repo.commit("Add pages with unicode names");
    repo.mv("docs/old-name.md", "docs/new-name.md");
    repo.commit("Rename a page");
    repo.mv("docs/notes.txt", "docs/notes.md");
    repo.commit("Turn the notes into a page");
    repo.mv("docs/legacy.md", "archive/legacy.txt");
    repo.commit("Move the legacy page out of the docs");
    repo.mv("docs/café.md", "docs/ünïcödé/café.md");
    repo.commit("Rename a unicode page");
    repo.remove("api/spec.yaml");
    repo.remove("README.md");
    repo.commit("Delete the spec and the README");
    repo.write("src/main.rs", "fn main() { println!(\"code only\"); }\n");
    repo.commit("Code only");
    // A branch merged with a merge commit: GitLab lists its changes against
    // the first parent.
    repo.branch("side");
    repo.checkout("side");
    repo.write("docs/side.md", "# Side\n");
    repo.commit(
        "Add a side page with a long title that goes on and on past the hundredth character so GitLab cuts it down",
    );
    repo.checkout("main");
    repo.write("ci.yml", "stages: [test, docs]\n");
    repo.commit("Edit the CI configuration\n\nWith a body that is\nseveral lines long.");
    repo.git(&["merge", "-q", "--no-ff", "-m", "Merge branch 'side'", "side"]);
    repo.head()
}

// ---------------------------------------------------------------------------
// Against the real receiver

#[test]
fn a_push_sends_gitlabs_push_event_with_each_commits_own_files() {
    let (repo, before) = repo_with_docs();
    let head = many_kinds_of_change(&repo);
    let receiver = Receiver::start(&repo.outside_dir("receiver"), SECRET);
    let env = push_env(&before, &head, &receiver.url);

    let sync = run(&repo, "sync", &env);

    sync.expect(0);
    let (delivery, event) = receiver.only_delivery();
    assert_eq!(
        (event.before.as_str(), event.after.as_str(), event.checkout_sha.as_str()),
        (before.as_str(), head.as_str(), head.as_str())
    );
    assert_project_and_user(&event);
    assert!(event.total_commits_count > 20, "the history must exceed GitLab's 20 listed commits");
    assert_commits_match_git(&repo, &event, &before, &head);
    // The cases the history was built for are all among the listed commits.
    let find = |subject: &str| {
        event.commits.iter().find(|c| c.title == subject).unwrap_or_else(|| panic!("no commit {subject:?} listed"))
    };
    assert_eq!(find("Rename a page").removed, ["docs/old-name.md"]);
    assert_eq!(find("Rename a page").added, ["docs/new-name.md"]);
    assert_eq!(find("Turn the notes into a page").added, ["docs/notes.md"]);
    assert!(find("Turn the notes into a page").removed.is_empty(), "notes.txt was never a docs file");
    assert_eq!(find("Move the legacy page out of the docs").removed, ["docs/legacy.md"]);
    assert!(find("Move the legacy page out of the docs").added.is_empty());
    assert_eq!(find("Rename a unicode page").removed, ["docs/café.md"]);
    assert_eq!(find("Rename a unicode page").added, ["docs/ünïcödé/café.md"]);
    assert_eq!(sorted(&find("Delete the spec and the README").removed), ["README.md", "api/spec.yaml"]);
    assert!(sorted(&find("Add pages with unicode names").added).contains(&"docs/日本語/はじめに.md".to_owned()));
    assert_eq!(
        find("Merge branch 'side'").added,
        ["docs/side.md"],
        "a merge lists its changes against the first parent"
    );
    let long = event.commits.iter().find(|c| c.message.starts_with("Add a side page")).expect("the side commit");
    assert!(long.title.ends_with("...") && long.title.len() <= 81, "GitLab cuts long titles: {:?}", long.title);
    assert_eq!(long.title, "Add a side page with a long title that goes on and on past the hundredth...");

    // The headers GitLab sends.
    assert_eq!(delivery.header("X-Gitlab-Event"), Some("Push Hook"));
    assert_eq!(delivery.header("X-Gitlab-Token"), Some(SECRET));
    assert_eq!(delivery.header("X-Gitlab-Instance"), Some(SERVER_URL));
    assert_eq!(delivery.header("Content-Type"), Some("application/json"));
    assert!(delivery.header("User-Agent").is_some_and(|ua| ua.starts_with("docsync/")), "{:?}", delivery.headers);
    for name in ["X-Gitlab-Event-UUID", "X-Gitlab-Webhook-UUID", "Idempotency-Key"] {
        assert_is_uuid(delivery.header(name), name);
    }

    // The outcome, in the JSON result and the dotenv report; the secret nowhere.
    let result = sync.json();
    assert_eq!(result["status"], "synced");
    assert_eq!(dot_target(&result)["outcome"]["status"], "synced", "{result:#}");
    assert!(sync.report().contains("DOCSYNC_STATUS=synced\nDOCSYNC_RANGE_BASE"), "{}", sync.report());
    assert!(sync.report().contains("DOCSYNC_FAILED=\n"), "{}", sync.report());
    assert!(!sync.everything().contains(SECRET), "the secret leaked:\n{}", sync.everything());

    // `plan` shows exactly what was sent, the secret masked.
    let plan = run(&repo, "plan", &env);
    plan.expect(0);
    let plan_json = plan.json();
    let request = &dot_target(&plan_json)["request"];
    assert_eq!(request["method"], "POST");
    // Shown as scheme://host/…: receivers often carry a secret in the path.
    let origin = receiver.url.split('/').take(3).collect::<Vec<_>>().join("/");
    assert_eq!(request["url"], format!("{origin}/…"));
    assert_eq!(request["body"], delivery.payload, "plan shows the exact event");
    let headers = request["headers"].as_object().expect("headers");
    for (name, value) in headers {
        let shown = value.as_str().unwrap();
        if name == "X-Gitlab-Token" {
            assert_eq!(shown, "[MASKED]");
        } else {
            assert_eq!(delivery.header(name), Some(shown), "header {name}");
        }
    }
    assert!(!plan.everything().contains(SECRET));
}

#[test]
fn a_full_sync_lists_every_relevant_file_as_added_in_one_commit() {
    let (repo, _) = repo_with_docs();
    let head = many_kinds_of_change(&repo);
    let receiver = Receiver::start(&repo.outside_dir("receiver"), SECRET);
    let env = gitlab_env(Pipeline::Manual { source: "web", branch: "main", sha: &head }, &receiver.url);

    let sync = run(&repo, "sync", &env);

    sync.expect(0);
    assert!(sync.stderr().contains("full sync"), "the log says it is a full sync:\n{}", sync.stderr());
    let (_, event) = receiver.only_delivery();
    assert_eq!(event.before, ZERO_SHA);
    assert_eq!(event.after, head);
    assert_project_and_user(&event);
    assert_eq!(event.total_commits_count, 1);
    let [only] = &event.commits[..] else { panic!("one synthetic commit expected: {:#?}", event.commits) };
    assert_eq!(only.id, head);
    assert_eq!(only.title, "Merge branch 'side'");
    let tree = repo.git(&["ls-tree", "-r", "-z", "--name-only", &head]);
    let mut expected: Vec<String> =
        tree.split('\0').filter(|p| !p.is_empty() && relevant(p)).map(str::to_owned).collect();
    expected.sort();
    assert!(expected.contains(&"docs/ünïcödé/café.md".to_owned()) && expected.len() > 5, "{expected:?}");
    assert_eq!(sorted(&only.added), expected);
    assert!(only.modified.is_empty() && only.removed.is_empty());
}

#[test]
fn a_new_branch_push_is_a_full_sync_too() {
    let (repo, _) = repo_with_docs();
    repo.write("docs/guide.md", "# Guide\n\nChanged.\n");
    let head = repo.commit("Edit the guide");
    let receiver = Receiver::start(&repo.outside_dir("receiver"), SECRET);

    run(&repo, "sync", &push_env(ZERO_SHA, &head, &receiver.url)).expect(0);

    let (_, event) = receiver.only_delivery();
    assert_eq!(event.before, ZERO_SHA);
    assert_eq!(event.commits.len(), 1);
    assert_eq!(
        sorted(&event.commits[0].added),
        ["README.md", "api/spec.yaml", "ci.yml", "docs/café.md", "docs/guide.md", "docs/legacy.md", "docs/old-name.md"]
    );
}

#[test]
fn docsync_paths_and_the_project_directory_choose_the_listed_files() {
    let (repo, before) = repo_with_docs();
    repo.write("docs/notes.txt", "plain notes, edited\n");
    repo.write("docs/guide.md", "# Guide\n\nEdited.\n");
    repo.write("notes.txt", "outside the project directory\n");
    let head = repo.commit("Edit notes and the guide");
    let receiver = Receiver::start(&repo.outside_dir("receiver"), SECRET);
    let env = with(
        push_env(&before, &head, &receiver.url),
        &[("DOCSYNC_PATHS", "*.txt"), ("DOCSYNC_PROJECT_DIRECTORY", "docs")],
    );

    run(&repo, "sync", &env).expect(0);

    let (_, event) = receiver.only_delivery();
    let [only] = &event.commits[..] else { panic!("{:#?}", event.commits) };
    assert_eq!(only.modified, ["docs/notes.txt"], "paths stay relative to the repository root");
    assert!(only.added.is_empty() && only.removed.is_empty());
}

#[test]
fn a_wrong_secret_fails_the_job_naming_the_variable() {
    let (repo, before) = repo_with_docs();
    repo.write("docs/guide.md", "# Guide\n\nChanged.\n");
    let head = repo.commit("Edit the guide");
    let receiver = Receiver::start(&repo.outside_dir("receiver"), "the-receivers-own-secret");

    let sync = run(&repo, "sync", &push_env(&before, &head, &receiver.url));

    sync.expect(1);
    assert!(receiver.deliveries().is_empty(), "the hook must not fire");
    let shown = sync.everything();
    assert!(shown.contains("401"), "{shown}");
    assert!(shown.contains("Hook rules were not satisfied"), "the receiver's answer is quoted: {shown}");
    assert!(shown.contains("DOCSYNC_DOT_WEBHOOK_SECRET"), "{shown}");
    assert_eq!(dot_target(&sync.json())["outcome"]["status"], "failed");
    assert!(sync.report().contains("DOCSYNC_FAILED=dot\n"), "{}", sync.report());
    assert!(!shown.contains(SECRET), "{shown}");
}

/// `CI_SERVER_URL` is sent as `X-Gitlab-Instance`; with a line break
/// inside (the ends are trimmed) HTTP cannot carry it. The event is not sent without the header: exit 2, naming the
/// variable, and the receiver gets nothing.
#[test]
fn a_server_url_http_cannot_carry_is_exit_2_not_a_dropped_header() {
    let (repo, before) = repo_with_docs();
    repo.write("docs/guide.md", "# Guide\n\nChanged.\n");
    let head = repo.commit("Edit the guide");
    let receiver = Receiver::start(&repo.outside_dir("receiver"), SECRET);
    let mut env = push_env(&before, &head, &receiver.url);
    env.insert("CI_SERVER_URL".to_owned(), format!("{SERVER_URL}\nhttps://gitlab.example.org"));

    let sync = run(&repo, "sync", &env);

    sync.expect(2);
    assert!(receiver.deliveries().is_empty(), "nothing is sent without the header; webhook log:\n{}", receiver.log());
    let shown = sync.everything();
    assert!(shown.contains("x-gitlab-instance"), "{shown}");
    assert!(shown.contains("set CI_SERVER_URL to the instance's URL alone"), "{shown}");
    assert_eq!(dot_target(&sync.json())["outcome"]["status"], "failed");
    assert!(!shown.contains(SECRET), "{shown}");
}

#[test]
fn merge_request_pipelines_and_exports_send_nothing() {
    let (repo, base) = repo_with_docs();
    repo.write("docs/guide.md", "# Guide\n\nChanged.\n");
    let head = repo.commit("Edit the guide");
    let receiver = Receiver::start(&repo.outside_dir("receiver"), SECRET);

    let mr = gitlab_env(
        Pipeline::MergeRequest { iid: 3, diff_base: &base, sha: &head, source_branch_sha: None },
        &receiver.url,
    );
    let sync = run(&repo, "sync", &mr);
    sync.expect(0);
    let dot = dot_target(&sync.json()).clone();
    assert_eq!(dot["action"], "skip");
    assert!(dot["reason"].as_str().unwrap().contains("merge request"), "{dot:#}");
    assert!(dot.get("request").is_none());

    let export = with(
        gitlab_env(Pipeline::Manual { source: "web", branch: "main", sha: &head }, &receiver.url),
        &[("DOCSYNC_DIRECTION", "export")],
    );
    let sync = run(&repo, "sync", &export);
    sync.expect(0);
    let dot = dot_target(&sync.json()).clone();
    assert_eq!(dot["action"], "skip");
    assert!(dot["reason"].as_str().unwrap().contains("export"), "{dot:#}");

    assert!(receiver.deliveries().is_empty(), "nothing is sent: {}", receiver.log());
}

// ---------------------------------------------------------------------------
// Faults, against wiremock

/// A receiver that answers `response` on `/hook` and names any other route.
async fn mock_receiver(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/hook")).respond_with(response).with_priority(1).mount(&server).await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(418)
                .set_body_string("unexpected route: docsync called something else than POST /hook"),
        )
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

/// A small push that changes one page, and fast retries.
fn fault_env(before: &str, head: &str, url: &str) -> Env {
    with(push_env(before, head, url), &[("DOCSYNC_RETRIES", "2"), ("DOCSYNC_RETRY_DELAY", "10ms")])
}

fn one_page_push() -> (TestRepo, String, String) {
    let (repo, before) = repo_with_docs();
    repo.write("docs/guide.md", "# Guide\n\nChanged.\n");
    let head = repo.commit("Edit the guide");
    (repo, before, head)
}

async fn received(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.expect("request recording is on")
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_are_retried_then_exit_3() {
    let (repo, before, head) = one_page_push();
    let server = mock_receiver(ResponseTemplate::new(503).set_body_string("receiver overloaded")).await;

    let sync = run(&repo, "sync", &fault_env(&before, &head, &format!("{}/hook", server.uri())));

    sync.expect(3);
    let requests = received(&server).await;
    assert_eq!(requests.len(), 3, "the first attempt and two retries");
    let keys: Vec<_> = requests.iter().map(|r| r.headers.get("idempotency-key").cloned()).collect();
    assert!(keys.iter().all(|k| k.is_some() && k == &keys[0]), "every attempt carries the same key: {keys:?}");
    let shown = sync.everything();
    assert!(shown.contains("503") && shown.contains("receiver overloaded"), "{shown}");
    assert_eq!(dot_target(&sync.json())["outcome"]["status"], "unreachable");
    assert!(sync.report().contains("DOCSYNC_STATUS=unreachable\n"), "{}", sync.report());
    assert!(sync.report().contains("DOCSYNC_FAILED=dot\n"), "{}", sync.report());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_internal_server_error_exits_3_without_blaming_the_event() {
    let (repo, before, head) = one_page_push();
    let server = mock_receiver(ResponseTemplate::new(500).set_body_string("stack trace here")).await;

    let sync = run(&repo, "sync", &fault_env(&before, &head, &format!("{}/hook", server.uri())));

    sync.expect(3);
    assert!(sync.everything().contains("500"), "{}", sync.everything());
}

#[tokio::test(flavor = "multi_thread")]
async fn timeouts_and_refused_connections_are_retried_then_exit_3() {
    let (repo, before, head) = one_page_push();
    let slow = mock_receiver(ResponseTemplate::new(200).set_delay(Duration::from_secs(2))).await;
    let env = with(
        fault_env(&before, &head, &format!("{}/hook", slow.uri())),
        &[("DOCSYNC_RETRIES", "1"), ("DOCSYNC_HTTP_TIMEOUT", "300ms")],
    );

    let sync = run(&repo, "sync", &env);

    sync.expect(3);
    assert_eq!(received(&slow).await.len(), 2);
    assert!(sync.everything().contains("timed out"), "{}", sync.everything());

    let closed = format!("http://127.0.0.1:{}/hook", free_port());
    let sync = run(&repo, "sync", &fault_env(&before, &head, &closed));
    sync.expect(3);
    assert!(sync.everything().contains("connection"), "{}", sync.everything());
}

#[tokio::test(flavor = "multi_thread")]
async fn client_errors_exit_1_quoting_status_and_body() {
    let (repo, before, head) = one_page_push();
    for status in [401, 403] {
        let server = mock_receiver(ResponseTemplate::new(status).set_body_string("invalid token")).await;
        let sync = run(&repo, "sync", &fault_env(&before, &head, &format!("{}/hook", server.uri())));
        sync.expect(1);
        assert_eq!(received(&server).await.len(), 1, "a {status} is never retried");
        let shown = sync.everything();
        assert!(shown.contains(&status.to_string()) && shown.contains("invalid token"), "{shown}");
        assert!(shown.contains("DOCSYNC_DOT_WEBHOOK_SECRET"), "{status} names the secret's variable: {shown}");
    }
    let server = mock_receiver(
        ResponseTemplate::new(422).set_body_json(serde_json::json!({"message": "ref refs/heads/main is not tracked"})),
    )
    .await;
    let sync = run(&repo, "sync", &fault_env(&before, &head, &format!("{}/hook", server.uri())));
    sync.expect(1);
    assert_eq!(received(&server).await.len(), 1);
    let shown = sync.everything();
    assert!(shown.contains("422") && shown.contains("ref refs/heads/main is not tracked"), "{shown}");
    assert!(!shown.contains("DOCSYNC_DOT_WEBHOOK_SECRET"), "a 422 is not about the secret: {shown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_idempotency_key_follows_project_range_and_target() {
    let (repo, first) = repo_with_docs();
    repo.write("docs/guide.md", "# Guide\n\nChanged once.\n");
    let middle = repo.commit("Edit the guide");
    repo.write("docs/guide.md", "# Guide\n\nChanged twice.\n");
    let head = repo.commit("Edit the guide again");
    let server = mock_receiver(ResponseTemplate::new(200).set_body_string("ok")).await;
    let url = format!("{}/hook", server.uri());
    let headers_of = |request: &wiremock::Request| {
        ["idempotency-key", "x-gitlab-event-uuid", "x-gitlab-webhook-uuid"]
            .map(|name| request.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned())
    };

    // The same range twice (a retried job), then another range.
    run(&repo, "sync", &push_env(&first, &head, &url)).expect(0);
    run(&repo, "sync", &push_env(&first, &head, &url)).expect(0);
    run(&repo, "sync", &push_env(&middle, &head, &url)).expect(0);
    // The same range to another target (named in docsync.toml).
    let config = repo.outside_dir("config").join("docsync.toml");
    std::fs::write(
        &config,
        format!(
            "[[target]]\nname = \"api-context\"\nkind = \"dot\"\ndot_webhook_url = \"{url}\"\ndot_webhook_secret_env = \"API_CONTEXT_SECRET\"\n"
        ),
    )
    .unwrap();
    let mut other_target = push_env(&first, &head, &url);
    other_target.remove("DOCSYNC_DOT_WEBHOOK_URL");
    other_target.insert("DOCSYNC_CONFIG".into(), config.display().to_string());
    other_target.insert("API_CONTEXT_SECRET".into(), SECRET.into());
    run(&repo, "sync", &other_target).expect(0);

    let requests = received(&server).await;
    assert_eq!(requests.len(), 4);
    let [retried, original, other_range, other_hook] = [1, 0, 2, 3].map(|i| headers_of(&requests[i]));
    assert!(!original[0].is_empty());
    assert_eq!(retried, original, "a retried job sends the same key and UUIDs");
    assert_ne!(other_range[0], original[0], "another range, another key");
    assert_ne!(other_range[1], original[1], "another range, another event");
    assert_eq!(other_range[2], original[2], "the same webhook");
    assert_ne!(other_hook[0], original[0], "another target, another key");
    assert_eq!(other_hook[1], original[1], "the same push is the same event for every hook");
    assert_ne!(other_hook[2], original[2], "another webhook");
    for request in &requests {
        assert_eq!(request.headers.get("x-gitlab-token").and_then(|v| v.to_str().ok()), Some(SECRET));
    }
}

/// GitLab's predefined variables
/// (https://docs.gitlab.com/ci/variables/predefined_variables/):
/// `CI_PIPELINE_ID` is "the instance-level ID of the current pipeline";
/// `CI_JOB_ID` is "the internal ID of the job, unique across all jobs in
/// the GitLab instance". Retrying a job (https://docs.gitlab.com/ci/jobs/)
/// runs a new job, with a new `CI_JOB_ID`, in the same pipeline; running a
/// pipeline again for the same commit is a new pipeline.
fn manual_pipeline_env(head: &str, url: &str, pipeline_id: &str, job_id: &str) -> Env {
    with(
        gitlab_env(Pipeline::Manual { source: "web", branch: "main", sha: head }, url),
        &[("CI_PIPELINE_ID", pipeline_id), ("CI_JOB_ID", job_id)],
    )
}

#[test]
fn each_manual_pipeline_is_a_new_delivery_and_a_retried_job_is_not() {
    let (repo, head) = repo_with_docs();
    let receiver = Receiver::start(&repo.outside_dir("receiver"), SECRET);
    let ids = |delivery: &Delivery| {
        ["Idempotency-Key", "X-Gitlab-Event-UUID", "X-Gitlab-Webhook-UUID"]
            .map(|name| delivery.header(name).unwrap_or_default().to_owned())
    };

    // A manual pipeline, its job retried, then a second manual pipeline at
    // the same head (someone re-syncing by hand).
    run(&repo, "sync", &manual_pipeline_env(&head, &receiver.url, "7001", "90001")).expect(0);
    run(&repo, "sync", &manual_pipeline_env(&head, &receiver.url, "7001", "90002")).expect(0);
    run(&repo, "sync", &manual_pipeline_env(&head, &receiver.url, "7002", "90003")).expect(0);

    let deliveries = receiver.deliveries();
    assert_eq!(deliveries.len(), 3, "one delivery per run; webhook log:\n{}", receiver.log());
    let [first, retried, second] = [0, 1, 2].map(|i| ids(&deliveries[i]));
    assert!(!first[0].is_empty() && !first[1].is_empty(), "{:?}", deliveries[0].headers);
    assert_eq!(retried, first, "a retried job resends the same delivery: the receiver may drop it");
    assert_ne!(second[0], first[0], "a new pipeline is a new delivery: a deduplicating receiver must not drop it");
    assert_ne!(second[1], first[1], "a new pipeline is a new event");
    assert_eq!(second[2], first[2], "the same webhook");
    // `plan` in the second pipeline shows the key its sync sent.
    let plan = run(&repo, "plan", &manual_pipeline_env(&head, &receiver.url, "7002", "90004"));
    plan.expect(0);
    let plan_json = plan.json();
    assert_eq!(dot_target(&plan_json)["request"]["headers"]["Idempotency-Key"], second[0].as_str());
}
