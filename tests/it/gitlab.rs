//! Everything docsync asks of GitLab itself, with `wiremock` answering as
//! GitLab's REST API documents it (the recorded answers are in
//! `tests/fixtures/gitlab/`): `docsync check` (token kind, scopes, expiry,
//! role, protected branches, GitBook, Dot, TLS), the instance behind a pasted
//! URL, the sync watermark (deployments), the compare fallback for shallow
//! clones, and the merge request note and merge request after a sync.
//!
//! Every server has a catch-all mock at the lowest priority that answers
//! `599` and names the route, so a request docsync should not send shows up
//! in its output and in the assertion messages. Every run of the binary is
//! checked for the planted secrets (see [`assert_no_secrets`]).

use crate::common;
pub mod stand_in;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request as Received, Respond, ResponseTemplate};

use stand_in::{StandIn, State};

use common::{
    Env, FileChange, NEW_STARTED, OLD_STARTED, Pipeline, Run, TestRepo, ci_env, free_port, gitbook_accepted,
    gitbook_state, mount_catch_all, run_in_background, with,
};

// ---------------------------------------------------------------------------
// Planted secrets: distinctive values that must never appear in any output.

const GITLAB_TOKEN: &str = "glpat-fake.GitLabApiTok3n-x7Qm";
const GIT_TOKEN: &str = "glpat-fake.GitPushTok3n-Lw9V";
const JOB_TOKEN: &str = "glcbt-64_JobTok3n-Hk3Rt8Wq";
const GITBOOK_TOKEN: &str = "gb_api_GitBookTok3n-Zp5Nc1";
const DOT_SECRET: &str = "dot-secret-Tok3n-Yu6Ee2";
/// An OAuth access token: 64 hexadecimal characters.
const OAUTH_TOKEN: &str = "5e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7a8b9c0d1e2f3a4b";
/// Part of every planted token but the OAuth one: a token shown in part
/// (cut, or inside a URL) is still caught.
const TOKEN_MARK: &str = "Tok3n";

const PROJECT_ID: &str = "42";
const SPACE: &str = "spcGitLab";
const ENVIRONMENT: &str = "docs/gitbook";
const PIPELINE_URL: &str = "https://gitlab.example.com/group/project/-/pipelines/9001";

/// No secret, whole or in part, in stdout or stderr.
fn assert_no_secrets(run: &Run) {
    let oauth_part = &OAUTH_TOKEN[..16];
    for secret in [GITLAB_TOKEN, GIT_TOKEN, JOB_TOKEN, GITBOOK_TOKEN, DOT_SECRET, OAUTH_TOKEN, oauth_part, TOKEN_MARK] {
        for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            assert!(!text.contains(secret), "{stream} shows the secret {secret:?}\n{}", run.context());
        }
    }
}

// ---------------------------------------------------------------------------
// Fixtures

fn fixture(name: &str) -> Value {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gitlab").join(name);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", file.display()))
}

fn ok_json(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn fixture_answer(status: u16, name: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(fixture(name))
}

/// A date `days` from today (UTC, as `check` counts), `YYYY-MM-DD`.
fn date_in(days: i64) -> String {
    (time::OffsetDateTime::now_utc().date() + time::Duration::days(days)).to_string()
}

// ---------------------------------------------------------------------------
// The mock GitLab (and GitBook, on the same server when a test needs it)

struct GitLab {
    server: MockServer,
    /// Where the instance lives on the server: `""` or a sub-path like `/gitlab`.
    prefix: &'static str,
}

impl GitLab {
    async fn start() -> GitLab {
        GitLab::under("").await
    }

    /// An instance under a sub-path (`https://example.com/gitlab`).
    async fn under(prefix: &'static str) -> GitLab {
        let gitlab = GitLab { server: MockServer::start().await, prefix };
        mount_catch_all(&gitlab.server).await;
        gitlab
    }

    /// Forgets every mock and request, keeping the catch-all.
    async fn reset(&self) {
        self.server.reset().await;
        mount_catch_all(&self.server).await;
    }

    /// `CI_API_V4_URL`.
    fn api(&self) -> String {
        format!("{}{}/api/v4", self.server.uri(), self.prefix)
    }

    /// The instance's web address (what people paste).
    fn web(&self) -> String {
        format!("{}{}", self.server.uri(), self.prefix)
    }

    /// A REST route as the server sees it: `/gitlab/api/v4/user`.
    fn route(&self, rest: &str) -> String {
        format!("{}/api/v4{rest}", self.prefix)
    }

    fn project_route(&self, rest: &str) -> String {
        self.route(&format!("/projects/{PROJECT_ID}{rest}"))
    }

    /// GitBook's API base on the same server.
    fn gitbook_api(&self) -> String {
        format!("{}/v1", self.server.uri())
    }

    async fn mount(&self, verb: &str, route: String, answer: impl Respond + 'static) {
        Mock::given(method(verb)).and(path(route)).respond_with(answer).mount(&self.server).await;
    }

    /// `GET /user`, `GET /personal_access_tokens/self` and the token user's
    /// membership of the project, each answered only for this token.
    async fn mount_identity(&self, identity: &Identity) {
        let (name, value) = auth_header(identity.token);
        Mock::given(method("GET"))
            .and(path(self.route("/user")))
            .and(header(name, value.as_str()))
            .respond_with(ok_json(identity.user.clone()))
            .mount(&self.server)
            .await;
        if let Some(info) = &identity.token_info {
            Mock::given(method("GET"))
                .and(path(self.route("/personal_access_tokens/self")))
                .and(header(name, value.as_str()))
                .respond_with(ok_json(info.clone()))
                .mount(&self.server)
                .await;
        }
        Mock::given(method("GET"))
            .and(path(self.project_route("")))
            .and(header(name, value.as_str()))
            .respond_with(fixture_answer(200, "project.json"))
            .mount(&self.server)
            .await;
        let mut member = fixture("member.json");
        for key in ["id", "username", "name"] {
            member[key] = identity.user[key].clone();
        }
        member["access_level"] = json!(identity.access_level);
        Mock::given(method("GET"))
            .and(path(self.project_route(&format!("/members/all/{}", identity.user_id()))))
            .and(header(name, value.as_str()))
            .respond_with(ok_json(member))
            .mount(&self.server)
            .await;
    }

    /// GitLab's own `version` endpoint, and the 404 a GitLab instance (or any
    /// web server) gives for `…/api/v4/version` below a page.
    async fn mount_version(&self) {
        self.mount("GET", self.route("/version"), fixture_answer(200, "version.json")).await;
        self.mount_version_404().await;
    }

    async fn mount_version_404(&self) {
        Mock::given(method("GET"))
            .and(path_regex(r"/api/v4/version$"))
            .respond_with(
                ResponseTemplate::new(404)
                    .insert_header("content-type", "text/html; charset=utf-8")
                    .set_body_string("<!DOCTYPE html><html><head><title>Not Found (404)</title></head><body><h1>404</h1><p>Page not found</p></body></html>"),
            )
            .with_priority(10)
            .mount(&self.server)
            .await;
    }

    /// `GET git/info` of the GitBook space: a Git Sync installed from GitLab.
    async fn mount_gitbook_space(&self) {
        Mock::given(method("GET"))
            .and(path(format!("/v1/spaces/{SPACE}/git/info")))
            .and(header("authorization", format!("Bearer {GITBOOK_TOKEN}").as_str()))
            .respond_with(ok_json(gitbook_state(None)))
            .mount(&self.server)
            .await;
    }

    /// `GET` of the export branch `gitbook-sync`: it exists.
    async fn mount_sync_branch(&self) {
        self.mount(
            "GET",
            self.project_route("/repository/branches/gitbook-sync"),
            fixture_answer(200, "branch_sync.json"),
        )
        .await;
    }

    async fn requests(&self) -> Vec<Received> {
        self.server.received_requests().await.expect("request recording is on")
    }

    async fn requests_to(&self, verb: &str, route: &str) -> Vec<Received> {
        self.requests().await.into_iter().filter(|r| r.method.as_str() == verb && r.url.path() == route).collect()
    }

    async fn routes(&self) -> Vec<String> {
        routes(&self.requests().await)
    }
}

fn routes(requests: &[Received]) -> Vec<String> {
    requests.iter().map(|r| format!("{} {}", r.method, r.url)).collect()
}

fn request_header<'a>(request: &'a Received, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|value| value.to_str().ok())
}

/// How GitLab expects a token: OAuth tokens as `Authorization: Bearer`,
/// access tokens as `PRIVATE-TOKEN`.
fn auth_header(token: &str) -> (&'static str, String) {
    if token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()) {
        ("authorization", format!("Bearer {token}"))
    } else {
        ("private-token", token.to_owned())
    }
}

/// Who a token is, and what it may do.
#[derive(Clone)]
struct Identity {
    token: &'static str,
    user: Value,
    /// `GET /personal_access_tokens/self`; GitLab answers it for personal,
    /// project and group access tokens, not for OAuth tokens.
    token_info: Option<Value>,
    access_level: u32,
}

impl Identity {
    /// A token of the user in `user_fixture`: scopes `api` and
    /// `write_repository`, expiring in 200 days, Developer on the project.
    fn new(token: &'static str, user_fixture: &str) -> Identity {
        let user = fixture(user_fixture);
        let mut info = fixture("personal_access_token_self.json");
        info["user_id"] = user["id"].clone();
        info["expires_at"] = json!(date_in(200));
        Identity { token, user, token_info: Some(info), access_level: 30 }
    }

    fn user_id(&self) -> u64 {
        self.user["id"].as_u64().expect("the user fixture has an id")
    }

    fn username(&self) -> String {
        self.user["username"].as_str().expect("the user fixture has a username").to_owned()
    }

    fn scopes(mut self, scopes: &[&str]) -> Identity {
        if let Some(info) = &mut self.token_info {
            info["scopes"] = json!(scopes);
        }
        self
    }

    fn expires_at(mut self, date: Value) -> Identity {
        if let Some(info) = &mut self.token_info {
            info["expires_at"] = date;
        }
        self
    }

    fn state(mut self, active: bool, revoked: bool) -> Identity {
        if let Some(info) = &mut self.token_info {
            info["active"] = json!(active);
            info["revoked"] = json!(revoked);
        }
        self
    }

    fn role(mut self, access_level: u32) -> Identity {
        self.access_level = access_level;
        self
    }

    fn oauth(mut self) -> Identity {
        self.token_info = None;
        self
    }
}

// ---------------------------------------------------------------------------
// Running the binary

/// Assertions only this suite makes, kept here as an extension of the
/// shared `Run`: words in one stream of the run.
trait StreamAssertions {
    fn assert_stdout(&self, words: &[&str]);
    fn assert_stderr(&self, words: &[&str]);
}

impl StreamAssertions for Run {
    fn assert_stdout(&self, words: &[&str]) {
        for word in words {
            assert!(self.stdout.contains(word), "stdout should contain {word:?}\n{}", self.context());
        }
    }

    fn assert_stderr(&self, words: &[&str]) {
        for word in words {
            assert!(self.stderr.contains(word), "stderr should contain {word:?}\n{}", self.context());
        }
    }
}

/// Runs the binary off the async runtime, so the mock server keeps serving;
/// checks that no secret leaked.
async fn run_docsync(repo: &TestRepo, env: &Env, args: &[&str]) -> Run {
    let mut command = repo.docsync(args);
    command.envs(env);
    let run = run_in_background(command, Duration::from_secs(60)).await;
    assert_no_secrets(&run);
    run
}

/// Small retry and poll settings, so faults end quickly.
fn fast(env: Env) -> Env {
    with(
        env,
        &[
            ("DOCSYNC_RETRIES", "0"),
            ("DOCSYNC_RETRY_DELAY", "10ms"),
            ("DOCSYNC_POLL_INTERVAL", "100ms"),
            ("DOCSYNC_HTTP_TIMEOUT", "5s"),
            ("DOCSYNC_REPORT", "none"),
        ],
    )
}

