//! How the real binary behaves when GitBook misbehaves, with `wiremock`
//! playing GitBook: operations followed over time (and an older operation
//! that must never pass for ours), tokens that may not read git info, rate
//! limits, 5xx, dropped connections, slow answers and 4xx refusals; and what
//! the job leaves behind (exit code, logs, JSON result, dotenv report).
//!
//! Every server has a catch-all mock at the lowest priority that answers
//! `599` and names the route, so a request docsync should not send shows up
//! in its output and in the assertion messages.

use crate::common;

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use common::{
    ACCEPTED_DATE, Job, NEW_STARTED, OLD_STARTED, PIPELINE_CREATED_AT_UTC, Pipeline, Run, TestRepo, ci_env,
    gitbook_accepted, gitbook_state, mock_server, mount_live_before_import, old_success, read_dotenv,
    run_in_background,
};

const SPACE: &str = "spcFaults";
const TOKEN: &str = "gbtok-faults-0001";
const GIT_TOKEN: &str = "gittok-faults-0002";
const USER_AGENT: &str = concat!("docsync/", env!("CARGO_PKG_VERSION"));
const IMPORT_PATH: &str = "/v1/spaces/spcFaults/git/import";
const INFO_PATH: &str = "/v1/spaces/spcFaults/git/info";
const EXPORT_PATH: &str = "/v1/spaces/spcFaults/git/export";
const CONTENT_PATH: &str = "/v1/spaces/spcFaults/content";
const DOCS_URL: &str = "https://app.gitbook.com/o/org/s/spcFaults/";

// ---------------------------------------------------------------------------
// The repository and the job's variables

/// A push to `main` changing two docs pages and one source file, with the
/// GitBook target pointed at `api` (GitBook's `/v1` base on the mock).
fn push_job(api: &str, extra: &[(&str, &str)]) -> Job {
    let repo = TestRepo::new();
    repo.write("README.md", "# Project\n");
    repo.write("docs/README.md", "# Docs\n");
    repo.write("docs/guide.md", "# Guide\n");
    repo.write("src/main.rs", "fn main() {}\n");
    let base = repo.commit("Initial commit");
    repo.write("docs/guide.md", "# Guide\n\nMore words.\n");
    repo.write("docs/new-page.md", "# New page\n");
    repo.write("src/main.rs", "fn main() { println!(\"hi\"); }\n");
    let head = repo.commit("Document the new feature");
    let mut env = ci_env(Pipeline::Push { branch: "main", before: &base, sha: &head });
    for (key, value) in [
        ("DOCSYNC_GITBOOK_SPACE", SPACE),
        ("DOCSYNC_GITBOOK_TOKEN", TOKEN),
        ("DOCSYNC_GIT_TOKEN", GIT_TOKEN),
        ("DOCSYNC_GITBOOK_API_URL", api),
        ("DOCSYNC_PROJECT_DIRECTORY", "docs"),
        ("DOCSYNC_WAIT", "true"),
        ("DOCSYNC_WAIT_TIMEOUT", "10s"),
    ] {
        env.insert(key.to_owned(), value.to_owned());
    }
    let mut job = Job::new(repo, env, base, head);
    for (key, value) in extra {
        job.set(key, value);
    }
    job
}

/// An assertion only this suite makes, kept here as an extension of the
/// shared `Run`.
trait SaysBoth {
    /// stdout and stderr both contain every one of `words`.
    fn assert_says(&self, words: &[&str]);
}

impl SaysBoth for Run {
    fn assert_says(&self, words: &[&str]) {
        for word in words {
            assert!(self.stdout.contains(word), "stdout should contain {word:?}\n{}", self.context());
            assert!(self.stderr.contains(word), "stderr should contain {word:?}\n{}", self.context());
        }
    }
}

/// Runs the binary off the async runtime, so the mock server keeps serving.
async fn run_docsync(job: &Job, args: &[&str]) -> Run {
    let mut command = job.repo.docsync(args);
    command.envs(&job.env);
    run_in_background(command, Duration::from_secs(60)).await
}

/// The dotenv report sums the run up; the JSON report (beside it) holds the
/// target's outcome.
fn assert_report(job: &Job, status: &str, outcome: &str) {
    let report = read_dotenv(&job.report);
    let failed = if matches!(status, "failed" | "unreachable") { "gitbook" } else { "" };
    let expected = [
        ("DOCSYNC_STATUS", status),
        ("DOCSYNC_RANGE_BASE", job.base.as_str()),
        ("DOCSYNC_RANGE_HEAD", job.head.as_str()),
        ("DOCSYNC_RANGE_MODE", "push"),
        ("DOCSYNC_CHANGED", "3"),
        ("DOCSYNC_TARGETS", "gitbook"),
        ("DOCSYNC_FAILED", failed),
    ];
    for (key, value) in expected {
        assert_eq!(report.get(key).map(String::as_str), Some(value), "{key} in the report {report:#?}");
    }
    let json = json_report(job);
    let target = only_target(&json);
    assert_eq!(target["action"], "import", "{json:#}");
    assert_eq!(target["changed"], 2, "{json:#}");
    assert_eq!(target["outcome"]["status"], outcome, "{json:#}");
    assert_eq!(json["status"], status, "{json:#}");
}

fn json_report(job: &Job) -> Value {
    let path = job.report.with_file_name("docsync.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the JSON report {} was not written: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the JSON report is not JSON ({e}):\n{text}"))
}

// ---------------------------------------------------------------------------
// The mock GitBook

fn api(server: &MockServer) -> String {
    format!("{}/v1", server.uri())
}

fn new_operation(state_name: &str, stage: &str) -> Value {
    gitbook_state(Some(json!({ "state": state_name, "direction": "import", "stage": stage, "startedAt": NEW_STARTED })))
}

/// GitBook's live revision (`GET content`), as its spec shapes it, holding
/// commit `oid`.
fn revision(oid: &str) -> Value {
    json!({
        "object": "revision", "id": "rev-1", "type": "edits", "parents": ["rev-0"],
        "pages": [], "files": [], "reusableContents": [], "tags": [],
        "createdAt": "2026-11-22T15:00:30Z",
        "git": { "oid": oid, "message": "Document the new feature", "createdByGitBook": false },
        "urls": { "app": DOCS_URL },
    })
}

async fn mount_content(server: &MockServer, oid: &str) {
    Mock::given(method("GET"))
        .and(path(CONTENT_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(revision(oid)))
        .mount(server)
        .await;
}

fn gitbook_error(code: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(code).set_body_json(json!({ "error": { "code": code, "message": message } }))
}

/// Shared by the import and git/info responders: what GitBook shows, and
/// whether docsync's request has arrived yet.
struct Timeline {
    imported: AtomicBool,
    /// Shown until the import arrives.
    before: Value,
    /// Shown after it, one per `git/info` call; the last one repeats.
    after: Vec<Value>,
    polls_after: AtomicUsize,
}

impl Timeline {
    fn new(before: Value, after: Vec<Value>) -> Arc<Timeline> {
        Arc::new(Timeline { imported: AtomicBool::new(false), before, after, polls_after: AtomicUsize::new(0) })
    }
}

struct InfoResponder(Arc<Timeline>);

impl Respond for InfoResponder {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let timeline = &self.0;
        if !timeline.imported.load(Ordering::SeqCst) {
            return ResponseTemplate::new(200).set_body_json(&timeline.before);
        }
        let index = timeline.polls_after.fetch_add(1, Ordering::SeqCst).min(timeline.after.len() - 1);
        ResponseTemplate::new(200).set_body_json(&timeline.after[index])
    }
}

