//! No secret in any output: the real binary runs every command with known,
//! distinctive secrets planted in the environment (some padded with
//! whitespace, which docsync trims), against servers that echo the
//! `Authorization`/`X-Gitlab-Token` headers and the request body back in
//! their answers — as is, after a long padding (so a message cut short
//! would cut a secret), JSON-escaped, percent-encoded, and in the
//! `Location` of a redirect — and each run's stdout, stderr and reports
//! are searched for every planted value, JSON-escaped and URL-encoded.
//! GitBook's failed operation echoes them in `error` and `errorAction`;
//! webhook receivers echo `Authorization` (the Basic auth of the webhook
//! URL's user info), the path and the query; what docsync wrote to GitLab
//! (the stand-in's stored merge request note, the export merge request's
//! title and description) and the Code Quality report are searched too.

use crate::common;
use crate::gitlab::stand_in::{StandIn, State};

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{any, method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use common::{Env, Pipeline, TestRepo, ci_env, gitbook_accepted, run_in_background, with};

const GITBOOK_TOKEN: &str = "gbtok-PLANTED-1111";
const GITLAB_TOKEN: &str = "gltok-PLANTED-2222";
const DOT_SECRET: &str = "dotsec-PLANTED-3333";
const JOB_TOKEN: &str = "jobtok-PLANTED-4444";
const REPOSITORY_URL_PASSWORD: &str = "repourl-PLANTED-5555";
const REPOSITORY_URL: &str = "https://gitlab-ci-token:repourl-PLANTED-5555@gitlab.example.com/group/project.git";
const GIT_TOKEN: &str = "gittok-PLANTED-6666";
/// A git token with characters that URL encoding and JSON escaping change,
/// for the scenarios where the clone URL GitBook received is echoed back.
const SPECIAL_GIT_TOKEN: &str = r#"gittok/PLANTED+7777@x:y"z\w"#;

/// A webhook URL's secrets: receivers carry one in the user info (sent as
/// Basic auth), the path or the query.
const DOT_URL_PASSWORD: &str = "dotpass-PLANTED-8888";
/// `Authorization: Basic` for `hookuser:<DOT_URL_PASSWORD>`.
const DOT_URL_BASIC: &str = "aG9va3VzZXI6ZG90cGFzcy1QTEFOVEVELTg4ODg=";
const DOT_PATH_TOKEN: &str = "dotpath-PLANTED-9999";
const DOT_QUERY_KEY: &str = "dotkey-PLANTED-0000";

/// Every planted value, with where it was planted.
const PLANTED: &[(&str, &str)] = &[
    ("DOCSYNC_GITBOOK_TOKEN", GITBOOK_TOKEN),
    ("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN),
    ("DOCSYNC_DOT_WEBHOOK_SECRET", DOT_SECRET),
    ("CI_JOB_TOKEN", JOB_TOKEN),
    ("CI_REPOSITORY_URL (password)", REPOSITORY_URL_PASSWORD),
    ("DOCSYNC_GIT_TOKEN", GIT_TOKEN),
    ("DOCSYNC_GIT_TOKEN (special characters)", SPECIAL_GIT_TOKEN),
    ("DOCSYNC_DOT_WEBHOOK_URL (password)", DOT_URL_PASSWORD),
    ("DOCSYNC_DOT_WEBHOOK_URL (Basic auth)", DOT_URL_BASIC),
    ("DOCSYNC_DOT_WEBHOOK_URL (path)", DOT_PATH_TOKEN),
    ("DOCSYNC_DOT_WEBHOOK_URL (query)", DOT_QUERY_KEY),
];

// ---------------------------------------------------------------------------
// Finding leaks

/// The forms a secret can take in output: as is, and percent-encoded the
/// ways URLs and forms encode it (reserved characters only, or everything
/// but letters and digits; upper- and lower-case hex; `+` for spaces).
fn variants(secret: &str) -> Vec<(&'static str, String)> {
    fn encode(secret: &str, keep: impl Fn(u8) -> bool, lower: bool, plus_for_space: bool) -> String {
        let mut out = String::new();
        for byte in secret.bytes() {
            if keep(byte) {
                out.push(byte as char);
            } else if byte == b' ' && plus_for_space {
                out.push('+');
            } else if lower {
                out.push_str(&format!("%{byte:02x}"));
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        out
    }
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    let alphanumeric = |b: u8| b.is_ascii_alphanumeric();
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json[1..json.len() - 1].to_owned();
    let mut all = vec![
        ("as is", secret.to_owned()),
        ("JSON-escaped", json.clone()),
        ("JSON-escaped with \\/", json.replace('/', "\\/")),
        ("percent-encoded", encode(secret, unreserved, false, false)),
        ("percent-encoded (lower-case hex)", encode(secret, unreserved, true, false)),
        ("form-encoded", encode(secret, unreserved, false, true)),
        ("fully percent-encoded", encode(secret, alphanumeric, false, false)),
        ("fully percent-encoded (lower-case hex)", encode(secret, alphanumeric, true, false)),
    ];
    let mut seen = std::collections::BTreeSet::new();
    all.retain(|(_, value)| seen.insert(value.clone()));
    all
}

/// Every planted secret found in `outputs` (`(where, text)`), described
/// with its variable, its form, where, and the text around it.
fn find_leaks(outputs: &[(String, String)]) -> Vec<String> {
    let mut leaks = Vec::new();
    for (variable, secret) in PLANTED {
        for (form, value) in variants(secret) {
            for (place, text) in outputs {
                for (at, _) in text.match_indices(&value) {
                    let start = floor_char_boundary(text, at.saturating_sub(120));
                    let end = floor_char_boundary(text, (at + value.len() + 120).min(text.len()));
                    leaks.push(format!(
                        "{variable} ({form}: {value:?}) leaked in {place} at byte {at}:\n    …{}…",
                        text[start..end].replace('\n', "\n    ")
                    ));
                }
            }
        }
    }
    leaks
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// Not the shared `common::Run`: a scenario's run names the scenario in its
/// messages and carries the files it wrote, which are searched for leaks too.
struct Run {
    scenario: String,
    output: Output,
    stdout: String,
    stderr: String,
    /// Files docsync wrote that were searched too (the dotenv report).
    files: Vec<(PathBuf, String)>,
}

impl Run {
    fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    fn context(&self) -> String {
        format!(
            "scenario {}: exit {:?}\nstdout:\n{}\nstderr:\n{}",
            self.scenario,
            self.code(),
            self.stdout,
            self.stderr
        )
    }

    fn assert_code(&self, code: i32) {
        assert_eq!(self.code(), Some(code), "{}", self.context());
    }

    fn assert_no_leak(&self) {
        // `SECRETS_TEST_SHOW=1 cargo test --test it secrets:: -- --nocapture`
        // shows what every scenario printed.
        if std::env::var_os("SECRETS_TEST_SHOW").is_some() {
            eprintln!("==== {}\n", self.context());
        }
        let mut outputs = vec![("stdout".to_owned(), self.stdout.clone()), ("stderr".to_owned(), self.stderr.clone())];
        for (path, text) in &self.files {
            outputs.push((format!("the file {}", path.display()), text.clone()));
        }
        let leaks = find_leaks(&outputs);
        assert!(
            leaks.is_empty(),
            "scenario {}: {} secret(s) leaked:\n\n{}\n\n{}",
            self.scenario,
            leaks.len(),
            leaks.join("\n\n"),
            self.context()
        );
    }
}

/// A check that cannot fail is a defect: the detector finds a planted value
/// as is, percent-encoded and form-encoded, and names where.
#[test]
fn the_leak_detector_finds_planted_values_in_every_form() {
    let outputs = vec![
        ("stdout".to_owned(), format!("token {GITBOOK_TOKEN} here")),
        ("stderr".to_owned(), "url https://oauth2:gittok%2FPLANTED%2B7777%40x%3Ay%22z%5Cw@host".to_owned()),
        ("report".to_owned(), r#"{"message": "gittok\/PLANTED+7777@x:y\"z\\w"}"#.to_owned()),
        ("clean".to_owned(), "gbtok-PLANTED-111 and [MASKED]".to_owned()),
    ];
    let leaks = find_leaks(&outputs);
    assert_eq!(leaks.len(), 3, "{leaks:#?}");
    assert!(leaks[0].starts_with("DOCSYNC_GITBOOK_TOKEN (as is"), "{leaks:#?}");
    assert!(leaks[0].contains("leaked in stdout") && leaks[0].contains("token gbtok-PLANTED-1111 here"), "{leaks:#?}");
    assert!(leaks.iter().any(|l| l.contains("(percent-encoded:") && l.contains("in stderr")), "{leaks:#?}");
    assert!(leaks.iter().any(|l| l.contains("(JSON-escaped with") && l.contains("in report")), "{leaks:#?}");
}

// ---------------------------------------------------------------------------
// Servers that echo what they were sent

/// The request as the server saw it, secrets and all.
fn echo(request: &Request) -> String {
    let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    format!(
        "{} {} with Authorization: {}; X-Gitlab-Token: {}; PRIVATE-TOKEN: {}; JOB-TOKEN: {}; body: {}",
        request.method,
        request.url,
        header("authorization"),
        header("x-gitlab-token"),
        header("private-token"),
        header("job-token"),
        String::from_utf8_lossy(&request.body)
    )
}

/// Answers `status` with GitBook's error shape, the message echoing the request.
struct Echo(u16);

impl Respond for Echo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        ResponseTemplate::new(self.0)
            .set_body_json(json!({ "error": { "code": self.0, "message": format!("rejected: {}", echo(request)) } }))
    }
}

/// Answers `status` with plain text echoing the request in every form a
/// server may use: after 278 characters of padding (a message cut at 300
/// characters would cut the first secret in two), as a JSON string, and
/// percent-encoded.
struct EchoForms(u16);

impl Respond for EchoForms {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let echoed = echo(request);
        let encoded: String = echoed
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect();
        let message = format!(
            "{} {echoed} json={} encoded={encoded}",
            "x".repeat(278),
            serde_json::to_string(&echoed).unwrap_or_default()
        );
        // Plain text: the message docsync shows is cut after 300 characters.
        ResponseTemplate::new(self.0).set_body_string(message)
    }
}

/// Redirects, the secrets in the `Location`'s user info and query.
struct EchoRedirect;

impl Respond for EchoRedirect {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let token = header("authorization").trim_start_matches("Bearer ").to_owned();
        let location = format!(
            "https://u:{}@moved.example.invalid/next?token={token}&secret={}&private={}&job={}",
            header("x-gitlab-token"),
            header("x-gitlab-token"),
            header("private-token"),
            header("job-token"),
        );
        ResponseTemplate::new(302).insert_header("Location", location.as_str())
    }
}

/// A server whose unmatched routes answer 599 echoing the request, so any
/// call docsync makes (GitBook, GitLab, Dot) reflects its secrets.
async fn echo_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(|request: &Request| {
            ResponseTemplate::new(599).set_body_string(format!("unexpected request: {}", echo(request)))
        })
        .with_priority(u8::MAX)
        .mount(&server)
        .await;
    server
}

async fn mount(server: &MockServer, verb: &str, route: &str, responder: impl Respond + 'static) {
    Mock::given(method(verb)).and(path_regex(route)).respond_with(responder).mount(server).await;
}

/// The space's live revision, read before every import: commit `oid`, the
/// one before the push.
async fn mount_live(server: &MockServer, oid: &str) {
    let revision = common::live_revision(oid);
    mount(server, "GET", "^/v1/spaces/spcSecrets/content$", ResponseTemplate::new(200).set_body_json(revision)).await;
    // `docsync status` lists the open change requests: none.
    let none = ResponseTemplate::new(200).set_body_json(serde_json::json!({ "items": [] }));
    mount(server, "GET", "^/v1/spaces/spcSecrets/change-requests$", none).await;
}

/// `git/info` with an operation whose error and fix link echo the request.
struct EchoingFailedOperation;

impl Respond for EchoingFailedOperation {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(json!({
            "installationId": "inst-1",
            "installationProvider": "gitlab",
            "installationStatus": "active",
            "repoName": "group/project",
            "url": format!("https://oauth2:{GIT_TOKEN}@gitlab.example.com/group/project/-/tree/main"),
            "operation": {
                "state": "failure",
                "direction": "import",
                "stage": format!("cloning with {GIT_TOKEN}"),
                // Never the operation shown before the import: a new start each time.
                "startedAt": format!("2026-11-22T15:{:02}:00Z", next_minute()),
                "error": format!("clone failed: {}", echo(request)),
                "errorAction": {
                    "label": format!("Fix the token {GITBOOK_TOKEN}"),
                    "url": format!("https://app.gitbook.com/fix?token={GITBOOK_TOKEN}"),
                }
            }
        }))
    }
}

