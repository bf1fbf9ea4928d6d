//! Conformance against GitBook's published OpenAPI description: the real
//! binary talks to Prism (`prism mock --errors`), which answers `422`/`400`/
//! `401`/`415` to any request the spec does not allow. A push import, a merge
//! request preview, both kinds of export and `status` must all pass it; a run
//! against a deliberately stricter copy of the spec shows the suite can fail.
//!
//! Prism serves the spec's paths at the root of its address: the spec's
//! server is `{host}/v1`, but Prism ignores the server's path, so
//! `DOCSYNC_GITBOOK_API_URL` is `http://127.0.0.1:<port>` (no `/v1`); a
//! request to `/v1/spaces/…` gets Prism's `NO_PATH_MATCHED_ERROR` 404
//! (`prism_serves_the_spec_paths_at_its_root` checks both).
//!
//! Peers come from `scripts/install-peers`; a missing Prism or spec fails the
//! tests with a message saying so, never a silent pass.

use crate::common;

use serde_json::Value;

use common::prism::{Prism, gitbook_spec};
use common::{Env, PIPELINE_CREATED_AT_UTC, Pipeline, Run, TestRepo, ci_env, run_to_end, with};

const TOKEN: &str = "gbtok-prism-conformance";
const GIT_TOKEN: &str = "gittok-prism-conformance";

// ---------------------------------------------------------------------------
// Prism

/// One Prism on the published spec for the whole test binary. A failed start
/// is not cached: every test that needs it reports the failure itself.
fn prism() -> &'static Prism {
    common::prism::shared()
}

// ---------------------------------------------------------------------------
// docsync against it

/// A repository whose second commit changes the docs: `(repo, first, second)`.
fn docs_history() -> (TestRepo, String, String) {
    let repo = TestRepo::new();
    repo.write("README.md", "# Project\n");
    repo.write("docs/README.md", "# Docs\n");
    repo.write("docs/guide.md", "# Guide\n");
    repo.write("src/main.rs", "fn main() {}\n");
    let first = repo.commit("Initial commit");
    repo.write("docs/guide.md", "# Guide\n\nMore words.\n");
    repo.write("docs/new-page.md", "# New page\n");
    let second = repo.commit("Document the new feature");
    (repo, first, second)
}

/// The GitBook target's variables, pointed at `api_url`.
fn gitbook_env(env: Env, api_url: &str, space: &str) -> Env {
    with(
        env,
        &[
            ("DOCSYNC_GITBOOK_SPACE", space),
            ("DOCSYNC_GITBOOK_TOKEN", TOKEN),
            ("DOCSYNC_GIT_TOKEN", GIT_TOKEN),
            ("DOCSYNC_GITBOOK_API_URL", api_url),
            ("DOCSYNC_PROJECT_DIRECTORY", "docs"),
            // Prism's generated git/info answers are arbitrary (a fixed
            // `running` operation), so nothing could be waited for.
            ("DOCSYNC_WAIT", "false"),
            ("DOCSYNC_RETRIES", "0"),
            // Prism takes about 1 s of CPU to answer `GET …/content` on an
            // idle machine; under a loaded test run that grew past 10 s and
            // the live revision went unread. No test here waits for a timeout.
            ("DOCSYNC_HTTP_TIMEOUT", "60s"),
            ("DOCSYNC_REPORT", "none"),
            // Prism's example live revision names a commit no branch holds:
            // the guard reads GitBook's edits back (requests Prism checks),
            // then the import goes ahead.
            ("DOCSYNC_GITBOOK_EDITS", "overwrite"),
        ],
    )
}

/// Runs the binary on this thread: Prism is a process of its own, so nothing
/// on the test's thread has to keep serving meanwhile.
fn run(repo: &TestRepo, env: &Env, args: &[&str]) -> Run {
    let mut command = repo.docsync(args);
    command.envs(env);
    run_to_end(command)
}

/// docsync exited 0 and Prism saw (and accepted) the request for `space`.
fn assert_accepted(prism: &Prism, space: &str, operation: &str, run: &Run) {
    let prism_lines = prism.log_for_space(space);
    assert_eq!(
        run.code(),
        Some(0),
        "docsync should exit 0 against Prism\nstdout:\n{}\nstderr:\n{}\nPrism's log for {space}:\n{prism_lines}",
        run.stdout,
        run.stderr
    );
    let received = format!("post /spaces/{space}/git/{operation}");
    assert!(
        prism_lines.contains(&received),
        "Prism never logged `{received}`: the request went elsewhere\nPrism's log:\n{}",
        prism.log()
    );
    assert!(!prism_lines.contains('✖'), "Prism logged an error for {space} although docsync exited 0:\n{prism_lines}");
}