/// Answers in turn (the last answer repeats), noting when each request came
/// and telling the timeline that the import arrived.
struct Sequence {
    answers: Vec<ResponseTemplate>,
    times: Mutex<Vec<Instant>>,
    timeline: Option<Arc<Timeline>>,
}

impl Sequence {
    fn new(answers: Vec<ResponseTemplate>) -> Arc<Sequence> {
        Arc::new(Sequence { answers, times: Mutex::new(Vec::new()), timeline: None })
    }

    fn for_timeline(timeline: &Arc<Timeline>) -> Arc<Sequence> {
        Arc::new(Sequence {
            answers: vec![gitbook_accepted()],
            times: Mutex::new(Vec::new()),
            timeline: Some(Arc::clone(timeline)),
        })
    }

    fn times(&self) -> Vec<Instant> {
        self.times.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

struct SequenceResponder(Arc<Sequence>);

impl Respond for SequenceResponder {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let sequence = &self.0;
        let mut times = sequence.times.lock().unwrap_or_else(|p| p.into_inner());
        let index = times.len().min(sequence.answers.len() - 1);
        times.push(Instant::now());
        if let Some(timeline) = &sequence.timeline {
            timeline.imported.store(true, Ordering::SeqCst);
        }
        sequence.answers[index].clone()
    }
}

async fn mount_import(server: &MockServer, responder: impl Respond + 'static) {
    Mock::given(method("POST")).and(path(IMPORT_PATH)).respond_with(responder).mount(server).await;
}

async fn mount_info(server: &MockServer, responder: impl Respond + 'static) {
    Mock::given(method("GET")).and(path(INFO_PATH)).respond_with(responder).mount(server).await;
}

/// A GitBook whose `git/info` follows `timeline`; returns the import's log.
async fn mount_timeline(server: &MockServer, timeline: &Arc<Timeline>) -> Arc<Sequence> {
    let imports = Sequence::for_timeline(timeline);
    mount_import(server, SequenceResponder(Arc::clone(&imports))).await;
    mount_info(server, InfoResponder(Arc::clone(timeline))).await;
    imports
}

/// Every request the server got, as `METHOD path`, for messages.
async fn received(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.expect("request recording is on")
}

fn routes(requests: &[Request]) -> Vec<String> {
    requests.iter().map(|r| format!("{} {}", r.method, r.url.path())).collect()
}

fn count(requests: &[Request], verb: &str, route: &str) -> usize {
    requests.iter().filter(|r| r.method.as_str() == verb && r.url.path() == route).count()
}

/// Only the expected routes were called.
fn assert_only_gitbook_routes(requests: &[Request]) {
    for request in requests {
        let route = (request.method.as_str(), request.url.path());
        assert!(
            [("POST", IMPORT_PATH), ("GET", INFO_PATH), ("GET", CONTENT_PATH)].contains(&route),
            "unexpected request {} {}; all: {:?}",
            request.method,
            request.url.path(),
            routes(requests)
        );
    }
}

fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|value| value.to_str().ok())
}

/// Every request carries the GitBook token and docsync's user agent; POSTs
/// carry JSON.
fn assert_headers(requests: &[Request]) {
    for request in requests {
        let route = format!("{} {}", request.method, request.url.path());
        assert_eq!(header(request, "authorization"), Some(format!("Bearer {TOKEN}").as_str()), "{route}");
        assert_eq!(header(request, "user-agent"), Some(USER_AGENT), "{route}");
        if request.method.as_str() == "POST" {
            assert_eq!(header(request, "content-type"), Some("application/json"), "{route}");
        }
    }
}

fn expected_import_body() -> Value {
    json!({
        "url": format!("https://oauth2:{GIT_TOKEN}@gitlab.example.com/group/project.git"),
        "ref": "refs/heads/main",
        "repoTreeURL": "https://gitlab.example.com/group/project/-/blob/main",
        "repoCommitURL": "https://gitlab.example.com/group/project/-/commit",
        "repoProjectDirectory": "docs",
        "timestamp": PIPELINE_CREATED_AT_UTC,
    })
}

fn assert_import_bodies(requests: &[Request]) {
    for request in requests.iter().filter(|r| r.method.as_str() == "POST") {
        let body: Value = request.body_json().unwrap_or_else(|e| panic!("the import body is not JSON: {e}"));
        assert_eq!(body, expected_import_body());
    }
}

fn only_target(result: &Value) -> &Value {
    let targets = result["targets"].as_array().expect("targets is a list");
    assert_eq!(targets.len(), 1, "{result:#}");
    &targets[0]
}

