//! Monorepos: one job, many targets. A repository holds several
//! documentation directories (`handbook/`, `api/`, `guides/en/`,
//! `guides/fr/`) next to code (`src/`), and a `docsync.toml` gives each its
//! GitBook space, plus push-webhook (Dot) receivers for two of them.
//!
//! The real binary runs in push pipelines whose range changes only some
//! directories. `wiremock` plays GitBook (one responder for every space, so
//! each space can be told to succeed, refuse, fail or be down) and the
//! webhook receivers; a small threaded HTTP server that answers slowly
//! counts the requests in flight. Every mock server has a catch-all at the
//! lowest priority that answers `599` and names the route, so a request
//! docsync should not send shows up in its output and in the assertions.

use crate::common;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use common::{
    ACCEPTED_DATE, Job, NEW_STARTED, OLD_STARTED, Pipeline, Run, TestRepo, ci_env, gitbook_accepted, gitbook_state,
    mock_server, old_success, read_dotenv, run_in_background, unexpected_request,
};

const GITBOOK_TOKEN: &str = "gbtok-monorepo-0001";
const GIT_TOKEN: &str = "gittok-monorepo-0002";
const DOT_API_SECRET: &str = "dotsecret-api-0003";
const DOT_HANDBOOK_SECRET: &str = "dotsecret-handbook-0004";

/// The GitBook targets of the monorepo: name, space, directory.
const SPACES: [(&str, &str, &str); 4] = [
    ("handbook", "spcHandbook", "handbook"),
    ("api", "spcApi", "api"),
    ("guides-en", "spcGuidesEn", "guides/en"),
    ("guides-fr", "spcGuidesFr", "guides/fr"),
];
/// Every target, in the file's order.
const TARGETS: [&str; 6] = ["handbook", "api", "guides-en", "guides-fr", "api-context", "handbook-context"];

// ---------------------------------------------------------------------------
// The repository and the job's variables

/// The monorepo's `docsync.toml`: four GitBook targets and two Dot targets,
/// secrets named, never written.
fn config(gitbook_api: &str, hooks: &str) -> String {
    format!(
        r#"# One job for every documentation directory of the monorepo.
[defaults]
gitbook_token_env = "GITBOOK_TOKEN"
git_token_env = "DOCS_GIT_TOKEN"
gitbook_api_url = "{gitbook_api}"

[[target]]
name = "handbook"
kind = "gitbook"
gitbook_space = "spcHandbook"
project_directory = "handbook"

[[target]]
name = "api"
kind = "gitbook"
gitbook_space = "spcApi"
project_directory = "api"

[[target]]
name = "guides-en"
kind = "gitbook"
gitbook_space = "spcGuidesEn"
project_directory = "guides/en"

[[target]]
name = "guides-fr"
kind = "gitbook"
gitbook_space = "spcGuidesFr"
project_directory = "guides/fr"

[[target]]
name = "api-context"
kind = "dot"
dot_webhook_url = "{hooks}/hooks/api"
dot_webhook_secret_env = "DOT_API_SECRET"
project_directory = "api"
paths = ["**/*.md", "**/*.yaml"]

[[target]]
name = "handbook-context"
kind = "dot"
dot_webhook_url = "{hooks}/hooks/handbook"
dot_webhook_secret_env = "DOT_HANDBOOK_SECRET"
project_directory = "handbook"
"#
    )
}

/// What a push changes, as paths to rewrite in the second commit.
const HANDBOOK_API_AND_CODE: &[&str] =
    &["handbook/onboarding.md", "api/openapi.yaml", "api/images/flow.png", "src/lib.rs"];
/// `guides/en-archive/` shares a prefix with `guides/en`, not the directory.
const GUIDES_EN_ONLY: &[&str] = &["guides/en/intro.md", "guides/en-archive/old.md"];
const EVERY_DIRECTORY: &[&str] =
    &["handbook/onboarding.md", "api/openapi.yaml", "guides/en/intro.md", "guides/fr/intro.md", "src/lib.rs"];

/// The monorepo with `docsync.toml` committed, then a push to `main` that
/// rewrites `changed`.
fn monorepo_push(config_text: &str, changed: &[&str]) -> Job {
    let repo = TestRepo::new();
    repo.write("README.md", "# Monorepo\n");
    repo.write("docsync.toml", config_text);
    repo.write("src/lib.rs", "pub fn answer() -> u32 { 42 }\n");
    for file in [
        "handbook/README.md",
        "handbook/onboarding.md",
        "api/README.md",
        "api/openapi.yaml",
        "api/images/flow.png",
        "guides/en/README.md",
        "guides/en/intro.md",
        "guides/en-archive/old.md",
        "guides/fr/README.md",
        "guides/fr/intro.md",
    ] {
        repo.write(file, &format!("# {file}\n"));
    }
    let base = repo.commit("Initial monorepo");
    for file in changed {
        repo.write(file, &format!("# {file}\n\nRevised.\n"));
    }
    let head = repo.commit("Revise some documentation");
    let mut env = ci_env(Pipeline::Push { branch: "main", before: &base, sha: &head });
    for (key, value) in [
        ("GITBOOK_TOKEN", GITBOOK_TOKEN),
        ("DOCS_GIT_TOKEN", GIT_TOKEN),
        ("DOT_API_SECRET", DOT_API_SECRET),
        ("DOT_HANDBOOK_SECRET", DOT_HANDBOOK_SECRET),
        ("DOCSYNC_WAIT_TIMEOUT", "20s"),
    ] {
        env.insert(key.to_owned(), value.to_owned());
    }
    Job::new(repo, env, base, head)
}

/// Runs the binary off the async runtime, so the mock servers keep serving.
/// It may take 90 s, not the 60 s of the single-target suites: one job here
/// runs every target of the monorepo.
async fn run_docsync(job: &Job, args: &[&str]) -> Run {
    let mut command = job.repo.docsync(args);
    command.envs(&job.env);
    run_in_background(command, Duration::from_secs(90)).await
}

/// The run's status and every target's action and outcome, as the JSON
/// result gives them and as the reports do.
fn assert_outcomes(result: &Value, job: &Job, status: &str, expected: &[(&str, &str, &str)]) {
    assert_eq!(result["status"], status, "{result:#}");
    assert_eq!(outcomes(result), owned(expected), "{result:#}");
    assert_report(job, status, expected);
}