/// A different minute per request, so each answer is a new operation.
fn next_minute() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst) % 60
}

// ---------------------------------------------------------------------------
// Jobs

/// A repository whose second commit changes docs pages (Markdown and YAML).
fn docs_history() -> (TestRepo, String, String) {
    let repo = TestRepo::new();
    repo.write("README.md", "# Project\n");
    repo.write("docs/README.md", "# Docs\n");
    repo.write("docs/guide.md", "# Guide\n");
    let first = repo.commit("Initial commit");
    repo.write("docs/guide.md", "# Guide\n\nMore words.\n");
    repo.write("docs/openapi.yaml", "openapi: 3.1.0\n");
    let second = repo.commit("Document the new feature");
    (repo, first, second)
}

/// Every secret planted, GitLab pointed at `gitlab` (an echo server, so no
/// GitLab call can leave this machine), quick timings.
fn planted(env: Env, gitlab: &str) -> Env {
    with(
        env,
        &[
            // Padded as a careless paste leaves them: docsync trims.
            ("DOCSYNC_GITBOOK_TOKEN", &format!("  {GITBOOK_TOKEN}\n")),
            ("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN),
            ("DOCSYNC_DOT_WEBHOOK_SECRET", &format!("\t{DOT_SECRET} ")),
            ("CI_JOB_TOKEN", JOB_TOKEN),
            ("CI_REPOSITORY_URL", REPOSITORY_URL),
            ("DOCSYNC_GIT_TOKEN", GIT_TOKEN),
            ("CI_SERVER_URL", gitlab),
            ("CI_API_V4_URL", &format!("{gitlab}/api/v4")),
            ("DOCSYNC_GITLAB_URL", gitlab),
            ("CI_PROJECT_ID", "42"),
            ("CI_PROJECT_PATH", "group/project"),
            ("DOCSYNC_PROJECT_DIRECTORY", "docs"),
            ("DOCSYNC_WAIT_TIMEOUT", "2s"),
            ("DOCSYNC_POLL_INTERVAL", "50ms"),
            ("DOCSYNC_RETRIES", "1"),
            ("DOCSYNC_RETRY_DELAY", "50ms"),
            ("DOCSYNC_HTTP_TIMEOUT", "5s"),
        ],
    )
}

fn gitbook_target(env: Env, api: &str) -> Env {
    with(env, &[("DOCSYNC_GITBOOK_SPACE", "spcSecrets"), ("DOCSYNC_GITBOOK_API_URL", api)])
}

fn push_env(first: &str, second: &str) -> Env {
    ci_env(Pipeline::Push { branch: "main", before: first, sha: second })
}

/// Runs docsync off the async runtime; the report is whatever
/// `DOCSYNC_REPORT` names, else `docsync.env` in the repository.
async fn run_docsync(scenario: &str, repo: &TestRepo, env: &Env, args: &[&str]) -> Run {
    let report = match env.get("DOCSYNC_REPORT") {
        Some(path) => PathBuf::from(path),
        None => repo.path.join("docsync.env"),
    };
    let _ = std::fs::remove_file(&report);
    let mut command = repo.docsync(args);
    command.envs(env);
    let common::Run { output, stdout, stderr, .. } = run_in_background(command, Duration::from_secs(60)).await;
    let mut files = Vec::new();
    if let Ok(text) = std::fs::read_to_string(&report) {
        files.push((report, text));
    }
    Run { scenario: format!("{scenario} (docsync {})", args.join(" ")), output, stdout, stderr, files }
}

fn report_in(dir: &Path) -> String {
    dir.join("docsync.env").display().to_string()
}

async fn authorizations(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r.headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned))
        .collect()
}

