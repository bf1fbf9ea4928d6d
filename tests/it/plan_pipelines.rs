//! `docsync plan` for every kind of GitLab pipeline, run as the real binary
//! on real git histories: the commit range, the change set (checked against
//! `git diff --name-status -M` on the same range), and what each target would
//! do and send.

use crate::common;

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::{Value, json};

use common::{Env, FileChange, PIPELINE_CREATED_AT_UTC, PROJECT_URL, Pipeline, TestRepo, ZERO_SHA, ci_env, with};

const GITBOOK: (&str, &str) = ("DOCSYNC_GITBOOK_SPACE", "spcTest");
const DOT: (&str, &str) = ("DOCSYNC_DOT_WEBHOOK_URL", "https://dot.example.com/hook");
const IMPORT_URL: &str = "https://api.gitbook.com/v1/spaces/spcTest/git/import";
const CLONE_URL: &str = "https://gitlab.example.com/group/project.git";

// ---------------------------------------------------------------------------
// Helpers

fn push(before: &str, sha: &str) -> Env {
    ci_env(Pipeline::Push { branch: "main", before, sha })
}

/// `docsync plan --format json <args>`: the parsed plan and the logs.
fn plan_with_logs(repo: &TestRepo, env: &Env, args: &[&str]) -> (Value, String) {
    let mut command = repo.docsync(&["plan", "--format", "json"]);
    let output = command.args(args).envs(env).output().expect("run docsync");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "docsync plan failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}", output.status);
    let plan = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}\nstderr:\n{stderr}"));
    (plan, stderr)
}

fn plan(repo: &TestRepo, env: &Env, args: &[&str]) -> Value {
    plan_with_logs(repo, env, args).0
}

fn assert_range(plan: &Value, mode: &str, base: Option<&str>, head: &str) {
    let range = &plan["range"];
    assert_eq!(range["mode"], mode, "range: {range:#}");
    assert_eq!(range["base"], base.map_or(Value::Null, |b| json!(b)), "range: {range:#}");
    assert_eq!(range["head"], head, "range: {range:#}");
}

/// The plan's `changes`, sorted by path like [`TestRepo::name_status`].
fn changes(plan: &Value) -> Vec<FileChange> {
    let mut changes: Vec<FileChange> = plan["changes"]
        .as_array()
        .expect("changes is a list")
        .iter()
        .map(|c| {
            FileChange::new(
                c["status"].as_str().expect("status"),
                c["path"].as_str().expect("path").to_owned(),
                c.get("old_path").map(|old| old.as_str().expect("old_path is a string").to_owned()),
            )
        })
        .collect();
    changes.sort();
    changes
}

fn change(status: &str, path: &str) -> FileChange {
    FileChange::new(status, path.to_owned(), None)
}

fn target<'a>(plan: &'a Value, name: &str) -> &'a Value {
    plan["targets"]
        .as_array()
        .expect("targets is a list")
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no target {name} in {plan:#}"))
}

fn assert_action(target: &Value, action: &str, reason_contains: &[&str]) {
    assert_eq!(target["action"], action, "{target:#}");
    let reason = target["reason"].as_str().expect("reason");
    for words in reason_contains {
        assert!(reason.contains(words), "reason {reason:?} should mention {words:?}");
    }
    if action == "skip" {
        assert!(target.get("request").is_none(), "a skipped target sends nothing: {target:#}");
    }
}

/// A repository with a first commit: README, a docs directory and code.
fn repo_with_docs() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("README.md", "# Project\n");
    repo.write("docs/index.md", "# Docs\n");
    repo.write("docs/guide.md", "# Guide\n");
    repo.write("src/main.rs", "fn main() {}\n");
    repo.commit("Initial commit");
    repo
}

/// A 20-line page, so that a small edit keeps a rename recognisable.
fn page(title: &str) -> String {
    (1..=20).fold(format!("# {title}\n"), |text, n| text + &format!("Paragraph {n} of the page.\n"))
}

// ---------------------------------------------------------------------------
// Push pipelines

#[test]
fn push_to_the_sync_branch_imports_into_gitbook() {
    let repo = repo_with_docs();
    let before = repo.head();
    repo.write("docs/guide.md", "# Guide\n\nA new section.\n");
    repo.write("docs/new.md", "# New page\n");
    let head = repo.commit("Document the new feature");

    let plan = plan(&repo, &with(push(&before, &head), &[GITBOOK]), &[]);

    assert_range(&plan, "push", Some(&before), &head);
    assert_eq!(changes(&plan), [change("modified", "docs/guide.md"), change("added", "docs/new.md")]);
    assert_eq!(changes(&plan), repo.name_status(&before, &head));
    let gitbook = target(&plan, "gitbook");
    assert_action(gitbook, "import", &["push to the sync branch"]);
    assert_eq!(gitbook["kind"], "gitbook");
    assert_eq!(gitbook["changed"], 2);
    assert_eq!(gitbook["request"]["method"], "POST");
    assert_eq!(gitbook["request"]["url"], IMPORT_URL);
    assert_eq!(
        gitbook["request"]["body"],
        json!({
            "url": CLONE_URL,
            "ref": "refs/heads/main",
            "repoTreeURL": format!("{PROJECT_URL}/-/blob/main"),
            "repoCommitURL": format!("{PROJECT_URL}/-/commit"),
            "timestamp": PIPELINE_CREATED_AT_UTC,
        })
    );
}

#[test]
fn push_import_body_carries_masked_git_token_and_project_directory() {
    let repo = repo_with_docs();
    let before = repo.head();
    repo.write("docs/guide.md", "# Guide, revised\n");
    repo.write("src/main.rs", "fn main() { println!(\"hi\"); }\n");
    let head = repo.commit("Revise the guide and the code");
    let token = "glpat-fake.plan-test-secret-4242";
    let env =
        with(push(&before, &head), &[GITBOOK, ("DOCSYNC_GIT_TOKEN", token), ("DOCSYNC_PROJECT_DIRECTORY", "/docs/")]);

    let output = repo.docsync(&["plan", "--format", "json"]).envs(&env).output().expect("run docsync");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{stderr}");
    assert!(!stdout.contains(token) && !stderr.contains(token), "the token leaked:\n{stdout}\n{stderr}");

    let plan: Value = serde_json::from_str(&stdout).expect("JSON");
    let gitbook = target(&plan, "gitbook");
    assert_action(gitbook, "import", &[]);
    assert_eq!(gitbook["changed"], 1, "only docs/ concerns the space");
    let body = &gitbook["request"]["body"];
    assert_eq!(body["url"], "https://oauth2:[MASKED]@gitlab.example.com/group/project.git");
    assert_eq!(body["repoProjectDirectory"], "docs");
    assert_eq!(body["ref"], "refs/heads/main");
}

#[test]
fn push_without_pipeline_time_orders_by_the_head_committer_time() {
    let repo = repo_with_docs();
    let before = repo.head();
    repo.write("docs/guide.md", "# Guide 2\n");
    let head = repo.commit("Guide 2");
    let mut env = with(push(&before, &head), &[GITBOOK]);
    env.remove("CI_PIPELINE_CREATED_AT");

    let plan = plan(&repo, &env, &[]);

    let expected = repo.committer_time_utc(&head);
    assert_eq!(expected, "2026-11-22T09:02:00Z", "the fixture's committer time");
    assert_eq!(target(&plan, "gitbook")["request"]["body"]["timestamp"], expected);
}

