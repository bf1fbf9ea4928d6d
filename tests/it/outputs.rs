//! The text people read, compared as a whole with approved snapshots
//! (`tests/it/snapshots/it__outputs__*.snap`): `docsync plan`, `docsync
//! check`, `docsync lint`, what a merge request pipeline's sync prints and
//! posts as its merge request note, and what an export's sync prints and
//! writes into the merge request it opens. A fragment assertion misses a line
//! that appears, vanishes or moves; a whole-output snapshot does not, so
//! these are the guard that a restructure changes no output.
//!
//! Every scenario builds its repository with fixed dates (`common`), so
//! the outputs are the same on every run. The filters replace only what
//! truly varies between runs or machines, each said where it is added:
//! - commit SHAs become the name of the commit (`[base]`, `[head]`): they
//!   are stable, but would churn every snapshot when a fixture's content
//!   changes, and a name shows which commit the output picked;
//! - the port of a server a test started (`127.0.0.1:[PORT]`): chosen
//!   free at run time;
//! - the clock in the log's GitLab section markers (`section_start:[TIME]`).
//!
//! After an intended change of an output, run these tests with
//! `INSTA_UPDATE=new`, review each `.snap.new` file insta writes next to
//! its snapshot, and move it over the `.snap` (or `cargo insta review`).

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::gitlab::stand_in::{PROJECT_ID, StandIn, State, serve};
use common::{
    Env, NEW_STARTED, OLD_STARTED, Pipeline, Run, TestRepo, ci_env, gitbook_accepted, gitbook_state, run_in_background,
    run_to_end, with,
};

const GITBOOK_TOKEN: &str = "gb_api_OutputsTok3n-Qa7Xe";
const GIT_TOKEN: &str = "glpat-fake.OutputsGitTok3n-Vb2M";
const GITLAB_TOKEN: &str = "glpat-fake.OutputsApiTok3n-Jm4K";
const DOT_SECRET: &str = "dot-secret-OutputsTok3n-Rn8P";
/// In every secret above: no snapshot may contain it.
const TOKEN_MARK: &str = "Tok3n";
const PIPELINE_URL: &str = "https://gitlab.example.com/group/project/-/pipelines/9001";