/// A GitBook target on the mock server.
fn gitbook_target(gitlab: &GitLab) -> Vec<(&'static str, String)> {
    vec![
        ("DOCSYNC_GITBOOK_SPACE", SPACE.to_owned()),
        ("DOCSYNC_GITBOOK_TOKEN", GITBOOK_TOKEN.to_owned()),
        ("DOCSYNC_GITBOOK_API_URL", gitlab.gitbook_api()),
        ("DOCSYNC_PROJECT_DIRECTORY", "docs".to_owned()),
    ]
}

fn with_owned(mut env: Env, extra: &[(&str, String)]) -> Env {
    for (key, value) in extra {
        env.insert((*key).to_owned(), value.clone());
    }
    env
}

// ---------------------------------------------------------------------------
// The repository

/// `main`: c1 adds the docs, c2 edits the guide, c3 moves the install page
/// and deletes the FAQ, c4 (head) edits the guide and adds a changelog.
struct History {
    repo: TestRepo,
    c1: String,
    c3: String,
    head: String,
}

fn docs_history() -> History {
    let repo = TestRepo::new();
    repo.write("README.md", "# Project\n");
    repo.write("docs/README.md", "# Docs\n");
    repo.write("docs/guide.md", "# Guide\n");
    repo.write("docs/install.md", "# Install\n\nRun the installer, then sign in.\n");
    repo.write("docs/faq.md", "# FAQ\n\nNothing asked yet.\n");
    repo.write("src/main.rs", "fn main() {}\n");
    let c1 = repo.commit("Add the docs");
    repo.write("docs/guide.md", "# Guide\n\nFirst steps.\n");
    repo.commit("Extend the guide");
    repo.mv("docs/install.md", "docs/getting-started/install.md");
    repo.remove("docs/faq.md");
    let c3 = repo.commit("Rename the install page, drop the old FAQ");
    repo.write("docs/guide.md", "# Guide\n\nFirst steps.\n\nSee the install page.\n");
    repo.write("docs/changelog.md", "# Changelog\n");
    let head = repo.commit("Reorganise the guide");
    History { repo, c1, c3, head }
}

/// A commit on another branch, never merged into `main`.
fn commit_on_other_branch(history: &History) -> String {
    let repo = &history.repo;
    repo.git(&["checkout", "-q", "-b", "other", &history.c1]);
    repo.write("docs/experiment.md", "# Experiment\n");
    let other = repo.commit("Experiment on another branch");
    repo.checkout("main");
    other
}