// ---------------------------------------------------------------------------
// Following GitBook's operation

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_is_followed_through_its_stages_to_success() {
    let server = mock_server().await;
    let timeline = Timeline::new(
        old_success(),
        vec![
            // GitBook has not started ours yet: the old operation is still shown.
            old_success(),
            old_success(),
            new_operation("running", "cloning"),
            new_operation("running", "cloning"),
            new_operation("running", "importing pages"),
            new_operation("success", "done"),
        ],
    );
    mount_timeline(&server, &timeline).await;
    let job = push_job(&api(&server), &[]);
    mount_live_before_import(&server, SPACE, &job.base).await;
    mount_content(&server, &job.head).await;

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(0);
    for line in ["import running (cloning)", "import running (importing pages)", "import success (done)"] {
        assert_eq!(run.stderr.matches(line).count(), 1, "stderr should show {line:?} once\n{}", run.context());
    }
    let result = run.json();
    assert_eq!(result["status"], "synced", "{result:#}");
    let outcome = &only_target(&result)["outcome"];
    assert_eq!(outcome["status"], "verified", "GitBook's live revision is the head: {result:#}");
    assert_eq!(outcome["docs_url"], DOCS_URL, "{result:#}");
    assert_eq!(outcome["operation"]["startedAt"], NEW_STARTED, "the reported operation is ours: {result:#}");

    let requests = received(&server).await;
    assert_only_gitbook_routes(&requests);
    assert_headers(&requests);
    assert_import_bodies(&requests);
    assert_eq!(count(&requests, "POST", IMPORT_PATH), 1, "{:?}", routes(&requests));
    // The live revision before the import (the guard, docs/gitbook.md),
    // one git/info read before the import, then one per answer until
    // success, then the live revision.
    assert_eq!(count(&requests, "GET", INFO_PATH), 1 + 6, "{:?}", routes(&requests));
    assert_eq!(
        routes(&requests)[..3],
        [format!("GET {CONTENT_PATH}"), format!("GET {INFO_PATH}"), format!("POST {IMPORT_PATH}")]
    );
    assert_eq!(count(&requests, "GET", CONTENT_PATH), 2, "{:?}", routes(&requests));
    assert_eq!(routes(&requests).last(), Some(&format!("GET {CONTENT_PATH}")), "{:?}", routes(&requests));
    assert_report(&job, "synced", "verified");
    assert_eq!(read_dotenv(&job.report).get("DOCSYNC_URL").map(String::as_str), Some(DOCS_URL));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_import_shows_gitbooks_error_and_fix_link() {
    let server = mock_server().await;
    let error = "Could not read from the repository: authentication failed";
    let label = "Update the Git Sync credentials";
    let url = "https://app.gitbook.com/s/spcFaults/settings/git-sync";
    let mut failure = new_operation("failure", "cloning");
    failure["operation"]["error"] = json!(error);
    failure["operation"]["errorAction"] = json!({ "label": label, "url": url });
    failure["operation"]["endedAt"] = json!("2026-11-22T15:00:09Z");
    let timeline = Timeline::new(old_success(), vec![old_success(), new_operation("running", "cloning"), failure]);
    mount_timeline(&server, &timeline).await;
    let job = push_job(&api(&server), &[]);
    mount_live_before_import(&server, SPACE, &job.base).await;

    let run = run_docsync(&job, &["sync"]).await;
    run.assert_code(1);
    run.assert_says(&[error, label, url, "failure"]);
    assert_report(&job, "failed", "failed");

    // The same failure as JSON: the target's outcome and the run's status.
    let json_run = {
        let timeline = Timeline::new(
            old_success(),
            vec![old_success(), new_operation("running", "cloning"), timeline.after[2].clone()],
        );
        let server = mock_server().await;
        mount_timeline(&server, &timeline).await;
        let job = push_job(&api(&server), &[]);
        mount_live_before_import(&server, SPACE, &job.base).await;
        run_docsync(&job, &["sync", "--format", "json"]).await
    };
    json_run.assert_code(1);
    let result = json_run.json();
    assert_eq!(result["status"], "failed", "{result:#}");
    let outcome = &only_target(&result)["outcome"];
    assert_eq!(outcome["status"], "failed", "{result:#}");
    assert_eq!(outcome["error_action"], json!({ "label": label, "url": url }), "{result:#}");
    assert!(outcome["message"].as_str().unwrap_or_default().contains(error), "{result:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_still_running_when_the_wait_ends_fails_the_job() {
    let server = mock_server().await;
    let timeline = Timeline::new(old_success(), vec![new_operation("running", "importing pages")]);
    mount_timeline(&server, &timeline).await;
    let job = push_job(&api(&server), &[("DOCSYNC_WAIT_TIMEOUT", "1s")]);
    mount_live_before_import(&server, SPACE, &job.base).await;

    let run = run_docsync(&job, &["sync"]).await;
    run.assert_code(1);
    run.assert_says(&["still running", "DOCSYNC_WAIT_TIMEOUT"]);
    assert!(run.elapsed >= Duration::from_secs(1), "{}", run.context());
    assert_report(&job, "failed", "timed_out");
}

/// The wait's limit is named by the layer that set it: here the target's
/// own `wait_timeout`, not `DOCSYNC_WAIT_TIMEOUT`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_targets_own_wait_timeout_is_named_when_it_runs_out() {
    let server = mock_server().await;
    let timeline = Timeline::new(old_success(), vec![new_operation("running", "importing pages")]);
    mount_timeline(&server, &timeline).await;
    let mut job = push_job(&api(&server), &[]);
    job.env.remove("DOCSYNC_GITBOOK_SPACE");
    job.repo.write(
        "docsync.toml",
        &format!(
            "[[target]]\nname = \"gitbook\"\nkind = \"gitbook\"\ngitbook_space = \"{SPACE}\"\nwait_timeout = \"1s\"\n"
        ),
    );
    mount_live_before_import(&server, SPACE, &job.base).await;

    let run = run_docsync(&job, &["sync"]).await;
    run.assert_code(1);
    run.assert_says(&[
        "still running after 1s (docsync.toml: line 5, target \"gitbook\", key `wait_timeout`)",
        "fix: raise docsync.toml: line 5, target \"gitbook\", key `wait_timeout`",
    ]);
}

/// GitBook keeps showing the operation that ended before the job: docsync
/// must not take that old success for the result of its own import.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_finished_operation_is_never_taken_for_ours() {
    let server = mock_server().await;
    let timeline = Timeline::new(old_success(), vec![old_success()]);
    mount_timeline(&server, &timeline).await;
    let job = push_job(&api(&server), &[("DOCSYNC_WAIT_TIMEOUT", "1s")]);
    mount_live_before_import(&server, SPACE, &job.base).await;

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(1);
    let result = run.json();
    let outcome = &only_target(&result)["outcome"];
    assert_eq!(outcome["status"], "timed_out", "{result:#}");
    // No operation of ours started, so none is reported: least of all the
    // old one (indexing a missing operation would give null, never failing).
    assert!(outcome.get("operation").is_none_or(serde_json::Value::is_null), "{result:#}");
    assert!(!run.stderr.contains("import success"), "{}", run.context());
    let requests = received(&server).await;
    assert!(count(&requests, "GET", INFO_PATH) >= 3, "docsync should have kept polling: {:?}", routes(&requests));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_cannot_read_git_info_still_queues_the_import() {
    let server = mock_server().await;
    mount_import(&server, gitbook_accepted()).await;
    mount_info(&server, gitbook_error(403, "You do not have permission to read this space's Git Sync")).await;
    let job = push_job(&api(&server), &[]);
    mount_live_before_import(&server, SPACE, &job.base).await;

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(0);
    assert!(run.stderr.contains("WARN"), "a warning is expected\n{}", run.context());
    assert!(run.stderr.contains("may not read"), "{}", run.context());
    let result = run.json();
    assert_eq!(only_target(&result)["outcome"]["status"], "queued", "{result:#}");
    let requests = received(&server).await;
    assert_eq!(count(&requests, "GET", INFO_PATH), 1, "a 403 is not retried: {:?}", routes(&requests));
    assert_eq!(count(&requests, "POST", IMPORT_PATH), 1, "{:?}", routes(&requests));
    assert_report(&job, "synced", "queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_waiting_there_is_one_post_and_no_git_info() {
    let server = mock_server().await;
    mount_import(&server, gitbook_accepted()).await;
    mount_info(&server, ResponseTemplate::new(200).set_body_json(old_success())).await;
    let job = push_job(&api(&server), &[("DOCSYNC_WAIT", "false")]);
    mount_live_before_import(&server, SPACE, &job.base).await;

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(0);
    assert_eq!(only_target(&run.json())["outcome"]["status"], "queued", "{}", run.context());
    let requests = received(&server).await;
    // The guard's one read of the live revision, then the import.
    assert_eq!(routes(&requests), [format!("GET {CONTENT_PATH}"), format!("POST {IMPORT_PATH}")]);
    assert_headers(&requests);
    assert_import_bodies(&requests);
}

// ---------------------------------------------------------------------------
// Retries

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_is_waited_out_as_retry_after_says() {
    let server = mock_server().await;
    let imports = Sequence::new(vec![
        gitbook_error(429, "Too many requests").insert_header("Retry-After", "1"),
        gitbook_accepted(),
    ]);
    mount_import(&server, SequenceResponder(Arc::clone(&imports))).await;
    let job = push_job(&api(&server), &[("DOCSYNC_WAIT", "false"), ("DOCSYNC_RETRIES", "3")]);
    mount_live_before_import(&server, SPACE, &job.base).await;

    let run = run_docsync(&job, &["sync"]).await;
    run.assert_code(0);
    let times = imports.times();
    assert_eq!(times.len(), 2, "{}", run.context());
    let gap = times[1] - times[0];
    assert!(gap >= Duration::from_secs(1), "the retry came {gap:?} after the 429, before Retry-After: 1");
    assert!(run.stderr.contains("429"), "{}", run.context());
    let requests = received(&server).await;
    assert_headers(&requests);
    assert_import_bodies(&requests);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_unavailable_every_time_is_unreachable_after_the_retries() {
    let server = mock_server().await;
    mount_import(&server, gitbook_error(503, "Service Unavailable")).await;
    let job = push_job(&api(&server), &[("DOCSYNC_WAIT", "false"), ("DOCSYNC_RETRIES", "2")]);
    mount_live_before_import(&server, SPACE, &job.base).await;

    let run = run_docsync(&job, &["sync"]).await;
    run.assert_code(3);
    assert!(run.stderr.contains("503"), "{}", run.context());
    let requests = received(&server).await;
    assert_eq!(count(&requests, "POST", IMPORT_PATH), 3, "{:?}", routes(&requests));
    assert_only_gitbook_routes(&requests);
    assert_report(&job, "unreachable", "unreachable");
}

/// A server that accepts connections and closes them at once.
struct SlammingDoor {
    port: u16,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SlammingDoor {
    fn open() -> SlammingDoor {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let port = listener.local_addr().expect("the listener's address").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (accepted, stop) = (Arc::clone(&accepted), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            accepted.fetch_add(1, Ordering::SeqCst);
                            drop(stream);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        SlammingDoor { port, accepted, stop, thread: Some(thread) }
    }
}

impl Drop for SlammingDoor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The import's connection is dropped: GitBook may have queued it. docsync
/// reads git/info before sending it again; when that cannot be read either,
/// the import is never sent twice. (`gitbook_edits = "overwrite"`: the
/// space's content, unreadable too, does not hold the import back.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_are_unreachable_and_never_resent_blind() {
    let door = SlammingDoor::open();
    let api = format!("http://127.0.0.1:{}/v1", door.port);
    let job =
        push_job(&api, &[("DOCSYNC_WAIT", "false"), ("DOCSYNC_RETRIES", "2"), ("DOCSYNC_GITBOOK_EDITS", "overwrite")]);

    let run = run_docsync(&job, &["sync"]).await;
    run.assert_code(3);
    assert!(run.stderr.contains("not sending it again"), "{}", run.context());
    // The content read three times (a read is retried), one import, then
    // git/info read three times.
    assert_eq!(door.accepted.load(Ordering::SeqCst), 3 + 1 + 3, "{}", run.context());
    assert_report(&job, "unreachable", "unreachable");
}

/// Imports slower than the HTTP timeout: each is resent only after git/info
/// showed no import of ours within the start timeout, a bounded number of
/// times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_slower_than_the_http_timeout_are_resent_after_a_look_then_unreachable() {
    let server = mock_server().await;
    mount_import(&server, ResponseTemplate::new(204).set_delay(Duration::from_secs(3))).await;
    mount_info(&server, ResponseTemplate::new(200).set_body_json(old_success()).insert_header("date", ACCEPTED_DATE))
        .await;
    let job = push_job(
        &api(&server),
        &[
            ("DOCSYNC_WAIT", "false"),
            ("DOCSYNC_RETRIES", "1"),
            ("DOCSYNC_HTTP_TIMEOUT", "1s"),
            ("DOCSYNC_START_TIMEOUT", "300ms"),
        ],
    );
    mount_live_before_import(&server, SPACE, &job.base).await;

    let run = run_docsync(&job, &["sync"]).await;
    run.assert_code(3);
    assert!(run.stderr.contains("timed out"), "{}", run.context());
    assert!(run.elapsed >= Duration::from_secs(3), "three attempts of 1s each\n{}", run.context());
    let requests = received(&server).await;
    assert_eq!(count(&requests, "POST", IMPORT_PATH), 3, "{:?}", routes(&requests));
    assert!(count(&requests, "GET", INFO_PATH) >= 3, "a look before each resend: {:?}", routes(&requests));
}

// ---------------------------------------------------------------------------
// Refusals: never retried, each with the variable to fix

async fn refused_import(answer: ResponseTemplate) -> (Run, Vec<Request>) {
    let server = mock_server().await;
    mount_import(&server, answer).await;
    let job = push_job(&api(&server), &[("DOCSYNC_WAIT", "false"), ("DOCSYNC_RETRIES", "3")]);
    mount_live_before_import(&server, SPACE, &job.base).await;
    let run = run_docsync(&job, &["sync"]).await;
    let requests = received(&server).await;
    assert_eq!(
        count(&requests, "POST", IMPORT_PATH),
        1,
        "a 4xx is never retried: {:?}\n{}",
        routes(&requests),
        run.context()
    );
    assert_report(&job, "failed", "failed");
    (run, requests)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_token_names_the_variable_and_the_fix() {
    let (run, _) = refused_import(gitbook_error(401, "Invalid token")).await;
    run.assert_code(1);
    run.assert_says(&["Invalid token", "DOCSYNC_GITBOOK_TOKEN", "fix:"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_space_names_the_space_id() {
    let (run, _) = refused_import(gitbook_error(404, "Space not found")).await;
    run.assert_code(1);
    run.assert_says(&["Space not found", SPACE, "DOCSYNC_GITBOOK_SPACE", "fix:"]);
}

/// `git/info` answers 404 when the space has no Git Sync (GitBook's API
/// reference: "returns 404 if no Git provider is configured"): the target
/// fails before anything is queued, saying both causes and both fixes, as
/// `docsync check` does; before, it said only that the space was unknown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_space_without_git_sync_fails_before_the_import_and_says_how_to_set_it_up() {
    let server = mock_server().await;
    mount_import(&server, ResponseTemplate::new(204)).await;
    mount_info(&server, gitbook_error(404, "Not found")).await;
    let job = push_job(&api(&server), &[]);
    mount_live_before_import(&server, SPACE, &job.base).await;

    let run = run_docsync(&job, &["sync"]).await;
    run.assert_code(1);
    run.assert_says(&["no Git Sync set up on it", SPACE, "DOCSYNC_GITBOOK_SPACE", "set up its Git Sync with GitLab"]);
    let requests = received(&server).await;
    assert_eq!(count(&requests, "POST", IMPORT_PATH), 0, "nothing queued: {:?}", routes(&requests));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_request_quotes_gitbooks_message() {
    let (run, _) = refused_import(gitbook_error(400, "Invalid ref: refs/heads/main does not exist")).await;
    run.assert_code(1);
    run.assert_says(&["400", "Invalid ref: refs/heads/main does not exist", "fix:"]);
}

// ---------------------------------------------------------------------------
// Whose verdict: only an operation of ours, started after GitBook accepted
// the request, ends the wait

/// An operation started by `direction` at `started_at`, in `state`.
fn operation(state: &str, direction: &str, started_at: &str) -> Value {
    gitbook_state(Some(
        json!({ "state": state, "direction": direction, "stage": "content_process", "startedAt": started_at }),
    ))
}

/// Someone else's import (a preview, GitBook's webhook, another pipeline)
/// started a second before GitBook accepted ours, runs and fails; then ours
/// runs and succeeds. The foreign failure is logged as another operation,
/// never reported as the job's result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_elses_running_operation_is_logged_and_never_taken_for_ours() {
    let server = mock_server().await;
    let foreign_start = "2026-11-22T15:00:02Z";
    let mut foreign_failure = operation("failure", "import", foreign_start);
    foreign_failure["operation"]["error"] = json!("someone else's import failed");
    let timeline = Timeline::new(
        old_success(),
        vec![
            operation("running", "import", foreign_start),
            foreign_failure,
            // An export of the other direction that started after ours was
            // accepted is not ours either.
            operation("running", "export", NEW_STARTED),
            new_operation("running", "cloning"),
            new_operation("success", "done"),
        ],
    );
    mount_timeline(&server, &timeline).await;
    let job = push_job(&api(&server), &[]);
    mount_live_before_import(&server, SPACE, &job.base).await;
    mount_content(&server, &job.head).await;

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(0);
    assert!(run.stderr.contains("another operation is in progress"), "{}", run.context());
    assert!(!run.stdout.contains("someone else's import failed"), "{}", run.context());
    let result = run.json();
    let outcome = &only_target(&result)["outcome"];
    assert_eq!(outcome["status"], "verified", "{result:#}");
    assert_eq!(outcome["operation"]["startedAt"], NEW_STARTED, "{result:#}");
}

/// GitBook accepts the import and starts nothing: the target ends
/// `not_started` after DOCSYNC_START_TIMEOUT, not after the whole wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_operation_of_ours_within_the_start_timeout_is_not_started() {
    let server = mock_server().await;
    let timeline = Timeline::new(old_success(), vec![old_success()]);
    mount_timeline(&server, &timeline).await;
    let job = push_job(&api(&server), &[("DOCSYNC_START_TIMEOUT", "1s"), ("DOCSYNC_WAIT_TIMEOUT", "20s")]);
    mount_live_before_import(&server, SPACE, &job.base).await;

    let run = run_docsync(&job, &["sync"]).await;
    run.assert_code(1);
    run.assert_says(&["not_started", "DOCSYNC_START_TIMEOUT", "Git Sync installation", "DOCSYNC_GITBOOK_TOKEN"]);
    // Reads are paced by the poll interval (50 ms, ×1.5 up to 250 ms): the
    // 1 s start timeout has room for the read before the import and at most
    // 7 after it (a slow machine reads less, never more); waiting the 20 s
    // wait timeout would have read about 80 times.
    let requests = received(&server).await;
    assert_eq!(count(&requests, "POST", IMPORT_PATH), 1, "{:?}", routes(&requests));
    let reads = count(&requests, "GET", INFO_PATH);
    assert!((2..=10).contains(&reads), "{reads} reads of git info: {:?}", routes(&requests));
    assert_report(&job, "failed", "not_started");
}

/// `git/info` answers 500 (or what is not JSON) while waiting: the import
/// was queued, its result is unknown, the job is not `synced`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_verdict_is_unreachable_result_unknown() {
    for (label, answer) in [
        ("500", gitbook_error(500, "Internal Server Error")),
        ("invalid JSON", ResponseTemplate::new(200).set_body_string("<html>maintenance</html>")),
    ] {
        let server = mock_server().await;
        mount_import(&server, gitbook_accepted()).await;
        mount_info(&server, answer).await;
        let job = push_job(&api(&server), &[("DOCSYNC_RETRIES", "2")]);
        mount_live_before_import(&server, SPACE, &job.base).await;

        let run = run_docsync(&job, &["sync"]).await;
        assert_eq!(run.code(), Some(3), "{label}\n{}", run.context());
        run.assert_says(&["queued", "result unknown"]);
        let requests = received(&server).await;
        assert_eq!(count(&requests, "POST", IMPORT_PATH), 1, "{label}: {:?}", routes(&requests));
        assert!(count(&requests, "GET", INFO_PATH) >= 3, "{label}: read again: {:?}", routes(&requests));
        assert_report(&job, "unreachable", "unreachable");
    }
}

/// A `git/info` read that hangs cannot stretch the wait past
/// DOCSYNC_WAIT_TIMEOUT (the HTTP timeout is 30 s here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_poll_is_bounded_by_the_wait_timeout() {
    let server = mock_server().await;
    let hanging = Timeline::new(old_success(), vec![new_operation("running", "cloning")]);
    mount_import(&server, SequenceResponder(Sequence::for_timeline(&hanging))).await;
    mount_info(&server, HangingAfterImport(Arc::clone(&hanging))).await;
    let job = push_job(&api(&server), &[("DOCSYNC_WAIT_TIMEOUT", "3s"), ("DOCSYNC_HTTP_TIMEOUT", "30s")]);
    mount_live_before_import(&server, SPACE, &job.base).await;

    let run = run_docsync(&job, &["sync"]).await;
    run.assert_code(1);
    run.assert_says(&["DOCSYNC_WAIT_TIMEOUT"]);
    // Before the HTTP timeout could have ended the hanging read: the wait
    // timeout did.
    assert!(run.elapsed < Duration::from_secs(30), "the wait is 3 s, the HTTP timeout 30 s\n{}", run.context());
    assert_report(&job, "failed", "timed_out");
}

/// Answers `git/info` at once before the import, then never in time.
struct HangingAfterImport(Arc<Timeline>);

impl Respond for HangingAfterImport {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let answer = InfoResponder(Arc::clone(&self.0)).respond(request);
        if self.0.imported.load(Ordering::SeqCst) { answer.set_delay(Duration::from_secs(60)) } else { answer }
    }
}

/// While waiting, each line says the state, the stage, the tasks when
/// GitBook counts them, and how long docsync has waited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_lines_show_stage_tasks_and_time_waited() {
    let server = mock_server().await;
    let mut counted = new_operation("running", "content_process");
    counted["operation"]["completedTasks"] = json!(3);
    counted["operation"]["dispatchedTasks"] = json!(10);
    let timeline = Timeline::new(old_success(), vec![counted, new_operation("success", "finalize")]);
    mount_timeline(&server, &timeline).await;
    let job = push_job(&api(&server), &[]);
    mount_live_before_import(&server, SPACE, &job.base).await;
    mount_content(&server, &job.head).await;

    let run = run_docsync(&job, &["sync"]).await;
    run.assert_code(0);
    let line = run.stderr.lines().find(|l| l.contains("import running (content_process)")).unwrap_or_default();
    assert!(line.contains("3/10 tasks") && line.contains("waited"), "{line:?}\n{}", run.context());
}

/// The live revision holds another commit than the head: a warning naming
/// both, the page still reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_revision_of_another_commit_is_a_warning_naming_both() {
    let server = mock_server().await;
    let timeline = Timeline::new(old_success(), vec![new_operation("success", "finalize")]);
    mount_timeline(&server, &timeline).await;
    let job = push_job(&api(&server), &[]);
    mount_live_before_import(&server, SPACE, &job.base).await;
    mount_content(&server, &job.base).await;

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(0);
    assert!(run.stderr.contains("WARN"), "{}", run.context());
    run.assert_says(&[&job.base, &job.head]);
    let result = run.json();
    let outcome = &only_target(&result)["outcome"];
    assert_eq!(outcome["status"], "synced", "{result:#}");
    assert_eq!(outcome["docs_url"], DOCS_URL, "{result:#}");
    assert_eq!(outcome["live_commit"], job.base.as_str(), "{result:#}");
    assert_eq!(read_dotenv(&job.report).get("DOCSYNC_URL").map(String::as_str), Some(DOCS_URL));
}