fn only_target(result: &Value) -> &Value {
    let targets = result["targets"].as_array().expect("targets is a list");
    assert_eq!(targets.len(), 1, "{result:#}");
    &targets[0]
}

#[test]
fn prism_serves_the_spec_paths_at_its_root() {
    let prism = prism();
    let get = |path: &str| prism.get(path, TOKEN);
    let root = get("/spaces/spcRoot/git/info");
    assert!(root.starts_with("HTTP/1.1 200"), "GET /spaces/…/git/info:\n{root}");
    let with_v1 = get("/v1/spaces/spcRoot/git/info");
    assert!(
        with_v1.starts_with("HTTP/1.1 404") && with_v1.contains("NO_PATH_MATCHED_ERROR"),
        "GET /v1/spaces/…/git/info:\n{with_v1}"
    );
}

#[test]
fn push_import_on_the_sync_branch_conforms() {
    let prism = prism();
    let (repo, first, second) = docs_history();
    let env = gitbook_env(
        ci_env(Pipeline::Push { branch: "main", before: &first, sha: &second }),
        &prism.api_url(),
        "spcPush",
    );
    let run = run(&repo, &env, &["sync", "--format", "json"]);
    assert_accepted(prism, "spcPush", "import", &run);
    let result = run.json();
    let target = only_target(&result);
    assert_eq!(target["action"], "import", "{target:#}");
    assert_eq!(target["changed"], 2, "{target:#}");
    assert_eq!(target["outcome"]["status"], "queued", "{target:#}");
    assert_eq!(target["request"]["body"]["timestamp"], PIPELINE_CREATED_AT_UTC, "{target:#}");
    assert_eq!(result["status"], "synced", "{result:#}");
}

/// The guard's reads before an import: the live revision, its changes and
/// its parent, each a request the spec allows and an answer docsync decodes.
/// Prism's example revision holds a commit no branch has, so the default
/// `gitbook_edits = "refuse"` ends the target `conflict`, nothing imported.
#[test]
fn the_guards_reads_before_an_import_conform() {
    let prism = prism();
    let (repo, first, second) = docs_history();
    let env = with(
        gitbook_env(
            ci_env(Pipeline::Push { branch: "main", before: &first, sha: &second }),
            &prism.api_url(),
            "spcGuard",
        ),
        &[("DOCSYNC_GITBOOK_EDITS", "refuse")],
    );
    let run = run(&repo, &env, &["sync", "--format", "json"]);
    let prism_lines = prism.log_for_space("spcGuard");
    assert_eq!(run.code(), Some(1), "{}\nPrism's log:\n{prism_lines}", run.context());
    let result = run.json();
    assert_eq!(only_target(&result)["outcome"]["status"], "conflict", "{result:#}");
    for route in ["get /spaces/spcGuard/content", "/changes", "get /spaces/spcGuard/revisions/"] {
        assert!(prism_lines.contains(route), "Prism never logged {route:?}:\n{prism_lines}");
    }
    assert!(!prism_lines.contains("post /spaces/spcGuard/git/import"), "{prism_lines}");
    assert!(!prism_lines.contains('✖'), "Prism refused a request of the guard:\n{prism_lines}");
}

/// The open change requests' reads conform: Prism's example live revision
/// holds one page, whose file is `string` (the spec's placeholder), so a
/// push that changes `docs/string` reads the list and each listed change
/// request's changes.
#[test]
fn the_open_change_requests_reads_conform() {
    let prism = prism();
    let (repo, first, _) = docs_history();
    repo.write("docs/string", "# A page named as Prism's example names it\n");
    let second = repo.commit("Edit the page Prism's example names");
    let env = with(
        gitbook_env(
            ci_env(Pipeline::Push { branch: "main", before: &first, sha: &second }),
            &prism.api_url(),
            "spcChangeRequests",
        ),
        &[("DOCSYNC_GITBOOK_EDITS", "overwrite")],
    );
    let run = run(&repo, &env, &["sync", "--format", "json"]);
    let prism_lines = prism.log_for_space("spcChangeRequests");
    assert_eq!(run.code(), Some(0), "{}\nPrism's log:\n{prism_lines}", run.context());
    let result = run.json();
    let clashes = &only_target(&result)["outcome"]["change_requests"]["clashes"];
    assert_eq!(clashes[0]["pages"], serde_json::json!(["docs/string"]), "{result:#}");
    for route in ["get /spaces/spcChangeRequests/change-requests ", "/change-requests/string/changes "] {
        assert!(prism_lines.contains(route), "Prism never logged {route:?}:\n{prism_lines}");
    }
    assert!(!prism_lines.contains('✖'), "Prism refused a request:\n{prism_lines}");
}