#[test]
fn push_to_another_branch_is_skipped() {
    let repo = repo_with_docs();
    let before = repo.head();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("docs/guide.md", "# Guide on a branch\n");
    let head = repo.commit("Work in progress");
    let env = with(ci_env(Pipeline::Push { branch: "feature", before: &before, sha: &head }), &[GITBOOK, DOT]);

    let plan = plan(&repo, &env, &[]);

    assert_range(&plan, "push", Some(&before), &head);
    assert_action(target(&plan, "gitbook"), "skip", &["feature", "main"]);
    assert_action(target(&plan, "dot"), "skip", &["feature", "main"]);
}

#[test]
fn tag_pipeline_is_skipped() {
    let repo = repo_with_docs();
    repo.git(&["tag", "v1.0"]);
    let env = with(ci_env(Pipeline::Tag { tag: "v1.0", sha: &repo.head() }), &[GITBOOK, DOT]);

    let plan = plan(&repo, &env, &[]);

    assert_action(target(&plan, "gitbook"), "skip", &["tag", "v1.0"]);
    assert_action(target(&plan, "dot"), "skip", &["tag", "v1.0"]);
}

/// A job that deploys records its commit as synced when it passes: a tag
/// pipeline there skips for a configuration reason, so `sync` is exit 2
/// before anything is sent; without an environment it skips and passes.
#[test]
fn a_tag_pipeline_in_a_job_that_deploys_is_refused() {
    let repo = repo_with_docs();
    repo.git(&["tag", "v1.0"]);
    let no_reports = [("DOCSYNC_REPORT", "none"), ("DOCSYNC_REPORT_JSON", "none"), ("DOCSYNC_CODEQUALITY", "none")];
    let env = with(with(ci_env(Pipeline::Tag { tag: "v1.0", sha: &repo.head() }), &[GITBOOK, DOT]), &no_reports);

    let mut command = repo.docsync(&["sync"]);
    command.envs(&with(env.clone(), &[("CI_ENVIRONMENT_NAME", "docs")]));
    assert_bad_input(
        command,
        &[
            "CI_ENVIRONMENT_NAME = \"docs\": the job deploys to environment docs, but target gitbook skips (tag pipeline (v1.0)",
            "target dot skips",
        ],
    );
    let output = repo.docsync(&["sync"]).envs(&env).output().expect("run docsync");
    assert_eq!(output.status.code(), Some(0), "{}", common::describe(&output));
}

#[test]
fn first_push_of_a_new_branch_is_a_full_sync() {
    let repo = repo_with_docs();
    repo.write("docs/more/deep.md", "# Deep\n");
    let head = repo.commit("More docs");

    let plan = plan(&repo, &with(push(ZERO_SHA, &head), &[GITBOOK]), &[]);

    assert_range(&plan, "full", None, &head);
    let every_file = repo.all_files(&head);
    assert_eq!(every_file.len(), 5);
    assert_eq!(changes(&plan), every_file);
    let gitbook = target(&plan, "gitbook");
    assert_action(gitbook, "import", &[]);
    assert_eq!(gitbook["changed"], 5);
}

#[test]
fn force_push_is_diffed_tree_to_tree() {
    let repo = repo_with_docs();
    repo.write("docs/guide.md", "# Guide, first try\n");
    repo.commit("First try");
    repo.write("docs/dropped.md", "# Dropped later\n");
    let before = repo.commit("Second try");
    repo.git(&["reset", "--hard", "-q", "HEAD~2"]);
    repo.write("docs/index.md", "# Docs, rewritten\n");
    repo.commit("Rewritten history");
    repo.mv("docs/guide.md", "docs/handbook.md");
    let head = repo.commit("Rename the guide");
    assert!(!repo.git_output(&["merge-base", "--is-ancestor", &before, &head]).status.success());

    let plan = plan(&repo, &with(push(&before, &head), &[GITBOOK]), &[]);

    assert_range(&plan, "force_push", Some(&before), &head);
    assert_eq!(changes(&plan), repo.name_status(&before, &head));
    assert!(changes(&plan).contains(&change("deleted", "docs/dropped.md")));
    assert_action(target(&plan, "gitbook"), "import", &[]);
}

// ---------------------------------------------------------------------------
// Merge request pipelines

/// `main` with a commit made after `feature` branched off, and `feature`
/// with two docs commits. Returns (diff base, feature head).
fn merge_request_history(repo: &TestRepo) -> (String, String) {
    let diff_base = repo.head();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("docs/guide.md", "# Guide, reviewed\n");
    repo.commit("Review the guide");
    repo.write("docs/faq.md", "# FAQ\n");
    let feature = repo.commit("Add an FAQ");
    repo.checkout("main");
    repo.write("README.md", "# Project, meanwhile on main\n");
    repo.commit("Meanwhile on main");
    repo.checkout(&feature);
    (diff_base, feature)
}

#[test]
fn merge_request_pipeline_previews_in_gitbook() {
    let repo = repo_with_docs();
    let (diff_base, feature) = merge_request_history(&repo);
    let mr = ci_env(Pipeline::MergeRequest { iid: 7, diff_base: &diff_base, sha: &feature, source_branch_sha: None });

    let plan = plan(&repo, &with(mr, &[GITBOOK, DOT]), &[]);

    assert_range(&plan, "merge_request", Some(&diff_base), &feature);
    assert_eq!(changes(&plan), [change("added", "docs/faq.md"), change("modified", "docs/guide.md")]);
    let gitbook = target(&plan, "gitbook");
    assert_action(gitbook, "preview", &["!7"]);
    assert_eq!(gitbook["request"]["url"], IMPORT_URL);
    let body = &gitbook["request"]["body"];
    assert_eq!(body["standalone"], true);
    assert_eq!(body["ref"], "refs/merge-requests/7/head");
    assert_eq!(body["url"], CLONE_URL);
    assert!(body.get("timestamp").is_none(), "a preview never orders imports: {body:#}");
    assert_action(target(&plan, "dot"), "skip", &["merge request"]);
}

#[test]
fn merged_results_pipeline_uses_the_source_branch_head_not_the_merge_commit() {
    let repo = repo_with_docs();
    let (diff_base, feature) = merge_request_history(&repo);
    // GitLab's temporary merge commit, checked out on a detached head.
    repo.git(&["checkout", "-q", "--detach", "main"]);
    repo.git(&["merge", "-q", "--no-ff", "-m", "Merge branch 'feature' into 'main'", "feature"]);
    let merge = repo.head();
    let mr = ci_env(Pipeline::MergeRequest {
        iid: 7,
        diff_base: &diff_base,
        sha: &merge,
        source_branch_sha: Some(&feature),
    });

    let plan = plan(&repo, &with(mr, &[GITBOOK]), &[]);

    assert_range(&plan, "merge_request", Some(&diff_base), &feature);
    assert_eq!(changes(&plan), repo.name_status(&diff_base, &feature));
    let gitbook = target(&plan, "gitbook");
    assert_action(gitbook, "preview", &[]);
    assert_eq!(gitbook["request"]["body"]["ref"], "refs/merge-requests/7/head");
    assert!(!plan.to_string().contains(&merge), "the merge commit must not appear anywhere: {plan:#}");
}