// ---------------------------------------------------------------------------
// Resending an import or export after an answer that may hide a success

/// The export's answer is a 504, but GitBook did start the export: docsync
/// reads git/info, finds it, and follows it. One export, never two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_after_a_504_that_gitbook_started_is_sent_once() {
    let server = mock_server().await;
    let export = |state: &str| operation(state, "export", NEW_STARTED);
    let old_export = gitbook_state(Some(json!({
        "state": "success", "direction": "export", "stage": "finalize", "startedAt": OLD_STARTED,
    })));
    let timeline = Timeline::new(old_export, vec![export("running"), export("success")]);
    let exports = Arc::new(Sequence {
        answers: vec![gitbook_error(504, "Gateway Timeout").insert_header("date", ACCEPTED_DATE)],
        times: Mutex::new(Vec::new()),
        timeline: Some(Arc::clone(&timeline)),
    });
    Mock::given(method("POST"))
        .and(path(EXPORT_PATH))
        .respond_with(SequenceResponder(Arc::clone(&exports)))
        .mount(&server)
        .await;
    mount_info(&server, DatedInfo(Arc::clone(&timeline))).await;
    let job = push_job(&api(&server), &[("DOCSYNC_RETRIES", "3")]);
    mount_live_before_import(&server, SPACE, &job.base).await;

    let run = run_docsync(&job, &["export", "--format", "json"]).await;
    run.assert_code(0);
    assert_eq!(exports.times().len(), 1, "one export only\n{}", run.context());
    let result = run.json();
    assert_eq!(only_target(&result)["outcome"]["status"], "synced", "{result:#}");
}