#[test]
fn merge_request_preview_conforms() {
    let prism = prism();
    let (repo, first, second) = docs_history();
    let env = gitbook_env(
        ci_env(Pipeline::MergeRequest { iid: 7, diff_base: &first, sha: &second, source_branch_sha: None }),
        &prism.api_url(),
        "spcPreview",
    );
    let run = run(&repo, &env, &["sync", "--format", "json"]);
    assert_accepted(prism, "spcPreview", "import", &run);
    let result = run.json();
    let target = only_target(&result);
    assert_eq!(target["action"], "preview", "{target:#}");
    assert_eq!(target["request"]["body"]["standalone"], true, "{target:#}");
    assert_eq!(target["request"]["body"]["ref"], "refs/merge-requests/7/head", "{target:#}");
    assert_eq!(target["outcome"]["status"], "queued", "{target:#}");
}

#[test]
fn export_command_conforms() {
    let prism = prism();
    let (repo, first, second) = docs_history();
    let env = gitbook_env(
        ci_env(Pipeline::Push { branch: "main", before: &first, sha: &second }),
        &prism.api_url(),
        "spcExportCmd",
    );
    let run = run(&repo, &env, &["export", "--format", "json"]);
    assert_accepted(prism, "spcExportCmd", "export", &run);
    let result = run.json();
    let target = only_target(&result);
    assert_eq!(target["action"], "export", "{target:#}");
    assert!(target["request"]["body"]["commitMessage"].is_string(), "{target:#}");
    assert_eq!(target["outcome"]["status"], "queued", "{target:#}");
}

#[test]
fn web_pipeline_export_conforms() {
    let prism = prism();
    let (repo, _, second) = docs_history();
    let env = with(
        gitbook_env(
            ci_env(Pipeline::Manual { source: "web", branch: "main", sha: &second }),
            &prism.api_url(),
            "spcExportWeb",
        ),
        &[
            ("DOCSYNC_DIRECTION", "export"),
            ("GITLAB_USER_LOGIN", "ada"),
            ("CI_PIPELINE_URL", "https://gitlab.example.com/group/project/-/pipelines/42"),
        ],
    );
    let run = run(&repo, &env, &["sync", "--format", "json"]);
    assert_accepted(prism, "spcExportWeb", "export", &run);
    let result = run.json();
    let target = only_target(&result);
    assert_eq!(target["action"], "export", "{target:#}");
    assert_eq!(
        target["request"]["body"]["commitMessage"],
        "GitBook export requested by ada in pipeline https://gitlab.example.com/group/project/-/pipelines/42",
        "{target:#}"
    );
    assert_eq!(target["outcome"]["status"], "queued", "{target:#}");
}

#[test]
fn status_decodes_prisms_git_sync_state() {
    let prism = prism();
    let (repo, _, _) = docs_history();
    let env = gitbook_env(Env::new(), &prism.api_url(), "spcStatus");
    let run = run(&repo, &env, &["status", "--format", "json"]);
    assert_eq!(
        run.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}\nPrism:\n{}",
        run.stdout,
        run.stderr,
        prism.log_for_space("spcStatus")
    );
    let result = run.json();
    let target = only_target(&result);
    assert_eq!(target["space"], "spcStatus", "{target:#}");
    let state = &target["state"];
    // Prism answers with the schema's first enum values and typed placeholders.
    assert_eq!(state["installationStatus"], "unauthenticated", "{target:#}");
    assert_eq!(state["installationProvider"], "github", "{target:#}");
    let operation = &state["operation"];
    assert!(
        ["running", "success", "failure", "timeout"].contains(&operation["state"].as_str().unwrap_or_default()),
        "{target:#}"
    );
    assert!(["import", "export"].contains(&operation["direction"].as_str().unwrap_or_default()), "{target:#}");
    assert!(operation["startedAt"].is_string(), "{target:#}");
    assert!(target.get("error").is_none(), "{target:#}");
    assert!(prism.log_for_space("spcStatus").contains("get /spaces/spcStatus/git/info"), "{}", prism.log());
}