#[test]
fn merge_request_previews_can_be_turned_off() {
    let repo = repo_with_docs();
    let (diff_base, feature) = merge_request_history(&repo);
    let mr = ci_env(Pipeline::MergeRequest { iid: 7, diff_base: &diff_base, sha: &feature, source_branch_sha: None });

    let plan = plan(&repo, &with(mr, &[GITBOOK, ("DOCSYNC_PREVIEWS", "false")]), &[]);

    assert_action(target(&plan, "gitbook"), "skip", &["DOCSYNC_PREVIEWS"]);
}

// ---------------------------------------------------------------------------
// Manual pipelines

#[test]
fn manual_pipelines_import_everything() {
    let repo = repo_with_docs();
    let head = repo.head();
    for source in ["web", "api", "trigger", "schedule", "pipeline"] {
        let env = with(ci_env(Pipeline::Manual { source, branch: "main", sha: &head }), &[GITBOOK, DOT]);

        let plan = plan(&repo, &env, &[]);

        assert_range(&plan, "full", None, &head);
        assert_eq!(changes(&plan), repo.all_files(&head), "{source}");
        let gitbook = target(&plan, "gitbook");
        assert_action(gitbook, "import", &[source]);
        assert_eq!(gitbook["request"]["body"]["ref"], "refs/heads/main");
        assert_eq!(gitbook["request"]["body"]["timestamp"], PIPELINE_CREATED_AT_UTC);
        assert_action(target(&plan, "dot"), "push_event", &[source]);
    }
}

#[test]
fn manual_pipeline_can_export_from_gitbook() {
    let repo = repo_with_docs();
    let head = repo.head();
    let env = with(
        ci_env(Pipeline::Manual { source: "web", branch: "main", sha: &head }),
        &[GITBOOK, DOT, ("DOCSYNC_DIRECTION", "export")],
    );

    let plan = plan(&repo, &env, &[]);

    let gitbook = target(&plan, "gitbook");
    assert_action(gitbook, "export", &[]);
    assert_eq!(gitbook["request"]["url"], "https://api.gitbook.com/v1/spaces/spcTest/git/export");
    let body = &gitbook["request"]["body"];
    assert_eq!(body["ref"], "refs/heads/main");
    assert!(body["commitMessage"].as_str().is_some_and(|m| !m.is_empty()), "{body:#}");
    assert_eq!(body["timestamp"], PIPELINE_CREATED_AT_UTC);
    assert_action(target(&plan, "dot"), "skip", &[]);
}

/// Only imports of the sync branch move the watermark: GitLab records the
/// pipeline's commit as the deployment, and the platform imports the sync
/// branch, so an import asked for on another branch is refused.
#[test]
fn manual_import_on_another_branch_is_refused_naming_the_sync_branch() {
    let repo = repo_with_docs();
    let head = repo.head();
    for source in ["web", "api", "trigger", "schedule", "pipeline"] {
        let env = with(ci_env(Pipeline::Manual { source, branch: "feature", sha: &head }), &[GITBOOK, DOT]);
        let mut command = repo.docsync(&["sync"]);
        command.envs(&env);
        let stderr = assert_bad_input(command, &["CI_COMMIT_BRANCH", "feature", "run the pipeline on main"]);
        assert!(stderr.contains("target gitbook") && stderr.contains("target dot"), "{stderr}");
    }
}

#[test]
fn manual_export_works_from_any_branch_but_never_in_a_deploying_job() {
    let repo = repo_with_docs();
    let head = repo.head();
    let export = ("DOCSYNC_DIRECTION", "export");
    let env = with(ci_env(Pipeline::Manual { source: "web", branch: "feature", sha: &head }), &[GITBOOK, export]);

    let plan = plan(&repo, &env, &[]);
    let gitbook = target(&plan, "gitbook");
    assert_action(gitbook, "export", &[]);
    assert_eq!(gitbook["request"]["body"]["ref"], "refs/heads/main", "GitBook exports to the sync branch");

    // A job that deploys would record the head as synced.
    let deploying = with(env.clone(), &[("CI_ENVIRONMENT_NAME", "docs"), ("CI_ENVIRONMENT_ACTION", "start")]);
    let mut command = repo.docsync(&["plan"]);
    command.envs(&deploying);
    assert_bad_input(command, &["DOCSYNC_DIRECTION", "environment docs", "direction input export"]);
    let preparing = with(env, &[("CI_ENVIRONMENT_NAME", "docs"), ("CI_ENVIRONMENT_ACTION", "prepare")]);
    assert_action(target(&plan_with_logs(&repo, &preparing, &[]).0, "gitbook"), "export", &[]);
}

#[test]
fn gitbook_and_dot_name_the_same_branch() {
    let repo = repo_with_docs();
    let head = repo.head();
    let env = with(
        ci_env(Pipeline::Manual { source: "web", branch: "live", sha: &head }),
        &[GITBOOK, DOT, ("DOCSYNC_BRANCH", "live"), ("DOCSYNC_DOT_WEBHOOK_SECRET", "dot-secret-value")],
    );

    let plan = plan(&repo, &env, &[]);

    let gitbook = &target(&plan, "gitbook")["request"]["body"];
    let dot = &target(&plan, "dot")["request"]["body"];
    assert_eq!(gitbook["ref"], "refs/heads/live", "{plan:#}");
    assert_eq!(dot["ref"], gitbook["ref"], "{plan:#}");
}

// ---------------------------------------------------------------------------
// Outside CI

#[test]
fn outside_ci_plans_the_last_commit() {
    let repo = repo_with_docs();
    let parent = repo.head();
    repo.write("docs/guide.md", "# Guide, locally\n");
    let head = repo.commit("Local change");
    // CI_* variables without GITLAB_CI (a developer's shell) are ignored.
    let env = with(Env::new(), &[("CI_COMMIT_SHA", "not-a-sha"), ("CI_PIPELINE_SOURCE", "push")]);

    let plan = plan(&repo, &env, &[]);

    assert_range(&plan, "local", Some(&parent), &head);
    assert_eq!(changes(&plan), repo.name_status(&parent, &head));
    assert_eq!(plan["targets"], json!([]));
}

#[test]
fn outside_ci_a_single_commit_repository_is_all_new() {
    let repo = repo_with_docs();

    let plan = plan(&repo, &Env::new(), &[]);

    assert_range(&plan, "local", None, &repo.head());
    assert_eq!(changes(&plan), repo.all_files("HEAD"));
}