/// The import's answer is a 504 every time, and git/info shows nothing of
/// ours within the start timeout: GitBook did not process it, so it is sent
/// again, a bounded number of times, then unreachable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_after_a_504_that_gitbook_did_not_start_is_resent_bounded() {
    let server = mock_server().await;
    let imports = Sequence::new(vec![gitbook_error(504, "Gateway Timeout")]);
    mount_import(&server, SequenceResponder(Arc::clone(&imports))).await;
    mount_info(&server, ResponseTemplate::new(200).set_body_json(old_success()).insert_header("date", ACCEPTED_DATE))
        .await;
    let job = push_job(&api(&server), &[("DOCSYNC_RETRIES", "3"), ("DOCSYNC_START_TIMEOUT", "300ms")]);
    mount_live_before_import(&server, SPACE, &job.base).await;

    let run = run_docsync(&job, &["sync"]).await;
    run.assert_code(3);
    assert_eq!(imports.times().len(), 3, "the first import and two resends\n{}", run.context());
    let times = imports.times();
    for pair in times.windows(2) {
        assert!(pair[1] - pair[0] >= Duration::from_millis(300), "resent before the start timeout: {times:?}");
    }
    assert!(run.stderr.contains("sending it again"), "{}", run.context());
}

/// `git/info` by GitBook's clock: the `Date` of each answer.
struct DatedInfo(Arc<Timeline>);