/// The dotenv report sums the run up; the JSON report beside it lists every
/// target with its action and outcome.
fn assert_report(job: &Job, status: &str, expected: &[(&str, &str, &str)]) {
    let report = read_dotenv(&job.report);
    let shown = format!("{report:#?}");
    assert_eq!(report.get("DOCSYNC_STATUS").map(String::as_str), Some(status), "{shown}");
    assert_eq!(report.get("DOCSYNC_RANGE_BASE"), Some(&job.base), "{shown}");
    assert_eq!(report.get("DOCSYNC_RANGE_HEAD"), Some(&job.head), "{shown}");
    assert_eq!(report.get("DOCSYNC_TARGETS").map(String::as_str), Some(TARGETS.join(",").as_str()), "{shown}");
    let path = job.report.with_file_name("docsync.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let detail: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("the JSON report is not JSON: {e}"));
    assert_eq!(outcomes(&detail), owned(expected), "{detail:#}");
}

/// `targets[]` of the JSON result, by name.
fn targets_by_name(result: &Value) -> BTreeMap<String, Value> {
    result["targets"]
        .as_array()
        .unwrap_or_else(|| panic!("targets is a list: {result:#}"))
        .iter()
        .map(|t| (t["name"].as_str().unwrap_or_default().to_owned(), t.clone()))
        .collect()
}

/// Every target of the result with its action and outcome, as
/// `(name, action, outcome status)`, in the result's order.
fn outcomes(result: &Value) -> Vec<(String, String, String)> {
    result["targets"]
        .as_array()
        .unwrap_or_else(|| panic!("targets is a list: {result:#}"))
        .iter()
        .map(|t| {
            let text = |v: &Value| v.as_str().unwrap_or("(none)").to_owned();
            (text(&t["name"]), text(&t["action"]), text(&t["outcome"]["status"]))
        })
        .collect()
}

fn owned(expected: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    expected.iter().map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned())).collect()
}

// ---------------------------------------------------------------------------
// GitBook: one responder for every space

/// How one space behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Space {
    /// Queues the import (204); the operation then ends in success.
    Syncs,
    /// Refuses the import with this status and GitBook's error body.
    Refuses(u16),
    /// Queues the import; the operation then ends in failure.
    OperationFails,
    /// Answers 503 to everything.
    Down,
}

/// GitBook for every space under `/v1/spaces/<id>/git/…`: `git/info` shows
/// an older finished operation until the space's import arrives, then ours.
/// Every request is logged with its time and answer.
struct FakeGitBook {
    spaces: HashMap<String, Space>,
    imported: Mutex<HashSet<String>>,
    log: Mutex<Vec<Call>>,
}

#[derive(Debug, Clone)]
struct Call {
    at: Instant,
    method: String,
    space: String,
    operation: String,
    status: u16,
}

impl FakeGitBook {
    fn new(spaces: &[(&str, Space)]) -> Arc<FakeGitBook> {
        Arc::new(FakeGitBook {
            spaces: spaces.iter().map(|(id, space)| ((*id).to_owned(), *space)).collect(),
            imported: Mutex::new(HashSet::new()),
            log: Mutex::new(Vec::new()),
        })
    }

    fn calls(&self) -> Vec<Call> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The spaces that received a `POST git/import`.
    fn imported_spaces(&self) -> BTreeSet<String> {
        self.calls().into_iter().filter(|c| c.method == "POST" && c.operation == "import").map(|c| c.space).collect()
    }

    /// The answer to `request`, and its status code (for the log).
    fn answer(&self, request: &Request) -> (u16, ResponseTemplate) {
        let segments: Vec<&str> = request.url.path().trim_start_matches('/').split('/').collect();
        let (space, operation) = match segments.as_slice() {
            ["v1", "spaces", space, "git", operation] => ((*space).to_owned(), (*operation).to_owned()),
            ["v1", "spaces", space, "content"] => ((*space).to_owned(), "content".to_owned()),
            ["v1", "spaces", space, "change-requests"] => ((*space).to_owned(), "change-requests".to_owned()),
            _ => return (599, unexpected_request(request)),
        };
        let Some(behaviour) = self.spaces.get(&space).copied() else {
            return (404, gitbook_error(404, &format!("space {space} does not exist")));
        };
        let imported = self.imported.lock().unwrap_or_else(|p| p.into_inner()).contains(&space);
        match (request.method.as_str(), operation.as_str(), behaviour) {
            (_, _, Space::Down) => (503, gitbook_error(503, "Service Unavailable")),
            ("POST", "import", Space::Refuses(code)) => (
                code,
                gitbook_error(code, &format!("repoProjectDirectory is not a directory of the repository ({space})")),
            ),
            ("POST", "import", _) => {
                self.imported.lock().unwrap_or_else(|p| p.into_inner()).insert(space);
                (204, gitbook_accepted())
            }
            // A new, empty space (no page, no commit): the guard before an
            // import lets it go ahead (docs/gitbook.md, "Edits made in GitBook").
            ("GET", "content", _) => (200, ResponseTemplate::new(200).set_body_json(json!({
                "object": "revision", "id": format!("rev-{space}"), "type": "edits", "parents": [],
                "pages": [], "files": [], "reusableContents": [], "tags": [],
                "createdAt": "2026-11-22T14:00:00Z", "urls": { "app": format!("https://app.gitbook.com/s/{space}") },
            }))),
            // `docsync status` lists the open change requests: none.
            ("GET", "change-requests", _) => (200, ResponseTemplate::new(200).set_body_json(json!({ "items": [] }))),
            ("GET", "info", _) if !imported => (200, ResponseTemplate::new(200).set_body_json(old_success())),
            ("GET", "info", Space::OperationFails) => (200, ResponseTemplate::new(200).set_body_json(gitbook_state(Some(json!({
                "state": "failure", "direction": "import", "stage": "cloning", "startedAt": NEW_STARTED,
                "error": format!("Could not clone the repository for {space}"),
                "errorAction": { "label": "Check the Git Sync settings", "url": format!("https://app.gitbook.com/s/{space}/settings") },
            }))))),
            ("GET", "info", _) => (200, ResponseTemplate::new(200).set_body_json(gitbook_state(Some(json!({
                "state": "success", "direction": "import", "stage": "done", "startedAt": NEW_STARTED,
            }))))),
            _ => (599, unexpected_request(request)),
        }
    }
}

struct FakeGitBookResponder(Arc<FakeGitBook>);

impl Respond for FakeGitBookResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let (status, answer) = self.0.answer(request);
        let segments: Vec<&str> = request.url.path().split('/').collect();
        let call = Call {
            at: Instant::now(),
            method: request.method.to_string(),
            space: segments.get(3).copied().unwrap_or_default().to_owned(),
            operation: segments.get(5).copied().unwrap_or_default().to_owned(),
            status,
        };
        self.0.log.lock().unwrap_or_else(|p| p.into_inner()).push(call);
        answer
    }
}