#[test]
fn zero_configuration_prints_a_useful_text_plan() {
    let repo = repo_with_docs();
    let parent = repo.head();
    repo.write("docs/guide.md", "# Guide, locally\n");
    repo.write("docs/new page.md", "# New\n");
    let head = repo.commit("Local change");

    let output = repo.docsync(&["plan"]).output().expect("run docsync");

    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains(&format!("{}..{}", &parent[..8], &head[..8])), "{stdout}");
    assert!(stdout.contains("local"), "{stdout}");
    assert!(stdout.contains("M  docs/guide.md") && stdout.contains("A  docs/new page.md"), "{stdout}");
    assert!(stdout.contains("DOCSYNC_GITBOOK_SPACE") && stdout.contains("DOCSYNC_DOT_WEBHOOK_URL"), "{stdout}");
    insta::with_settings!({ filters => vec![(r"[0-9a-f]{8,40}", "[SHA]")] }, {
        insta::assert_snapshot!("zero_configuration_text_plan", stdout);
    });
}

// ---------------------------------------------------------------------------
// Explicit ranges

/// c1 (annotated tag v1) - c2 (branch `release`) - c3 - c4 (main, HEAD).
fn tagged_history() -> (TestRepo, [String; 4]) {
    let repo = repo_with_docs();
    let c1 = repo.head();
    repo.git(&["tag", "-a", "v1", "-m", "Version 1"]);
    repo.write("docs/guide.md", "# Guide 2\n");
    let c2 = repo.commit("c2");
    repo.branch("release");
    repo.write("docs/c3.md", "# Three\n");
    let c3 = repo.commit("c3");
    repo.remove("docs/index.md");
    let c4 = repo.commit("c4");
    (repo, [c1, c2, c3, c4])
}

#[test]
fn explicit_range_from_flags_accepts_branches_tags_and_expressions() {
    let (repo, [c1, c2, _c3, c4]) = tagged_history();
    for (args, base, head) in [
        (["--from", "v1", "--to", "release"], &c1, &c2),
        (["--from", "HEAD~3", "--to", "HEAD"], &c1, &c4),
        (["--from", "release", "--to", "main"], &c2, &c4),
    ] {
        let plan = plan(&repo, &Env::new(), &args);

        assert_range(&plan, "explicit", Some(base), head);
        assert_eq!(changes(&plan), repo.name_status(base, head), "{args:?}");
    }
}

#[test]
fn explicit_range_from_environment() {
    let (repo, [c1, _c2, c3, _c4]) = tagged_history();
    let env = with(Env::new(), &[("DOCSYNC_FROM", "v1"), ("DOCSYNC_TO", "HEAD~1")]);

    let plan = plan(&repo, &env, &[]);

    assert_range(&plan, "explicit", Some(&c1), &c3);
    assert_eq!(changes(&plan), repo.name_status(&c1, &c3));
}

#[test]
fn explicit_range_beats_the_pipeline_range() {
    let (repo, [c1, _c2, c3, c4]) = tagged_history();

    let plan = plan(&repo, &with(push(&c3, &c4), &[GITBOOK]), &["--from", "v1"]);

    assert_range(&plan, "explicit", Some(&c1), &c4);
    assert_eq!(changes(&plan), repo.name_status(&c1, &c4));
}

// ---------------------------------------------------------------------------
// Skip rules of push pipelines, and --force

#[test]
fn push_without_relevant_change_is_skipped_unless_forced() {
    let repo = repo_with_docs();
    let before = repo.head();
    repo.write("src/main.rs", "fn main() { todo!() }\n");
    let head = repo.commit("Code only");
    let env = with(push(&before, &head), &[GITBOOK, ("DOCSYNC_PROJECT_DIRECTORY", "docs")]);

    let plan_once = plan(&repo, &env, &[]);
    let gitbook = target(&plan_once, "gitbook");
    assert_action(gitbook, "skip", &["docs/"]);
    assert_eq!(gitbook["changed"], 0);
    assert_eq!(changes(&plan_once), [change("modified", "src/main.rs")]);

    let forced = plan(&repo, &env, &["--force"]);
    let gitbook = target(&forced, "gitbook");
    assert_action(gitbook, "import", &["--force"]);
    assert_eq!(gitbook["request"]["body"]["force"], true);
}

#[test]
fn push_of_gitbook_commits_only_is_skipped_unless_forced() {
    let human = (common::AUTHOR_NAME, common::AUTHOR_EMAIL);
    let bot = ("gitbook-bot", "bot@users.noreply.example.com");
    let ranges: [&[((&str, &str), &str)]; 4] = [
        &[(human, "GITBOOK-12: Update the guide"), (human, "GITBOOK-13: No subject")],
        &[(human, "GitBook: No commit message")],
        &[(bot, "Update docs/guide.md")],
        &[(human, "GITBOOK-14: Edit"), (bot, "GitBook: No commit message"), (bot, "Sync")],
    ];
    for commits in ranges {
        let repo = repo_with_docs();
        let before = repo.head();
        for (n, ((name, email), message)) in commits.iter().enumerate() {
            repo.write("docs/guide.md", &format!("# Guide, edit {n} in GitBook\n"));
            repo.commit_as(name, email, message);
        }
        let env = with(push(&before, &repo.head()), &[GITBOOK]);

        let plan_once = plan(&repo, &env, &[]);
        assert_action(target(&plan_once, "gitbook"), "skip", &["GitBook"]);

        let forced = plan(&repo, &env, &["--force"]);
        assert_action(target(&forced, "gitbook"), "import", &["--force"]);
    }
}

/// A full sync reads the head alone: a GitBook commit there says nothing
/// of the human commits before it, which must still sync.
#[test]
fn full_sync_whose_head_is_a_gitbook_commit_is_imported() {
    let repo = repo_with_docs();
    repo.write("docs/guide.md", "# Guide, by a human\n");
    repo.commit("Rewrite the guide");
    repo.write("docs/guide.md", "# Guide, then edited in GitBook\n");
    let head = repo.commit("GITBOOK-16: Edit in GitBook");

    let plan = plan(&repo, &with(push(ZERO_SHA, &head), &[GITBOOK]), &[]);

    assert_range(&plan, "full", None, &head);
    assert_action(target(&plan, "gitbook"), "import", &[]);
}

#[test]
fn push_mixing_gitbook_and_human_commits_is_imported() {
    let repo = repo_with_docs();
    let before = repo.head();
    repo.write("docs/guide.md", "# Guide, from GitBook\n");
    repo.commit("GITBOOK-15: Edit in GitBook");
    repo.write("docs/guide.md", "# Guide, from GitBook and a human\n");
    let head = repo.commit("Fix a typo");

    let plan = plan(&repo, &with(push(&before, &head), &[GITBOOK]), &[]);

    assert_action(target(&plan, "gitbook"), "import", &[]);
}

#[test]
fn skip_marker_in_the_head_commit_skips_unless_forced() {
    let repo = repo_with_docs();
    let before = repo.head();
    repo.write("docs/guide.md", "# Guide, not yet\n");
    let head = repo.commit("Draft the guide\n\nNot ready for readers. [skip docsync]");
    let env = with(push(&before, &head), &[GITBOOK]);

    let plan_once = plan(&repo, &env, &[]);
    assert_action(target(&plan_once, "gitbook"), "skip", &["[skip docsync]"]);

    let forced = plan(&repo, &env, &["--force"]);
    assert_action(target(&forced, "gitbook"), "import", &["--force"]);
}

// ---------------------------------------------------------------------------
// The change set