impl Respond for DatedInfo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let after = self.0.imported.load(Ordering::SeqCst);
        let date = if after { "Sun, 22 Nov 2026 15:00:06 GMT" } else { "Sun, 22 Nov 2026 15:00:03 GMT" };
        InfoResponder(Arc::clone(&self.0)).respond(request).insert_header("date", date)
    }
}

// ---------------------------------------------------------------------------
// Whose verdict, under doubt: a pinned operation replaced, a preview, an
// operation without a direction, a clock that cannot be read

/// A commit GitBook's live revision may hold that is not the job's.
const OTHER_COMMIT: &str = "1111111111111111111111111111111111111111";
/// Another pipeline's import, started after ours.
const THEIR_START: &str = "2026-11-22T15:00:20Z";

/// Ours runs (docsync sees it and pins it), then another pipeline's import
/// takes its place and succeeds: its verdict is never ours. What is known is
/// the live revision: our commit (`verified`) or not (result unknown, exit 3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_operation_in_place_of_ours_is_never_taken_for_ours() {
    for (live, code, status) in [(None, 3, "unreachable"), (Some(()), 0, "verified")] {
        let server = mock_server().await;
        let timeline = Timeline::new(
            old_success(),
            vec![
                new_operation("running", "cloning"),
                operation("running", "import", THEIR_START),
                operation("success", "import", THEIR_START),
            ],
        );
        let imports = mount_timeline(&server, &timeline).await;
        let job = push_job(&api(&server), &[]);
        mount_live_before_import(&server, SPACE, &job.base).await;
        mount_content(&server, if live.is_some() { &job.head } else { OTHER_COMMIT }).await;

        let run = run_docsync(&job, &["sync", "--format", "json"]).await;
        run.assert_code(code);
        assert!(run.stderr.contains("no longer shows"), "{}", run.context());
        let result = run.json();
        let outcome = &only_target(&result)["outcome"];
        assert_eq!(outcome["status"], status, "{result:#}");
        assert_ne!(outcome["operation"]["startedAt"], THEIR_START, "theirs is not ours: {result:#}");
        if code == 3 {
            run.assert_says(&["result unknown", OTHER_COMMIT]);
        }
        assert_eq!(imports.times().len(), 1, "{}", run.context());
    }
}

/// An operation without a `direction` (GitBook's spec requires one) is not
/// ours: the target ends `not_started`, not with its success.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operation_without_a_direction_is_not_ours() {
    let server = mock_server().await;
    let undirected = gitbook_state(Some(json!({ "state": "success", "startedAt": NEW_STARTED })));
    let timeline = Timeline::new(old_success(), vec![undirected]);
    mount_timeline(&server, &timeline).await;
    let job = push_job(&api(&server), &[("DOCSYNC_START_TIMEOUT", "1s")]);
    mount_live_before_import(&server, SPACE, &job.base).await;
    mount_content(&server, &job.head).await;

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(1);
    let result = run.json();
    assert_eq!(only_target(&result)["outcome"]["status"], "not_started", "{result:#}");
    // The guard's read before the import only: nothing of ours to verify.
    assert_eq!(count(&received(&server).await, "GET", CONTENT_PATH), 1, "nothing of ours to verify");
}

/// On a merge request, a branch import starts after the preview's 204 and
/// fails. `git/info` does not say which ref an operation imported nor
/// whether it was standalone, so no operation shown there is the preview's:
/// the preview ends `queued`, never with the branch import's failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_never_takes_a_branch_imports_verdict() {
    let server = mock_server().await;
    let mut branch_failure = operation("failure", "import", NEW_STARTED);
    branch_failure["operation"]["error"] = json!("the branch import failed");
    let timeline = Timeline::new(old_success(), vec![operation("running", "import", NEW_STARTED), branch_failure]);
    let imports = mount_timeline(&server, &timeline).await;
    let mut job = push_job(&api(&server), &[]);
    mount_live_before_import(&server, SPACE, &job.base).await;
    let (base, head) = (job.base.clone(), job.head.clone());
    for (key, value) in ci_env(Pipeline::MergeRequest { iid: 7, diff_base: &base, sha: &head, source_branch_sha: None })
    {
        job.set(&key, &value);
    }
    job.env.remove("CI_COMMIT_BRANCH");

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(0);
    assert!(!run.stdout.contains("the branch import failed"), "{}", run.context());
    let result = run.json();
    let target = only_target(&result);
    assert_eq!(target["action"], "preview", "{result:#}");
    assert_eq!(target["outcome"]["status"], "queued", "{result:#}");
    assert!(target["outcome"].get("operation").is_none(), "{result:#}");
    assert_eq!(imports.times().len(), 1, "{}", run.context());
    let requests = received(&server).await;
    assert_eq!(count(&requests, "GET", INFO_PATH), 0, "nothing to read: {:?}", routes(&requests));
}