fn gitbook_error(code: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(code).set_body_json(json!({ "error": { "code": code, "message": message } }))
}

async fn gitbook(fake: &Arc<FakeGitBook>) -> MockServer {
    let server = mock_server().await;
    Mock::given(wiremock::matchers::path_regex(r"^/v1/spaces/[^/]+/(git/[a-z]+|content|change-requests)$"))
        .respond_with(FakeGitBookResponder(Arc::clone(fake)))
        .named("GitBook")
        .mount(&server)
        .await;
    server
}

/// The two webhook receivers, each accepting only its own secret (another
/// secret gets 401, as a GitLab webhook receiver answers).
async fn receivers() -> MockServer {
    let server = mock_server().await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::path_regex(r"^/hooks/[a-z]+$"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({ "message": "invalid X-Gitlab-Token" })))
        .with_priority(10)
        .named("receiver: wrong secret")
        .mount(&server)
        .await;
    for (route, secret) in [("/hooks/api", DOT_API_SECRET), ("/hooks/handbook", DOT_HANDBOOK_SECRET)] {
        Mock::given(method("POST"))
            .and(path(route))
            .and(header("x-gitlab-token", secret))
            .and(header("x-gitlab-event", "Push Hook"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "status": "accepted" })))
            .named(route)
            .mount(&server)
            .await;
    }
    server
}

/// Receivers that got a push event, by route.
async fn delivered(server: &MockServer) -> BTreeMap<String, Vec<Value>> {
    let mut by_route: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for request in server.received_requests().await.expect("request recording is on") {
        let body: Value = request.body_json().unwrap_or(Value::Null);
        by_route.entry(format!("{} {}", request.method, request.url.path())).or_default().push(body);
    }
    by_route
}

/// Every file a push event lists, over all its commits.
fn listed_files(event: &Value) -> BTreeSet<String> {
    let mut files = BTreeSet::new();
    for commit in event["commits"].as_array().into_iter().flatten() {
        for list in ["added", "modified", "removed"] {
            for file in commit[list].as_array().into_iter().flatten() {
                files.insert(file.as_str().unwrap_or_default().to_owned());
            }
        }
    }
    files
}

/// GitBook and the receivers with `spaces` behaving as told (every other
/// space syncs), and the monorepo pushing `changed`.
async fn setup(spaces: &[(&str, Space)], changed: &[&str]) -> (Arc<FakeGitBook>, MockServer, MockServer, Job) {
    let mut all: Vec<(&str, Space)> = SPACES.iter().map(|(_, id, _)| (*id, Space::Syncs)).collect();
    for (id, behaviour) in spaces {
        if let Some(entry) = all.iter_mut().find(|(known, _)| known == id) {
            entry.1 = *behaviour;
        }
    }
    let fake = FakeGitBook::new(&all);
    let gitbook_server = gitbook(&fake).await;
    let hooks = receivers().await;
    let job = monorepo_push(&config(&format!("{}/v1", gitbook_server.uri()), &hooks.uri()), changed);
    (fake, gitbook_server, hooks, job)
}