fn changes(plan: &Value) -> Vec<FileChange> {
    let mut changes: Vec<FileChange> = plan["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("changes is a list: {plan:#}"))
        .iter()
        .map(|change| {
            FileChange::new(
                change["status"].as_str().expect("a status"),
                change["path"].as_str().expect("a path").to_owned(),
                change["old_path"].as_str().map(str::to_owned),
            )
        })
        .collect();
    changes.sort();
    changes
}

fn assert_range(plan: &Value, mode: &str, base: Option<&str>, head: &str) {
    let range = &plan["range"];
    assert_eq!(range["mode"], mode, "{plan:#}");
    assert_eq!(range["base"].as_str(), base, "{plan:#}");
    assert_eq!(range["head"], head, "{plan:#}");
}

// ---------------------------------------------------------------------------
// `docsync check`

/// A web pipeline of the project with id 42 whose API is the mock server.
fn check_env(gitlab: &GitLab, repo: &TestRepo, extra: &[(&str, &str)]) -> Env {
    let head = repo.head();
    let env = ci_env(Pipeline::Manual { source: "web", branch: "main", sha: &head });
    let env = with_owned(env, &[("CI_API_V4_URL", gitlab.api()), ("CI_PROJECT_ID", PROJECT_ID.to_owned())]);
    with(fast(env), extra)
}

fn one_commit_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("docs/README.md", "# Docs\n");
    repo.commit("Add the docs");
    repo
}

fn checks(run: &Run) -> Vec<Value> {
    let result = run.json();
    let blocking = result["blocking"].as_bool().unwrap_or_else(|| panic!("blocking is a boolean\n{}", run.context()));
    assert_eq!(blocking, run.code() == Some(1), "blocking and the exit code agree\n{}", run.context());
    result["checks"].as_array().unwrap_or_else(|| panic!("checks is a list\n{}", run.context())).clone()
}

/// The one check at `level` about `subject` whose message contains `message`.
fn find_check(run: &Run, level: &str, subject: &str, message: &str) -> Value {
    let checks = checks(run);
    let found: Vec<&Value> = checks
        .iter()
        .filter(|c| c["level"] == level && c["subject"] == subject)
        .filter(|c| c["message"].as_str().is_some_and(|m| m.contains(message)))
        .collect();
    assert_eq!(found.len(), 1, "one {level} check on {subject} saying {message:?}\n{}", run.context());
    found[0].clone()
}

/// A problem's fix names what to do.
fn assert_fix(check: &Value, words: &[&str]) {
    let fix = check["fix"].as_str().unwrap_or_else(|| panic!("a problem without a fix: {check:#}"));
    for word in words {
        assert!(fix.contains(word), "the fix should contain {word:?}: {check:#}");
    }
}

/// Nothing to warn about `subject` (other subjects, such as "no target is
/// configured", may warn).
fn assert_no_warning_on(run: &Run, subject: &str) {
    let found: Vec<Value> =
        checks(run).into_iter().filter(|c| c["level"] == "warning" && c["subject"] == subject).collect();
    assert!(found.is_empty(), "no warning on {subject} expected: {found:#?}\n{}", run.context());
}

fn assert_no_level(run: &Run, level: &str) {
    let found: Vec<Value> = checks(run).into_iter().filter(|c| c["level"] == level).collect();
    assert!(found.is_empty(), "no {level} expected: {found:#?}\n{}", run.context());
}

/// Every request reached the server with one method: check only reads.
async fn assert_only_reads(gitlab: &GitLab) {
    for request in gitlab.requests().await {
        assert_eq!(request.method.as_str(), "GET", "check must only read; all: {:?}", gitlab.routes().await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_personal_token_is_ok_and_recommends_a_project_access_token() {
    let gitlab = GitLab::start().await;
    let identity = Identity::new(GITLAB_TOKEN, "user_person.json").scopes(&["api"]);
    gitlab.mount_identity(&identity).await;
    let repo = one_commit_repo();
    let env = check_env(&gitlab, &repo, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);

    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    run.assert_code(0);
    find_check(&run, "ok", "GitLab project", &format!("42 at {}", gitlab.api()));
    find_check(&run, "ok", "DOCSYNC_GITLAB_TOKEN", "personal access token of ada.writer (Ada Writer)");
    let warning = find_check(
        &run,
        "warning",
        "DOCSYNC_GITLAB_TOKEN",
        "personal access token acts with all of its owner's rights",
    );
    assert_fix(&warning, &["project access token"]);
    find_check(&run, "ok", "DOCSYNC_GITLAB_TOKEN", &format!("active, expires on {}", date_in(200)));
    find_check(&run, "ok", "DOCSYNC_GITLAB_TOKEN", "has read_api");
    // With no GitBook target there is no preview note and no export merge
    // request, so nothing asks for the api scope.
    assert!(
        checks(&run).iter().all(|c| !c["message"].as_str().is_some_and(|m| m.contains("has api ("))),
        "api is not demanded without a GitBook target\n{}",
        run.context()
    );
    find_check(&run, "ok", "DOCSYNC_GITLAB_TOKEN", "ada.writer has the Developer role on 42");
    assert_no_level(&run, "error");

    for request in gitlab.requests().await {
        let route = format!("{} {}", request.method, request.url);
        assert_eq!(request_header(&request, "private-token"), Some(GITLAB_TOKEN), "{route}");
        assert_eq!(request_header(&request, "authorization"), None, "{route}");
    }
    assert_only_reads(&gitlab).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_text_output_shows_one_line_per_check_and_the_fix() {
    let gitlab = GitLab::start().await;
    gitlab.mount_identity(&Identity::new(GITLAB_TOKEN, "user_person.json")).await;
    let repo = one_commit_repo();
    let env = check_env(&gitlab, &repo, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);

    let run = run_docsync(&repo, &env, &["check"]).await;
    run.assert_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let warning = lines
        .iter()
        .position(|l| l.starts_with("warning") && l.contains("personal access token acts with all"))
        .unwrap_or_else(|| panic!("a warning line\n{}", run.context()));
    let fix = lines.get(warning + 1).copied().unwrap_or_default();
    assert!(
        fix.trim_start().starts_with("fix: prefer a project access token"),
        "the fix follows: {fix:?}\n{}",
        run.context()
    );
    assert!(
        lines.iter().any(|l| l.starts_with("ok") && l.contains("personal access token of ada.writer")),
        "{}",
        run.context()
    );
    for line in &lines {
        let first = line.split_whitespace().next().unwrap_or_default();
        assert!(["ok", "warning", "error", "fix:"].contains(&first), "unexpected line {line:?}\n{}", run.context());
    }
}

/// A `CI_API_V4_URL` that is no URL (its scheme forgotten) is said, naming
/// the variable: never passed over for `CI_SERVER_URL`, which would send the
/// token to an API the user did not name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_names_a_ci_api_v4_url_that_is_no_url() {
    let gitlab = GitLab::start().await;
    gitlab.mount_identity(&Identity::new(GITLAB_TOKEN, "user_person.json")).await;
    let repo = one_commit_repo();
    let env = check_env(&gitlab, &repo, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);
    let server = gitlab.api().trim_end_matches("/api/v4").to_owned();
    let env = with_owned(env, &[("CI_API_V4_URL", "gitlab.example.com/api/v4".to_owned()), ("CI_SERVER_URL", server)]);

    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    run.assert_code(1);
    find_check(&run, "error", "CI_API_V4_URL", "\"gitlab.example.com/api/v4\" is not an http(s) URL");
    assert!(gitlab.routes().await.is_empty(), "no token went to CI_SERVER_URL's API: {:?}", gitlab.routes().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_recognises_a_project_access_token() {
    let gitlab = GitLab::start().await;
    let identity = Identity::new(GITLAB_TOKEN, "user_project_bot.json");
    gitlab.mount_identity(&identity).await;
    let repo = one_commit_repo();
    let env = check_env(&gitlab, &repo, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);

    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    run.assert_code(0);
    find_check(&run, "ok", "DOCSYNC_GITLAB_TOKEN", &format!("project access token of {}", identity.username()));
    assert!(!run.stdout.contains("personal access token"), "{}", run.context());
    assert_no_warning_on(&run, "DOCSYNC_GITLAB_TOKEN");
    assert_no_level(&run, "error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_recognises_a_group_access_token() {
    let gitlab = GitLab::start().await;
    let identity = Identity::new(GITLAB_TOKEN, "user_group_bot.json").role(40);
    gitlab.mount_identity(&identity).await;
    let repo = one_commit_repo();
    let env = check_env(&gitlab, &repo, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);

    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    run.assert_code(0);
    find_check(&run, "ok", "DOCSYNC_GITLAB_TOKEN", &format!("group access token of {}", identity.username()));
    find_check(&run, "ok", "DOCSYNC_GITLAB_TOKEN", "has the Maintainer role");
    assert_no_level(&run, "error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_sends_an_oauth_token_as_bearer() {
    let gitlab = GitLab::start().await;
    gitlab.mount_identity(&Identity::new(OAUTH_TOKEN, "user_person.json").oauth()).await;
    let repo = one_commit_repo();
    let env = check_env(&gitlab, &repo, &[("DOCSYNC_GITLAB_TOKEN", OAUTH_TOKEN)]);

    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    run.assert_code(0);
    find_check(&run, "ok", "DOCSYNC_GITLAB_TOKEN", "OAuth token of ada.writer");
    find_check(&run, "ok", "DOCSYNC_GITLAB_TOKEN", "has the Developer role");
    assert_no_level(&run, "error");

    let requests = gitlab.requests().await;
    let user = gitlab.requests_to("GET", &gitlab.route("/user")).await;
    assert_eq!(user.len(), 1, "{:?}", routes(&requests));
    for request in &requests {
        let route = format!("{} {}", request.method, request.url);
        assert_eq!(request_header(request, "authorization"), Some(format!("Bearer {OAUTH_TOKEN}").as_str()), "{route}");
        assert_eq!(request_header(request, "private-token"), None, "{route}");
        assert_ne!(request.url.path(), gitlab.route("/personal_access_tokens/self"), "OAuth tokens have no PAT record");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_names_the_date_of_an_expired_token() {
    let gitlab = GitLab::start().await;
    let expired = date_in(-3);
    gitlab.mount_identity(&Identity::new(GITLAB_TOKEN, "user_project_bot.json").expires_at(json!(expired))).await;
    let repo = one_commit_repo();
    let env = check_env(&gitlab, &repo, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);

    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    run.assert_code(1);
    let error = find_check(&run, "error", "DOCSYNC_GITLAB_TOKEN", &format!("the token expired on {expired}"));
    assert_fix(&error, &["create a new token", "DOCSYNC_GITLAB_TOKEN"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_warns_about_a_token_expiring_within_30_days() {
    let gitlab = GitLab::start().await;
    let soon = date_in(10);
    gitlab.mount_identity(&Identity::new(GITLAB_TOKEN, "user_project_bot.json").expires_at(json!(soon))).await;
    let repo = one_commit_repo();
    let env = check_env(&gitlab, &repo, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);

    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    run.assert_code(0);
    let warning =
        find_check(&run, "warning", "DOCSYNC_GITLAB_TOKEN", &format!("the token expires on {soon}, in 10 days"));
    assert_fix(&warning, &["rotate", "DOCSYNC_GITLAB_TOKEN"]);
    assert_no_level(&run, "error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_is_quiet_about_expiry_beyond_30_days_and_tokens_that_never_expire() {
    for (expires, says) in [
        (json!(date_in(45)), format!("active, expires on {}", date_in(45))),
        (Value::Null, "active, does not expire".to_owned()),
    ] {
        let gitlab = GitLab::start().await;
        gitlab.mount_identity(&Identity::new(GITLAB_TOKEN, "user_project_bot.json").expires_at(expires)).await;
        let repo = one_commit_repo();
        let env = check_env(&gitlab, &repo, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);

        let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
        run.assert_code(0);
        find_check(&run, "ok", "DOCSYNC_GITLAB_TOKEN", &says);
        assert_no_warning_on(&run, "DOCSYNC_GITLAB_TOKEN");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_refuses_revoked_and_inactive_tokens() {
    for (active, revoked, says) in [(false, true, "the token is revoked"), (false, false, "the token is not active")] {
        let gitlab = GitLab::start().await;
        gitlab.mount_identity(&Identity::new(GITLAB_TOKEN, "user_project_bot.json").state(active, revoked)).await;
        let repo = one_commit_repo();
        let env = check_env(&gitlab, &repo, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);

        let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
        run.assert_code(1);
        let error = find_check(&run, "error", "DOCSYNC_GITLAB_TOKEN", says);
        assert_fix(&error, &["create a new project access token", "DOCSYNC_GITLAB_TOKEN"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_a_token_gitlab_rejects() {
    let gitlab = GitLab::start().await;
    gitlab.mount("GET", gitlab.route("/user"), fixture_answer(401, "error_401.json")).await;
    let repo = one_commit_repo();
    let env = check_env(&gitlab, &repo, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);

    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    run.assert_code(1);
    let error = find_check(&run, "error", "DOCSYNC_GITLAB_TOKEN", "GitLab rejects the token");
    assert!(
        error["message"].as_str().unwrap_or_default().contains("401 Unauthorized"),
        "GitLab's words are kept: {error:#}"
    );
    assert_fix(&error, &["revoked, expired or mistyped", "create a new project access token", "DOCSYNC_GITLAB_TOKEN"]);
    // Nothing more is asked with a token GitLab refuses.
    assert_eq!(gitlab.routes().await.len(), 1, "{:?}", gitlab.routes().await);
}

/// A GitLab that repeats the token in its error must not make docsync print it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_masks_a_token_gitlab_echoes_back() {
    let gitlab = GitLab::start().await;
    gitlab
        .mount(
            "GET",
            gitlab.route("/user"),
            ResponseTemplate::new(401)
                .set_body_json(json!({ "message": format!("401 Unauthorized: token {GITLAB_TOKEN} is unknown") })),
        )
        .await;
    let repo = one_commit_repo();
    let env = check_env(&gitlab, &repo, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);

    // run_docsync asserts that the token appears nowhere.
    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    run.assert_code(1);
    let error = find_check(&run, "error", "DOCSYNC_GITLAB_TOKEN", "GitLab rejects the token");
    assert!(error["message"].as_str().unwrap_or_default().contains("[MASKED]"), "{error:#}");
}

/// A GitBook target importing with a project access token in DOCSYNC_GIT_TOKEN.
fn git_token_env(gitlab: &GitLab, repo: &TestRepo, extra: &[(&str, &str)]) -> Env {
    let env = check_env(gitlab, repo, &[("DOCSYNC_GIT_TOKEN", GIT_TOKEN)]);
    with(with_owned(env, &gitbook_target(gitlab)), extra)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_import_needs_read_repository_on_the_git_token() {
    let gitlab = GitLab::start().await;
    gitlab.mount_gitbook_space().await;
    gitlab.mount_identity(&Identity::new(GIT_TOKEN, "user_project_bot.json").scopes(&["read_api"])).await;
    let repo = one_commit_repo();
    let env = git_token_env(&gitlab, &repo, &[]);

    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    run.assert_code(1);
    let error = find_check(&run, "error", "DOCSYNC_GIT_TOKEN", "lacks the read_repository scope");
    assert_fix(&error, &["create a token with read_repository", "DOCSYNC_GIT_TOKEN"]);
    find_check(&run, "ok", "target gitbook (GitBook)", &format!("space {SPACE} reachable"));
    assert_only_reads(&gitlab).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_import_with_read_repository_and_reporter_role_is_enough() {
    let gitlab = GitLab::start().await;
    gitlab.mount_gitbook_space().await;
    gitlab
        .mount_identity(&Identity::new(GIT_TOKEN, "user_project_bot.json").scopes(&["read_repository"]).role(20))
        .await;
    let repo = one_commit_repo();
    let env = git_token_env(&gitlab, &repo, &[]);

    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    // GitBook only clones for an import: Reporter may read the repository.
    run.assert_code(0);
    find_check(&run, "ok", "DOCSYNC_GIT_TOKEN", "has read_repository");
    find_check(&run, "ok", "DOCSYNC_GIT_TOKEN", "has the Reporter role");
    assert_no_level(&run, "error");
}

/// `docsync check` of an export to the existing branch `gitbook-sync`,
/// with the git token belonging to `identity`.
async fn check_export_as(identity: &Identity) -> Run {
    let gitlab = GitLab::start().await;
    gitlab.mount_gitbook_space().await;
    gitlab.mount_identity(identity).await;
    gitlab.mount_sync_branch().await;
    let repo = one_commit_repo();
    let env =
        git_token_env(&gitlab, &repo, &[("DOCSYNC_DIRECTION", "export"), ("DOCSYNC_EXPORT_BRANCH", "gitbook-sync")]);
    run_docsync(&repo, &env, &["check", "--format", "json"]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_export_needs_write_repository_on_the_git_token() {
    let run = check_export_as(&Identity::new(GIT_TOKEN, "user_project_bot.json").scopes(&["read_repository"])).await;
    run.assert_code(1);
    find_check(&run, "ok", "DOCSYNC_GIT_TOKEN", "has read_repository");
    let error = find_check(&run, "error", "DOCSYNC_GIT_TOKEN", "lacks the write_repository scope");
    assert_fix(&error, &["create a token with write_repository", "DOCSYNC_GIT_TOKEN"]);
    find_check(&run, "ok", "target gitbook export branch", "gitbook-sync exists, and DOCSYNC_GIT_TOKEN may push to it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_export_with_the_reporter_role_is_an_error() {
    let identity = Identity::new(GIT_TOKEN, "user_project_bot.json").scopes(&["write_repository"]).role(20);
    let run = check_export_as(&identity).await;
    run.assert_code(1);
    let error = find_check(
        &run,
        "error",
        "DOCSYNC_GIT_TOKEN",
        &format!("{} has the Reporter role on the project: pushing needs Developer or more", identity.username()),
    );
    assert_fix(&error, &["Developer or Maintainer role"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_protected_branch_without_push_rights_recommends_a_sync_branch_and_a_merge_request() {
    let gitlab = GitLab::start().await;
    gitlab.mount_gitbook_space().await;
    gitlab.mount_identity(&Identity::new(GIT_TOKEN, "user_project_bot.json")).await;
    gitlab
        .mount(
            "GET",
            gitlab.project_route("/repository/branches/main"),
            fixture_answer(200, "branch_main_protected.json"),
        )
        .await;
    let repo = one_commit_repo();
    // Exporting to the sync branch, `main` (CI_DEFAULT_BRANCH).
    let env = git_token_env(&gitlab, &repo, &[("DOCSYNC_DIRECTION", "export")]);

    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    run.assert_code(1);
    let error = find_check(
        &run,
        "error",
        "target gitbook export branch",
        "DOCSYNC_GIT_TOKEN may not push to main (a protected branch)",
    );
    assert_fix(&error, &["DOCSYNC_EXPORT_BRANCH=", "DOCSYNC_EXPORT_MR=true"]);
    assert_eq!(gitlab.requests_to("GET", &gitlab.project_route("/repository/branches/main")).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_gitbook_space_reachable_and_unknown() {
    // Reachable: the space's Git Sync is described.
    let gitlab = GitLab::start().await;
    gitlab.mount_gitbook_space().await;
    let repo = one_commit_repo();
    // The Git token is not a GitLab token here, so only GitBook is asked.
    let env = with_owned(
        check_env(&gitlab, &repo, &[("DOCSYNC_GIT_TOKEN", "clone-only-Tok3n-not-gitlab")]),
        &gitbook_target(&gitlab),
    );
    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    run.assert_code(0);
    find_check(&run, "ok", "target gitbook (GitBook)", &format!("space {SPACE} reachable; Git Sync active via gitlab"));
    assert_no_level(&run, "error");

    // Unknown: GitBook answers 404, for a space that does not exist and for
    // one without Git Sync alike ("Get the Git Sync configuration and status
    // for a space": "Returns 404 if no Git provider is configured").
    let gitlab = GitLab::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/spaces/{SPACE}/git/info")))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({ "error": { "code": 404, "message": "Space not found" } })),
        )
        .mount(&gitlab.server)
        .await;
    let env = with_owned(check_env(&gitlab, &repo, &[]), &gitbook_target(&gitlab));
    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    run.assert_code(1);
    let error = find_check(
        &run,
        "error",
        "target gitbook (GitBook)",
        "no such space for this token, or no Git Sync set up on it",
    );
    assert!(error["message"].as_str().unwrap_or_default().contains("Space not found"), "{error:#}");
    assert_fix(&error, &["DOCSYNC_GITBOOK_SPACE", "set up its Git Sync with GitLab"]);
    let warning = find_check(&run, "warning", "target gitbook", "DOCSYNC_GIT_TOKEN is not set");
    assert_fix(&warning, &["DOCSYNC_GIT_TOKEN", "read_repository"]);
    assert_only_reads(&gitlab).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_dot_webhook_url_must_be_https() {
    let gitlab = GitLab::start().await;
    let repo = one_commit_repo();
    let url = "http://dot.example.invalid/hooks/gitlab";

    // Without the secret, check names both problems.
    let env = check_env(&gitlab, &repo, &[("DOCSYNC_DOT_WEBHOOK_URL", url)]);
    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    run.assert_code(1);
    let error = find_check(&run, "error", "target dot (webhook)", "is not HTTPS");
    assert_fix(&error, &["https://"]);
    let missing = find_check(&run, "error", "target dot (webhook)", "DOCSYNC_DOT_WEBHOOK_SECRET is not set");
    assert_fix(&missing, &["DOCSYNC_DOT_WEBHOOK_SECRET"]);

    // With the secret, the configuration itself is refused: it would travel in clear.
    let env =
        check_env(&gitlab, &repo, &[("DOCSYNC_DOT_WEBHOOK_URL", url), ("DOCSYNC_DOT_WEBHOOK_SECRET", DOT_SECRET)]);
    let run = run_docsync(&repo, &env, &["check"]).await;
    run.assert_code(2);
    run.assert_stderr(&[
        "DOCSYNC_DOT_WEBHOOK_URL",
        "plain http would send DOCSYNC_DOT_WEBHOOK_SECRET unencrypted",
        "fix: use an https:// URL",
    ]);

    // A loopback receiver may use plain http; check never calls it.
    let env = with_owned(
        check_env(&gitlab, &repo, &[("DOCSYNC_DOT_WEBHOOK_SECRET", DOT_SECRET)]),
        &[("DOCSYNC_DOT_WEBHOOK_URL", format!("{}/hooks/dot", gitlab.server.uri()))],
    );
    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    run.assert_code(0);
    find_check(&run, "ok", "target dot (webhook)", "is well formed");
    assert!(gitlab.requests().await.is_empty(), "check sent something: {:?}", gitlab.routes().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_an_unreadable_ca_file_as_a_check() {
    let gitlab = GitLab::start().await;
    let repo = one_commit_repo();
    let missing = repo.root().join("no-such-ca.pem");
    let env = with_owned(check_env(&gitlab, &repo, &[]), &[("CI_SERVER_TLS_CA_FILE", missing.display().to_string())]);

    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    run.assert_code(1);
    let error = find_check(&run, "error", "CI_SERVER_TLS_CA_FILE", &format!("cannot read {}", missing.display()));
    assert_fix(&error, &["readable PEM bundle"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_a_ca_file_without_certificates() {
    let gitlab = GitLab::start().await;
    let repo = one_commit_repo();
    let not_pem = repo.outside_dir("certs").join("ca.txt");
    std::fs::write(&not_pem, "this is not a certificate\n").expect("write the file");
    let env = with_owned(check_env(&gitlab, &repo, &[]), &[("SSL_CERT_FILE", not_pem.display().to_string())]);

    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    run.assert_code(1);
    let error = find_check(&run, "error", "SSL_CERT_FILE", "holds no PEM certificate");
    assert_fix(&error, &["PEM bundle"]);
}

/// With every target and token configured, check reads GitLab and GitBook
/// and sends nothing: no POST, PUT or DELETE, no push event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_never_writes_anything() {
    let gitlab = GitLab::start().await;
    gitlab.mount_gitbook_space().await;
    gitlab.mount_identity(&Identity::new(GITLAB_TOKEN, "user_project_bot.json")).await;
    gitlab.mount_identity(&Identity::new(GIT_TOKEN, "user_group_bot.json")).await;
    gitlab.mount_sync_branch().await;
    let repo = one_commit_repo();
    let env = with_owned(
        git_token_env(
            &gitlab,
            &repo,
            &[
                ("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN),
                ("DOCSYNC_DIRECTION", "export"),
                ("DOCSYNC_EXPORT_BRANCH", "gitbook-sync"),
                ("DOCSYNC_EXPORT_MR", "true"),
                ("DOCSYNC_DOT_WEBHOOK_SECRET", DOT_SECRET),
                ("CI_JOB_TOKEN", JOB_TOKEN),
            ],
        ),
        &[("DOCSYNC_DOT_WEBHOOK_URL", format!("{}/hooks/dot", gitlab.server.uri()))],
    );

    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    run.assert_code(0);
    find_check(&run, "ok", "DOCSYNC_GITLAB_TOKEN", "project access token");
    find_check(&run, "ok", "DOCSYNC_GIT_TOKEN", "group access token");
    find_check(&run, "ok", "target gitbook export branch", "gitbook-sync exists");
    find_check(&run, "ok", "target dot (webhook)", "is well formed");
    let requests = gitlab.requests().await;
    assert!(requests.len() >= 7, "check should have read GitLab and GitBook: {:?}", routes(&requests));
    assert_only_reads(&gitlab).await;
    assert!(!routes(&requests).iter().any(|r| r.contains("/hooks/dot")), "{:?}", routes(&requests));
}

// ---------------------------------------------------------------------------
// The instance behind a pasted URL (outside CI)

/// A local run (no GITLAB_CI) with DOCSYNC_GITLAB_URL set.
fn local_env(url: &str, extra: &[(&str, &str)]) -> Env {
    with(with(fast(Env::new()), &[("DOCSYNC_GITLAB_URL", url)]), extra)
}

async fn assert_resolves(gitlab: &GitLab, repo: &TestRepo, pasted: &str) {
    let run = run_docsync(repo, &local_env(pasted, &[]), &["check", "--format", "json"]).await;
    run.assert_code(0);
    find_check(&run, "ok", "GitLab project", &format!("group/project at {}", gitlab.api()));
    let probes = gitlab.requests().await;
    assert!(
        probes.iter().any(|r| r.url.path() == gitlab.route("/version")),
        "the instance answered {}: {:?}",
        gitlab.route("/version"),
        routes(&probes)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pasted_instance_and_project_urls_resolve_to_the_instance() {
    let gitlab = GitLab::start().await;
    let repo = one_commit_repo();
    let web = gitlab.web();
    // An instance URL names no project: the origin remote does.
    repo.git(&["remote", "add", "origin", &format!("{web}/group/project.git")]);
    for pasted in [
        web.clone(),
        format!("{web}/"),
        format!("{web}/group/project"),
        format!("{web}/group/project/"),
        format!("{web}/group/project///"),
        format!("{web}/group/project.git"),
        format!("{web}/group/project/-/tree/main"),
        format!("{web}/group/project/-/tree/main/docs?ref_type=heads"),
    ] {
        gitlab.mount_version().await;
        assert_resolves(&gitlab, &repo, &pasted).await;
        gitlab.reset().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_url_probes_the_path_and_its_parents_longest_first() {
    let gitlab = GitLab::start().await;
    gitlab.mount_version().await;
    let repo = one_commit_repo();
    let run = run_docsync(
        &repo,
        &local_env(&format!("{}/group/sub/project", gitlab.web()), &[]),
        &["check", "--format", "json"],
    )
    .await;
    run.assert_code(0);
    find_check(&run, "ok", "GitLab project", &format!("group/sub/project at {}", gitlab.api()));
    let probed: Vec<String> = gitlab.requests().await.iter().map(|r| r.url.path().to_owned()).collect();
    assert_eq!(
        probed,
        ["/group/sub/project/api/v4/version", "/group/sub/api/v4/version", "/group/api/v4/version", "/api/v4/version"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_under_a_sub_path_is_found_and_used() {
    let gitlab = GitLab::under("/gitlab").await;
    gitlab.mount_version().await;
    let identity = Identity::new(GITLAB_TOKEN, "user_project_bot.json");
    // The project is addressed by its path, encoded as one segment.
    let (name, value) = auth_header(GITLAB_TOKEN);
    for route in ["/user", "/personal_access_tokens/self"] {
        let body =
            if route == "/user" { identity.user.clone() } else { identity.token_info.clone().unwrap_or_default() };
        Mock::given(method("GET"))
            .and(path(gitlab.route(route)))
            .and(header(name, value.as_str()))
            .respond_with(ok_json(body))
            .mount(&gitlab.server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(gitlab.route("/projects/group%2Fproject")))
        .and(header(name, value.as_str()))
        .respond_with(fixture_answer(200, "project.json"))
        .mount(&gitlab.server)
        .await;
    let mut member = fixture("member.json");
    member["access_level"] = json!(30);
    Mock::given(method("GET"))
        .and(path(gitlab.route(&format!("/projects/group%2Fproject/members/all/{}", identity.user_id()))))
        .and(header(name, value.as_str()))
        .respond_with(ok_json(member))
        .mount(&gitlab.server)
        .await;
    let repo = one_commit_repo();
    let pasted = format!("{}/group/project/", gitlab.web());

    let run = run_docsync(
        &repo,
        &local_env(&pasted, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]),
        &["check", "--format", "json"],
    )
    .await;
    run.assert_code(0);
    find_check(&run, "ok", "GitLab project", &format!("group/project at {}/gitlab/api/v4", gitlab.server.uri()));
    find_check(&run, "ok", "DOCSYNC_GITLAB_TOKEN", "project access token");
    find_check(&run, "ok", "DOCSYNC_GITLAB_TOKEN", "has the Developer role on group/project");
    assert_no_level(&run, "error");
    let probed: Vec<String> =
        gitlab.requests().await.iter().map(|r| r.url.path().to_owned()).filter(|p| p.ends_with("/version")).collect();
    assert_eq!(
        probed,
        ["/gitlab/group/project/api/v4/version", "/gitlab/group/api/v4/version", "/gitlab/api/v4/version"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_that_is_not_gitlab_says_to_set_the_instance_url() {
    let gitlab = GitLab::start().await;
    gitlab.mount_version_404().await;
    let repo = one_commit_repo();
    let pasted = format!("{}/group/project/-/wikis/home", gitlab.web());

    let run = run_docsync(&repo, &local_env(&pasted, &[]), &["check", "--format", "json"]).await;
    run.assert_code(1);
    let error = find_check(
        &run,
        "error",
        "DOCSYNC_GITLAB_URL",
        "responded 404 for /api/v4/version: set the instance URL, not a page",
    );
    assert_fix(&error, &["DOCSYNC_GITLAB_URL"]);
    assert!(error["message"].as_str().unwrap_or_default().contains(&pasted), "names the URL: {error:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_instance_says_what_to_check() {
    let port = free_port();
    let repo = one_commit_repo();
    let pasted = format!("http://127.0.0.1:{port}/group/project");

    let run = run_docsync(
        &repo,
        &local_env(&pasted, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]),
        &["check", "--format", "json"],
    )
    .await;
    run.assert_code(1);
    let error = find_check(
        &run,
        "error",
        "DOCSYNC_GITLAB_URL",
        "cannot reach 127.0.0.1: check the address, proxy and firewall",
    );
    assert_fix(&error, &["DOCSYNC_GITLAB_URL"]);
    assert!(run.elapsed < Duration::from_secs(20), "gave up quickly: {}", run.context());
}

// ---------------------------------------------------------------------------
// The sync watermark: the last successful deployment of the environment

async fn mount_deployments(gitlab: &GitLab, answer: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(gitlab.project_route("/deployments")))
        .and(query_param("environment", ENVIRONMENT))
        .and(query_param("status", "success"))
        .and(query_param("order_by", "finished_at"))
        .and(query_param("sort", "desc"))
        .respond_with(answer)
        .mount(&gitlab.server)
        .await;
}

fn deployed(sha: &str) -> ResponseTemplate {
    let mut deployments = fixture("deployments.json");
    deployments[0]["sha"] = json!(sha);
    deployments[0]["deployable"]["commit"]["id"] = json!(sha);
    deployments[0]["deployable"]["commit"]["short_id"] = json!(&sha[..8]);
    deployments[0]["deployable"]["pipeline"]["sha"] = json!(sha);
    ok_json(deployments)
}

/// A pipeline of the project with id 42 in the `docs/gitbook` environment,
/// its API under a sub-path.
fn environment_env(gitlab: &GitLab, pipeline: Pipeline<'_>, extra: &[(&str, &str)]) -> Env {
    let env = with_owned(
        ci_env(pipeline),
        &[
            ("CI_API_V4_URL", gitlab.api()),
            ("CI_PROJECT_ID", PROJECT_ID.to_owned()),
            ("CI_ENVIRONMENT_NAME", ENVIRONMENT.to_owned()),
        ],
    );
    with(fast(env), extra)
}

/// `docsync plan` in `history` with the job's environment `ENVIRONMENT`,
/// whose deployments GitLab answers with `deployments`. Whatever the answer,
/// the plan succeeds: a watermark that cannot be read or used is ignored.
async fn plan_with_deployments(
    gitlab: &GitLab,
    history: &History,
    deployments: ResponseTemplate,
    pipeline: Pipeline<'_>,
    extra: &[(&str, &str)],
) -> Run {
    mount_deployments(gitlab, deployments).await;
    let env = environment_env(gitlab, pipeline, extra);
    let run = run_docsync(&history.repo, &env, &["plan", "--format", "json"]).await;
    run.assert_code(0);
    run
}

async fn only_deployments_request(gitlab: &GitLab) -> Received {
    let requests = gitlab.requests().await;
    assert_eq!(requests.len(), 1, "one request, for the deployments: {:?}", routes(&requests));
    requests.into_iter().next().unwrap_or_else(|| unreachable!())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watermark_is_the_base_when_it_is_an_ancestor_read_with_the_job_token() {
    let gitlab = GitLab::under("/gitlab").await;
    let history = docs_history();
    let run = plan_with_deployments(
        &gitlab,
        &history,
        deployed(&history.c1),
        Pipeline::Push { branch: "main", before: &history.c3, sha: &history.head },
        &[("CI_JOB_TOKEN", JOB_TOKEN)],
    )
    .await;
    let plan = run.json();
    assert_range(&plan, "watermark", Some(&history.c1), &history.head);
    assert_eq!(changes(&plan), history.repo.name_status(&history.c1, &history.head), "{plan:#}");
    run.assert_stderr(&[&format!("last successful sync of {ENVIRONMENT}: {}", &history.c1[..8])]);

    let request = only_deployments_request(&gitlab).await;
    assert_eq!(request_header(&request, "job-token"), Some(JOB_TOKEN));
    assert_eq!(request_header(&request, "private-token"), None);
    assert_eq!(request_header(&request, "authorization"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watermark_is_read_with_the_api_token_when_one_is_set() {
    let gitlab = GitLab::start().await;
    let history = docs_history();
    let run = plan_with_deployments(
        &gitlab,
        &history,
        deployed(&history.c1),
        Pipeline::Push { branch: "main", before: &history.c3, sha: &history.head },
        &[("CI_JOB_TOKEN", JOB_TOKEN), ("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)],
    )
    .await;
    assert_range(&run.json(), "watermark", Some(&history.c1), &history.head);
    let request = only_deployments_request(&gitlab).await;
    assert_eq!(request_header(&request, "private-token"), Some(GITLAB_TOKEN));
    assert_eq!(request_header(&request, "job-token"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployed_commit_from_another_branch_is_ignored() {
    let gitlab = GitLab::start().await;
    let history = docs_history();
    let other = commit_on_other_branch(&history);
    let run = plan_with_deployments(
        &gitlab,
        &history,
        deployed(&other),
        Pipeline::Push { branch: "main", before: &history.c3, sha: &history.head },
        &[("CI_JOB_TOKEN", JOB_TOKEN)],
    )
    .await;
    let plan = run.json();
    assert_range(&plan, "push", Some(&history.c3), &history.head);
    assert_eq!(changes(&plan), history.repo.name_status(&history.c3, &history.head), "{plan:#}");
    run.assert_stderr(&[&format!(
        "the last synced commit {} is not an ancestor of head: ignoring the watermark",
        &other[..8]
    )]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_deployments_fall_back_to_the_push_range() {
    let gitlab = GitLab::start().await;
    let history = docs_history();
    let run = plan_with_deployments(
        &gitlab,
        &history,
        fixture_answer(403, "error_403.json"),
        Pipeline::Push { branch: "main", before: &history.c3, sha: &history.head },
        &[("CI_JOB_TOKEN", JOB_TOKEN)],
    )
    .await;
    assert_range(&run.json(), "push", Some(&history.c3), &history.head);
    run.assert_stderr(&[&format!("cannot read environment {ENVIRONMENT}'s deployments"), "403", "no sync watermark"]);
    assert_eq!(gitlab.requests().await.len(), 1, "no retry of a 403: {:?}", gitlab.routes().await);
}

/// A `CI_API_V4_URL` that is no URL leaves the job without a watermark,
/// and the log says so, naming the variable: before, the watermark was
/// passed over in silence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ci_api_v4_url_that_is_no_url_is_named_when_the_watermark_cannot_be_read() {
    let gitlab = GitLab::start().await;
    let history = docs_history();
    mount_deployments(&gitlab, deployed(&history.c1)).await;
    let env = environment_env(
        &gitlab,
        Pipeline::Push { branch: "main", before: &history.c3, sha: &history.head },
        &[("CI_JOB_TOKEN", JOB_TOKEN)],
    );
    let env = with_owned(env, &[("CI_API_V4_URL", "gitlab.example.com/api/v4".to_owned())]);
    let run = run_docsync(&history.repo, &env, &["plan", "--format", "json"]).await;
    run.assert_code(0);
    assert_range(&run.json(), "push", Some(&history.c3), &history.head);
    run.assert_stderr(&["CI_API_V4_URL", "is not an http(s) URL", "no sync watermark", "fix:"]);
    assert!(gitlab.requests().await.is_empty(), "nothing was read: {:?}", gitlab.routes().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_pipeline_with_a_watermark_syncs_exactly_the_missing_changes() {
    let gitlab = GitLab::start().await;
    let history = docs_history();
    let run = plan_with_deployments(
        &gitlab,
        &history,
        deployed(&history.c3),
        Pipeline::Manual { source: "web", branch: "main", sha: &history.head },
        &[("CI_JOB_TOKEN", JOB_TOKEN)],
    )
    .await;
    let plan = run.json();
    assert_range(&plan, "watermark", Some(&history.c3), &history.head);
    assert_eq!(changes(&plan), history.repo.name_status(&history.c3, &history.head), "{plan:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_pipeline_without_a_deployment_is_a_full_sync() {
    let gitlab = GitLab::start().await;
    let history = docs_history();
    let run = plan_with_deployments(
        &gitlab,
        &history,
        ok_json(json!([])),
        Pipeline::Manual { source: "web", branch: "main", sha: &history.head },
        &[("CI_JOB_TOKEN", JOB_TOKEN)],
    )
    .await;
    let plan = run.json();
    assert_range(&plan, "full", None, &history.head);
    assert_eq!(changes(&plan), history.repo.all_files(&history.head), "{plan:#}");
    run.assert_stderr(&[&format!("environment {ENVIRONMENT} has no successful deployment yet")]);
}

// ---------------------------------------------------------------------------
// The compare fallback: a base missing from a shallow clone

struct Shallow {
    history: History,
    clone: TestRepo,
}

/// A clone of `docs_history` with only its head (`git clone --depth 1
/// file://…`: libgit2 cannot deepen over `file://`, so c1 stays missing).
fn shallow_clone() -> Shallow {
    let history = docs_history();
    let clone = history.repo.clone_shallow("shallow", 1);
    assert_eq!(clone.head(), history.head);
    assert!(!clone.git_output(&["cat-file", "-e", &format!("{}^{{commit}}", history.c1)]).status.success());
    Shallow { history, clone }
}

fn compare_answer(name: &str, head: &str) -> ResponseTemplate {
    let mut compare = fixture(name);
    compare["commit"]["id"] = json!(head);
    compare["commit"]["short_id"] = json!(&head[..8]);
    ok_json(compare)
}

async fn mount_compare(gitlab: &GitLab, shallow: &Shallow, answer: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(gitlab.project_route("/repository/compare")))
        .and(query_param("from", shallow.history.c1.as_str()))
        .and(query_param("to", shallow.history.head.as_str()))
        .and(query_param("straight", "true"))
        .and(header("private-token", GITLAB_TOKEN))
        .respond_with(answer)
        .mount(&gitlab.server)
        .await;
}

fn shallow_push_env(gitlab: &GitLab, shallow: &Shallow, extra: &[(&str, &str)]) -> Env {
    let history = &shallow.history;
    let env = with_owned(
        ci_env(Pipeline::Push { branch: "main", before: &history.c1, sha: &history.head }),
        &[("CI_API_V4_URL", gitlab.api()), ("CI_PROJECT_ID", PROJECT_ID.to_owned())],
    );
    with(fast(env), extra)
}

/// `docsync plan` in a fresh shallow clone of a push whose base it lacks,
/// with GitLab's compare API answering the fixture `answer` and
/// `credential` set. It exits 0 whatever GitLab says: a full sync is the
/// fallback.
async fn plan_beyond_the_clone(gitlab: &GitLab, answer: &str, credential: (&str, &str)) -> (Shallow, Run, Value) {
    let shallow = shallow_clone();
    mount_compare(gitlab, &shallow, compare_answer(answer, &shallow.history.head)).await;
    let env = shallow_push_env(gitlab, &shallow, &[credential]);
    let run = run_docsync(&shallow.clone, &env, &["plan", "--format", "json"]).await;
    run.assert_code(0);
    let plan = run.json();
    (shallow, run, plan)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_api_supplies_the_changes_of_a_base_missing_from_a_shallow_clone() {
    let gitlab = GitLab::under("/gitlab").await;
    let (shallow, run, plan) =
        plan_beyond_the_clone(&gitlab, "compare.json", ("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)).await;
    let history = &shallow.history;
    assert_range(&plan, "push", Some(&history.c1), &history.head);
    // The compare answer holds a rename, a deletion, an edit and a new file:
    // the same change set git finds in the full repository.
    let expected = history.repo.name_status(&history.c1, &history.head);
    assert_eq!(changes(&plan), expected, "{plan:#}");
    for status in ["renamed", "deleted", "modified", "added"] {
        assert!(expected.iter().any(|c| c.status == status), "the fixture covers {status}: {expected:?}");
    }
    run.assert_stderr(&["changes taken from the GitLab compare API"]);
    assert_eq!(gitlab.requests_to("GET", &gitlab.project_route("/repository/compare")).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compare_answer_with_a_too_large_diff_falls_back_to_a_full_sync() {
    let gitlab = GitLab::start().await;
    let (shallow, run, plan) =
        plan_beyond_the_clone(&gitlab, "compare_too_large.json", ("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)).await;
    assert_range(&plan, "full", None, &shallow.history.head);
    assert_eq!(changes(&plan), shallow.clone.all_files("HEAD"), "{plan:#}");
    run.assert_stderr(&["docs/api-reference.md is too large", "falling back to a full sync", "GIT_DEPTH: 0"]);
    assert_eq!(gitlab.requests_to("GET", &gitlab.project_route("/repository/compare")).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_a_missing_base_is_a_full_sync_with_the_git_depth_hint() {
    let gitlab = GitLab::start().await;
    let (shallow, run, plan) = plan_beyond_the_clone(&gitlab, "compare.json", ("CI_JOB_TOKEN", JOB_TOKEN)).await;
    assert_range(&plan, "full", None, &shallow.history.head);
    assert!(plan["range"]["reason"].as_str().unwrap_or_default().contains("GIT_DEPTH: 0"), "{plan:#}");
    run.assert_stderr(&["DOCSYNC_GITLAB_TOKEN is not set", "falling back to a full sync", "GIT_DEPTH: 0"]);
    assert!(gitlab.requests().await.is_empty(), "nothing to ask GitLab without a token: {:?}", gitlab.routes().await);
}

// ---------------------------------------------------------------------------
// Merge requests: the preview note, and the merge request after an export

fn preview_env(gitlab: &GitLab, history: &History, extra: &[(&str, &str)]) -> Env {
    let env =
        ci_env(Pipeline::MergeRequest { iid: 7, diff_base: &history.c3, sha: &history.head, source_branch_sha: None });
    let env = with_owned(env, &[("CI_API_V4_URL", gitlab.api()), ("CI_PROJECT_ID", PROJECT_ID.to_owned())]);
    let env = with_owned(env, &gitbook_target(gitlab));
    let env = with(
        env,
        &[
            ("CI_PIPELINE_URL", PIPELINE_URL),
            ("DOCSYNC_GIT_TOKEN", GIT_TOKEN),
            ("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN),
            ("DOCSYNC_WAIT", "false"),
        ],
    );
    with(fast(env), extra)
}

/// GitBook queues the preview import.
async fn mount_gitbook_import(gitlab: &GitLab) {
    Mock::given(method("POST"))
        .and(path(format!("/v1/spaces/{SPACE}/git/import")))
        .respond_with(ResponseTemplate::new(204))
        .mount(&gitlab.server)
        .await;
}

/// The stand-in on the mock server, answering every GitLab API route.
async fn mount_stand_in(gitlab: &GitLab, state: State) -> StandIn {
    let stand_in = StandIn::new(state);
    Mock::given(path_regex(r"/api/v4/"))
        .respond_with(stand_in.clone())
        .with_priority(100)
        .named("the GitLab stand-in")
        .mount(&gitlab.server)
        .await;
    stand_in
}

/// GitLab with merge request !7, `DOCSYNC_GITLAB_TOKEN` of the project's
/// bot user (scope `api`, Developer) and Ada, who comments.
fn review_state() -> State {
    let mut state = State::new();
    state.add_token(GITLAB_TOKEN, fixture("user_project_bot.json"), &["api"], Some(30));
    state.add_token("glpat-fake.AdaReviewer-0000", fixture("user_person.json"), &["api"], Some(40));
    state.notes.insert(7, Vec::new());
    state
}

fn bot() -> Value {
    fixture("user_project_bot.json")
}

fn ada() -> Value {
    fixture("user_person.json")
}

const MARKER: &str = "<!-- docsync:preview -->";

fn notes_of(stand_in: &StandIn, iid: u64) -> Vec<Value> {
    stand_in.with(|state| state.notes.get(&iid).cloned().unwrap_or_default())
}

fn assert_preview_note(request: &Received) {
    assert_eq!(request_header(request, "private-token"), Some(GITLAB_TOKEN));
    let body: Value = serde_json::from_slice(&request.body).expect("the note is JSON");
    let text = body["body"].as_str().unwrap_or_else(|| panic!("a note body: {body:#}"));
    for part in [MARKER, SPACE, "**queued**", PIPELINE_URL] {
        assert!(text.contains(part), "the note should contain {part:?}:\n{text}");
    }
    assert!(!text.contains(TOKEN_MARK), "no secret in the note:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_posts_its_outcome_as_a_merge_request_note() {
    let gitlab = GitLab::start().await;
    mount_gitbook_import(&gitlab).await;
    let stand_in = mount_stand_in(&gitlab, review_state()).await;
    stand_in.with(|state| state.add_note(7, &ada(), "Is the docsync preview ready?"));
    let history = docs_history();
    let env = preview_env(&gitlab, &history, &[]);

    let run = run_docsync(&history.repo, &env, &["sync", "--format", "json"]).await;
    run.assert_code(0);
    let result = run.json();
    assert_eq!(result["targets"][0]["action"], "preview", "{result:#}");
    assert_eq!(result["targets"][0]["outcome"]["status"], "queued", "{result:#}");
    run.assert_stderr(&["preview result posted on !7 (note "]);

    let notes = gitlab.project_route("/merge_requests/7/notes");
    let posted = gitlab.requests_to("POST", &notes).await;
    assert_eq!(posted.len(), 1, "{:?}", gitlab.routes().await);
    assert_preview_note(&posted[0]);
    assert!(gitlab.requests().await.iter().all(|r| r.method.as_str() != "PUT"), "{:?}", gitlab.routes().await);
    assert_eq!(notes_of(&stand_in, 7).len(), 2);
}

/// The done-when case: docsync's note is older than 110 others, so it is
/// on the second page of 100 (newest first); a reviewer quoted it, marker
/// included. The retried job updates its own note and posts none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_preview_on_a_busy_merge_request_updates_its_own_note() {
    let gitlab = GitLab::start().await;
    mount_gitbook_import(&gitlab).await;
    let stand_in = mount_stand_in(&gitlab, review_state()).await;
    let (own, quote) = stand_in.with(|state| {
        let own = state.add_note(7, &bot(), &format!("{MARKER}\n**docsync** — GitBook preview: **failed**"));
        let quote = state.add_note(7, &ada(), &format!("> {MARKER}\n> **docsync** — failed\n\nWhy did it fail?"));
        for n in 0..110 {
            state.add_note(7, &ada(), &format!("review comment {n}"));
        }
        (own, quote)
    });
    let history = docs_history();
    let env = preview_env(&gitlab, &history, &[]);

    let run = run_docsync(&history.repo, &env, &["sync"]).await;
    run.assert_code(0);
    run.assert_stderr(&[&format!("preview result posted on !7 (note {own})")]);
    let notes = gitlab.project_route("/merge_requests/7/notes");
    let updated = gitlab.requests_to("PUT", &format!("{notes}/{own}")).await;
    assert_eq!(updated.len(), 1, "{:?}", gitlab.routes().await);
    assert_preview_note(&updated[0]);
    assert!(gitlab.requests_to("POST", &notes).await.is_empty(), "no second note: {:?}", gitlab.routes().await);
    let stored = notes_of(&stand_in, 7);
    assert_eq!(stored.len(), 112);
    let quoted = stored.iter().find(|n| n["id"] == quote).expect("the quote is still there");
    assert!(quoted["body"].as_str().unwrap_or_default().starts_with("> "), "the quote is untouched: {quoted:#}");
}

/// The note was stored but its answer was lost (502):
/// docsync looks before sending it again, and leaves one note.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_whose_answer_was_lost_is_looked_up_not_posted_twice() {
    let gitlab = GitLab::start().await;
    mount_gitbook_import(&gitlab).await;
    let mut state = review_state();
    state.lose_answer_of.push("POST /notes");
    let stand_in = mount_stand_in(&gitlab, state).await;
    let history = docs_history();
    let env = preview_env(&gitlab, &history, &[("DOCSYNC_RETRIES", "2")]);

    let run = run_docsync(&history.repo, &env, &["sync"]).await;
    run.assert_code(0);
    run.assert_stderr(&["preview result posted on !7"]);
    let notes = gitlab.project_route("/merge_requests/7/notes");
    assert_eq!(gitlab.requests_to("POST", &notes).await.len(), 1, "one note: {:?}", gitlab.routes().await);
    assert_eq!(notes_of(&stand_in, 7).len(), 1);
}

/// A failed note only warns, with the fix its answer calls for, in the
/// log and in the JSON result's `warnings`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_that_cannot_be_posted_warns_with_the_fix_that_fits() {
    let cases = vec![
        ("scope", insufficient_scope_answer(), &["api scope"][..]),
        ("forbidden", fixture_answer(403, "error_403.json"), &["may not comment on !7", "Reporter"]),
        (
            "404",
            fixture_answer(404, "error_404_project.json"),
            &["no merge request !7", "token belongs to this project"],
        ),
        (
            "500",
            ResponseTemplate::new(500).set_body_json(json!({"message": "500 Internal Server Error"})),
            &["GitLab's own error", "retry the job later"],
        ),
    ];
    for (case, answer, fix) in cases {
        let gitlab = GitLab::start().await;
        mount_gitbook_import(&gitlab).await;
        let notes = gitlab.project_route("/merge_requests/7/notes");
        Mock::given(method("POST")).and(path(notes.clone())).respond_with(answer).mount(&gitlab.server).await;
        mount_stand_in(&gitlab, review_state()).await;
        let history = docs_history();
        let env = preview_env(&gitlab, &history, &[]);

        let run = run_docsync(&history.repo, &env, &["sync", "--format", "json"]).await;
        run.assert_code(0);
        run.assert_stderr(&["could not post the preview result on !7"]);
        run.assert_stderr(fix);
        let result = run.json();
        let warnings = result["targets"][0]["warnings"].as_array().cloned().unwrap_or_default();
        let warning = warnings
            .iter()
            .filter_map(Value::as_str)
            .find(|w| w.contains("could not be posted on !7"))
            .unwrap_or_else(|| panic!("{case}: the JSON warnings name the note: {result:#}"));
        for word in fix {
            assert!(warning.contains(word), "{case}: {word:?} in {warning:?}");
        }
        if case == "404" || case == "forbidden" {
            assert!(!warning.contains("api scope"), "{case}: not a scope problem: {warning:?}");
        }
    }
}

fn insufficient_scope_answer() -> ResponseTemplate {
    ResponseTemplate::new(403).set_body_json(json!({
        "error": "insufficient_scope",
        "error_description": "The request requires higher privileges than provided by the access token.",
        "scope": "api",
    }))
}

/// GitBook's `git/info` shows an older export until docsync's export
/// request arrives, then a new export that succeeded.
struct ExportTimeline {
    exported: AtomicBool,
}

struct ExportInfo(Arc<ExportTimeline>);

impl Respond for ExportInfo {
    fn respond(&self, _: &Received) -> ResponseTemplate {
        let (started, ended) = if self.0.exported.load(Ordering::SeqCst) {
            (NEW_STARTED, "2026-11-22T15:00:20Z")
        } else {
            (OLD_STARTED, "2026-11-22T14:00:40Z")
        };
        ok_json(gitbook_state(Some(json!({
            "state": "success", "direction": "export", "stage": "done", "startedAt": started, "endedAt": ended,
        }))))
    }
}

struct ExportQueued(Arc<ExportTimeline>);

impl Respond for ExportQueued {
    fn respond(&self, _: &Received) -> ResponseTemplate {
        self.0.exported.store(true, Ordering::SeqCst);
        gitbook_accepted()
    }
}

async fn mount_gitbook_export(gitlab: &GitLab) {
    let timeline = Arc::new(ExportTimeline { exported: AtomicBool::new(false) });
    gitlab.mount("GET", format!("/v1/spaces/{SPACE}/git/info"), ExportInfo(Arc::clone(&timeline))).await;
    gitlab.mount("POST", format!("/v1/spaces/{SPACE}/git/export"), ExportQueued(timeline)).await;
}

fn export_env(gitlab: &GitLab, history: &History, extra: &[(&str, &str)]) -> Env {
    let env = ci_env(Pipeline::Manual { source: "web", branch: "main", sha: &history.head });
    let env = with_owned(env, &[("CI_API_V4_URL", gitlab.api()), ("CI_PROJECT_ID", PROJECT_ID.to_owned())]);
    let env = with_owned(env, &gitbook_target(gitlab));
    let env = with(
        env,
        &[
            ("CI_PIPELINE_URL", PIPELINE_URL),
            ("CI_DEFAULT_BRANCH", "main"),
            ("DOCSYNC_GIT_TOKEN", GIT_TOKEN),
            ("DOCSYNC_EXPORT_MR", "true"),
            ("DOCSYNC_EXPORT_BRANCH", "gitbook-sync"),
            ("DOCSYNC_WAIT", "true"),
            ("DOCSYNC_WAIT_TIMEOUT", "10s"),
        ],
    );
    with(fast(env), extra)
}

fn merge_requests_route(gitlab: &GitLab) -> String {
    gitlab.project_route("/merge_requests")
}

fn assert_merge_request_body(request: &Received) {
    assert_eq!(request_header(request, "private-token"), Some(GITLAB_TOKEN));
    let body: Value = serde_json::from_slice(&request.body).expect("the merge request is JSON");
    assert_eq!(body["source_branch"], "gitbook-sync", "{body:#}");
    assert_eq!(body["target_branch"], "main", "{body:#}");
    assert!(body["title"].as_str().unwrap_or_default().contains(SPACE), "{body:#}");
    assert!(body["description"].as_str().unwrap_or_default().contains(PIPELINE_URL), "{body:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_opens_a_merge_request_and_prints_its_url() {
    let gitlab = GitLab::start().await;
    mount_gitbook_export(&gitlab).await;
    gitlab.mount("POST", merge_requests_route(&gitlab), fixture_answer(201, "merge_request_created.json")).await;
    let history = docs_history();
    let env = export_env(&gitlab, &history, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);

    let run = run_docsync(&history.repo, &env, &["export"]).await;
    run.assert_code(0);
    let url = "https://gitlab.example.com/group/project/-/merge_requests/4";
    run.assert_stdout(&["synced", &format!("merge request opened {url}")]);
    run.assert_stderr(&[url]);
    let created = gitlab.requests_to("POST", &merge_requests_route(&gitlab)).await;
    assert_eq!(created.len(), 1, "{:?}", gitlab.routes().await);
    assert_merge_request_body(&created[0]);
    // The export itself went to GitBook, into the sync branch.
    let exports = gitlab.requests_to("POST", &format!("/v1/spaces/{SPACE}/git/export")).await;
    assert_eq!(exports.len(), 1, "{:?}", gitlab.routes().await);
    let export: Value = serde_json::from_slice(&exports[0].body).expect("the export body is JSON");
    assert_eq!(export["ref"], "refs/heads/gitbook-sync", "{export:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_reuses_the_open_merge_request_on_409() {
    let gitlab = GitLab::start().await;
    mount_gitbook_export(&gitlab).await;
    let route = merge_requests_route(&gitlab);
    gitlab.mount("POST", route.clone(), fixture_answer(409, "merge_request_conflict.json")).await;
    Mock::given(method("GET"))
        .and(path(route.clone()))
        .and(query_param("source_branch", "gitbook-sync"))
        .and(query_param("target_branch", "main"))
        .and(query_param("state", "opened"))
        .respond_with(fixture_answer(200, "merge_requests_open.json"))
        .mount(&gitlab.server)
        .await;
    let history = docs_history();
    let env = export_env(&gitlab, &history, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);

    let run = run_docsync(&history.repo, &env, &["export", "--format", "json"]).await;
    run.assert_code(0);
    let url = "https://gitlab.example.com/group/project/-/merge_requests/3";
    let result = run.json();
    let outcome = &result["targets"][0]["outcome"];
    assert_eq!(outcome["status"], "synced", "{result:#}");
    assert_eq!(outcome["merge_request"], url, "{result:#}");
    assert!(
        outcome["message"].as_str().unwrap_or_default().contains(&format!("merge request already open: {url}")),
        "{result:#}"
    );
    run.assert_stderr(&[url]);
    let created = gitlab.requests_to("POST", &route).await;
    assert_eq!(created.len(), 1, "{:?}", gitlab.routes().await);
    assert_merge_request_body(&created[0]);
    assert_eq!(gitlab.requests_to("GET", &route).await.len(), 1, "{:?}", gitlab.routes().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_merge_request_without_a_gitlab_token_fails_with_the_fix() {
    let gitlab = GitLab::start().await;
    mount_gitbook_export(&gitlab).await;
    let history = docs_history();
    let env = export_env(&gitlab, &history, &[("CI_JOB_TOKEN", JOB_TOKEN)]);

    let run = run_docsync(&history.repo, &env, &["export"]).await;
    run.assert_code(1);
    let fix = "set DOCSYNC_GITLAB_TOKEN to a project access token with the api scope";
    run.assert_stdout(&["failed", "DOCSYNC_EXPORT_MR=true but no DOCSYNC_GITLAB_TOKEN", fix]);
    run.assert_stderr(&[fix]);
    let routes = gitlab.routes().await;
    assert!(routes.iter().all(|r| !r.contains("/api/v4/")), "GitLab is not asked without a token: {routes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_merge_request_gitlab_refuses_fails_with_the_fix() {
    let gitlab = GitLab::start().await;
    mount_gitbook_export(&gitlab).await;
    gitlab.mount("POST", merge_requests_route(&gitlab), fixture_answer(403, "error_403.json")).await;
    let history = docs_history();
    let env = export_env(&gitlab, &history, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);

    let run = run_docsync(&history.repo, &env, &["export"]).await;
    run.assert_code(1);
    let fix = "give DOCSYNC_GITLAB_TOKEN the api scope and the Developer role";
    run.assert_stdout(&["failed", "the merge request could not be opened", "403 Forbidden", fix]);
    run.assert_stderr(&["the merge request could not be opened", "403 Forbidden", fix]);
    assert_eq!(gitlab.requests_to("POST", &merge_requests_route(&gitlab)).await.len(), 1, "no retry of a 403");
}

/// GitLab's own trouble when opening the merge request (503 to the end, a
/// fault injected) is exit 3 and `unreachable`, with a fix about GitLab,
/// not the token's scopes: the token was not at fault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_merge_request_gitlab_cannot_answer_is_unreachable() {
    let gitlab = GitLab::start().await;
    mount_gitbook_export(&gitlab).await;
    gitlab.mount("POST", merge_requests_route(&gitlab), ResponseTemplate::new(503)).await;
    let history = docs_history();
    let env = export_env(&gitlab, &history, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);

    let run = run_docsync(&history.repo, &env, &["export"]).await;
    run.assert_code(3);
    let fix = "check that GitLab answers";
    run.assert_stdout(&["unreachable", "the merge request could not be opened", "503", fix]);
    run.assert_stderr(&["the merge request could not be opened", fix]);
    assert!(!run.stdout.contains("api scope"), "the token was not at fault\n{}", run.context());
    assert_eq!(gitlab.requests_to("POST", &merge_requests_route(&gitlab)).await.len(), 1, "DOCSYNC_RETRIES=0");
}

// ---------------------------------------------------------------------------
// What docsync tells about GitLab is true

/// The done-when case: a project access token with only `read_repository`,
/// as recommended for imports, cannot read `/user` or the project; that is
/// its scope, not a revoked token, and nothing blocks the import.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_a_read_repository_only_git_token_is_valid_and_exits_0() {
    let gitlab = GitLab::start().await;
    gitlab.mount_gitbook_space().await;
    let mut state = State::new();
    state.add_token(GIT_TOKEN, fixture("user_project_bot.json"), &["read_repository"], Some(20));
    mount_stand_in(&gitlab, state).await;
    let repo = one_commit_repo();
    let env = git_token_env(&gitlab, &repo, &[]);

    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    run.assert_code(0);
    find_check(&run, "ok", "DOCSYNC_GIT_TOKEN", "GitLab accepts the token");
    find_check(&run, "ok", "DOCSYNC_GIT_TOKEN", "has read_repository");
    find_check(&run, "ok", "DOCSYNC_GIT_TOKEN", "project and role not checked");
    assert!(!run.stdout.contains("revoked"), "{}", run.context());
    assert_no_level(&run, "error");
    assert_only_reads(&gitlab).await;
}

/// 401, 403 `insufficient_scope`, 403 forbidden and 404 on `GET /user`
/// are four different problems with four different fixes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_tells_401_insufficient_scope_forbidden_and_404_apart() {
    // A valid token limited to git: warnings only, never "revoked".
    let gitlab = GitLab::start().await;
    let mut state = State::new();
    state.add_token(GITLAB_TOKEN, fixture("user_project_bot.json"), &["read_repository"], Some(30));
    mount_stand_in(&gitlab, state).await;
    let repo = one_commit_repo();
    let env = check_env(&gitlab, &repo, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);
    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    run.assert_code(0);
    let warning = find_check(&run, "warning", "DOCSYNC_GITLAB_TOKEN", "lacks the read_api scope");
    assert_fix(&warning, &["create a token with read_api"]);
    let project = find_check(&run, "warning", "DOCSYNC_GITLAB_TOKEN", "looking the project up");
    assert_fix(&project, &["api read_api"]);
    assert!(!run.stdout.contains("revoked"), "{}", run.context());

    for (answer, says, fix) in [
        (
            ResponseTemplate::new(403).set_body_json(json!({"message": "403 Forbidden"})),
            "GitLab forbids it",
            "lacks the right",
        ),
        (fixture_answer(404, "error_404_project.json"), "no GitLab API at", "DOCSYNC_GITLAB_URL"),
        (fixture_answer(401, "error_401.json"), "GitLab rejects the token", "revoked, expired or mistyped"),
    ] {
        let gitlab = GitLab::start().await;
        gitlab.mount("GET", gitlab.route("/user"), answer).await;
        let env = check_env(&gitlab, &repo, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);
        let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
        run.assert_code(1);
        let error = find_check(&run, "error", "DOCSYNC_GITLAB_TOKEN", says);
        assert_fix(&error, &[fix]);
        if says != "GitLab rejects the token" {
            assert!(!run.stdout.contains("revoked"), "{says}: {}", run.context());
        }
    }
}

/// A project GitLab does not know is not a membership problem.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_looks_the_project_up_before_judging_membership() {
    let gitlab = GitLab::start().await;
    let mut state = State::new();
    state.add_token(GITLAB_TOKEN, fixture("user_project_bot.json"), &["api"], Some(30));
    mount_stand_in(&gitlab, state).await;
    let repo = one_commit_repo();
    let env = check_env(&gitlab, &repo, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN), ("CI_PROJECT_ID", "43")]);

    let run = run_docsync(&repo, &env, &["check", "--format", "json"]).await;
    run.assert_code(1);
    let error = find_check(&run, "error", "DOCSYNC_GITLAB_TOKEN", "no such project 43 (or the token may not see it)");
    assert_fix(&error, &["CI_PROJECT_ID"]);
    assert!(!run.stdout.contains("is not a member"), "{}", run.context());
    assert!(gitlab.requests_to("GET", &gitlab.route("/projects/43")).await.len() == 1, "{:?}", gitlab.routes().await);
}

/// `…/group%2Fproject` pasted from an API URL names `group/project`: it is
/// encoded once (`group%2Fproject`), never twice (`group%252Fproject`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pasted_encoded_project_path_is_encoded_once() {
    let gitlab = GitLab::start().await;
    gitlab.mount_version().await;
    let mut state = State::new();
    state.add_token(GITLAB_TOKEN, fixture("user_project_bot.json"), &["api"], Some(30));
    mount_stand_in(&gitlab, state).await;
    let repo = one_commit_repo();
    let pasted = format!("{}/group%2Fproject", gitlab.web());

    let run = run_docsync(
        &repo,
        &local_env(&pasted, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]),
        &["check", "--format", "json"],
    )
    .await;
    run.assert_code(0);
    find_check(&run, "ok", "GitLab project", "group/project at");
    find_check(&run, "ok", "DOCSYNC_GITLAB_TOKEN", "has the Developer role on group/project");
    let routes = gitlab.routes().await;
    assert!(routes.iter().all(|r| !r.contains("%25")), "encoded twice: {routes:?}");
    assert_eq!(gitlab.requests_to("GET", &gitlab.route("/projects/group%2Fproject")).await.len(), 1, "{routes:?}");
}

/// What the token's record leaves out or garbles is said as such.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_token_metadata_edge_cases() {
    let repo = one_commit_repo();
    let run_with = |identity: Identity| {
        let repo = &repo;
        async move {
            let gitlab = GitLab::start().await;
            gitlab.mount_identity(&identity).await;
            let env = check_env(&gitlab, repo, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);
            run_docsync(repo, &env, &["check", "--format", "json"]).await
        }
    };
    let bot = || Identity::new(GITLAB_TOKEN, "user_project_bot.json");

    // No `active` field: not a revoked token.
    let mut identity = bot();
    if let Some(info) = identity.token_info.as_mut().and_then(Value::as_object_mut) {
        info.remove("active");
    }
    let run = run_with(identity).await;
    run.assert_code(0);
    find_check(&run, "ok", "DOCSYNC_GITLAB_TOKEN", "GitLab did not say whether it is active");
    assert!(!run.stdout.contains("not active"), "{}", run.context());

    // An expiry that is not a date: not "does not expire".
    let run = run_with(bot().expires_at(json!("soon"))).await;
    run.assert_code(0);
    find_check(&run, "warning", "DOCSYNC_GITLAB_TOKEN", "expiry date docsync cannot read: \"soon\"");
    assert!(!run.stdout.contains("does not expire"), "{}", run.context());

    // GitLab's rule: a token expires at 00:00 UTC on its expiry date.
    let today = date_in(0);
    let run = run_with(bot().expires_at(json!(today))).await;
    run.assert_code(1);
    find_check(&run, "error", "DOCSYNC_GITLAB_TOKEN", &format!("the token expired on {today}"));

    let run = run_with(bot().expires_at(json!(date_in(1)))).await;
    run.assert_code(0);
    find_check(&run, "warning", "DOCSYNC_GITLAB_TOKEN", &format!("expires on {}, in 1 day", date_in(1)));
    assert!(!run.stdout.contains("in 1 days"), "{}", run.context());

    // Wrong types are an unexpected answer, not a scope problem.
    let mut identity = bot();
    if let Some(info) = identity.token_info.as_mut() {
        info["scopes"] = json!("api");
    }
    let run = run_with(identity).await;
    let warning = find_check(&run, "warning", "DOCSYNC_GITLAB_TOKEN", "unexpected answer from GitLab at scopes");
    assert_fix(&warning, &["REST API"]);
    assert!(!warning["fix"].as_str().unwrap_or_default().contains("scope"), "{warning:#}");

    let mut identity = bot();
    identity.user["username"] = json!(5);
    let run = run_with(identity).await;
    run.assert_code(1);
    let error = find_check(&run, "error", "DOCSYNC_GITLAB_TOKEN", "unexpected answer from GitLab at username");
    assert_fix(&error, &["REST API"]);
}

/// A user name with a newline, ANSI escapes and a bidi override cannot add
/// a line to `check`'s report nor colour or reorder it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_escapes_control_characters_gitlab_sends() {
    let gitlab = GitLab::start().await;
    let mut identity = Identity::new(GITLAB_TOKEN, "user_project_bot.json");
    identity.user["name"] = json!("Bot\nok       DOCSYNC_GITLAB_TOKEN  forged line\u{1b}[32m\u{202e}gnp.exe");
    gitlab.mount_identity(&identity).await;
    let repo = one_commit_repo();
    let env = check_env(&gitlab, &repo, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);

    let run = run_docsync(&repo, &env, &["check"]).await;
    run.assert_code(0);
    for forbidden in ['\u{1b}', '\u{202e}'] {
        assert!(!run.stdout.contains(forbidden), "{forbidden:?} reached stdout\n{}", run.context());
    }
    assert!(
        !run.stdout.lines().any(|l| l.starts_with("ok       DOCSYNC_GITLAB_TOKEN  forged line")),
        "{}",
        run.context()
    );
    assert!(run.stdout.contains("Bot\\nok"), "shown escaped\n{}", run.context());
    for line in run.stdout.lines() {
        let first = line.split_whitespace().next().unwrap_or_default();
        assert!(["ok", "warning", "error", "fix:"].contains(&first), "unexpected line {line:?}\n{}", run.context());
    }
}

/// A server (or a proxy) that ignores `status=success` must not make a
/// failed sync the base.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_successful_deployment_is_the_watermark() {
    let gitlab = GitLab::start().await;
    let history = docs_history();
    let mut state = State::new();
    state.add_token(JOB_TOKEN, fixture("user_person.json"), &["api"], None);
    state.ignore_status_filter = true;
    state.add_deployment(&history.c1, "success");
    state.add_deployment(&history.c3, "failed");
    mount_stand_in(&gitlab, state).await;
    let env = environment_env(
        &gitlab,
        Pipeline::Push { branch: "main", before: &history.c3, sha: &history.head },
        &[("CI_JOB_TOKEN", JOB_TOKEN)],
    );

    let run = run_docsync(&history.repo, &env, &["plan", "--format", "json"]).await;
    run.assert_code(0);
    let plan = run.json();
    assert_range(&plan, "watermark", Some(&history.c1), &history.head);
    assert_eq!(changes(&plan), history.repo.name_status(&history.c1, &history.head), "{plan:#}");
}

/// A web pipeline whose watermark is head still sends Dot the full event:
/// a manual pipeline acts on every target, as it does on GitBook.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_pipeline_sends_dot_every_relevant_file_when_the_watermark_is_head() {
    let gitlab = GitLab::start().await;
    let history = docs_history();
    let mut state = State::new();
    state.add_token(JOB_TOKEN, fixture("user_person.json"), &["api"], None);
    state.add_deployment(&history.head, "success");
    mount_stand_in(&gitlab, state).await;
    let env = environment_env(
        &gitlab,
        Pipeline::Manual { source: "web", branch: "main", sha: &history.head },
        &[
            ("CI_JOB_TOKEN", JOB_TOKEN),
            ("DOCSYNC_DOT_WEBHOOK_URL", "https://dot.example.invalid/hooks/gitlab"),
            ("DOCSYNC_DOT_WEBHOOK_SECRET", DOT_SECRET),
        ],
    );

    let run = run_docsync(&history.repo, &env, &["plan", "--format", "json"]).await;
    run.assert_code(0);
    let plan = run.json();
    assert_range(&plan, "watermark", Some(&history.head), &history.head);
    let dot = &plan["targets"][0];
    assert_eq!(dot["action"], "push_event", "{plan:#}");
    let event = &dot["request"]["body"];
    assert_eq!(event["before"], "0000000000000000000000000000000000000000", "{event:#}");
    assert_eq!(event["after"], history.head.as_str(), "{event:#}");
    let mut added: Vec<String> = event["commits"][0]["added"]
        .as_array()
        .unwrap_or_else(|| panic!("one commit entry listing the files: {event:#}"))
        .iter()
        .filter_map(|p| p.as_str().map(str::to_owned))
        .collect();
    added.sort();
    let expected: Vec<String> =
        history.repo.all_files(&history.head).into_iter().map(|f| f.path).filter(|p| p.ends_with(".md")).collect();
    assert_eq!(added, expected, "{event:#}");
}

/// Compare answers whose paths git could never hold are refused: the
/// change set falls back to a full sync, never counts them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compare_answer_with_a_path_docsync_refuses_falls_back_to_a_full_sync() {
    for (bad, why) in [
        ("../outside.md", "a . or .. component"),
        ("/etc/passwd", "absolute"),
        ("", "empty"),
        ("docs/evil\nok.md", "control characters"),
    ] {
        let gitlab = GitLab::start().await;
        let shallow = shallow_clone();
        let mut compare = fixture("compare.json");
        compare["commit"]["id"] = json!(shallow.history.head);
        compare["diffs"][0]["new_path"] = json!(bad);
        compare["diffs"][0]["old_path"] = json!(bad);
        mount_compare(&gitlab, &shallow, ok_json(compare)).await;
        let env = shallow_push_env(&gitlab, &shallow, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);

        let run = run_docsync(&shallow.clone, &env, &["plan", "--format", "json"]).await;
        run.assert_code(0);
        let plan = run.json();
        assert_range(&plan, "full", None, &shallow.history.head);
        assert_eq!(changes(&plan), shallow.clone.all_files("HEAD"), "{bad:?}: {plan:#}");
        run.assert_stderr(&["compare answer holds a path docsync refuses", why, "falling back to a full sync"]);
        assert!(!run.stderr.contains("evil\nok"), "the path is shown escaped: {}", run.context());
    }
}

/// A `docsync export` merge request whose answer was lost (502): docsync
/// finds it open before sending it again, and opens one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_merge_request_whose_answer_was_lost_is_looked_up_not_opened_twice() {
    let gitlab = GitLab::start().await;
    mount_gitbook_export(&gitlab).await;
    let mut state = review_state();
    state.lose_answer_of.push("POST /merge_requests");
    let stand_in = mount_stand_in(&gitlab, state).await;
    let history = docs_history();
    let env = export_env(&gitlab, &history, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN), ("DOCSYNC_RETRIES", "2")]);

    let run = run_docsync(&history.repo, &env, &["export", "--format", "json"]).await;
    run.assert_code(0);
    let result = run.json();
    let url = format!("{}/-/merge_requests/1", stand_in::PROJECT_WEB_URL);
    assert_eq!(result["targets"][0]["outcome"]["merge_request"], url.as_str(), "{result:#}");
    assert_eq!(
        gitlab.requests_to("POST", &merge_requests_route(&gitlab)).await.len(),
        1,
        "{:?}",
        gitlab.routes().await
    );
    assert_eq!(stand_in.with(|state| state.merge_requests.len()), 1);
}

/// A 201 without `web_url` is a created merge request: its URL is built
/// from the project's URL and its iid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_merge_request_without_web_url_is_reported_with_its_url() {
    let gitlab = GitLab::start().await;
    mount_gitbook_export(&gitlab).await;
    let mut state = review_state();
    state.omit_web_url = true;
    mount_stand_in(&gitlab, state).await;
    let history = docs_history();
    let env = export_env(&gitlab, &history, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);

    let run = run_docsync(&history.repo, &env, &["export", "--format", "json"]).await;
    run.assert_code(0);
    let result = run.json();
    let outcome = &result["targets"][0]["outcome"];
    assert_eq!(outcome["status"], "synced", "{result:#}");
    assert_eq!(outcome["merge_request"], format!("{}/-/merge_requests/1", common::PROJECT_URL).as_str(), "{result:#}");
}

/// Outside CI, and in CI without `CI_DEFAULT_BRANCH`, the merge request is
/// opened into the default branch GitLab names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_merge_request_without_ci_default_branch_targets_gitlabs_default_branch() {
    for outside_ci in [true, false] {
        let gitlab = GitLab::start().await;
        gitlab.mount_version().await;
        mount_gitbook_export(&gitlab).await;
        let mut state = review_state();
        state.default_branch = Some("trunk".into());
        let stand_in = mount_stand_in(&gitlab, state).await;
        let history = docs_history();
        history.repo.git(&["remote", "add", "origin", "https://gitlab.example.com/group/project.git"]);
        let env = if outside_ci {
            let env = with_owned(local_env(&format!("{}/group/project", gitlab.web()), &[]), &gitbook_target(&gitlab));
            with(
                env,
                &[
                    ("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN),
                    ("DOCSYNC_GIT_TOKEN", GIT_TOKEN),
                    ("DOCSYNC_EXPORT_MR", "true"),
                    ("DOCSYNC_EXPORT_BRANCH", "gitbook-sync"),
                    ("DOCSYNC_WAIT_TIMEOUT", "10s"),
                ],
            )
        } else {
            let mut env = export_env(&gitlab, &history, &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);
            env.remove("CI_DEFAULT_BRANCH");
            env
        };

        let run = run_docsync(&history.repo, &env, &["export", "--format", "json"]).await;
        run.assert_code(0);
        let result = run.json();
        let url = format!("{}/-/merge_requests/1", stand_in::PROJECT_WEB_URL);
        assert_eq!(
            result["targets"][0]["outcome"]["merge_request"],
            url.as_str(),
            "outside CI {outside_ci}: {result:#}"
        );
        let opened = stand_in.with(|state| state.merge_requests.clone());
        assert_eq!(opened.len(), 1, "outside CI {outside_ci}");
        assert_eq!(opened[0]["target_branch"], "trunk", "outside CI {outside_ci}: {opened:#?}");
        assert_eq!(opened[0]["source_branch"], "gitbook-sync", "outside CI {outside_ci}: {opened:#?}");
    }
}