#[test]
fn renames_deletions_and_unicode_paths_match_git_diff() {
    let repo = TestRepo::new();
    repo.write("docs/old name.md", &page("Old name"));
    repo.write("docs/moved.md", &page("Moved"));
    repo.write("docs/gone.md", "# Gone\n");
    repo.write("docs/keep.md", "# Keep\n");
    let before = repo.commit("Pages");
    repo.mv("docs/old name.md", "docs/renamed é.md");
    repo.write("docs/renamed é.md", &page("Old name").replace("Paragraph 3 ", "Paragraph three "));
    repo.mv("docs/moved.md", "docs/日本語/ページ.md");
    repo.remove("docs/gone.md");
    repo.write("docs/café au lait.md", "# Café\n");
    repo.write("docs/keep.md", "# Keep, edited\n");
    let head = repo.commit("Reorganise");

    let plan = plan(&repo, &Env::new(), &[]);

    let renamed = |path: &str, old: &str| FileChange::new("renamed", path.to_owned(), Some(old.to_owned()));
    let expected = [
        change("added", "docs/café au lait.md"),
        change("deleted", "docs/gone.md"),
        change("modified", "docs/keep.md"),
        renamed("docs/renamed é.md", "docs/old name.md"),
        renamed("docs/日本語/ページ.md", "docs/moved.md"),
    ];
    assert_eq!(repo.name_status(&before, &head), expected, "git itself");
    assert_eq!(changes(&plan), expected);
}

#[test]
fn exact_rename_next_to_a_deleted_similar_page_matches_git_diff() {
    // Pages made from one template, as docs often are: in one range, one
    // page is moved, a sibling deleted and something added.
    let repo = TestRepo::new();
    repo.write("docs/a.md", &page("A"));
    repo.write("docs/b.md", &page("B"));
    let before = repo.commit("Two pages from one template");
    repo.mv("docs/a.md", "docs/c.md");
    repo.remove("docs/b.md");
    repo.write("docs/new.md", "# New\n");
    let head = repo.commit("Move a page, drop its sibling, add one");

    let plan = plan(&repo, &Env::new(), &[]);

    let expected = [
        change("deleted", "docs/b.md"),
        FileChange::new("renamed", "docs/c.md".to_owned(), Some("docs/a.md".to_owned())),
        change("added", "docs/new.md"),
    ];
    assert_eq!(repo.name_status(&before, &head), expected, "git itself");
    assert_eq!(changes(&plan), expected);
}

#[test]
fn file_replaced_by_a_symlink_is_one_modification() {
    let repo = TestRepo::new();
    repo.write("docs/latest.md", "# Latest\n");
    repo.write("docs/v2.md", "# Version 2\n");
    let before = repo.commit("Pages");
    std::fs::remove_file(repo.path.join("docs/latest.md")).expect("remove the file");
    std::os::unix::fs::symlink("v2.md", repo.path.join("docs/latest.md")).expect("create a symlink");
    let head = repo.commit("Point latest at v2");

    let plan = plan(&repo, &Env::new(), &[]);

    // git says `T` (type change); docsync reports it as a modification.
    assert_eq!(repo.name_status(&before, &head), [change("modified", "docs/latest.md")], "git itself");
    assert_eq!(changes(&plan), [change("modified", "docs/latest.md")]);
}

#[test]
fn move_with_half_the_page_rewritten_is_classified_like_git_diff() {
    // git's similarity for this move is 33%, under `-M`'s 50%: a deletion
    // and an addition, not a rename.
    let repo = TestRepo::new();
    let lines = |numbers: &mut dyn Iterator<Item = u32>| numbers.map(|n| format!("{n}\n")).collect::<String>();
    repo.write("docs/a.md", &lines(&mut (1..=10)));
    let before = repo.commit("A page");
    repo.mv("docs/a.md", "docs/b.md");
    repo.write("docs/b.md", &lines(&mut (1..=5).chain(100..=104)));
    let head = repo.commit("Move and rewrite half of it");

    let plan = plan(&repo, &Env::new(), &[]);

    let git = repo.name_status(&before, &head);
    assert_eq!(git, [change("deleted", "docs/a.md"), change("added", "docs/b.md")], "git itself");
    assert_eq!(changes(&plan), git);
}

/// One commit touching docs, YAML, images, text and code.
fn mixed_change() -> (TestRepo, String, String) {
    let repo = repo_with_docs();
    let before = repo.head();
    for path in
        ["docs/a.md", "docs/b.markdown", "api/spec.yaml", "ci.yml", "docs/image.png", "docs/notes.txt", "src/lib.rs"]
    {
        repo.write(path, "content\n");
    }
    let head = repo.commit("Mixed change");
    (repo, before, head)
}

#[test]
fn dot_counts_only_markdown_and_yaml_by_default() {
    let (repo, before, head) = mixed_change();

    let plan = plan(&repo, &with(push(&before, &head), &[GITBOOK, DOT]), &[]);

    let dot = target(&plan, "dot");
    assert_action(dot, "push_event", &[]);
    assert_eq!(dot["kind"], "dot");
    assert_eq!(dot["changed"], 4, "a.md, b.markdown, spec.yaml, ci.yml: {dot:#}");
    assert_eq!(target(&plan, "gitbook")["changed"], 7);
}

#[test]
fn docsync_paths_overrides_the_default_globs() {
    let (repo, before, head) = mixed_change();
    let env = with(push(&before, &head), &[GITBOOK, DOT, ("DOCSYNC_PATHS", "*.txt, docs/*.png")]);

    let plan = plan(&repo, &env, &[]);

    assert_eq!(target(&plan, "dot")["changed"], 2);
    assert_eq!(target(&plan, "gitbook")["changed"], 2);
}

#[test]
fn project_directory_absent_at_head_is_a_warning_naming_the_nearest() {
    let repo = repo_with_docs();
    let before = repo.head();
    repo.write("docs/guide.md", "# Guide, again\n");
    let head = repo.commit("Edit the guide");
    let env = with(push(&before, &head), &[GITBOOK, ("DOCSYNC_PROJECT_DIRECTORY", "Docs")]);

    let (plan, logs) = plan_with_logs(&repo, &env, &[]);

    let gitbook = target(&plan, "gitbook");
    assert_action(gitbook, "skip", &[]);
    let warnings = gitbook["warnings"].to_string();
    assert!(warnings.contains("Docs does not exist") && warnings.contains("did you mean docs?"), "{gitbook:#}");
    assert!(logs.contains("did you mean docs?"), "{logs}");
}