fn set_of(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

// ---------------------------------------------------------------------------
// Only the targets whose files changed are called

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_targets_whose_files_changed_are_called() {
    let (fake, _gitbook, hooks, job) = setup(&[], HANDBOOK_API_AND_CODE).await;

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(0);
    assert_eq!(fake.imported_spaces(), set_of(&["spcApi", "spcHandbook"]), "{}", run.context());
    for call in fake.calls() {
        assert!(
            ["spcApi", "spcHandbook"].contains(&call.space.as_str()),
            "unexpected call {call:?}\n{}",
            run.context()
        );
    }

    let result = run.json();
    assert_outcomes(
        &result,
        &job,
        "synced",
        &[
            ("handbook", "import", "synced"),
            ("api", "import", "synced"),
            ("guides-en", "skip", "skipped"),
            ("guides-fr", "skip", "skipped"),
            ("api-context", "push_event", "synced"),
            ("handbook-context", "push_event", "synced"),
        ],
    );
    let targets = targets_by_name(&result);
    assert_eq!(targets["guides-en"]["reason"], "no file under guides/en/ changed", "{result:#}");
    assert_eq!(targets["guides-fr"]["reason"], "no file under guides/fr/ changed", "{result:#}");
    assert_eq!(targets["handbook"]["changed"], 1, "{result:#}");
    // The picture counts for GitBook (everything under api/), not for Dot.
    assert_eq!(targets["api"]["changed"], 2, "{result:#}");
    assert_eq!(targets["api-context"]["changed"], 1, "{result:#}");

    let events = delivered(&hooks).await;
    assert_eq!(events.keys().cloned().collect::<Vec<_>>(), ["POST /hooks/api", "POST /hooks/handbook"], "{events:#?}");
    assert_eq!(events["POST /hooks/api"].len(), 1, "{events:#?}");
    assert_eq!(listed_files(&events["POST /hooks/api"][0]), set_of(&["api/openapi.yaml"]), "{events:#?}");
    assert_eq!(listed_files(&events["POST /hooks/handbook"][0]), set_of(&["handbook/onboarding.md"]), "{events:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_under_guides_en_syncs_only_that_space() {
    let (fake, _gitbook, hooks, job) = setup(&[], GUIDES_EN_ONLY).await;

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(0);
    assert_eq!(fake.imported_spaces(), set_of(&["spcGuidesEn"]), "{}", run.context());
    assert!(fake.calls().iter().all(|c| c.space == "spcGuidesEn"), "{:#?}", fake.calls());
    let events = delivered(&hooks).await;
    assert!(events.is_empty(), "no receiver is concerned, yet: {events:#?}");

    let result = run.json();
    assert_eq!(
        outcomes(&result),
        owned(&[
            ("handbook", "skip", "skipped"),
            ("api", "skip", "skipped"),
            ("guides-en", "import", "synced"),
            ("guides-fr", "skip", "skipped"),
            ("api-context", "skip", "skipped"),
            ("handbook-context", "skip", "skipped"),
        ]),
        "{result:#}"
    );
    let targets = targets_by_name(&result);
    // guides/en-archive/old.md shares the prefix, not the directory.
    assert_eq!(targets["guides-en"]["changed"], 1, "{result:#}");
    assert_eq!(
        targets["guides-en"]["request"]["body"]["repoProjectDirectory"], "guides/en",
        "the import names its own directory: {result:#}"
    );
    assert_eq!(
        targets["handbook-context"]["reason"],
        "no file under handbook/ matching *.md, *.markdown, *.yaml, *.yml changed",
        "{result:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_that_changes_only_code_calls_nothing() {
    let (fake, _gitbook, hooks, job) = setup(&[], &["src/lib.rs"]).await;

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(0);
    assert!(fake.calls().is_empty(), "{:#?}", fake.calls());
    assert!(delivered(&hooks).await.is_empty());
    let result = run.json();
    assert_eq!(result["status"], "nothing_to_do", "{result:#}");
    assert!(
        outcomes(&result).iter().all(|(_, action, outcome)| action == "skip" && outcome == "skipped"),
        "{result:#}"
    );
}

// ---------------------------------------------------------------------------
// One target's failure does not stop the others

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_import_and_a_failed_operation_do_not_stop_the_others() {
    let (fake, _gitbook, hooks, job) =
        setup(&[("spcHandbook", Space::Refuses(400)), ("spcGuidesFr", Space::OperationFails)], EVERY_DIRECTORY).await;

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(1);
    assert_eq!(
        fake.imported_spaces(),
        set_of(&["spcApi", "spcGuidesEn", "spcGuidesFr", "spcHandbook"]),
        "every changed space was asked: {}",
        run.context()
    );
    let result = run.json();
    assert_outcomes(
        &result,
        &job,
        "failed",
        &[
            ("handbook", "import", "failed"),
            ("api", "import", "synced"),
            ("guides-en", "import", "synced"),
            ("guides-fr", "import", "failed"),
            ("api-context", "push_event", "synced"),
            ("handbook-context", "push_event", "synced"),
        ],
    );
    let targets = targets_by_name(&result);
    let handbook = &targets["handbook"]["outcome"];
    assert!(
        handbook["message"].as_str().unwrap_or_default().contains("repoProjectDirectory is not a directory"),
        "GitBook's own words: {result:#}"
    );
    assert!(handbook["fix"].is_string(), "{result:#}");
    let guides_fr = &targets["guides-fr"]["outcome"];
    assert!(
        guides_fr["message"].as_str().unwrap_or_default().contains("Could not clone the repository for spcGuidesFr"),
        "{result:#}"
    );
    assert_eq!(guides_fr["error_action"]["url"], "https://app.gitbook.com/s/spcGuidesFr/settings", "{result:#}");
    assert_eq!(delivered(&hooks).await.len(), 2, "both receivers got their event");
    for name in ["handbook", "guides-fr"] {
        assert!(run.stderr.contains(&format!("{name}: failed")), "stderr names {name}'s failure\n{}", run.context());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_space_exits_3_while_the_others_sync() {
    let (fake, _gitbook, hooks, mut job) = setup(&[("spcApi", Space::Down)], EVERY_DIRECTORY).await;
    job.set("DOCSYNC_RETRIES", "2");

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(3);
    let calls = fake.calls();
    let api_calls: Vec<&Call> = calls.iter().filter(|c| c.space == "spcApi").collect();
    assert_eq!(api_calls.len(), 3, "one attempt and two retries: {api_calls:#?}");
    assert!(api_calls.iter().all(|c| c.status == 503), "{api_calls:#?}");
    assert_eq!(fake.imported_spaces(), set_of(&["spcGuidesEn", "spcGuidesFr", "spcHandbook"]), "{}", run.context());

    let result = run.json();
    assert_outcomes(
        &result,
        &job,
        "unreachable",
        &[
            ("handbook", "import", "synced"),
            ("api", "import", "unreachable"),
            ("guides-en", "import", "synced"),
            ("guides-fr", "import", "synced"),
            ("api-context", "push_event", "synced"),
            ("handbook-context", "push_event", "synced"),
        ],
    );
    assert_eq!(delivered(&hooks).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_outranks_failed_in_the_exit_code() {
    let (_fake, _gitbook, _hooks, job) =
        setup(&[("spcApi", Space::Down), ("spcHandbook", Space::Refuses(400))], EVERY_DIRECTORY).await;

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(3);
    let result = run.json();
    let outcomes = outcomes(&result);
    assert_eq!(outcomes[0], owned(&[("handbook", "import", "failed")])[0], "{result:#}");
    assert_eq!(outcomes[1], owned(&[("api", "import", "unreachable")])[0], "{result:#}");
    assert_eq!(read_dotenv(&job.report).get("DOCSYNC_STATUS").map(String::as_str), Some("unreachable"));
}

/// A receiver that refuses its event is one failed target, like a space.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_refusing_the_secret_does_not_stop_the_spaces() {
    let fake = FakeGitBook::new(&SPACES.iter().map(|(_, id, _)| (*id, Space::Syncs)).collect::<Vec<_>>());
    let gitbook_server = gitbook(&fake).await;
    let hooks = receivers().await;
    let mut job = monorepo_push(&config(&format!("{}/v1", gitbook_server.uri()), &hooks.uri()), HANDBOOK_API_AND_CODE);
    job.set("DOT_API_SECRET", "not-the-secret-the-receiver-knows");

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(1);
    let result = run.json();
    assert_eq!(
        outcomes(&result),
        owned(&[
            ("handbook", "import", "synced"),
            ("api", "import", "synced"),
            ("guides-en", "skip", "skipped"),
            ("guides-fr", "skip", "skipped"),
            ("api-context", "push_event", "failed"),
            ("handbook-context", "push_event", "synced"),
        ]),
        "{result:#}"
    );
    assert_eq!(fake.imported_spaces(), set_of(&["spcApi", "spcHandbook"]));
    let targets = targets_by_name(&result);
    assert!(
        targets["api-context"]["outcome"]["fix"].as_str().unwrap_or_default().contains("DOT_API_SECRET"),
        "the fix names the variable the file points at: {result:#}"
    );
    assert!(!run.stdout.contains("not-the-secret") && !run.stderr.contains("not-the-secret"), "{}", run.context());
}

// ---------------------------------------------------------------------------
// Rate limits are shared by the targets on one host

/// GitBook answers the first import of spcHandbook with 429 and
/// `Retry-After: 1`. With one request in flight at a time, nothing else may
/// reach the host before that second has passed: the 429 slows every target
/// on the host, not only the one that got it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_for_one_space_holds_back_the_other_spaces_on_the_host() {
    let fake = FakeGitBook::new(&SPACES.iter().map(|(_, id, _)| (*id, Space::Syncs)).collect::<Vec<_>>());
    let server = mock_server().await;
    let limited_at: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    {
        let limited_at = Arc::clone(&limited_at);
        Mock::given(method("POST"))
            .and(path("/v1/spaces/spcHandbook/git/import"))
            .respond_with(move |_: &Request| {
                *limited_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
                ResponseTemplate::new(429)
                    .insert_header("retry-after", "1")
                    .set_body_json(json!({ "error": { "code": 429, "message": "Too many requests" } }))
            })
            .up_to_n_times(1)
            .with_priority(1)
            .named("first handbook import: rate limited")
            .mount(&server)
            .await;
    }
    Mock::given(wiremock::matchers::path_regex(r"^/v1/spaces/[^/]+/(git/[a-z]+|content|change-requests)$"))
        .respond_with(FakeGitBookResponder(Arc::clone(&fake)))
        .with_priority(5)
        .mount(&server)
        .await;
    let hooks = receivers().await;
    let mut job = monorepo_push(&config(&format!("{}/v1", server.uri()), &hooks.uri()), EVERY_DIRECTORY);
    job.set("DOCSYNC_WAIT", "false");
    job.set("DOCSYNC_CONCURRENCY", "1");
    job.set("DOCSYNC_RETRIES", "2");

    // The GitBook targets only: the receivers' mock is on 127.0.0.1 too.
    let run = run_docsync(
        &job,
        &[
            "sync",
            "--format",
            "json",
            "--target",
            "handbook",
            "--target",
            "api",
            "--target",
            "guides-en",
            "--target",
            "guides-fr",
        ],
    )
    .await;
    run.assert_code(0);
    let limited_at =
        limited_at.lock().unwrap_or_else(|p| p.into_inner()).expect("the handbook import was rate limited");
    let too_early: Vec<(Duration, String)> = fake
        .calls()
        .into_iter()
        .filter(|c| c.at > limited_at && c.at - limited_at < Duration::from_millis(900))
        .map(|c| (c.at - limited_at, format!("{} {} {}", c.method, c.space, c.operation)))
        .collect();
    assert!(
        too_early.is_empty(),
        "requests reached the rate-limited host within Retry-After (1 s) of the 429: {too_early:?}\n{}",
        run.context()
    );
    assert_eq!(fake.imported_spaces(), set_of(&["spcApi", "spcGuidesEn", "spcGuidesFr", "spcHandbook"]));
}

// ---------------------------------------------------------------------------
// The concurrency limit

/// A threaded HTTP/1.1 server on 127.0.0.1 that answers every request after
/// `delay` and counts the requests in flight: from the moment a request is
/// read in full until its answer is about to be written (so the count never
/// includes a request the client already considers answered).
struct SlowServer {
    port: u16,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl SlowServer {
    fn start(delay: Duration) -> SlowServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("the listener's address").port();
        let server = SlowServer {
            port,
            in_flight: Arc::new(AtomicUsize::new(0)),
            max_in_flight: Arc::new(AtomicUsize::new(0)),
            requests: Arc::new(Mutex::new(Vec::new())),
        };
        let (in_flight, max, requests) =
            (Arc::clone(&server.in_flight), Arc::clone(&server.max_in_flight), Arc::clone(&server.requests));
        let imported: Arc<Mutex<HashSet<String>>> = Arc::new(Mutex::new(HashSet::new()));
        // The listener lives as long as the test process; every connection
        // gets its own thread, so the server itself never limits concurrency.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (in_flight, max, requests, imported) =
                    (Arc::clone(&in_flight), Arc::clone(&max), Arc::clone(&requests), Arc::clone(&imported));
                std::thread::spawn(move || {
                    let _ = serve(stream, delay, &in_flight, &max, &requests, &imported);
                });
            }
        });
        server
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

fn serve(
    stream: TcpStream,
    delay: Duration,
    in_flight: &AtomicUsize,
    max: &AtomicUsize,
    requests: &Mutex<Vec<String>>,
    imported: &Mutex<HashSet<String>>,
) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut content_length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            if line == "\r\n" || line == "\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.trim().eq_ignore_ascii_case("content-length") {
                    content_length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body)?;

        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        max.fetch_max(now, Ordering::SeqCst);
        let mut parts = request_line.split_whitespace();
        let (verb, target) = (parts.next().unwrap_or_default().to_owned(), parts.next().unwrap_or_default().to_owned());
        requests.lock().unwrap_or_else(|p| p.into_inner()).push(format!("{verb} {target}"));
        std::thread::sleep(delay);

        let route = target.split('?').next().unwrap_or_default();
        let segments: Vec<&str> = route.trim_start_matches('/').split('/').collect();
        let (status, body) = match (verb.as_str(), segments.as_slice()) {
            ("POST", ["v1", "spaces", space, "git", "import"]) => {
                imported.lock().unwrap_or_else(|p| p.into_inner()).insert((*space).to_owned());
                ("204 No Content", String::new())
            }
            ("GET", ["v1", "spaces", space, "git", "info"]) => {
                let ours = imported.lock().unwrap_or_else(|p| p.into_inner()).contains(*space);
                let state = if ours {
                    gitbook_state(Some(json!({ "state": "success", "direction": "import", "startedAt": NEW_STARTED })))
                } else {
                    old_success()
                };
                ("200 OK", state.to_string())
            }
            // A new, empty space: the guard lets the import go ahead.
            ("GET", ["v1", "spaces", space, "content"]) => (
                "200 OK",
                json!({ "id": format!("rev-{space}"), "parents": [], "pages": [], "urls": { "app": "https://app.gitbook.com/s/x" } })
                    .to_string(),
            ),
            ("POST", ["hooks", _]) => ("200 OK", "{}".to_owned()),
            _ => ("599 Unexpected", format!("unexpected request: {verb} {target}")),
        };
        in_flight.fetch_sub(1, Ordering::SeqCst);
        write!(
            writer,
            "HTTP/1.1 {status}\r\ndate: {ACCEPTED_DATE}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )?;
        writer.flush()?;
    }
}

/// A repository with `count` documentation directories, every one changed in
/// the push; 17 of every 20 targets are GitBook spaces, the rest receivers.
fn many_targets_push(count: usize, server: &str) -> (Job, Vec<String>) {
    let mut config =
        String::from("[defaults]\ngitbook_token_env = \"GITBOOK_TOKEN\"\ngit_token_env = \"DOCS_GIT_TOKEN\"\n");
    config.push_str(&format!("gitbook_api_url = \"{server}/v1\"\ndot_webhook_secret_env = \"DOT_API_SECRET\"\n"));
    let mut names = Vec::new();
    for i in 0..count {
        let name = format!("docs-{i:02}");
        if i % 20 < 17 {
            config.push_str(&format!(
                "\n[[target]]\nname = \"{name}\"\nkind = \"gitbook\"\ngitbook_space = \"spc{i:02}\"\nproject_directory = \"{name}\"\n"
            ));
        } else {
            config.push_str(&format!(
                "\n[[target]]\nname = \"{name}\"\nkind = \"dot\"\ndot_webhook_url = \"{server}/hooks/{name}\"\nproject_directory = \"{name}\"\n"
            ));
        }
        names.push(name);
    }
    let repo = TestRepo::new();
    repo.write("docsync.toml", &config);
    for name in &names {
        repo.write(&format!("{name}/README.md"), "# Docs\n");
    }
    let base = repo.commit("Many documentation directories");
    for name in &names {
        repo.write(&format!("{name}/README.md"), "# Docs\n\nRevised.\n");
    }
    let head = repo.commit("Revise every directory");
    let report = repo.outside_dir("artifacts").join("docsync.env");
    let mut env = ci_env(Pipeline::Push { branch: "main", before: &base, sha: &head });
    for (key, value) in [
        ("GITBOOK_TOKEN", GITBOOK_TOKEN),
        ("DOCS_GIT_TOKEN", GIT_TOKEN),
        ("DOT_API_SECRET", DOT_API_SECRET),
        ("DOCSYNC_WAIT_TIMEOUT", "30s"),
        ("DOCSYNC_POLL_INTERVAL", "50ms"),
        ("DOCSYNC_RETRIES", "0"),
        ("DOCSYNC_HTTP_TIMEOUT", "10s"),
    ] {
        env.insert(key.to_owned(), value.to_owned());
    }
    env.insert("DOCSYNC_REPORT".to_owned(), report.display().to_string());
    (Job { repo, env, report, base, head }, names)
}

/// Every target synced; with waiting off a GitBook import may end `queued`
/// (its result is not awaited), with waiting on it may not.
fn assert_all_synced(run: &Run, names: &[String], waiting: bool) {
    let result = run.json();
    let outcomes = outcomes(&result);
    assert_eq!(outcomes.len(), names.len(), "{result:#}");
    for (name, _, outcome) in &outcomes {
        let ok = outcome == "synced" || (!waiting && outcome == "queued");
        assert!(ok, "{name}: {outcome} (waiting {waiting})\n{}", run.context());
    }
}

const SLOW: Duration = Duration::from_millis(200);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_never_exceed_docsync_concurrency() {
    let server = SlowServer::start(SLOW);
    let (mut job, names) = many_targets_push(20, &server.url());
    job.set("DOCSYNC_CONCURRENCY", "3");
    job.set("DOCSYNC_WAIT", "false");

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(0);
    assert_all_synced(&run, &names, false);
    let requests = server.requests();
    // 17 spaces: the live revision read before the import, the import; 3
    // receivers: one event.
    assert_eq!(requests.len(), 17 * 2 + 3, "{requests:#?}");
    let max = server.max_in_flight();
    assert!(max <= 3, "{max} requests were in flight at once with DOCSYNC_CONCURRENCY=3\n{}", run.context());
    assert!(max > 1, "requests were sent one at a time (max {max} in flight)\n{}", run.context());
    // 20 answers of 200 ms, 3 at a time: at least 7 rounds.
    assert!(run.elapsed >= SLOW * 7, "too fast for the limit: {:?}", run.elapsed);
}

/// Waiting targets hold no slot: with waiting on, every target reads git
/// info, imports, then polls; the limit still holds and the waits overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_holds_while_waiting_and_waits_overlap() {
    let server = SlowServer::start(SLOW);
    let (mut job, names) = many_targets_push(20, &server.url());
    job.set("DOCSYNC_CONCURRENCY", "3");
    job.set("DOCSYNC_WAIT", "true");

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(0);
    assert_all_synced(&run, &names, true);
    let requests = server.requests();
    // 17 spaces: the live revision, info, import, one poll, the live
    // revision again; 3 receivers: one event.
    assert_eq!(requests.len(), 17 * 5 + 3, "{requests:#?}");
    let max = server.max_in_flight();
    assert!(max <= 3, "{max} requests were in flight at once with DOCSYNC_CONCURRENCY=3\n{}", run.context());
    assert_eq!(max, 3, "the limit was not used in full\n{}", run.context());
    // A target waits from its import to its last read of git info. Were a
    // wait to hold a slot, at most 3 targets could be waiting at once; were
    // the waits to run one after another, 1. In the server's order of
    // arrival, more than 3 are waiting at some point.
    assert!(
        most_waiting_at_once(&requests) > 3,
        "the waits do not overlap ({} at most): {requests:#?}",
        most_waiting_at_once(&requests)
    );
}

/// The most GitBook targets between their import and their last request at
/// any point of the server's log.
fn most_waiting_at_once(requests: &[String]) -> usize {
    let space = |request: &str| request.split('/').nth(3).map(str::to_owned);
    let mut waits: HashMap<String, (usize, usize)> = HashMap::new();
    for (at, request) in requests.iter().enumerate() {
        let Some(space) = space(request).filter(|_| request.contains("/v1/spaces/")) else { continue };
        if request.ends_with("/git/import") {
            waits.insert(space, (at, at));
        } else if let Some(wait) = waits.get_mut(&space) {
            wait.1 = at;
        }
    }
    (0..requests.len())
        .map(|at| waits.values().filter(|(from, to)| (*from..*to).contains(&at)).count())
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_limit_is_8() {
    let server = SlowServer::start(SLOW);
    let (mut job, names) = many_targets_push(20, &server.url());
    job.set("DOCSYNC_WAIT", "false");

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(0);
    assert_all_synced(&run, &names, false);
    assert_eq!(server.max_in_flight(), 8, "{}", run.context());
}

// ---------------------------------------------------------------------------
// The log of a job of several targets

/// Failures first in the log's summary, whatever the targets' order; a
/// line saying how far the job is as each target finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_lists_failures_first_and_the_log_counts_targets_done() {
    let (_fake, _gitbook, _hooks, job) = setup(&[("spcGuidesFr", Space::Refuses(403))], EVERY_DIRECTORY).await;

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(1);
    let position = |text: &str| run.stderr.find(text).unwrap_or_else(|| panic!("no {text:?}\n{}", run.context()));
    let failed = position("guides-fr: failed");
    for synced in ["handbook: synced", "api: synced", "guides-en: synced", "api-context: synced"] {
        assert!(failed < position(synced), "guides-fr's failure comes before {synced}\n{}", run.context());
    }
    for n in 1..=6 {
        assert_eq!(run.stderr.matches(&format!(" {n} of 6 targets done")).count(), 1, "{}", run.context());
    }
}

// ---------------------------------------------------------------------------
// --target

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_flags_limit_the_run() {
    let (fake, _gitbook, hooks, job) = setup(&[], EVERY_DIRECTORY).await;

    let run =
        run_docsync(&job, &["sync", "--format", "json", "--target", "guides-fr", "--target", "api-context"]).await;
    run.assert_code(0);
    assert_eq!(fake.imported_spaces(), set_of(&["spcGuidesFr"]), "{}", run.context());
    assert!(fake.calls().iter().all(|c| c.space == "spcGuidesFr"), "{:#?}", fake.calls());
    let events = delivered(&hooks).await;
    assert_eq!(events.keys().cloned().collect::<Vec<_>>(), ["POST /hooks/api"], "{events:#?}");
    let result = run.json();
    assert_eq!(
        outcomes(&result),
        owned(&[("guides-fr", "import", "synced"), ("api-context", "push_event", "synced")]),
        "{result:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_target_is_exit_2_naming_the_known_targets() {
    let (fake, _gitbook, hooks, job) = setup(&[], EVERY_DIRECTORY).await;

    for command in ["sync", "plan", "status", "check"] {
        let run = run_docsync(&job, &[command, "--target", "handbook", "--target", "guides-de"]).await;
        run.assert_code(2);
        assert!(run.stderr.contains("guides-de"), "{command}: names the unknown target\n{}", run.context());
        assert!(run.stderr.contains(&TARGETS.join(", ")), "{command}: names every known target\n{}", run.context());
    }
    assert!(fake.calls().is_empty(), "{:#?}", fake.calls());
    assert!(delivered(&hooks).await.is_empty());
}

// ---------------------------------------------------------------------------
// Configuration errors name the file, the line and the key

const VALID_TARGETS: &str = r#"[defaults]
gitbook_token_env = "GITBOOK_TOKEN"

[[target]]
name = "handbook"
kind = "gitbook"
gitbook_space = "spcHandbook"
project_directory = "handbook"
"#;

/// Runs `plan`, `sync` and `check` with `text` as the config file at
/// `config/docs.toml`; each must exit 2 and name the file, the key and one
/// of `lines` (the key's own line, or its target's where that is as clear).
async fn assert_config_error(text: &str, lines: &[usize], key: &str, words: &[&str]) {
    let repo = TestRepo::new();
    repo.write("README.md", "# Monorepo\n");
    repo.write("handbook/README.md", "# Handbook\n");
    repo.commit("Initial");
    repo.write("handbook/README.md", "# Handbook\n\nMore.\n");
    repo.commit("More");
    repo.write("config/docs.toml", text);
    let job = Job {
        env: [("DOCSYNC_CONFIG", "config/docs.toml"), ("GITBOOK_TOKEN", GITBOOK_TOKEN)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        report: repo.outside_dir("artifacts").join("docsync.env"),
        base: String::new(),
        head: String::new(),
        repo,
    };
    for command in ["plan", "sync", "check"] {
        let run = run_docsync(&job, &[command]).await;
        let shown = format!("config:\n{text}\n{}", run.context());
        run.assert_code(2);
        assert!(run.stderr.contains("config/docs.toml"), "{command}: names the file\n{shown}");
        assert!(
            lines.iter().any(|line| run.stderr.contains(&format!("line {line}"))),
            "{command}: names line {lines:?}\n{shown}"
        );
        assert!(run.stderr.contains(&format!("`{key}`")), "{command}: names the key `{key}`\n{shown}");
        for word in words {
            assert!(run.stderr.contains(word), "{command}: says {word:?}\n{shown}");
        }
        assert!(run.stdout.is_empty(), "{command}: nothing on stdout\n{shown}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_key_is_named_with_its_line() {
    let text = format!("{VALID_TARGETS}\n[[target]]\nname = \"api\"\nkind = \"gitbook\"\nspace = \"spcApi\"\n");
    assert_config_error(&text, &[13], "space", &["not a docsync.toml key"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_key_in_defaults_is_named_with_its_line() {
    let text = VALID_TARGETS.replace("gitbook_token_env", "gitbook_token_variable");
    assert_config_error(&text, &[2], "gitbook_token_variable", &["not a docsync.toml key"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_target_names_are_refused() {
    let text = format!(
        "{VALID_TARGETS}\n[[target]]\nname = \"handbook\"\nkind = \"gitbook\"\ngitbook_space = \"spcOther\"\nproject_directory = \"other\"\n"
    );
    assert_config_error(&text, &[11], "name", &["handbook", "line 5"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_targets_on_one_space_are_refused() {
    let text = format!(
        "{VALID_TARGETS}\n[[target]]\nname = \"handbook-copy\"\nkind = \"gitbook\"\ngitbook_space = \"spcHandbook\"\nproject_directory = \"other\"\n"
    );
    assert_config_error(&text, &[11, 13], "gitbook_space", &["spcHandbook", "handbook-copy", "line 5"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_written_inline_is_refused_without_showing_it() {
    let secret = "gb_live_inline_secret_0005";
    let text = format!(
        "{VALID_TARGETS}\n[[target]]\nname = \"api\"\nkind = \"gitbook\"\ngitbook_space = \"spcApi\"\ngitbook_token = \"{secret}\"\n"
    );
    assert_config_error(&text, &[14], "gitbook_token", &["gitbook_token_env"]).await;
    // The same in [defaults], and for a receiver's secret.
    let text = VALID_TARGETS.replace(
        "gitbook_token_env = \"GITBOOK_TOKEN\"",
        &format!("gitbook_token_env = \"GITBOOK_TOKEN\"\ndot_webhook_secret = \"{secret}\""),
    );
    assert_config_error(&text, &[3], "dot_webhook_secret", &["dot_webhook_secret_env"]).await;

    let repo = TestRepo::new();
    repo.write("README.md", "# x\n");
    repo.commit("Initial");
    repo.write("docsync.toml", &text);
    let output = repo.docsync(&["plan"]).env("GITBOOK_TOKEN", GITBOOK_TOKEN).output().expect("run docsync");
    let all = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!all.contains(secret), "the inline secret is shown:\n{all}");
    assert!(all.contains("docsync.toml"), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_without_kind_is_refused() {
    let text = format!("{VALID_TARGETS}\n[[target]]\nname = \"api\"\ngitbook_space = \"spcApi\"\n");
    assert_config_error(&text, &[10, 11], "kind", &["api"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_config_problem_is_reported_at_once() {
    let text = format!(
        "{VALID_TARGETS}\n[[target]]\nname = \"handbook\"\nkind = \"gitbook\"\ngitbook_space = \"spcHandbook\"\n\n[[target]]\nname = \"api\"\ngitbook_space = \"spcApi\"\n"
    );
    let repo = TestRepo::new();
    repo.write("README.md", "# x\n");
    repo.commit("Initial");
    repo.write("docsync.toml", &text);
    let output = repo.docsync(&["plan"]).env("GITBOOK_TOKEN", GITBOOK_TOKEN).output().expect("run docsync");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for words in ["two targets are named \"handbook\"", "GitBook space spcHandbook", "every target needs a kind"] {
        assert!(stderr.contains(words), "{words:?} in\n{stderr}");
    }
}

// ---------------------------------------------------------------------------
// plan, status and check cover every target

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_covers_every_target_without_calling_any() {
    let (fake, gitbook_server, hooks, job) = setup(&[], HANDBOOK_API_AND_CODE).await;

    let run = run_docsync(&job, &["plan", "--format", "json"]).await;
    run.assert_code(0);
    assert!(fake.calls().is_empty(), "{:#?}", fake.calls());
    assert!(delivered(&hooks).await.is_empty());
    let result = run.json();
    let targets = targets_by_name(&result);
    assert_eq!(targets.keys().cloned().collect::<BTreeSet<_>>(), set_of(&TARGETS), "{result:#}");
    for (name, space, directory) in SPACES {
        let target = &targets[name];
        assert_eq!(target["kind"], "gitbook", "{result:#}");
        let url = format!("{}/v1/spaces/{space}/git/import", gitbook_server.uri());
        match name {
            "handbook" | "api" => {
                assert_eq!(target["action"], "import", "{result:#}");
                assert_eq!(target["request"]["url"], url, "{result:#}");
                assert_eq!(target["request"]["body"]["repoProjectDirectory"], directory, "{result:#}");
                assert_eq!(
                    target["request"]["body"]["url"], "https://oauth2:[MASKED]@gitlab.example.com/group/project.git",
                    "{result:#}"
                );
            }
            _ => assert_eq!(target["action"], "skip", "{result:#}"),
        }
    }
    for name in ["api-context", "handbook-context"] {
        assert_eq!(targets[name]["kind"], "dot", "{result:#}");
        assert_eq!(targets[name]["action"], "push_event", "{result:#}");
        // Shown as scheme://host/…: receivers often carry a secret in the path.
        assert_eq!(targets[name]["request"]["url"], format!("{}/…", hooks.uri()), "{result:#}");
    }
    for secret in [GITBOOK_TOKEN, GIT_TOKEN, DOT_API_SECRET, DOT_HANDBOOK_SECRET] {
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "{secret} shown\n{}", run.context());
    }

    let text = run_docsync(&job, &["plan"]).await;
    text.assert_code(0);
    for name in TARGETS {
        assert!(text.stdout.contains(name), "the text plan names {name}\n{}", text.context());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reads_every_space() {
    let (fake, _gitbook, _hooks, job) = setup(&[], HANDBOOK_API_AND_CODE).await;

    let run = run_docsync(&job, &["status", "--format", "json"]).await;
    run.assert_code(0);
    let calls = fake.calls();
    let read: BTreeSet<String> =
        calls.iter().filter(|c| c.method == "GET" && c.operation == "info").map(|c| c.space.clone()).collect();
    assert_eq!(read, SPACES.iter().map(|(_, id, _)| (*id).to_owned()).collect(), "{calls:#?}");
    assert!(calls.iter().all(|c| c.method == "GET"), "status only reads: {calls:#?}");
    let result = run.json();
    let targets = targets_by_name(&result);
    assert_eq!(
        targets.keys().cloned().collect::<BTreeSet<_>>(),
        set_of(&["handbook", "api", "guides-en", "guides-fr"]),
        "every GitBook target: {result:#}"
    );
    for (name, space, _) in SPACES {
        assert_eq!(targets[name]["space"], space, "{result:#}");
        assert_eq!(targets[name]["state"]["operation"]["startedAt"], OLD_STARTED, "{result:#}");
    }

    let text = run_docsync(&job, &["status"]).await;
    text.assert_code(0);
    for (name, space, _) in SPACES {
        assert!(text.stdout.contains(&format!("{name} (space {space})")), "{}", text.context());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_each_space_that_cannot_be_read() {
    let (_fake, _gitbook, _hooks, job) = setup(&[("spcGuidesEn", Space::Down)], HANDBOOK_API_AND_CODE).await;

    let run = run_docsync(&job, &["status", "--format", "json"]).await;
    run.assert_code(3);
    let result = run.json();
    let targets = targets_by_name(&result);
    assert_eq!(targets.len(), 4, "{result:#}");
    assert!(targets["guides-en"]["error"].as_str().unwrap_or_default().contains("503"), "{result:#}");
    for name in ["handbook", "api", "guides-fr"] {
        assert_eq!(targets[name]["state"]["installationStatus"], "active", "{result:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_covers_every_target() {
    let (fake, _gitbook, hooks, job) = setup(&[("spcGuidesFr", Space::Refuses(400))], HANDBOOK_API_AND_CODE).await;

    let run = run_docsync(&job, &["check", "--format", "json"]).await;
    run.assert_code(0);
    let result = run.json();
    let checks = result["checks"].as_array().unwrap_or_else(|| panic!("checks is a list: {result:#}"));
    let subject_of = |subject: &str| -> Vec<&Value> { checks.iter().filter(|c| c["subject"] == subject).collect() };
    for (name, space, _) in SPACES {
        let found = subject_of(&format!("target {name} (GitBook)"));
        assert_eq!(found.len(), 1, "{name}: {result:#}");
        assert_eq!(found[0]["level"], "ok", "{name}: {result:#}");
        assert!(found[0]["message"].as_str().unwrap_or_default().contains(space), "{name}: {result:#}");
    }
    for name in ["api-context", "handbook-context"] {
        let found = subject_of(&format!("target {name} (webhook)"));
        assert!(!found.is_empty(), "{name}: {result:#}");
        assert!(found.iter().all(|c| c["level"] == "ok"), "{name}: {result:#}");
    }
    assert!(fake.calls().iter().all(|c| c.method == "GET" && c.operation == "info"), "{:#?}", fake.calls());
    assert!(delivered(&hooks).await.is_empty(), "check never sends a push event");

    // A receiver whose named secret is unset: exit 2 naming the key and the
    // variable (PRODUCT.md "Several targets": no silently missing secret).
    let mut job = job;
    job.env.remove("DOT_HANDBOOK_SECRET");
    let run = run_docsync(&job, &["check", "--format", "json"]).await;
    run.assert_code(2);
    assert!(run.stderr.contains("key `dot_webhook_secret_env` = \"DOT_HANDBOOK_SECRET\""), "{}", run.context());
    assert!(run.stderr.contains("the variable DOT_HANDBOOK_SECRET it names is not set"), "{}", run.context());
}