/// GitBook's 204 carries no `Date` docsync can read (none, or `-0000` where
/// HTTP says `GMT`), and GitBook's clock runs five minutes ahead of the
/// runner's: the operation it shows started before our request by its clock.
/// Without GitBook's time of acceptance no verdict can be matched to the
/// request: a warning, and result unknown (exit 3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_gitbooks_date_no_verdict_is_matched() {
    let gitbook_now = time::OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let earlier = (gitbook_now - time::Duration::minutes(1))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("an RFC 3339 time");
    let shown = operation("success", "import", &earlier);

    // hyper, under wiremock, dates every answer itself: a GitBook that sends
    // no Date at all is a bare HTTP/1.1 server.
    let live: Arc<OnceLock<String>> = Arc::default();
    let answer = {
        let (shown, live) = (shown.clone(), Arc::clone(&live));
        move |request_line: &str| {
            Some(if request_line.starts_with("POST ") {
                BARE_NO_CONTENT.to_owned()
            } else if request_line.contains("/content") {
                bare_json(&revision(live.get().map(String::as_str).unwrap_or_default()), "")
            } else {
                bare_json(&shown, "")
            })
        }
    };
    let undated = BareGitBook::open(Box::new(answer));
    let job = push_job(&undated.api(), &[]);
    let _ = live.set(job.base.clone());
    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    assert_unmatched(&run, "no Date header");
    assert_eq!(undated.posts.load(Ordering::SeqCst), 1, "{}", run.context());

    let numeric = "Sun, 22 Nov 2026 15:00:04 -0000";
    let server = mock_server().await;
    let timeline = Timeline::new(old_success(), vec![shown]);
    let imports = Arc::new(Sequence {
        answers: vec![ResponseTemplate::new(204).insert_header("date", numeric)],
        times: Mutex::new(Vec::new()),
        timeline: Some(Arc::clone(&timeline)),
    });
    mount_import(&server, SequenceResponder(Arc::clone(&imports))).await;
    mount_info(&server, InfoResponder(Arc::clone(&timeline))).await;
    let job = push_job(&api(&server), &[]);
    mount_live_before_import(&server, SPACE, &job.base).await;
    mount_content(&server, &job.head).await;
    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    assert_unmatched(&run, numeric);
    assert_eq!(imports.times().len(), 1, "{}", run.context());
}

fn assert_unmatched(run: &Run, why: &str) {
    assert_eq!(run.code(), Some(3), "{why}\n{}", run.context());
    let warning = run.stderr.lines().find(|l| l.contains("WARN") && l.contains(why));
    assert!(warning.is_some(), "a warning naming {why:?}\n{}", run.context());
    run.assert_says(&["result unknown"]);
    assert_eq!(only_target(&run.json())["outcome"]["status"], "unreachable", "{}", run.context());
}

/// A bare HTTP/1.1 GitBook, one request per connection: `answer` gets the
/// request line and gives the whole answer, or `None` to drop the
/// connection unanswered. Counts the POSTs.
struct BareGitBook {
    port: u16,
    posts: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

type BareAnswer = Box<dyn Fn(&str) -> Option<String> + Send>;

impl BareGitBook {
    fn open(answer: BareAnswer) -> BareGitBook {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let port = listener.local_addr().expect("the listener's address").port();
        let posts = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (posts, stop) = (Arc::clone(&posts), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let Ok((stream, _)) = listener.accept() else {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    stream.set_nonblocking(false).expect("a blocking stream");
                    let mut reader = BufReader::new(stream);
                    let (mut request_line, mut length) = (String::new(), 0);
                    reader.read_line(&mut request_line).expect("a request line");
                    loop {
                        let mut line = String::new();
                        reader.read_line(&mut line).expect("a header line");
                        if line.trim().is_empty() {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':') {
                            if name.eq_ignore_ascii_case("content-length") {
                                length = value.trim().parse().expect("a length");
                            }
                        }
                    }
                    reader.read_exact(&mut vec![0; length]).expect("the body");
                    if request_line.starts_with("POST ") {
                        posts.fetch_add(1, Ordering::SeqCst);
                    }
                    if let Some(text) = answer(&request_line) {
                        reader.get_mut().write_all(text.as_bytes()).expect("an answer");
                    }
                }
            })
        };
        BareGitBook { port, posts, stop, thread: Some(thread) }
    }

    fn api(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }
}

impl Drop for BareGitBook {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A JSON answer, with these extra header lines (`Name: value\r\n` each).
fn bare_json(json: &Value, headers: &str) -> String {
    let body = json.to_string();
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{headers}Connection: close\r\n\r\n{body}",
        body.len()
    )
}

const BARE_NO_CONTENT: &str = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";

/// GitBook shows an import whose `startedAt` docsync cannot read: whether it
/// is ours cannot be told, and the run says so (exit 3) instead of blaming
/// the space's installation for starting nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_started_at_is_named_not_blamed_on_the_installation() {
    let server = mock_server().await;
    let garbled = "22/11/2026 15:00:05";
    let timeline = Timeline::new(
        old_success(),
        vec![operation("running", "import", garbled), operation("success", "import", garbled)],
    );
    mount_timeline(&server, &timeline).await;
    let job = push_job(&api(&server), &[("DOCSYNC_START_TIMEOUT", "1s")]);
    mount_live_before_import(&server, SPACE, &job.base).await;
    mount_content(&server, &job.head).await;

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(3);
    run.assert_says(&["startedAt", garbled, "result unknown"]);
    assert!(!run.stdout.contains("Git Sync installation"), "{}", run.context());
    assert_eq!(only_target(&run.json())["outcome"]["status"], "unreachable", "{}", run.context());
}

/// Shows GitBook's old operation until `delay` after the first request
/// reached `posts`, then `ours` (started after it) running, then succeeded;
/// dated by GitBook's clock like [`DatedInfo`].
struct StartsLater {
    posts: Arc<Sequence>,
    delay: Duration,
    direction: &'static str,
}

impl Respond for StartsLater {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let times = self.posts.times();
        let (answer, date) = match times.first() {
            Some(first) if first.elapsed() >= self.delay => {
                let state =
                    if first.elapsed() >= self.delay + Duration::from_millis(300) { "success" } else { "running" };
                (operation(state, self.direction, NEW_STARTED), "Sun, 22 Nov 2026 15:00:06 GMT")
            }
            _ => (old_success(), "Sun, 22 Nov 2026 15:00:03 GMT"),
        };
        ResponseTemplate::new(200).set_body_json(answer).insert_header("date", date)
    }
}