/// The head tree is read once for all targets' directories: each target
/// still learns whether its own exists (a file of that name is no
/// directory), and the same missing directory is said once per target.
#[test]
fn every_target_whose_directory_is_absent_is_warned_and_no_other() {
    let repo = repo_with_docs();
    repo.write("handbook/a.md", "# A\n");
    repo.write("manual", "a file, not a folder\n");
    let before = repo.commit("Handbook and manual");
    repo.write("docs/guide.md", "# Guide, again\n");
    let head = repo.commit("Edit the guide");
    let targets = [
        ("docs", "docs"),
        ("handbook", "handbook"),
        ("manual", "manual"),
        ("typo", "Handbook"),
        ("typo-again", "Handbook"),
    ];
    let config: String = targets
        .iter()
        .map(|(name, dir)| format!("[[target]]\nname = \"{name}\"\nkind = \"gitbook\"\ngitbook_space = \"spc{name}\"\nproject_directory = \"{dir}\"\n"))
        .collect();
    repo.write("docsync.toml", &config);
    let env = with(push(&before, &head), &[("GITBOOK_TOKEN", "gbtok-absent-dirs-1234")]);

    let (plan, _) = plan_with_logs(&repo, &env, &[]);

    let warned = |name: &str| target(&plan, name)["warnings"].to_string();
    assert_eq!(target(&plan, "docs")["action"], "import", "{plan:#}");
    assert!(!warned("docs").contains("does not exist") && !warned("handbook").contains("does not exist"), "{plan:#}");
    assert!(warned("manual").contains("manual does not exist"), "{plan:#}");
    for typo in ["typo", "typo-again"] {
        assert!(
            warned(typo).contains("Handbook does not exist") && warned(typo).contains("did you mean handbook?"),
            "{plan:#}"
        );
    }
}

#[test]
fn docsync_paths_with_braces_is_one_glob() {
    let (repo, before, head) = mixed_change();
    let env = with(push(&before, &head), &[GITBOOK, ("DOCSYNC_PATHS", "*.{md,yml}")]);

    let plan = plan(&repo, &env, &[]);

    let expected = changes(&plan).iter().filter(|c| c.path.ends_with(".md") || c.path.ends_with(".yml")).count();
    assert!(expected > 0);
    assert_eq!(target(&plan, "gitbook")["changed"], expected, "{plan:#}");
}

// ---------------------------------------------------------------------------
// Shallow clones

/// An origin with 30 commits whose last five modify, add, rename and delete.
fn origin_with_30_commits() -> TestRepo {
    let origin = TestRepo::new();
    origin.write("docs/obsolete.txt", "Nothing to see.\n");
    for n in 1..=25 {
        origin.write(&format!("docs/page-{}.md", n % 7), &page(&format!("Version {n}")));
        origin.commit(&format!("Commit {n}"));
    }
    origin.write("docs/page-1.md", &page("Version 26"));
    origin.commit("Commit 26");
    origin.write("docs/added.md", "# Added\n");
    origin.commit("Commit 27");
    origin.mv("docs/page-2.md", "docs/page-two.md");
    origin.commit("Commit 28");
    origin.remove("docs/obsolete.txt");
    origin.commit("Commit 29");
    origin.write("README.md", "# Shallow\n");
    origin.commit("Commit 30");
    origin
}

/// A depth-1 clone of the origin, and the push pipeline of its last five commits.
fn shallow_push(origin: &TestRepo, repository_url: &str) -> (TestRepo, Env) {
    let shallow = origin.clone_shallow("shallow", 1);
    let before = origin.rev("HEAD~5");
    assert!(!shallow.git_output(&["cat-file", "-e", &before]).status.success(), "the clone lacks the base");
    let env = with(push(&before, &origin.head()), &[("CI_REPOSITORY_URL", repository_url)]);
    (shallow, env)
}

#[test]
fn shallow_clone_over_a_file_url_falls_back_to_a_full_sync() {
    // libgit2's local transport refuses shallow fetches ("shallow fetch is not
    // supported by the local transport"), so a file:// CI_REPOSITORY_URL can
    // never deepen; GitLab's https URL can (see the git daemon test). The
    // documented fallback must hold: a full sync, a warning with the fix.
    let origin = origin_with_30_commits();
    let (shallow, env) = shallow_push(&origin, &origin.file_url());

    let (plan, logs) = plan_with_logs(&shallow, &env, &[]);

    let head = origin.head();
    assert_range(&plan, "full", None, &head);
    assert!(logs.contains("local transport"), "the warning gives libgit2's reason:\n{logs}");
    assert!(logs.contains("GIT_DEPTH: 0"), "the warning says how to avoid it:\n{logs}");
    assert_eq!(changes(&plan), shallow.all_files(&head));
}

/// `git daemon` serving the test's temporary directory on a free local port.
struct GitDaemon {
    child: Child,
    port: u16,
}