/// The suite can fail: Prism on a copy of the spec where `ImportGitRepository`
/// requires a property docsync never sends rejects the import, and docsync
/// fails the job quoting Prism's validation error.
#[test]
fn a_request_the_spec_forbids_fails_the_job_with_prisms_words() {
    let mut spec: Value =
        serde_json::from_str(&std::fs::read_to_string(gitbook_spec()).expect("read GitBook's OpenAPI subset"))
            .expect("the OpenAPI subset is JSON");
    let schema = &mut spec["components"]["schemas"]["ImportGitRepository"];
    schema["properties"]["mustExist"] = serde_json::json!({ "type": "boolean" });
    schema["required"].as_array_mut().expect("ImportGitRepository lists required properties").push("mustExist".into());
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let altered = dir.path().join("gitbook-git.altered.openapi.json");
    std::fs::write(&altered, serde_json::to_vec_pretty(&spec).expect("serialise the spec")).expect("write the spec");
    let strict = Prism::start(&altered);

    let (repo, first, second) = docs_history();
    let env = gitbook_env(
        ci_env(Pipeline::Push { branch: "main", before: &first, sha: &second }),
        &strict.api_url(),
        "spcStrict",
    );
    let run = run(&repo, &env, &["sync"]);
    let context =
        format!("stdout:\n{}\nstderr:\n{}\nPrism:\n{}", run.stdout, run.stderr, strict.log_for_space("spcStrict"));
    assert_eq!(run.code(), Some(1), "a rejected import must exit 1\n{context}");
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("422"), "the status should be named\n{context}");
    assert!(
        all.contains("Request body must have required property 'mustExist'"),
        "Prism's validation error should be quoted\n{context}"
    );
    assert!(
        strict.logs_for_space("spcStrict", "Request terminated with error"),
        "Prism should have rejected the request\n{context}\nPrism's log now:\n{}",
        strict.log_for_space("spcStrict")
    );
}

/// After GitBook reports a successful import of ours, docsync reads the
/// space's live revision (`GET /spaces/{spaceId}/content`) as GitBook's spec
/// defines it, and reports the revision's page. Prism serves the Git subset
/// plus `content` from the published spec, with examples that make git/info
/// show an import of ours that succeeded (the spec's first enum values are
/// `running` and `export`, and its times lie in the past). Prism's revision
/// holds a placeholder commit, so the outcome warns naming both SHAs.
#[test]
fn a_successful_import_reads_the_live_revision_the_spec_defines() {
    let mut spec: Value =
        serde_json::from_str(&std::fs::read_to_string(gitbook_spec()).expect("read the subset with the live revision"))
            .expect("the OpenAPI subset is JSON");
    let schemas = &mut spec["components"]["schemas"];
    schemas["GitSyncOperationState"]["enum"] = serde_json::json!(["success", "running", "failure", "timeout"]);
    schemas["GitSyncOperationDirection"]["enum"] = serde_json::json!(["import", "export"]);
    let future = "2099-01-01T00:00:00Z";
    schemas["GitSyncState"]["properties"]["operation"]["properties"]["startedAt"] =
        serde_json::json!({ "type": "string", "format": "date-time", "example": future, "examples": [future] });
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let altered = dir.path().join("gitbook-git-content.succeeding.openapi.json");
    std::fs::write(&altered, serde_json::to_vec_pretty(&spec).expect("serialise the spec")).expect("write the spec");
    let prism = Prism::start(&altered);

    let (repo, first, second) = docs_history();
    let env = with(
        gitbook_env(
            ci_env(Pipeline::Push { branch: "main", before: &first, sha: &second }),
            &prism.api_url(),
            "spcVerify",
        ),
        &[("DOCSYNC_WAIT", "true"), ("DOCSYNC_POLL_INTERVAL", "50ms"), ("DOCSYNC_WAIT_TIMEOUT", "30s")],
    );
    let run = run(&repo, &env, &["sync", "--format", "json"]);
    assert_accepted(&prism, "spcVerify", "import", &run);
    assert!(
        prism.log_for_space("spcVerify").contains("get /spaces/spcVerify/content"),
        "docsync never read the live revision\nPrism's log:\n{}",
        prism.log()
    );
    let result = run.json();
    let outcome = &only_target(&result)["outcome"];
    assert_eq!(outcome["status"], "synced", "{result:#}");
    let docs_url = outcome["docs_url"].as_str().unwrap_or_else(|| panic!("no docs_url: {result:#}\n{}", run.stderr));
    assert!(docs_url.starts_with("http"), "{result:#}");
    let live = outcome["live_commit"].as_str().unwrap_or_else(|| panic!("no live_commit: {result:#}"));
    assert!(run.stderr.contains(live) && run.stderr.contains(&second), "both SHAs are named\n{}", run.stderr);
}