/// The import's answer is a 502, the export's a 504, every time; GitBook
/// got the first and starts it 1.5 s later. docsync waits for an operation
/// of its own (up to DOCSYNC_START_TIMEOUT, 2 min by default) before
/// deciding the request was not processed: one import, one export.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_gitbook_starts_late_after_a_502_or_504_is_sent_once() {
    for (route, command, status, direction) in
        [(IMPORT_PATH, "sync", 502, "import"), (EXPORT_PATH, "export", 504, "export")]
    {
        let server = mock_server().await;
        let posts = Sequence::new(vec![gitbook_error(status, "Bad Gateway").insert_header("date", ACCEPTED_DATE)]);
        Mock::given(method("POST"))
            .and(path(route))
            .respond_with(SequenceResponder(Arc::clone(&posts)))
            .mount(&server)
            .await;
        let starts_later = StartsLater { posts: Arc::clone(&posts), delay: Duration::from_millis(1500), direction };
        mount_info(&server, starts_later).await;
        let job = push_job(&api(&server), &[("DOCSYNC_RETRIES", "3")]);
        mount_live_before_import(&server, SPACE, &job.base).await;
        mount_content(&server, &job.head).await;

        let run = run_docsync(&job, &[command, "--format", "json"]).await;
        assert_eq!(posts.times().len(), 1, "one {direction} only\n{}", run.context());
        run.assert_code(0);
        let result = run.json();
        assert_eq!(only_target(&result)["outcome"]["operation"]["startedAt"], NEW_STARTED, "{result:#}");
    }
}

/// The import's connection is dropped before any answer, and GitBook got
/// it: it starts 1.5 s later. One import, followed to its end (its live
/// revision, another commit here, is beside the point).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_whose_connection_dropped_and_that_gitbook_starts_late_is_sent_once() {
    let first_post: Arc<Mutex<Option<Instant>>> = Arc::default();
    // The live revision before the import: the job's base.
    let live: Arc<OnceLock<String>> = Arc::default();
    let answer = {
        let (first_post, live) = (Arc::clone(&first_post), Arc::clone(&live));
        move |request_line: &str| {
            let mut first = first_post.lock().unwrap_or_else(|p| p.into_inner());
            if request_line.starts_with("POST ") {
                first.get_or_insert_with(Instant::now);
                return None;
            }
            if request_line.contains("/content") && first.is_none() {
                return Some(bare_json(&revision(live.get().map(String::as_str).unwrap_or_default()), ""));
            }
            if request_line.contains("/content") {
                return Some(bare_json(&revision(OTHER_COMMIT), ""));
            }
            let (shown, date) = match *first {
                Some(at) if at.elapsed() >= Duration::from_millis(1500) => {
                    let state = if at.elapsed() >= Duration::from_millis(1800) { "success" } else { "running" };
                    (operation(state, "import", NEW_STARTED), "Sun, 22 Nov 2026 15:00:06 GMT")
                }
                _ => (old_success(), "Sun, 22 Nov 2026 15:00:03 GMT"),
            };
            Some(bare_json(&shown, &format!("Date: {date}\r\n")))
        }
    };
    let gitbook = BareGitBook::open(Box::new(answer));
    let job = push_job(&gitbook.api(), &[("DOCSYNC_RETRIES", "2")]);
    let _ = live.set(job.base.clone());

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    assert_eq!(gitbook.posts.load(Ordering::SeqCst), 1, "one import only\n{}", run.context());
    run.assert_code(0);
    let result = run.json();
    assert_eq!(only_target(&result)["outcome"]["operation"]["startedAt"], NEW_STARTED, "{result:#}");
    assert_eq!(only_target(&result)["outcome"]["operation"]["state"], "success", "{result:#}");
}

// ---------------------------------------------------------------------------
// Reports

/// A report path that cannot be written is docsync's own failure (exit 4),
/// found before GitBook is called.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_report_path_exits_4_before_any_request() {
    for variable in ["DOCSYNC_REPORT", "DOCSYNC_REPORT_JSON"] {
        let server = mock_server().await;
        let mut job = push_job(&api(&server), &[]);
        mount_live_before_import(&server, SPACE, &job.base).await;
        let missing = job.repo.root().join("no-such-directory").join("report");
        job.set(variable, &missing.display().to_string());

        let run = run_docsync(&job, &["sync"]).await;
        assert_eq!(run.code(), Some(4), "{variable}\n{}", run.context());
        assert!(run.stderr.contains("could not finish locally"), "{}", run.context());
        assert!(run.stderr.contains(variable), "{}", run.context());
        assert!(received(&server).await.is_empty(), "no request before the report paths are known to work");
    }
}

/// A report that fails to write after the sync (a full disk): the result is
/// still printed, and the job ends 4.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_that_fails_to_write_still_prints_the_result() {
    let server = mock_server().await;
    mount_import(&server, gitbook_accepted()).await;
    let job = push_job(&api(&server), &[("DOCSYNC_WAIT", "false"), ("DOCSYNC_REPORT_JSON", "/dev/full")]);
    mount_live_before_import(&server, SPACE, &job.base).await;

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(4);
    assert_eq!(only_target(&run.json())["outcome"]["status"], "queued", "{}", run.context());
    assert!(run.stderr.contains("DOCSYNC_REPORT_JSON"), "{}", run.context());
}

/// GitLab refuses a dotenv report of more than 20 variables or 5,120 bytes,
/// or with a key twice; 25 targets (two of them `docs-en` and `docs_en`)
/// stay within, and the JSON report has all 25.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_five_targets_write_a_dotenv_gitlab_accepts_and_a_full_json_report() {
    let server = mock_server().await;
    Mock::given(method("POST")).respond_with(gitbook_accepted()).mount(&server).await;
    let mut job = push_job(&api(&server), &[("DOCSYNC_WAIT", "false")]);
    job.env.remove("DOCSYNC_GITBOOK_SPACE");
    let mut names: Vec<String> = (1..=23).map(|i| format!("handbook-section-{i:02}")).collect();
    names.extend(["docs-en".to_owned(), "docs_en".to_owned()]);
    let mut toml = format!("[defaults]\ngitbook_api_url = \"{}\"\nproject_directory = \"docs\"\n", api(&server));
    for (i, name) in names.iter().enumerate() {
        toml.push_str(&format!("\n[[target]]\nname = \"{name}\"\nkind = \"gitbook\"\ngitbook_space = \"spc{i:02}\"\n"));
    }
    job.repo.write("docsync.toml", &toml);
    job.repo.git(&["add", "docsync.toml"]);
    job.repo.git(&["commit", "-q", "--amend", "--no-edit"]);
    job.head = job.repo.head();
    job.set("CI_COMMIT_SHA", &job.head.clone());
    for i in 0..names.len() {
        mount_live_before_import(&server, &format!("spc{i:02}"), &job.base).await;
    }

    let run = run_docsync(&job, &["sync"]).await;
    run.assert_code(0);
    let text = std::fs::read_to_string(&job.report).expect("the dotenv report");
    let keys: Vec<&str> = text.lines().map(|l| l.split_once('=').map_or(l, |(k, _)| k)).collect();
    assert!(keys.len() <= 20, "{} variables:\n{text}", keys.len());
    assert!(text.len() <= 5_120, "{} bytes:\n{text}", text.len());
    let mut unique = keys.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), keys.len(), "a key twice:\n{text}");
    assert!(keys.iter().all(|k| k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')), "{text}");
    let json = json_report(&job);
    let listed: Vec<&str> =
        json["targets"].as_array().expect("targets").iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(listed.len(), 25, "{json:#}");
    for name in &names {
        assert!(listed.contains(&name.as_str()), "{name} in the JSON report");
    }
    assert!(
        json["targets"].as_array().expect("targets").iter().all(|t| t["outcome"]["status"] == "queued"),
        "{json:#}"
    );
}
