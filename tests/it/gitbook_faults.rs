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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use common::{
    Job, NEW_STARTED, OLD_STARTED, PIPELINE_CREATED_AT_UTC, Pipeline, Run, TestRepo, ci_env, gitbook_state,
    mock_server, old_success, read_dotenv, run_in_background,
};

const SPACE: &str = "spcFaults";
const TOKEN: &str = "gbtok-faults-0001";
const GIT_TOKEN: &str = "gittok-faults-0002";
const USER_AGENT: &str = concat!("docsync/", env!("CARGO_PKG_VERSION"));
const IMPORT_PATH: &str = "/v1/spaces/spcFaults/git/import";
const INFO_PATH: &str = "/v1/spaces/spcFaults/git/info";

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
    let report = repo.outside_dir("artifacts").join("docsync.env");
    let mut env = ci_env(Pipeline::Push { branch: "main", before: &base, sha: &head });
    for (key, value) in [
        ("DOCSYNC_GITBOOK_SPACE", SPACE),
        ("DOCSYNC_GITBOOK_TOKEN", TOKEN),
        ("DOCSYNC_GIT_TOKEN", GIT_TOKEN),
        ("DOCSYNC_GITBOOK_API_URL", api),
        ("DOCSYNC_PROJECT_DIRECTORY", "docs"),
        ("DOCSYNC_WAIT", "true"),
        ("DOCSYNC_WAIT_TIMEOUT", "10s"),
        ("DOCSYNC_POLL_INTERVAL", "50ms"),
        ("DOCSYNC_RETRIES", "0"),
        ("DOCSYNC_RETRY_DELAY", "50ms"),
        ("DOCSYNC_HTTP_TIMEOUT", "5s"),
    ] {
        env.insert(key.to_owned(), value.to_owned());
    }
    env.insert("DOCSYNC_REPORT".to_owned(), report.display().to_string());
    for (key, value) in extra {
        env.insert((*key).to_owned(), (*value).to_owned());
    }
    Job { repo, env, report, base, head }
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

fn assert_report(job: &Job, status: &str, outcome: &str) {
    let report = read_dotenv(&job.report);
    let expected = [
        ("DOCSYNC_STATUS", status),
        ("DOCSYNC_RANGE_BASE", job.base.as_str()),
        ("DOCSYNC_RANGE_HEAD", job.head.as_str()),
        ("DOCSYNC_RANGE_MODE", "push"),
        ("DOCSYNC_CHANGED", "3"),
        ("DOCSYNC_TARGETS", "gitbook"),
        ("DOCSYNC_TARGET_GITBOOK_ACTION", "import"),
        ("DOCSYNC_TARGET_GITBOOK_CHANGED", "2"),
        ("DOCSYNC_TARGET_GITBOOK_OUTCOME", outcome),
    ];
    for (key, value) in expected {
        assert_eq!(report.get(key).map(String::as_str), Some(value), "{key} in the report {report:#?}");
    }
}

// ---------------------------------------------------------------------------
// The mock GitBook

fn api(server: &MockServer) -> String {
    format!("{}/v1", server.uri())
}

fn new_operation(state_name: &str, stage: &str) -> Value {
    gitbook_state(Some(json!({ "state": state_name, "direction": "import", "stage": stage, "startedAt": NEW_STARTED })))
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
            answers: vec![ResponseTemplate::new(204)],
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
            route == ("POST", IMPORT_PATH) || route == ("GET", INFO_PATH),
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

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(0);
    for line in ["import running (cloning)", "import running (importing pages)", "import success (done)"] {
        assert_eq!(run.stderr.matches(line).count(), 1, "stderr should show {line:?} once\n{}", run.context());
    }
    let result = run.json();
    assert_eq!(result["status"], "synced", "{result:#}");
    let outcome = &only_target(&result)["outcome"];
    assert_eq!(outcome["status"], "synced", "{result:#}");
    assert_eq!(outcome["operation"]["startedAt"], NEW_STARTED, "the reported operation is ours: {result:#}");

    let requests = received(&server).await;
    assert_only_gitbook_routes(&requests);
    assert_headers(&requests);
    assert_import_bodies(&requests);
    assert_eq!(count(&requests, "POST", IMPORT_PATH), 1, "{:?}", routes(&requests));
    // One read before the import, then one per answer until success.
    assert_eq!(count(&requests, "GET", INFO_PATH), 1 + 6, "{:?}", routes(&requests));
    assert_eq!(routes(&requests)[..2], [format!("GET {INFO_PATH}"), format!("POST {IMPORT_PATH}")]);
    assert_report(&job, "synced", "synced");
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

    let run = run_docsync(&job, &["sync"]).await;
    run.assert_code(1);
    run.assert_says(&["still running", "DOCSYNC_WAIT_TIMEOUT"]);
    assert!(run.elapsed >= Duration::from_secs(1), "{}", run.context());
    assert_report(&job, "failed", "timed_out");
}