// ---------------------------------------------------------------------------
// Scenarios

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_text_and_json_with_trace_logs() {
    let gitlab = echo_server().await;
    let (repo, first, second) = docs_history();
    let env = gitbook_target(planted(push_env(&first, &second), &gitlab.uri()), &format!("{}/v1", gitlab.uri()));
    let run = run_docsync("plan", &repo, &env, &["plan", "-vv"]).await;
    run.assert_no_leak();
    run.assert_code(0);
    let run = run_docsync("plan", &repo, &env, &["plan", "--format", "json", "-vv"]).await;
    run.assert_no_leak();
    run.assert_code(0);
    assert!(run.stdout.contains("oauth2:[MASKED]@"), "the clone URL's token is shown masked\n{}", run.context());
    // Without DOCSYNC_GIT_TOKEN the clone URL carries CI_JOB_TOKEN.
    let mut job_token_env = env.clone();
    job_token_env.remove("DOCSYNC_GIT_TOKEN");
    let run = run_docsync(
        "plan with CI_JOB_TOKEN in the clone URL",
        &repo,
        &job_token_env,
        &["plan", "--format", "json", "-vv"],
    )
    .await;
    run.assert_no_leak();
    run.assert_code(0);
    assert!(run.stdout.contains("gitlab-ci-token:[MASKED]@"), "{}", run.context());
    // Outside CI, the same secrets in the environment.
    let local: Env = planted(Env::new(), &gitlab.uri())
        .into_iter()
        .chain([("DOCSYNC_GITBOOK_SPACE".to_owned(), "spcSecrets".to_owned())])
        .collect();
    let run = run_docsync("plan outside CI", &repo, &local, &["plan", "-vv"]).await;
    run.assert_no_leak();
    run.assert_code(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_success_with_trace_logs() {
    let server = echo_server().await;
    // git/info shows the success of the latest import (none before the first).
    let imports = Arc::new(AtomicUsize::new(0));
    mount(&server, "POST", "^/v1/spaces/spcSecrets/git/import$", {
        let imports = Arc::clone(&imports);
        move |_: &Request| {
            imports.fetch_add(1, Ordering::SeqCst);
            gitbook_accepted()
        }
    })
    .await;
    mount(&server, "GET", "^/v1/spaces/spcSecrets/git/info$", {
        let imports = Arc::clone(&imports);
        move |_: &Request| {
            let mut state = json!({
                "installationId": "inst-1", "installationProvider": "gitlab", "installationStatus": "active",
                "url": format!("https://oauth2:{GIT_TOKEN}@gitlab.example.com/group/project/-/tree/main"),
            });
            let latest = imports.load(Ordering::SeqCst);
            if latest > 0 {
                state["operation"] = json!({
                    "state": "success", "direction": "import", "stage": format!("done with {GIT_TOKEN}"),
                    "startedAt": format!("2026-11-22T15:{latest:02}:05Z"),
                });
            }
            ResponseTemplate::new(200).set_body_json(state)
        }
    })
    .await;
    let (repo, first, second) = docs_history();
    mount_live(&server, &first).await;
    let env = gitbook_target(planted(push_env(&first, &second), &server.uri()), &format!("{}/v1", server.uri()));
    for args in [&["sync", "-vv"][..], &["sync", "--format", "json", "-vv"]] {
        let run = run_docsync("sync success", &repo, &env, args).await;
        run.assert_no_leak();
        run.assert_code(0);
        assert!(!run.files.is_empty(), "the default report docsync.env was written\n{}", run.context());
    }
    assert!(authorizations(&server).await.contains(&format!("Bearer {GITBOOK_TOKEN}")), "the token was in play");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_failure_reported_by_gitbook_echoing_everything() {
    let server = echo_server().await;
    mount(&server, "POST", "^/v1/spaces/spcSecrets/git/import$", gitbook_accepted()).await;
    mount(&server, "GET", "^/v1/spaces/spcSecrets/git/info$", EchoingFailedOperation).await;
    let (repo, first, second) = docs_history();
    mount_live(&server, &first).await;
    let artifacts = repo.outside_dir("artifacts");
    let env = with(
        gitbook_target(planted(push_env(&first, &second), &server.uri()), &format!("{}/v1", server.uri())),
        &[("DOCSYNC_REPORT", &report_in(&artifacts))],
    );
    for args in [&["sync", "-vv"][..], &["sync", "--format", "json"]] {
        let run = run_docsync("sync failure", &repo, &env, args).await;
        run.assert_no_leak();
        run.assert_code(1);
        assert!(run.stdout.contains("clone failed"), "GitBook's error is shown\n{}", run.context());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_that_echo_the_token_and_body() {
    let (repo, first, second) = docs_history();
    for (status, code) in [(401, 1), (400, 1), (404, 1), (503, 3)] {
        let server = echo_server().await;
        mount(&server, "POST", "^/v1/spaces/spcSecrets/git/import$", Echo(status)).await;
        mount(&server, "GET", "^/v1/spaces/spcSecrets/git/info$", Echo(status)).await;
        mount_live(&server, &first).await;
        let env = gitbook_target(planted(push_env(&first, &second), &server.uri()), &format!("{}/v1", server.uri()));
        for wait in ["true", "false"] {
            let env = with(env.clone(), &[("DOCSYNC_WAIT", wait)]);
            let run =
                run_docsync(&format!("GitBook answers {status}, wait {wait}"), &repo, &env, &["sync", "-vv"]).await;
            run.assert_no_leak();
            run.assert_code(code);
            assert!(run.stderr.contains("rejected:"), "the echoed message is shown\n{}", run.context());
        }
    }
}

/// The clone URL's token, percent-encoded in the body GitBook received,
/// comes back in GitBook's error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoed_clone_url_with_an_encoded_token() {
    let server = echo_server().await;
    mount(&server, "POST", "^/v1/spaces/spcSecrets/git/import$", Echo(400)).await;
    let (repo, first, second) = docs_history();
    mount_live(&server, &first).await;
    let env = with(
        gitbook_target(planted(push_env(&first, &second), &server.uri()), &format!("{}/v1", server.uri())),
        &[("DOCSYNC_GIT_TOKEN", SPECIAL_GIT_TOKEN), ("DOCSYNC_WAIT", "false")],
    );
    let run = run_docsync("encoded clone URL echoed", &repo, &env, &["sync", "--format", "json"]).await;
    let requests = server.received_requests().await.unwrap_or_default();
    let import = requests.iter().find(|r| r.method.as_str() == "POST");
    let body = import.map(|r| String::from_utf8_lossy(&r.body).into_owned()).unwrap_or_default();
    assert!(
        body.contains("gittok%2FPLANTED%2B7777%40x%3Ay%22z%5Cw"),
        "the clone URL carries the encoded token: {body}"
    );
    run.assert_no_leak();
    run.assert_code(1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_success_and_refusal() {
    let (repo, first, _) = docs_history();
    let server = echo_server().await;
    mount(&server, "GET", "^/v1/spaces/spcSecrets/git/info$", EchoingFailedOperation).await;
    mount_live(&server, &first).await;
    let env = gitbook_target(planted(Env::new(), &server.uri()), &format!("{}/v1", server.uri()));
    for args in [&["status", "-vv"][..], &["status", "--format", "json"]] {
        let run = run_docsync("status", &repo, &env, args).await;
        run.assert_no_leak();
        run.assert_code(0);
    }
    let refusing = echo_server().await;
    mount(&refusing, "GET", "^/v1/spaces/spcSecrets/git/info$", Echo(401)).await;
    let env = gitbook_target(planted(Env::new(), &refusing.uri()), &format!("{}/v1", refusing.uri()));
    for args in [&["status"][..], &["status", "--format", "json"]] {
        let run = run_docsync("status refused", &repo, &env, args).await;
        run.assert_no_leak();
        run.assert_code(1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_command_and_web_export() {
    let (repo, first, second) = docs_history();
    for status in [204, 400] {
        let server = echo_server().await;
        mount(&server, "POST", "^/v1/spaces/spcSecrets/git/export$", Echo(status)).await;
        let api = format!("{}/v1", server.uri());
        let env =
            with(gitbook_target(planted(push_env(&first, &second), &server.uri()), &api), &[("DOCSYNC_WAIT", "false")]);
        let run = run_docsync(&format!("export answered {status}"), &repo, &env, &["export", "-vv"]).await;
        run.assert_no_leak();
        run.assert_code(if status == 204 { 0 } else { 1 });
        let web = with(
            gitbook_target(
                planted(ci_env(Pipeline::Manual { source: "web", branch: "main", sha: &second }), &server.uri()),
                &api,
            ),
            &[("DOCSYNC_WAIT", "false"), ("DOCSYNC_DIRECTION", "export")],
        );
        let run =
            run_docsync(&format!("web export answered {status}"), &repo, &web, &["sync", "--format", "json", "-vv"])
                .await;
        run.assert_no_leak();
        run.assert_code(if status == 204 { 0 } else { 1 });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_and_merge_request_preview() {
    let server = echo_server().await;
    let (repo, first, second) = docs_history();
    let env = gitbook_target(planted(push_env(&first, &second), &server.uri()), &format!("{}/v1", server.uri()));
    for args in
        [&["sync", "--dry-run", "-vv"][..], &["sync", "--dry-run", "--format", "json"], &["export", "--dry-run"]]
    {
        let run = run_docsync("dry run", &repo, &env, args).await;
        run.assert_no_leak();
        run.assert_code(0);
    }
    assert_eq!(server.received_requests().await.unwrap_or_default().len(), 0, "--dry-run calls nothing");

    mount(&server, "POST", "^/v1/spaces/spcSecrets/git/import$", Echo(422)).await;
    let mr = gitbook_target(
        planted(
            ci_env(Pipeline::MergeRequest { iid: 7, diff_base: &first, sha: &second, source_branch_sha: None }),
            &server.uri(),
        ),
        &format!("{}/v1", server.uri()),
    );
    let run =
        run_docsync("merge request preview refused", &repo, &with(mr, &[("DOCSYNC_WAIT", "false")]), &["sync", "-vv"])
            .await;
    run.assert_no_leak();
    run.assert_code(1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_never_echoes_a_secret() {
    let gitlab = echo_server().await;
    let (repo, first, second) = docs_history();
    let base = planted(push_env(&first, &second), &gitlab.uri());
    // Any call that bad input failed to stop lands on the echo server.
    let api = format!("{}/v1", gitlab.uri());
    let api = api.as_str();
    let cases: Vec<(&str, Env)> = vec![
        (
            "GitBook API over plain http to another host",
            gitbook_target(base.clone(), &format!("http://x-token:{GITBOOK_TOKEN}@gitbook.example.com/v1")),
        ),
        ("a secret pasted into the API URL", gitbook_target(base.clone(), GITBOOK_TOKEN)),
        (
            "a secret pasted into DOCSYNC_WAIT_TIMEOUT",
            with(gitbook_target(base.clone(), api), &[("DOCSYNC_WAIT_TIMEOUT", GIT_TOKEN)]),
        ),
        (
            "Dot webhook over plain http with credentials in the URL",
            with(
                base.clone(),
                &[("DOCSYNC_DOT_WEBHOOK_URL", &format!("http://hook:{DOT_SECRET}@dot.example.com/hook"))],
            ),
        ),
        (
            "a bad CI_COMMIT_SHA next to every secret",
            with(gitbook_target(base.clone(), api), &[("CI_COMMIT_SHA", JOB_TOKEN)]),
        ),
        ("a bad --from given a secret", with(gitbook_target(base.clone(), api), &[("DOCSYNC_FROM", GITLAB_TOKEN)])),
    ];
    for (scenario, env) in cases {
        // `status` reads no range, so a bad --from does not concern it.
        let commands: &[&str] =
            if env.contains_key("DOCSYNC_FROM") { &["plan", "sync"] } else { &["plan", "sync", "status"] };
        for command in commands {
            let run = run_docsync(scenario, &repo, &env, &[command, "-vv"]).await;
            run.assert_no_leak();
            run.assert_code(2);
        }
    }

    // A secret written inline in docsync.toml.
    repo.write(
        "docsync.toml",
        &format!(
            "[[target]]\nname = \"handbook\"\nkind = \"gitbook\"\ngitbook_space = \"spcA\"\n\
             gitbook_token = \"{GITBOOK_TOKEN}\"\n"
        ),
    );
    // The variable holds another value, so the redactor does not know the
    // one in the file: only careful messages keep it out.
    let env = with(base.clone(), &[("DOCSYNC_GITBOOK_TOKEN", "another-token-value")]);
    for command in ["plan", "sync"] {
        let run = run_docsync("a secret written in docsync.toml", &repo, &env, &[command]).await;
        run.assert_no_leak();
        run.assert_code(2);
    }
    assert_eq!(gitlab.received_requests().await.unwrap_or_default().len(), 0, "bad input calls nothing");
}

/// A shallow clone whose base is missing is deepened from
/// `CI_REPOSITORY_URL`; here that URL (credentials included) points at a
/// local server that refuses, echoing the request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_deepening_from_the_repository_url() {
    let server = echo_server().await;
    mount(&server, "GET", "^/group/project.git/info/refs$", Echo(401)).await;
    let (origin, first, _) = docs_history();
    origin.write("docs/third.md", "# Third\n");
    let third = origin.commit("A third page");
    let shallow = origin.clone_shallow("shallow", 1);
    let repository_url =
        format!("http://gitlab-ci-token:{REPOSITORY_URL_PASSWORD}@{}/group/project.git", server.address());
    let env = with(
        gitbook_target(planted(push_env(&first, &third), &server.uri()), &format!("{}/v1", server.uri())),
        &[("CI_REPOSITORY_URL", &repository_url)],
    );
    let run = run_docsync("deepening a shallow clone fails", &shallow, &env, &["plan", "-vv"]).await;
    run.assert_no_leak();
    run.assert_code(0);
    let requests = server.received_requests().await.unwrap_or_default();
    assert!(
        requests.iter().any(|r| r.url.path().ends_with("/info/refs")),
        "docsync should have tried to fetch from CI_REPOSITORY_URL\n{}",
        run.context()
    );
}

// ---------------------------------------------------------------------------
// Dot (push-webhook receivers)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_push_event_delivered_and_refused() {
    let (repo, first, second) = docs_history();

    // Refused, the receiver echoing X-Gitlab-Token and the event.
    let refusing = echo_server().await;
    mount(&refusing, "POST", "^/hook$", Echo(401)).await;
    let env = with(
        planted(push_env(&first, &second), &refusing.uri()),
        &[("DOCSYNC_DOT_WEBHOOK_URL", &format!("{}/hook", refusing.uri()))],
    );
    for args in [&["plan", "--format", "json", "-vv"][..], &["sync", "-vv"], &["sync", "--format", "json"]] {
        let run = run_docsync("Dot receiver refuses", &repo, &env, args).await;
        run.assert_no_leak();
    }

    // Delivered.
    let receiver = echo_server().await;
    mount(&receiver, "POST", "^/hook$", ResponseTemplate::new(200).set_body_string("{}")).await;
    let env = with(
        planted(push_env(&first, &second), &receiver.uri()),
        &[("DOCSYNC_DOT_WEBHOOK_URL", &format!("{}/hook", receiver.uri()))],
    );
    let run = run_docsync("Dot receiver accepts", &repo, &env, &["sync", "-vv"]).await;
    run.assert_no_leak();
    run.assert_code(0);
    let requests = receiver.received_requests().await.unwrap_or_default();
    let hooks: Vec<&Request> = requests.iter().filter(|r| r.url.path() == "/hook").collect();
    assert_eq!(hooks.len(), 1, "one push event\n{}", run.context());
    assert_eq!(
        hooks[0].headers.get("x-gitlab-token").and_then(|v| v.to_str().ok()),
        Some(DOT_SECRET),
        "the receiver gets the secret; the output does not"
    );
    let event: Value = hooks[0].body_json().expect("the push event is JSON");
    assert_eq!(event["object_kind"], "push", "{event:#}");
}

/// A receiver that refuses the way web frameworks do, echoing the path and
/// query it was called at and the `Authorization` it got: Express's
/// `Cannot POST /hooks/<token>`, as plain text.
struct CannotPost(u16);

impl Respond for CannotPost {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let authorization = request.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
        let query = request.url.query().map(|q| format!("?{q}")).unwrap_or_default();
        ResponseTemplate::new(self.0)
            .set_body_string(format!("Cannot POST {}{query} (Authorization: {authorization})", request.url.path()))
    }
}

/// The webhook URL's user info, path and query are secrets too: a receiver
/// echoing them (and the Basic auth made of the user info) shows nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_receiver_echoing_the_webhook_urls_secrets() {
    let (repo, first, second) = docs_history();
    for status in [401, 404] {
        let receiver = echo_server().await;
        mount(&receiver, "POST", "^/hooks/", CannotPost(status)).await;
        let webhook = format!(
            "http://hookuser:{DOT_URL_PASSWORD}@{}/hooks/{DOT_PATH_TOKEN}?key={DOT_QUERY_KEY}",
            receiver.address()
        );
        let reports = repo.outside_dir(&format!("reports-{status}"));
        let json_report = reports.join("docsync.json");
        let env = with(
            planted(push_env(&first, &second), &receiver.uri()),
            &[
                ("DOCSYNC_DOT_WEBHOOK_URL", &webhook),
                ("DOCSYNC_REPORT", &report_in(&reports)),
                ("DOCSYNC_REPORT_JSON", &json_report.display().to_string()),
            ],
        );
        for args in [&["plan", "--format", "json", "-vv"][..], &["sync", "-vv"], &["sync", "--format", "json"]] {
            let mut run = run_docsync(&format!("Dot receiver answers {status}"), &repo, &env, args).await;
            if let Ok(text) = std::fs::read_to_string(&json_report) {
                run.files.push((json_report.clone(), text));
            }
            run.assert_no_leak();
            if args[0] == "sync" {
                run.assert_code(1);
                assert!(run.stdout.contains("Cannot POST"), "the receiver's answer is shown\n{}", run.context());
            }
        }
        let requests = receiver.received_requests().await.unwrap_or_default();
        let hooks: Vec<&Request> = requests.iter().filter(|r| r.url.path().starts_with("/hooks/")).collect();
        assert!(!hooks.is_empty(), "the push event was sent");
        assert!(
            hooks.iter().all(|r| r.headers.get("authorization").and_then(|v| v.to_str().ok())
                == Some(&format!("Basic {DOT_URL_BASIC}"))),
            "the user info went as Basic auth: the secrets were in play"
        );
    }
}

/// An export that opens a merge request: GitBook's success echoes the
/// request (the GitBook token) and the git token in its stage; the merge
/// request's title and description, as GitLab (the stand-in) stored them,
/// are searched like every other output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_merge_request_description() {
    let server = echo_server().await;
    let exports = Arc::new(AtomicUsize::new(0));
    mount(&server, "POST", "^/v1/spaces/spcSecrets/git/export$", {
        let exports = Arc::clone(&exports);
        move |_: &Request| {
            exports.fetch_add(1, Ordering::SeqCst);
            gitbook_accepted()
        }
    })
    .await;
    mount(&server, "GET", "^/v1/spaces/spcSecrets/git/info$", {
        let exports = Arc::clone(&exports);
        move |request: &Request| {
            let latest = exports.load(Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(json!({
                "installationId": "inst-1", "installationProvider": "gitlab", "installationStatus": "active",
                "operation": {
                    "state": "success", "direction": "export",
                    "stage": format!("pushed with {GIT_TOKEN} after {}", echo(request)),
                    "startedAt": format!("2026-11-22T15:{latest:02}:05Z"),
                }
            }))
        }
    })
    .await;
    let mut state = State::new();
    let bot = common::read_project_file("tests/fixtures/gitlab/user_project_bot.json");
    state.add_token(GITLAB_TOKEN, serde_json::from_str(&bot).unwrap(), &["api"], Some(30));
    let stand_in = StandIn::new(state);
    Mock::given(path_regex("^/api/v4/")).respond_with(stand_in.clone()).with_priority(1).mount(&server).await;

    let (repo, _, second) = docs_history();
    let env = with(
        gitbook_target(
            planted(ci_env(Pipeline::Manual { source: "web", branch: "main", sha: &second }), &server.uri()),
            &format!("{}/v1", server.uri()),
        ),
        &[
            ("DOCSYNC_DIRECTION", "export"),
            ("DOCSYNC_EXPORT_MR", "true"),
            ("DOCSYNC_EXPORT_BRANCH", "gitbook-sync"),
            ("CI_PIPELINE_URL", "https://gitlab.example.com/group/project/-/pipelines/1"),
        ],
    );
    let mut run = run_docsync("export merge request", &repo, &env, &["sync", "--format", "json", "-vv"]).await;
    let opened = stand_in.with(|state| state.merge_requests.clone());
    assert_eq!(opened.len(), 1, "one merge request\n{}", run.context());
    let description = opened[0]["description"].as_str().unwrap_or_default();
    assert!(description.starts_with("Opened by docsync"), "{:#}\n{}", opened[0], run.context());
    for field in ["title", "description"] {
        let text = opened[0][field].as_str().unwrap_or_default().to_owned();
        run.files.push((PathBuf::from(format!("the merge request's {field}")), text));
    }
    run.assert_no_leak();
    run.assert_code(0);
}

/// A docs page whose broken link holds a secret (pasted by mistake): the
/// pre-flight names the link in its findings, on stdout and in the Code
/// Quality report, masked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_quality_report_of_a_link_holding_a_secret() {
    let server = echo_server().await;
    let (repo, first, _) = docs_history();
    repo.write("docs/guide.md", &format!("# Guide\n\nSee [the fix](fix-{GITBOOK_TOKEN}.md).\n"));
    let second = repo.commit("Link a page that does not exist");
    let reports = repo.outside_dir("quality");
    let code_quality = reports.join("gl-code-quality-report.json");
    let env = with(
        gitbook_target(planted(push_env(&first, &second), &server.uri()), &format!("{}/v1", server.uri())),
        &[("DOCSYNC_CODEQUALITY", &code_quality.display().to_string())],
    );
    for args in [&["lint"][..], &["lint", "--format", "json"]] {
        let _ = std::fs::remove_file(&code_quality);
        let mut run = run_docsync("Code Quality", &repo, &env, args).await;
        let text = std::fs::read_to_string(&code_quality)
            .unwrap_or_else(|e| panic!("the Code Quality report was written ({e})\n{}", run.context()));
        assert!(text.contains("fix-[MASKED].md"), "the finding names the link, masked:\n{text}\n{}", run.context());
        run.files.push((code_quality.clone(), text));
        run.assert_no_leak();
    }
}

// ---------------------------------------------------------------------------
// Every command against servers echoing in every form

/// GitBook, GitLab and the webhook receiver all on one server that echoes
/// the secrets it got (padded, JSON-escaped, percent-encoded) or redirects
/// with them in the `Location`; every command runs against it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_against_servers_echoing_in_every_form() {
    let (repo, first, second) = docs_history();
    let report_dir = repo.outside_dir("reports");
    for (name, status) in [("echo 400", Some(400)), ("echo 500", Some(500)), ("redirect", None)] {
        let server = echo_server().await;
        match status {
            Some(status) => Mock::given(any()).respond_with(EchoForms(status)).mount(&server).await,
            None => Mock::given(any()).respond_with(EchoRedirect).mount(&server).await,
        }
        let api = format!("{}/v1", server.uri());
        let env = with(
            gitbook_target(planted(push_env(&first, &second), &server.uri()), &api),
            &[
                ("DOCSYNC_DOT_WEBHOOK_URL", &format!("{}/hook/{DOT_SECRET}", server.uri())),
                ("DOCSYNC_GIT_TOKEN", SPECIAL_GIT_TOKEN),
                ("CI_ENVIRONMENT_NAME", "docs/gitbook"),
                ("DOCSYNC_REPORT", &report_in(&report_dir)),
                ("DOCSYNC_REPORT_JSON", &report_dir.join("docsync.json").display().to_string()),
            ],
        );
        for args in [
            &["plan", "--format", "json", "-vv"][..],
            &["sync", "-vv"],
            &["sync", "--format", "json"],
            &["check", "-vv"],
            &["check", "--format", "json"],
            &["status", "--format", "json", "-vv"],
            &["export", "-vv"],
        ] {
            let mut run = run_docsync(&format!("server answers {name}"), &repo, &env, args).await;
            if let Ok(text) = std::fs::read_to_string(report_dir.join("docsync.json")) {
                run.files.push((report_dir.join("docsync.json"), text));
            }
            run.assert_no_leak();
            assert!(matches!(run.code(), Some(0..=3)), "never a crash, never a local failure\n{}", run.context());
        }
        let requests = server.received_requests().await.unwrap_or_default();
        assert!(requests.iter().any(|r| r.headers.get("authorization").is_some()), "the secrets were in play ({name})");
    }
}

// ---------------------------------------------------------------------------
// What docsync writes to GitLab: the preview note

/// GitBook refusing a preview import the careless way (the preview's note
/// also lists a pre-flight finding that quotes a secret): its error message
/// carries Markdown meant to act in the note (`@all`, a link, a
/// `javascript:` URL, HTML) and a line break and U+202E meant to forge
/// job-log lines, then echoes the request it got (the clone URL with the
/// git token, percent-encoded, and `Authorization: Bearer <GitBook
/// token>`) and every other planted secret, as a server that logged them
/// would.
struct RefusedPreview;

impl Respond for RefusedPreview {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let message = format!(
            "@all see [details](javascript:alert(1)) <img src=x onerror=alert(1)>\
             \nok  handbook  synced\u{202e}kcab; clone failed: {}; also {JOB_TOKEN} {GITLAB_TOKEN} {REPOSITORY_URL}",
            echo(request)
        );
        ResponseTemplate::new(400).set_body_json(json!({ "error": { "code": 400, "message": message } }))
    }
}

/// The text GitBook's `error` is shown within must not act as Markdown in
/// the note: no mention, link or HTML outside code.
fn assert_inert_markdown(note: &str, context: &str) {
    use pulldown_cmark::{Event, Parser, Tag};
    let mut in_code = 0;
    for event in Parser::new(note) {
        match event {
            Event::Start(Tag::CodeBlock(_)) => in_code += 1,
            Event::End(pulldown_cmark::TagEnd::CodeBlock) => in_code -= 1,
            Event::Start(Tag::Link { dest_url, .. }) => {
                assert!(
                    dest_url.starts_with("https://") || dest_url.starts_with("http://"),
                    "a link to {dest_url:?} in the note:\n{note}\n{context}"
                );
            }
            // docsync's own: its marker, and the pipeline line in small print.
            Event::Html(html) | Event::InlineHtml(html)
                if !html.starts_with("<!-- docsync:") && !["<sub>", "</sub>"].contains(&html.as_ref()) =>
            {
                panic!("HTML {html:?} in the note:\n{note}\n{context}")
            }
            Event::Text(text) if in_code == 0 => {
                assert!(!text.contains("@all"), "a mention in the note's text {text:?}:\n{note}\n{context}");
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_note_echoing_everything() {
    let server = echo_server().await;
    mount(&server, "POST", "^/v1/spaces/spcSecrets/git/import$", RefusedPreview).await;
    let mut state = State::new();
    let bot = common::read_project_file("tests/fixtures/gitlab/user_project_bot.json");
    state.add_token(GITLAB_TOKEN, serde_json::from_str(&bot).unwrap(), &["api"], Some(30));
    state.notes.insert(7, Vec::new());
    let stand_in = StandIn::new(state);
    Mock::given(path_regex("^/api/v4/")).respond_with(stand_in.clone()).with_priority(1).mount(&server).await;

    let (repo, first, _) = docs_history();
    // A secret pasted into a docs page: the pre-flight's finding, which the
    // note lists, quotes it.
    repo.write("docs/guide.md", &format!("# Guide\n\nSee [the fix](fix-{GITBOOK_TOKEN}.md).\n"));
    let second = repo.commit("Link a page that does not exist");
    let env = with(
        gitbook_target(
            planted(
                ci_env(Pipeline::MergeRequest { iid: 7, diff_base: &first, sha: &second, source_branch_sha: None }),
                &server.uri(),
            ),
            &format!("{}/v1", server.uri()),
        ),
        &[
            ("DOCSYNC_GIT_TOKEN", SPECIAL_GIT_TOKEN),
            ("CI_PIPELINE_URL", "https://gitlab.example.com/p/-/pipelines/1"),
            ("DOCSYNC_LINT", "warn"),
        ],
    );
    for args in [&["sync", "-vv"][..], &["sync", "--format", "json"]] {
        let mut run = run_docsync("preview note", &repo, &env, args).await;
        let notes = stand_in.with(|state| state.notes.get(&7).cloned().unwrap_or_default());
        assert_eq!(notes.len(), 1, "one note, updated by the second run\n{}", run.context());
        let note = notes[0]["body"].as_str().unwrap_or_default().to_owned();
        assert!(note.contains("@all see"), "GitBook's error is in the note:\n{note}\n{}", run.context());
        assert!(note.contains("fix-[MASKED].md"), "the finding is in the note, masked:\n{note}\n{}", run.context());
        assert_inert_markdown(&note, &run.context());
        run.files.push((PathBuf::from("the merge request note"), note));
        for request in server.received_requests().await.unwrap_or_default() {
            if request.url.path().contains("/notes") && request.method.as_str() != "GET" {
                let sent = String::from_utf8_lossy(&request.body).into_owned();
                run.files.push((PathBuf::from(format!("the request {} {}", request.method, request.url)), sent));
            }
        }
        run.assert_no_leak();
        run.assert_code(1);
        if args.contains(&"json") {
            let result: Value = serde_json::from_str(&run.stdout)
                .unwrap_or_else(|e| panic!("the result is JSON ({e})\n{}", run.context()));
            let message = result["targets"][0]["outcome"]["message"].as_str().unwrap_or_default();
            assert!(message.contains("synced\u{202e}kcab"), "U+202E escaped as JSON escapes it: {message:?}");
        }
        for line in run.stderr.lines().chain(run.stdout.lines()) {
            assert!(!line.contains('\u{202e}'), "U+202E reached the job log: {line:?}\n{}", run.context());
            assert!(!line.starts_with("ok  handbook"), "a forged line in the job log: {line:?}\n{}", run.context());
        }
    }
}