impl GitDaemon {
    fn start(repo: &TestRepo) -> Option<GitDaemon> {
        let port = TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let base_path = format!("--base-path={}", repo.root().display());
        // The daemon itself, not `git daemon`: `git` would run it as a child
        // of its own, which killing `git` leaves behind.
        let program = Path::new(&repo.git(&["--exec-path"])).join("git-daemon");
        let child = repo
            .command(program)
            .args(["--export-all", "--reuseaddr", "--listen=127.0.0.1", &format!("--port={port}")])
            .arg(base_path)
            .arg(repo.root())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut daemon = GitDaemon { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline || daemon.child.try_wait().ok()?.is_some() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(daemon)
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn shallow_clone_is_deepened_over_the_git_protocol() {
    let origin = origin_with_30_commits();
    let Some(daemon) = GitDaemon::start(&origin) else {
        common::cannot_run("shallow_clone_is_deepened_over_the_git_protocol", "`git daemon` could not be started");
        return;
    };
    let url = format!("git://127.0.0.1:{}/repo", daemon.port);
    let (shallow, env) = shallow_push(&origin, &url);

    let (plan, logs) = plan_with_logs(&shallow, &env, &[]);

    let (before, head) = (origin.rev("HEAD~5"), origin.head());
    assert_eq!(plan["range"]["mode"], "push", "the clone was not deepened; logs:\n{logs}");
    assert_range(&plan, "push", Some(&before), &head);
    assert_eq!(changes(&plan), origin.name_status(&before, &head), "logs:\n{logs}");
}

/// The pipeline's branch is gone from the origin (deleted after the push),
/// so the clone cannot be deepened along it; the base is fetched by its SHA
/// alone. Its ancestry must still be decided from head's real history.
#[test]
fn base_fetched_by_its_sha_keeps_its_ancestry() {
    let origin = origin_with_30_commits();
    origin.git(&["config", "uploadpack.allowAnySHA1InWant", "true"]);
    let daemon = GitDaemon::start(&origin).expect("`git daemon` starts (git's own git-daemon program)");
    let url = format!("git://127.0.0.1:{}/repo", daemon.port);
    let shallow = origin.clone_shallow("shallow", 1);
    let (before, head) = (origin.rev("HEAD~5"), origin.head());
    let env = with(
        ci_env(Pipeline::Push { branch: "gone", before: &before, sha: &head }),
        &[("CI_REPOSITORY_URL", &url), ("DOCSYNC_BRANCH", "gone"), GITBOOK],
    );

    let (plan, logs) = plan_with_logs(&shallow, &env, &[]);

    assert!(logs.contains("by its SHA"), "the base was not fetched by its SHA:\n{logs}");
    assert_range(&plan, "push", Some(&before), &head);
    assert_eq!(changes(&plan), origin.name_status(&before, &head), "logs:\n{logs}");
}

#[test]
fn shallow_clone_without_reachable_origin_falls_back_to_a_full_sync() {
    let origin = origin_with_30_commits();
    let missing = origin.root().join("no-such-repository");
    let (shallow, env) = shallow_push(&origin, &format!("file://{}", missing.display()));
    shallow.git(&["remote", "set-url", "origin", &format!("file://{}/too", missing.display())]);

    let (plan, logs) = plan_with_logs(&shallow, &env, &[]);

    let (before, head) = (origin.rev("HEAD~5"), origin.head());
    assert_range(&plan, "full", None, &head);
    assert!(logs.contains("GIT_DEPTH: 0"), "the warning says how to avoid it:\n{logs}");
    let reported = changes(&plan);
    assert_eq!(reported, shallow.all_files(&head));
    for real in origin.name_status(&before, &head) {
        let path = if real.status == "deleted" { None } else { Some(&real.path) };
        if let Some(path) = path {
            assert!(reported.iter().any(|c| &c.path == path), "{path} changed but is not reported");
        }
    }
}

// ---------------------------------------------------------------------------
// A checkout owned by another user (the GitLab runner's, in a container)

#[test]
fn foreign_owned_checkout_is_still_planned() {
    let repo = repo_with_docs();
    let before = repo.head();
    repo.write("docs/guide.md", "# Guide, owned by someone else\n");
    let head = repo.commit("Change");
    let expected = repo.name_status(&before, &head);
    let chown = std::process::Command::new("chown").arg("-R").arg("12345:12345").arg(&repo.path).output();
    if !chown.is_ok_and(|output| output.status.success()) {
        common::cannot_run("foreign_owned_checkout_is_still_planned", "it needs root to chown");
        return;
    }
    let status = repo.git_output(&["status"]);
    assert!(!status.status.success(), "git refuses a repository owned by someone else");
    assert!(String::from_utf8_lossy(&status.stderr).contains("dubious ownership"));

    let plan = plan(&repo, &with(push(&before, &head), &[GITBOOK]), &[]);

    assert_range(&plan, "push", Some(&before), &head);
    assert_eq!(changes(&plan), expected);
    assert_action(target(&plan, "gitbook"), "import", &[]);
}

// ---------------------------------------------------------------------------
// Bad input: exit code 2, the variable or flag named, a fix, no panic

fn assert_bad_input(mut command: Command, mentions: &[&str]) -> String {
    let output = command.output().expect("run docsync");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("fix:"), "{stderr}");
    for words in mentions {
        assert!(stderr.contains(words), "stderr should mention {words:?}:\n{stderr}");
    }
    assert!(!stderr.contains("panicked") && !stdout.contains("panicked"), "{stderr}");
    stderr
}

/// `docsync plan` in a push pipeline of a small repository, with `extra`.
fn plan_command(extra: &[(&str, &str)], args: &[&str]) -> (TestRepo, Command) {
    let repo = repo_with_docs();
    let head = repo.head();
    let mut command = repo.docsync(&["plan"]);
    command.args(args).envs(&with(push(ZERO_SHA, &head), extra));
    (repo, command)
}

#[test]
fn bad_commit_sha_is_refused() {
    let (_repo, command) = plan_command(&[("CI_COMMIT_SHA", "abc123")], &[]);
    assert_bad_input(command, &["CI_COMMIT_SHA", "abc123"]);
}

#[test]
fn bad_before_sha_is_refused() {
    let (_repo, command) = plan_command(&[("CI_COMMIT_BEFORE_SHA", "HEAD~1")], &[]);
    assert_bad_input(command, &["CI_COMMIT_BEFORE_SHA"]);
}

#[test]
fn bad_direction_is_refused() {
    let (_repo, command) = plan_command(&[("DOCSYNC_DIRECTION", "sideways")], &[]);
    assert_bad_input(command, &["DOCSYNC_DIRECTION", "sideways"]);
}

#[test]
fn bad_gitbook_api_url_is_refused() {
    let (_repo, command) = plan_command(&[GITBOOK, ("DOCSYNC_GITBOOK_API_URL", "not-a-url")], &[]);
    assert_bad_input(command, &["DOCSYNC_GITBOOK_API_URL", "not-a-url"]);
}

#[test]
fn bad_wait_timeout_is_refused() {
    let (_repo, command) = plan_command(&[("DOCSYNC_WAIT_TIMEOUT", "10 minutes")], &[]);
    assert_bad_input(command, &["DOCSYNC_WAIT_TIMEOUT", "10 minutes"]);
}

#[test]
fn bad_paths_glob_is_refused() {
    let (_repo, command) = plan_command(&[GITBOOK, ("DOCSYNC_PATHS", "*.md, guides/[a-z")], &[]);
    let stderr = assert_bad_input(command, &["DOCSYNC_PATHS", "guides/[a-z", "a `[` class is never closed by `]`"]);
    assert!(stderr.contains("write globs like *.md"), "{stderr}");
}

#[test]
fn unicode_host_is_refused_and_its_ascii_form_accepted() {
    let (_repo, command) = plan_command(&[("DOCSYNC_DOT_WEBHOOK_URL", "https://bücher.example/hooks")], &[]);
    assert_bad_input(command, &["DOCSYNC_DOT_WEBHOOK_URL", "bücher.example", "xn--"]);
    let (_repo, mut command) = plan_command(&[("DOCSYNC_DOT_WEBHOOK_URL", "https://xn--bcher-kva.example/hooks")], &[]);
    let output = command.output().expect("run docsync");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn zero_concurrency_is_refused() {
    let (_repo, command) = plan_command(&[("DOCSYNC_CONCURRENCY", "0")], &[]);
    assert_bad_input(command, &["DOCSYNC_CONCURRENCY"]);
}

#[test]
fn unknown_from_revision_is_refused() {
    let (_repo, command) = plan_command(&[], &["--from", "does-not-exist"]);
    assert_bad_input(command, &["--from", "does-not-exist"]);
}

#[test]
fn running_outside_a_git_repository_is_refused() {
    let repo = TestRepo::new();
    let mut command = repo.docsync(&["plan"]);
    command.current_dir(repo.outside_dir("not-a-repository"));
    assert_bad_input(command, &["not inside a git repository"]);
}

#[test]
fn unknown_key_in_the_config_file_is_refused_with_its_line() {
    let (repo, command) = plan_command(&[], &[]);
    repo.write("docsync.toml", "[[target]]\nname = \"handbook\"\nkind = \"gitbook\"\nspace = \"spcA\"\n");
    assert_bad_input(command, &["docsync.toml: line 4, key `space`: not a docsync.toml key"]);
}

#[test]
fn secret_written_in_the_config_file_is_refused() {
    let (repo, command) = plan_command(&[], &[]);
    let secret = "gb-inline-secret-value-77";
    repo.write(
        "docsync.toml",
        &format!("[[target]]\nname = \"handbook\"\nkind = \"gitbook\"\ngitbook_space = \"spcA\"\ngitbook_token = \"{secret}\"\n"),
    );
    let stderr = assert_bad_input(command, &["docsync.toml", "line 5", "gitbook_token", "gitbook_token_env"]);
    assert!(!stderr.contains(secret), "{stderr}");
}

// ---------------------------------------------------------------------------
// Git edge cases

/// Commits the index as it is (no `git add -A`, which would drop a gitlink
/// whose directory is not checked out).
fn commit_index(repo: &TestRepo, message: &str) -> String {
    repo.git(&["commit", "-q", "--no-verify", "-m", message]);
    repo.head()
}

#[test]
fn submodule_pointer_changes_are_listed_as_submodules_and_never_docs() {
    let repo = repo_with_docs();
    let gitlink = |sha: &str| repo.git(&["update-index", "--add", "--cacheinfo", &format!("160000,{sha},docs/vendor")]);
    gitlink("1111111111111111111111111111111111111111");
    let before = commit_index(&repo, "Add a submodule under docs");
    gitlink("2222222222222222222222222222222222222222");
    let head = commit_index(&repo, "Bump the submodule");
    let env = with(push(&before, &head), &[GITBOOK, DOT, ("DOCSYNC_PROJECT_DIRECTORY", "docs")]);

    let plan = plan(&repo, &env, &[]);

    assert_eq!(plan["changes"], json!([{"status": "modified", "path": "docs/vendor", "kind": "submodule"}]));
    assert_eq!(changes(&plan), repo.name_status(&before, &head));
    assert_action(target(&plan, "gitbook"), "skip", &["no file under docs/"]);
    assert_action(target(&plan, "dot"), "skip", &[]);

    // A full sync lists the gitlink as a submodule too.
    let full = plan_with_logs(&repo, &with(push(ZERO_SHA, &head), &[GITBOOK]), &[]).0;
    let vendor = full["changes"].as_array().unwrap().iter().find(|c| c["path"] == "docs/vendor").cloned();
    assert_eq!(vendor, Some(json!({"status": "added", "path": "docs/vendor", "kind": "submodule"})), "{full:#}");
}

#[test]
fn paths_that_are_not_utf8_stay_distinct_and_are_quoted_as_git_does() {
    use std::os::unix::ffi::OsStrExt;
    let repo = repo_with_docs();
    let before = repo.head();
    for name in [&b"docs/a\xff.md"[..], &b"docs/a\xfe.md"[..]] {
        std::fs::write(repo.path.join(std::ffi::OsStr::from_bytes(name)), "# Page\n").expect("write a non-UTF-8 name");
    }
    let head = repo.commit("Two names that are not UTF-8");

    let (plan, logs) = plan_with_logs(&repo, &push(&before, &head), &[]);

    let paths: Vec<&str> = plan["changes"].as_array().unwrap().iter().map(|c| c["path"].as_str().unwrap()).collect();
    // What `git diff --name-status` prints (core.quotepath is on by default).
    let git = repo.git(&["diff", "--name-status", &before, &head]);
    let mut quoted: Vec<&str> = git.lines().map(|line| line.split_once('\t').expect("status and path").1).collect();
    quoted.sort_unstable();
    assert_eq!(quoted, [r#""docs/a\376.md""#, r#""docs/a\377.md""#], "git itself");
    assert_eq!(paths, quoted, "{plan:#}");
    assert!(logs.contains("is not UTF-8"), "{logs}");
}

#[test]
fn sha256_repositories_are_refused_with_the_reason() {
    let repo = TestRepo::new();
    let dir = repo.outside_dir("sha256");
    let git = |args: &[&str]| {
        let output = repo.command("git").current_dir(&dir).args(args).output().expect("run git");
        assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    };
    git(&["init", "-q", "--object-format=sha256", "."]);
    std::fs::write(dir.join("README.md"), "# SHA-256\n").expect("write a file");
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "First"]);
    let mut command = repo.docsync(&["plan"]);
    command.current_dir(&dir);
    assert_bad_input(command, &["SHA-256", "objectFormat"]);
}

#[test]
fn git_dir_and_git_work_tree_are_honoured() {
    let repo = repo_with_docs();
    let before = repo.head();
    repo.write("docs/guide.md", "# Guide, found through GIT_DIR\n");
    let head = repo.commit("Edit");
    let elsewhere = repo.outside_dir("elsewhere");
    let mut command = repo.docsync(&["plan", "--format", "json"]);
    command.current_dir(&elsewhere).env("GIT_DIR", repo.path.join(".git")).env("GIT_WORK_TREE", &repo.path);

    let output = command.output().expect("run docsync");

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let plan: Value = serde_json::from_slice(&output.stdout).expect("a JSON plan");
    assert_range(&plan, "local", Some(&before), &head);
    assert_eq!(changes(&plan), repo.name_status(&before, &head));
}

#[test]
fn unborn_branch_in_a_repository_with_commits_is_described_as_such() {
    let repo = repo_with_docs();
    repo.git(&["switch", "-q", "--orphan", "fresh"]);
    let command = repo.docsync(&["plan"]);
    assert_bad_input(command, &["HEAD is on branch fresh, which has no commits yet", "unborn", "git switch"]);
}

/// A blob-less partial clone from a `git daemon` that allows filters: the
/// old side of an inexact rename is not in the clone. git fetches it lazily
/// and reports a rename; so must docsync.
#[test]
fn partial_clone_fetches_the_blobs_rename_detection_needs() {
    let origin = repo_with_docs();
    origin.write("docs/chapter.md", &page("Chapter"));
    let base = origin.commit("A chapter");
    origin.mv("docs/chapter.md", "docs/part-one.md");
    origin.write("docs/part-one.md", &page("Chapter").replace("Paragraph 3 ", "Paragraph three "));
    let head = origin.commit("Rename and edit the chapter");
    for (key, value) in [("uploadpack.allowFilter", "true"), ("uploadpack.allowAnySHA1InWant", "true")] {
        origin.git(&["config", key, value]);
    }
    let expected = origin.name_status(&base, &head);
    assert!(expected.iter().any(|c| c.status == "renamed"), "git sees a rename: {expected:?}");
    let daemon = GitDaemon::start(&origin).expect("`git daemon` starts (git's own git-daemon program)");
    let url = format!("git://127.0.0.1:{}/repo", daemon.port);
    let clone = |name: &str| {
        origin.git(&["clone", "-q", "--filter=blob:none", &url, &origin.root().join(name).display().to_string()]);
        let old_blob = origin.git(&["rev-parse", &format!("{base}:docs/chapter.md")]);
        let lacking = origin
            .command("git")
            .current_dir(origin.root().join(name))
            .env("GIT_NO_LAZY_FETCH", "1")
            .args(["cat-file", "-e", &old_blob])
            .output()
            .expect("run git cat-file");
        assert!(!lacking.status.success(), "the partial clone lacks the old blob");
        origin.root().join(name)
    };
    let range = ["plan", "--format", "json", "--from", base.as_str(), "--to", head.as_str()];

    let partial = clone("partial");
    let output = origin.docsync(&range).current_dir(&partial).output().expect("run docsync");
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{logs}");
    let plan: Value = serde_json::from_slice(&output.stdout).expect("a JSON plan");
    assert_eq!(changes(&plan), expected, "logs:\n{logs}");

    // When the blobs cannot be fetched, a warning names what was not compared.
    let unreachable = clone("partial-offline");
    drop(daemon);
    let output = origin.docsync(&range).current_dir(&unreachable).output().expect("run docsync");
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{logs}");
    assert!(logs.contains("could not compare") && logs.contains("docs/chapter.md"), "{logs}");
}