/// Compares `text` as a whole with the snapshot `name`. `commits` names the
/// SHAs the text may show, in full and in the 8-character form the text
/// outputs print.
fn assert_output(name: &str, text: &str, commits: &[(&str, &str)]) {
    assert!(!text.contains(TOKEN_MARK), "a secret in the output of {name}:\n{text}");
    let mut settings = insta::Settings::clone_current();
    // Full SHAs before their short forms, which they contain.
    for (commit, sha) in commits {
        settings.add_filter(sha, format!("[{commit}]"));
    }
    for (commit, sha) in commits {
        settings.add_filter(&sha[..8], format!("[{commit}]"));
    }
    // A port a test server was given at run time.
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    // The clock at a GitLab collapsible section's start and end, in the log.
    settings.add_filter(r"section_(start|end):\d+:", "section_$1:[TIME]:");
    // How long a preview took, in the merge request note's table and
    // headings: a tenth of a second more on a loaded machine.
    settings.add_filter(r"(\| |in )\d+\.\d s\b", "$1[ELAPSED]");
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// What the binary printed on stdout, and on stderr when it exited with a
/// code other than 0 (the error people read then).
fn shown(run: &Run) -> String {
    let code = run.code().map_or_else(|| "none (killed by a signal)".to_owned(), |code| code.to_string());
    let mut text = format!("exit {code}\n--- stdout\n{}", run.stdout);
    if run.code() != Some(0) {
        text.push_str(&format!("--- stderr\n{}", run.stderr));
    }
    text
}

fn run(repo: &TestRepo, env: &Env, args: &[&str]) -> Run {
    let mut command = repo.docsync(args);
    command.envs(env);
    run_to_end(command)
}

/// No reports written: the snapshots are of what people read on the job log.
fn no_reports(env: Env) -> Env {
    with(env, &[("DOCSYNC_REPORT", "none"), ("DOCSYNC_REPORT_JSON", "none"), ("DOCSYNC_CODEQUALITY", "none")])
}

// ---------------------------------------------------------------------------
// The repository

/// c1 holds a GitBook space in `docs/` and an API description in `api/`;
/// c2 edits the guide and the API's page.
struct History {
    repo: TestRepo,
    c1: String,
    c2: String,
}

impl History {
    fn commits(&self) -> [(&'static str, &str); 2] {
        [("c1", &self.c1), ("c2", &self.c2)]
    }
}

fn docs_and_api() -> History {
    let repo = TestRepo::new();
    repo.write("README.md", "# Project\n");
    repo.write("docs/README.md", "# Docs\n\nStart with the [guide](guide.md).\n");
    repo.write("docs/SUMMARY.md", "# Table of contents\n\n* [Docs](README.md)\n* [Guide](guide.md)\n");
    repo.write("docs/guide.md", "# Guide\n");
    repo.write("api/README.md", "# API\n");
    repo.write("api/openapi.yaml", "openapi: 3.0.0\n");
    repo.write("src/main.rs", "fn main() {}\n");
    let c1 = repo.commit("Add the docs and the API description");
    repo.write("docs/guide.md", "# Guide\n\nFirst steps.\n");
    repo.write("api/README.md", "# API\n\nVersion 2.\n");
    let c2 = repo.commit("Extend the guide and the API page");
    History { repo, c1, c2 }
}

/// A GitBook and a Dot target, each with its own directory.
const TWO_TARGETS: &str = r#"[[target]]
name = "handbook"
kind = "gitbook"
gitbook_space = "spcHandbook"
project_directory = "docs"

[[target]]
name = "api-context"
kind = "dot"
dot_webhook_url = "https://dot.example.com/hooks/gitlab"
project_directory = "api"
paths = ["**/*.md", "**/*.yaml"]
"#;

/// `history` with a `docsync.toml` of [`TWO_TARGETS`] committed on top:
/// its `c1` is the old head, its `c2` the commit adding the file.
fn two_targets(history: History) -> History {
    history.repo.write("docsync.toml", TWO_TARGETS);
    let c2 = history.repo.commit("Sync the docs to GitBook and Dot");
    History { repo: history.repo, c1: history.c2, c2 }
}

fn secrets(env: Env) -> Env {
    with(
        env,
        &[
            ("DOCSYNC_GITBOOK_TOKEN", GITBOOK_TOKEN),
            ("DOCSYNC_GIT_TOKEN", GIT_TOKEN),
            ("DOCSYNC_DOT_WEBHOOK_SECRET", DOT_SECRET),
        ],
    )
}

// ---------------------------------------------------------------------------
// docsync plan

#[test]
fn plan_of_a_push_without_configuration() {
    let history = docs_and_api();
    let env = ci_env(Pipeline::Push { branch: "main", before: &history.c1, sha: &history.c2 });

    let run = run(&history.repo, &no_reports(env), &["plan"]);

    assert_output("plan_push_without_configuration", &shown(&run), &history.commits());
}

#[test]
fn plan_of_a_push_to_a_gitbook_and_a_dot_target_from_docsync_toml() {
    let history = two_targets(docs_and_api());
    history.repo.write("docs/guide.md", "# Guide\n\nFirst steps, then more.\n");
    history.repo.write("api/openapi.yaml", "openapi: 3.1.0\n");
    let head = history.repo.commit("Edit both targets' files");
    let env = ci_env(Pipeline::Push { branch: "main", before: &history.c2, sha: &head });

    let run = run(&history.repo, &secrets(no_reports(env)), &["plan"]);

    assert_output("plan_push_gitbook_and_dot", &shown(&run), &[("base", &history.c2), ("head", &head)]);
}

#[test]
fn plan_of_a_manual_export_pipeline() {
    let history = two_targets(docs_and_api());
    let env = ci_env(Pipeline::Manual { source: "web", branch: "main", sha: &history.c2 });
    let env = with(env, &[("DOCSYNC_DIRECTION", "export")]);

    let run = run(&history.repo, &secrets(no_reports(env)), &["plan"]);

    assert_output("plan_manual_export", &shown(&run), &[("head", &history.c2)]);
}

#[test]
fn plan_of_a_push_that_changes_no_docs() {
    let history = two_targets(docs_and_api());
    history.repo.write("src/main.rs", "fn main() { println!(\"2\"); }\n");
    let head = history.repo.commit("Change only the code");
    let env = ci_env(Pipeline::Push { branch: "main", before: &history.c2, sha: &head });

    let run = run(&history.repo, &secrets(no_reports(env)), &["plan"]);

    assert_output("plan_nothing_to_do", &shown(&run), &[("base", &history.c2), ("head", &head)]);
}

#[test]
fn plan_of_a_merge_request_preview() {
    let history = docs_and_api();
    let env =
        ci_env(Pipeline::MergeRequest { iid: 7, diff_base: &history.c1, sha: &history.c2, source_branch_sha: None });
    let env = with(env, &[("DOCSYNC_GITBOOK_SPACE", "spcHandbook"), ("DOCSYNC_PROJECT_DIRECTORY", "docs")]);

    let run = run(&history.repo, &secrets(no_reports(env)), &["plan"]);

    assert_output("plan_merge_request_preview", &shown(&run), &history.commits());
}

#[test]
fn plan_of_a_bad_setting() {
    let history = docs_and_api();
    let env = ci_env(Pipeline::Push { branch: "main", before: &history.c1, sha: &history.c2 });
    let env = with(env, &[("DOCSYNC_GITBOOK_SPACE", "spcHandbook"), ("DOCSYNC_WAIT_TIMEOUT", "soon")]);

    let run = run(&history.repo, &secrets(no_reports(env)), &["plan"]);

    assert_output("plan_bad_setting", &shown(&run), &history.commits());
}

// ---------------------------------------------------------------------------
// docsync lint

const TABLE: &str = "# Table\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nSee [setup](setup.md) and [install](install.md).\n";

/// A GitBook space in `docs/` whose table holds two broken links: the
/// repository's old errors.
fn space_with_old_errors() -> TestRepo {
    common::space_with_old_errors(TABLE, "A space with two broken links")
}

fn lint_target() -> Env {
    with(Env::new(), &[("DOCSYNC_GITBOOK_SPACE", "spcHandbook"), ("DOCSYNC_PROJECT_DIRECTORY", "docs")])
}

#[test]
fn lint_of_a_range_that_adds_errors() {
    let repo = space_with_old_errors();
    let base = repo.head();
    // A page left out of the summary, a hint never closed, a link to a
    // page that does not exist.
    repo.write("docs/orphan.md", "# Orphan\n");
    repo.write("docs/guide.md", "# Guide\n\n{% hint style=\"info\" %}\nRead the [tour](tour.md).\n");
    let head = repo.commit("Add an orphan page and an open hint");

    let run = run(&repo, &lint_target(), &["lint"]);

    assert_output("lint_new_errors", &shown(&run), &[("base", &base), ("head", &head)]);
}

#[test]
fn lint_of_a_range_with_only_warnings_and_old_errors() {
    let repo = space_with_old_errors();
    let base = repo.head();
    // A link to a heading the guide lacks (a warning), and an edit of the
    // table that keeps its two old broken links.
    repo.write("docs/README.md", "# Home\n\nStart with the [guide](guide.md#first-steps).\n");
    repo.write("docs/table.md", &TABLE.replace("| 1 | 2 |", "| 1 | 2 |\n| 3 | 4 |"));
    let head = repo.commit("Link a section, extend the table");

    let run = run(&repo, &lint_target(), &["lint"]);

    assert_output("lint_warnings_and_old_errors", &shown(&run), &[("base", &base), ("head", &head)]);
}

#[test]
fn lint_of_a_clean_range() {
    let repo = space_with_old_errors();
    repo.write("docs/table.md", "# Table\n\n| a | b |\n|---|---|\n| 1 | 2 |\n");
    repo.commit("Drop the broken links");
    repo.write("docs/guide.md", "# Guide\n\nSee the [table](table.md).\n\n## First steps\n");
    let head = repo.commit("Add a section");

    let run = run(&repo, &lint_target(), &["lint"]);

    assert_output("lint_clean", &shown(&run), &[("head", &head)]);
}

// ---------------------------------------------------------------------------
// docsync check, against the GitLab stand-in and GitBook's spec (Prism)

fn gitlab_fixture(name: &str) -> Value {
    let text = common::read_project_file(&format!("tests/fixtures/gitlab/{name}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("tests/fixtures/gitlab/{name} is not JSON: {e}"))
}

/// GitLab with the project (id 42), `DOCSYNC_GITLAB_TOKEN` of the project's
/// bot (scope `api`, Developer), `DOCSYNC_GIT_TOKEN` of the group's bot
/// (`write_repository`, Developer) and merge request !7 without notes.
fn gitlab_state() -> State {
    let mut state = State::new();
    state.add_token(GITLAB_TOKEN, gitlab_fixture("user_project_bot.json"), &["api"], Some(30));
    state.add_token(GIT_TOKEN, gitlab_fixture("user_group_bot.json"), &["write_repository"], Some(30));
    state.notes.insert(7, Vec::new());
    state
}

/// The job's variables for the project on `server`, with every secret set.
fn project_env(env: Env, server: &MockServer, gitbook_api: &str) -> Env {
    let api = format!("{}/api/v4", server.uri());
    let env = with(
        env,
        &[
            ("CI_API_V4_URL", &api),
            ("CI_PROJECT_ID", &PROJECT_ID.to_string()),
            ("CI_PIPELINE_URL", PIPELINE_URL),
            ("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN),
            ("DOCSYNC_GITBOOK_API_URL", gitbook_api),
            ("DOCSYNC_RETRIES", "0"),
            ("DOCSYNC_RETRY_DELAY", "10ms"),
            // Prism can take seconds to answer under a loaded test run.
            ("DOCSYNC_HTTP_TIMEOUT", "60s"),
        ],
    );
    secrets(no_reports(env))
}

async fn run_async(repo: &TestRepo, env: &Env, args: &[&str]) -> Run {
    let mut command = repo.docsync(args);
    command.envs(env);
    run_in_background(command, Duration::from_secs(120)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_of_a_healthy_setup() {
    // GitBook is Prism on its spec: `git/info` answers the spec's example,
    // an installation `unauthenticated` via `github`, which check warns
    // about with the fix (docs/gitbook.md, "docsync check").
    let prism = common::prism::shared();
    let (server, _stand_in) = serve(gitlab_state()).await;
    let history = two_targets(docs_and_api());
    let env = ci_env(Pipeline::Manual { source: "web", branch: "main", sha: &history.c2 });
    let env = project_env(env, &server, &prism.api_url());

    let run = run_async(&history.repo, &env, &["check"]).await;

    assert_output("check_healthy", &shown(&run), &history.commits());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_of_a_token_gitlab_rejects() {
    let prism = common::prism::shared();
    let mut state = gitlab_state();
    // GitLab no longer knows the API token (revoked and deleted): 401.
    state.tokens.retain(|token| token.value != GITLAB_TOKEN);
    let (server, _stand_in) = serve(state).await;
    let history = two_targets(docs_and_api());
    let env = ci_env(Pipeline::Manual { source: "web", branch: "main", sha: &history.c2 });
    let env = project_env(env, &server, &prism.api_url());

    let run = run_async(&history.repo, &env, &["check"]).await;

    assert_output("check_rejected_token", &shown(&run), &history.commits());
}

// ---------------------------------------------------------------------------
// A merge request pipeline's sync: its report and its merge request note

fn preview_env(history: &History, server: &MockServer, gitbook_api: &str) -> Env {
    let env =
        ci_env(Pipeline::MergeRequest { iid: 7, diff_base: &history.c1, sha: &history.c2, source_branch_sha: None });
    let env = with(
        env,
        &[
            ("DOCSYNC_GITBOOK_SPACE", "spcPreview"),
            ("DOCSYNC_PROJECT_DIRECTORY", "docs"),
            // Prism's generated git/info answers are arbitrary (a fixed
            // `running` operation), so nothing could be waited for.
            ("DOCSYNC_WAIT", "false"),
        ],
    );
    project_env(env, server, gitbook_api)
}

/// The stand-in's GitLab with merge request !7 from the history's base to
/// its head, as GitLab holds it for a merge request pipeline (the diff
/// threads read its `diff_refs` and diff; no finding here needs a line).
fn merge_request_state(history: &History) -> State {
    let mut state = gitlab_state();
    let author = gitlab_fixture("user_project_bot.json");
    let changed = serde_json::json!({
        "old_path": "docs/guide.md", "new_path": "docs/guide.md", "diff": "",
        "new_file": false, "renamed_file": false, "deleted_file": false,
    });
    state.add_merge_request(7, &author, &history.c1, &history.c2, vec![changed]);
    state
}

/// The bodies of the notes on !7, oldest first.
fn notes(stand_in: &StandIn) -> Vec<String> {
    stand_in.with(|state| {
        state
            .notes
            .get(&7)
            .into_iter()
            .flatten()
            .map(|note| note["body"].as_str().unwrap_or_default().to_owned())
            .collect()
    })
}

/// The sync's report and the one note it posted, as the reviewer sees them.
fn report_and_note(run: &Run, stand_in: &StandIn) -> String {
    let notes = notes(stand_in);
    assert_eq!(notes.len(), 1, "one note on !7\n{}", run.context());
    format!("{}--- note on !7\n{}\n", shown(run), notes[0])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_of_a_merge_request_preview_posts_its_note() {
    let prism = common::prism::shared();
    let history = docs_and_api();
    let (server, stand_in) = serve(merge_request_state(&history)).await;
    let env = preview_env(&history, &server, &prism.api_url());

    let run = run_async(&history.repo, &env, &["sync"]).await;

    assert_output("sync_preview_queued", &report_and_note(&run, &stand_in), &history.commits());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_of_a_failed_merge_request_preview_posts_its_note() {
    let history = docs_and_api();
    let (server, stand_in) = serve(merge_request_state(&history)).await;
    // GitBook refuses the import, as it does a space whose Git Sync is
    // not set up: a fault Prism cannot be made to answer.
    Mock::given(method("POST"))
        .and(path_regex(r"^/v1/spaces/spcPreview/git/import$"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": { "code": 400, "message": "Git Sync is not configured for this space" }
        })))
        .mount(&server)
        .await;
    // The space's live revision, read for the note, holds the base.
    common::mount_live_before_import(&server, "spcPreview", &history.c1).await;
    let env = preview_env(&history, &server, &format!("{}/v1", server.uri()));

    let run = run_async(&history.repo, &env, &["sync"]).await;

    assert_output("sync_preview_failed", &report_and_note(&run, &stand_in), &history.commits());
}

/// A manual export pipeline: GitBook exports to `gitbook-sync`, then docsync
/// opens the merge request into `main` (`DOCSYNC_EXPORT_MR=true`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_of_an_export_opens_its_merge_request() {
    let (server, stand_in) = serve(gitlab_state()).await;
    // GitBook's `git/info` shows an older export until docsync's export
    // request arrives, then that export, finished: the one timeline a
    // waited-for export needs, which Prism's fixed example cannot give.
    let exported = Arc::new(AtomicBool::new(false));
    let shown_exported = Arc::clone(&exported);
    Mock::given(method("GET"))
        .and(path_regex(r"^/v1/spaces/spcExport/git/info$"))
        .respond_with(move |_: &wiremock::Request| {
            let (started, ended) = if shown_exported.load(Ordering::SeqCst) {
                (NEW_STARTED, "2026-11-22T15:00:20Z")
            } else {
                (OLD_STARTED, "2026-11-22T14:00:40Z")
            };
            ResponseTemplate::new(200).set_body_json(gitbook_state(Some(serde_json::json!({
                "state": "success", "direction": "export", "stage": "done", "startedAt": started, "endedAt": ended,
            }))))
        })
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/v1/spaces/spcExport/git/export$"))
        .respond_with(move |_: &wiremock::Request| {
            exported.store(true, Ordering::SeqCst);
            gitbook_accepted()
        })
        .mount(&server)
        .await;
    let history = docs_and_api();
    let env = ci_env(Pipeline::Manual { source: "web", branch: "main", sha: &history.c2 });
    let env = with(
        env,
        &[
            ("DOCSYNC_GITBOOK_SPACE", "spcExport"),
            ("DOCSYNC_PROJECT_DIRECTORY", "docs"),
            ("DOCSYNC_DIRECTION", "export"),
            ("DOCSYNC_EXPORT_BRANCH", "gitbook-sync"),
            ("DOCSYNC_EXPORT_MR", "true"),
            ("DOCSYNC_WAIT_TIMEOUT", "10s"),
            ("DOCSYNC_POLL_INTERVAL", "50ms"),
        ],
    );
    let env = project_env(env, &server, &format!("{}/v1", server.uri()));

    let run = run_async(&history.repo, &env, &["sync"]).await;

    let merge_requests = stand_in.with(|state| state.merge_requests.clone());
    assert_eq!(merge_requests.len(), 1, "one merge request\n{}", run.context());
    let text = format!(
        "{}--- merge request !{}: {} → {}\n{}\n\n{}\n",
        shown(&run),
        merge_requests[0]["iid"],
        merge_requests[0]["source_branch"].as_str().unwrap_or_default(),
        merge_requests[0]["target_branch"].as_str().unwrap_or_default(),
        merge_requests[0]["title"].as_str().unwrap_or_default(),
        merge_requests[0]["description"].as_str().unwrap_or_default(),
    );
    assert_output("sync_export_merge_request", &text, &[("head", &history.c2)]);
}