/// GitBook keeps showing the operation that ended before the job: docsync
/// must not take that old success for the result of its own import.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_finished_operation_is_never_taken_for_ours() {
    let server = mock_server().await;
    let timeline = Timeline::new(old_success(), vec![old_success()]);
    mount_timeline(&server, &timeline).await;
    let job = push_job(&api(&server), &[("DOCSYNC_WAIT_TIMEOUT", "1s")]);

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(1);
    let result = run.json();
    let outcome = &only_target(&result)["outcome"];
    assert_eq!(outcome["status"], "timed_out", "{result:#}");
    assert_ne!(outcome["operation"]["startedAt"], OLD_STARTED, "{result:#}");
    assert!(!run.stderr.contains("import success"), "{}", run.context());
    let requests = received(&server).await;
    assert!(count(&requests, "GET", INFO_PATH) >= 3, "docsync should have kept polling: {:?}", routes(&requests));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_cannot_read_git_info_still_queues_the_import() {
    let server = mock_server().await;
    mount_import(&server, ResponseTemplate::new(204)).await;
    mount_info(&server, gitbook_error(403, "You do not have permission to read this space's Git Sync")).await;
    let job = push_job(&api(&server), &[]);

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
    mount_import(&server, ResponseTemplate::new(204)).await;
    mount_info(&server, ResponseTemplate::new(200).set_body_json(old_success())).await;
    let job = push_job(&api(&server), &[("DOCSYNC_WAIT", "false")]);

    let run = run_docsync(&job, &["sync", "--format", "json"]).await;
    run.assert_code(0);
    assert_eq!(only_target(&run.json())["outcome"]["status"], "queued", "{}", run.context());
    let requests = received(&server).await;
    assert_eq!(routes(&requests), [format!("POST {IMPORT_PATH}")]);
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
        ResponseTemplate::new(204),
    ]);
    mount_import(&server, SequenceResponder(Arc::clone(&imports))).await;
    let job = push_job(&api(&server), &[("DOCSYNC_WAIT", "false"), ("DOCSYNC_RETRIES", "3")]);

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_are_unreachable_after_the_retries() {
    let door = SlammingDoor::open();
    let api = format!("http://127.0.0.1:{}/v1", door.port);
    let job = push_job(&api, &[("DOCSYNC_WAIT", "false"), ("DOCSYNC_RETRIES", "2")]);

    let run = run_docsync(&job, &["sync"]).await;
    run.assert_code(3);
    assert!(run.stderr.contains("3 attempts"), "{}", run.context());
    assert_eq!(door.accepted.load(Ordering::SeqCst), 3, "one connection per attempt\n{}", run.context());
    assert_report(&job, "unreachable", "unreachable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_slower_than_the_http_timeout_are_retried_then_unreachable() {
    let server = mock_server().await;
    mount_import(&server, ResponseTemplate::new(204).set_delay(Duration::from_secs(3))).await;
    let job =
        push_job(&api(&server), &[("DOCSYNC_WAIT", "false"), ("DOCSYNC_RETRIES", "1"), ("DOCSYNC_HTTP_TIMEOUT", "1s")]);

    let run = run_docsync(&job, &["sync"]).await;
    run.assert_code(3);
    assert!(run.stderr.contains("timed out"), "{}", run.context());
    assert!(run.elapsed >= Duration::from_secs(2), "two attempts of 1s each\n{}", run.context());
    let requests = received(&server).await;
    assert_eq!(count(&requests, "POST", IMPORT_PATH), 2, "{:?}", routes(&requests));
}

// ---------------------------------------------------------------------------
// Refusals: never retried, each with the variable to fix

async fn refused_import(answer: ResponseTemplate) -> (Run, Vec<Request>) {
    let server = mock_server().await;
    mount_import(&server, answer).await;
    let job = push_job(&api(&server), &[("DOCSYNC_WAIT", "false"), ("DOCSYNC_RETRIES", "3")]);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_request_quotes_gitbooks_message() {
    let (run, _) = refused_import(gitbook_error(400, "Invalid ref: refs/heads/main does not exist")).await;
    run.assert_code(1);
    run.assert_says(&["400", "Invalid ref: refs/heads/main does not exist", "fix:"]);
}
