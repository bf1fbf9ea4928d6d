//! The merge request's one note, replayed on a real merge request's shape:
//! a change that moves 3 pages into a new group, adds 2 (one of them left
//! out of SUMMARY.md), and leaves a link to a moved page broken. GitBook is
//! Prism on the published spec, its live revision the base's pages; GitLab
//! is the stateful stand-in. The note is compared as a whole with an
//! approved snapshot; a retried job updates it; a second job's part joins
//! it; secrets planted in titles and echoed by the peers appear nowhere.

use crate::common;
use crate::gitlab::stand_in::{PROJECT_ID, StandIn, State, serve};

use std::path::PathBuf;

use serde_json::{Value, json};
use wiremock::MockServer;

use common::prism::{Prism, gitbook_spec};
use common::{Env, Pipeline, Run, TestRepo, ci_env, run_to_end, with};

const GITLAB_TOKEN: &str = "glpat-fake.ReviewNoteTok3n-Qq1";
const GITBOOK_TOKEN: &str = "gb_api_ReviewNoteTok3n-Ww2";
const GIT_TOKEN: &str = "glpat-fake.ReviewGitTok3n-Ee3";
const PIPELINE_URL: &str = "https://gitlab.example.com/group/project/-/pipelines/4242";
const APP: &str = "https://app.gitbook.com/o/orgReview/s/spcReview";

fn fixture(name: &str) -> Value {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gitlab").join(name);
    serde_json::from_str(&std::fs::read_to_string(&file).expect("read the fixture")).expect("the fixture is JSON")
}

const SUMMARY_BEFORE: &str = "# Table of contents

* [Welcome](README.md)

## Basics

* [Install](basics/install.md)
* [Configure](basics/configure.md)
* [Upgrade](basics/upgrade.md)
* [FAQ](faq.md)
";

const SUMMARY_AFTER: &str = "# Table of contents

* [Welcome](README.md)
* [FAQ](faq.md)

## Guides

* [Install](guides/install.md)
* [Configure](guides/configure.md)
* [Upgrade](guides/upgrade.md)
* [Deploy](guides/deploy.md)
";

/// The merge request: `(repo, base, head)`. The base already has one
/// finding (a link to a page that never existed), which is old.
fn merge_request_shape() -> (TestRepo, String, String) {
    let repo = TestRepo::new();
    repo.write("README.md", "# Project\n");
    repo.write("docs/README.md", "# Welcome\n\nStart with [the old tour](tour.md).\n");
    repo.write("docs/SUMMARY.md", SUMMARY_BEFORE);
    repo.write("docs/basics/install.md", "# Install\n\nRun the installer.\n");
    repo.write("docs/basics/configure.md", "# Configure\n\nEdit the file.\n");
    repo.write("docs/basics/upgrade.md", "# Upgrade\n\nRun the installer again.\n");
    repo.write("docs/faq.md", "# FAQ\n\nFirst [install it](basics/install.md).\n");
    let base = repo.commit("The docs as published");
    repo.mv("docs/basics/install.md", "docs/guides/install.md");
    repo.mv("docs/basics/configure.md", "docs/guides/configure.md");
    repo.mv("docs/basics/upgrade.md", "docs/guides/upgrade.md");
    repo.write("docs/guides/deploy.md", "# Deploy\n\nShip it.\n");
    // A secret pasted into a title: the note shows it masked.
    repo.write("docs/notes.md", &format!("# Notes on {GITBOOK_TOKEN}\n\nScratch.\n"));
    repo.write("docs/SUMMARY.md", SUMMARY_AFTER);
    // Edited, its link to the moved page left as it was: broken now.
    repo.write("docs/faq.md", "# FAQ\n\nFirst [install it](basics/install.md).\n\nThen deploy.\n");
    let head = repo.commit("Group the guides, add deploy notes");
    (repo, base, head)
}

/// A page of the live revision, as GitBook's spec describes it.
fn live_page(id: &str, title: &str, path: &str, url: &str) -> Value {
    json!({
        "object": "page", "id": id, "type": "document", "kind": "sheet", "title": title,
        "slug": id, "path": id, "pages": [], "git": { "oid": "0".repeat(40), "path": path },
        "urls": { "app": url }, "document": null,
    })
}

/// Prism on the published spec, whose live revision holds the base's
/// pages, and no open change request. One page's title and URL hold the
/// GitBook token, as a careless or hostile server might echo it.
fn prism_with_live_revision(base: &str) -> (Prism, tempfile::TempDir) {
    let mut spec: Value = serde_json::from_str(&std::fs::read_to_string(gitbook_spec()).expect("read the spec"))
        .expect("the spec is JSON");
    let revision = json!({
        "object": "revision", "id": "revLive", "type": "update", "parents": ["revBefore"],
        "createdAt": "2026-11-20T10:00:00.000Z",
        "git": { "oid": base, "message": "The docs as published", "createdByGitBook": false },
        "urls": { "app": APP, "published": null },
        "files": [], "reusableContents": [], "variables": {},
        "pages": [
            live_page("welcome", "Welcome", "README.md", &format!("{APP}/")),
            live_page("install", "Install", "basics/install.md", &format!("{APP}/basics/install")),
            live_page("configure", "Configure", "basics/configure.md", &format!("{APP}/basics/configure")),
            live_page("upgrade", "Upgrade", "basics/upgrade.md", &format!("{APP}/basics/upgrade")),
            live_page(
                "faq",
                &format!("FAQ {GITBOOK_TOKEN}"),
                "faq.md",
                &format!("{APP}/faq?token={GITBOOK_TOKEN}"),
            ),
        ],
    });
    let paths = &mut spec["paths"];
    paths["/spaces/{spaceId}/content"]["get"]["responses"]["200"]["content"]["application/json"]["example"] = revision;
    paths["/spaces/{spaceId}/change-requests"]["get"]["responses"]["200"]["content"]["application/json"]["example"] =
        json!({ "items": [] });
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let altered = dir.path().join("gitbook.review-note.openapi.json");
    std::fs::write(&altered, serde_json::to_vec_pretty(&spec).expect("serialise the spec")).expect("write the spec");
    // Prism watches its spec and stops serving when the file goes: the
    // directory lives as long as Prism.
    (Prism::start(&altered), dir)
}

/// GitLab with merge request !7 and the project's bot, whose token is
/// `DOCSYNC_GITLAB_TOKEN`.
async fn gitlab() -> (MockServer, StandIn) {
    let mut state = State::new();
    state.add_token(GITLAB_TOKEN, fixture("user_project_bot.json"), &["api"], Some(30));
    state.notes.insert(7, Vec::new());
    serve(state).await
}

fn env(base: &str, head: &str, gitlab: &MockServer, gitbook_api: &str) -> Env {
    with(
        ci_env(Pipeline::MergeRequest { iid: 7, diff_base: base, sha: head, source_branch_sha: None }),
        &[
            ("CI_API_V4_URL", &format!("{}/api/v4", gitlab.uri())),
            ("CI_PROJECT_ID", &PROJECT_ID.to_string()),
            ("CI_PIPELINE_URL", PIPELINE_URL),
            ("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN),
            ("DOCSYNC_GITBOOK_SPACE", "spcReview"),
            ("DOCSYNC_GITBOOK_TOKEN", GITBOOK_TOKEN),
            ("DOCSYNC_GIT_TOKEN", GIT_TOKEN),
            ("DOCSYNC_GITBOOK_API_URL", gitbook_api),
            ("DOCSYNC_PROJECT_DIRECTORY", "docs"),
            // Findings are shown, and the preview still runs.
            ("DOCSYNC_LINT", "warn"),
            ("DOCSYNC_WAIT", "false"),
            ("DOCSYNC_RETRIES", "0"),
            ("DOCSYNC_HTTP_TIMEOUT", "60s"),
            ("DOCSYNC_REPORT", "none"),
        ],
    )
}

async fn sync(repo: &TestRepo, env: &Env) -> Run {
    let mut command = repo.docsync(&["sync", "--format", "json"]);
    command.envs(env);
    tokio::task::spawn_blocking(move || run_to_end(command)).await.expect("docsync ran")
}

fn notes(stand_in: &StandIn) -> Vec<Value> {
    stand_in.with(|state| state.notes.get(&7).cloned().unwrap_or_default())
}

async fn writes(server: &MockServer, method: &str) -> usize {
    let notes = format!("/api/v4/projects/{PROJECT_ID}/merge_requests/7/notes");
    let received = server.received_requests().await.unwrap_or_default();
    received.iter().filter(|r| r.method.as_str() == method && r.url.path().starts_with(&notes)).count()
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [GITLAB_TOKEN, GITBOOK_TOKEN, GIT_TOKEN] {
        assert!(!text.contains(secret), "{what} shows a secret:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_note_shows_what_merging_changes_and_a_retried_job_updates_it() {
    let (repo, base, head) = merge_request_shape();
    let (prism, _spec) = prism_with_live_revision(&base);
    let (server, stand_in) = gitlab().await;
    let env = env(&base, &head, &server, &prism.api_url());

    let run = sync(&repo, &env).await;
    run.assert_code(0);
    assert_eq!(run.json()["targets"][0]["outcome"]["status"], "queued", "{}", run.context());
    let stored = notes(&stand_in);
    assert_eq!(stored.len(), 1, "one note: {stored:#?}");
    assert_eq!((writes(&server, "POST").await, writes(&server, "PUT").await), (1, 0));
    let note = stored[0]["body"].as_str().unwrap_or_default().to_owned();
    assert_no_secret("the note", &note);
    assert_no_secret("stdout", &run.stdout);
    assert_no_secret("stderr", &run.stderr);
    assert!(prism.log_for_space("spcReview").contains("get /spaces/spcReview/content"), "{}", prism.log());
    assert_eq!(
        prism.log_for_space("spcReview").matches("get /spaces/spcReview/content").count(),
        1,
        "one read of the live revision: {}",
        prism.log()
    );
    insta::with_settings!({ filters => vec![(r"\b\d+\.\d s\b", "[took]")] }, {
        insta::assert_snapshot!("merge_request_note", note);
    });

    // The job retried: the same note, updated in place.
    let retried = sync(&repo, &env).await;
    retried.assert_code(0);
    let stored = notes(&stand_in);
    assert_eq!(stored.len(), 1, "still one note: {stored:#?}");
    assert_eq!(writes(&server, "POST").await, 1, "no second note");
    assert!(writes(&server, "PUT").await <= 1, "at most one update");
    assert_no_secret("the retried note", stored[0]["body"].as_str().unwrap_or_default());
}

/// Fan-out: two jobs each write their target's part of the one note. The
/// second job's update is overwritten by a job that read the note before
/// it (GitLab keeps the last write): it reads the note again, sees its
/// part gone, and writes it once more; both parts stand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_racing_on_the_note_keep_each_others_parts() {
    let (repo, base, head) = merge_request_shape();
    let (prism, _spec) = prism_with_live_revision(&base);
    let (server, stand_in) = gitlab().await;
    let api = prism.api_url();
    let config = |name: &str| {
        format!(
            "[[target]]\nname = \"{name}\"\nkind = \"gitbook\"\ngitbook_space = \"spcReview\"\nproject_directory = \"docs\"\ngitbook_api_url = \"{api}\"\n"
        )
    };
    let job = |name: &str| {
        let mut env = env(&base, &head, &server, &prism.api_url());
        let file = repo.outside_dir(name).join("docsync.toml");
        std::fs::write(&file, config(name)).expect("write the job's docsync.toml");
        env.insert("DOCSYNC_CONFIG".into(), file.to_str().expect("a UTF-8 path").into());
        for key in ["DOCSYNC_GITBOOK_SPACE", "DOCSYNC_PROJECT_DIRECTORY", "DOCSYNC_GITBOOK_API_URL"] {
            env.remove(key);
        }
        env
    };

    sync(&repo, &job("alpha")).await.assert_code(0);
    stand_in.with(|state| state.stale_write_after_put = true);
    let beta = sync(&repo, &job("beta")).await;
    beta.assert_code(0);
    assert!(beta.stderr.contains("another job wrote docsync's note"), "{}", beta.context());

    let stored = notes(&stand_in);
    assert_eq!(stored.len(), 1, "one note: {stored:#?}");
    let note = stored[0]["body"].as_str().unwrap_or_default();
    for part in ["<!-- docsync:target:alpha -->", "<!-- docsync:target:beta -->", "| `alpha` |", "| `beta` |"] {
        assert!(note.contains(part), "the note lacks {part}:\n{note}");
    }
    assert_eq!(writes(&server, "POST").await, 1, "one note posted");
    assert_eq!(writes(&server, "PUT").await, 2, "beta wrote twice: once lost, once kept");
}

/// A later push takes the docs changes back out of the merge request: the
/// target has nothing to preview, and its part of the note goes, so
/// reviewers are not told of changes that are gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_the_merge_request_no_longer_changes_leaves_the_note() {
    let (repo, base, head) = merge_request_shape();
    let (prism, _spec) = prism_with_live_revision(&base);
    let (server, stand_in) = gitlab().await;
    sync(&repo, &env(&base, &head, &server, &prism.api_url())).await.assert_code(0);
    repo.git(&["rm", "-rq", "docs"]);
    repo.git(&["checkout", &base, "--", "docs"]);
    let reverted = repo.commit("Keep the docs as they are");

    let run = sync(&repo, &env(&base, &reverted, &server, &prism.api_url())).await;
    run.assert_code(0);
    assert_eq!(run.json()["targets"][0]["action"], "skip", "{}", run.context());
    let stored = notes(&stand_in);
    assert_eq!(stored.len(), 1, "one note: {stored:#?}");
    let note = stored[0]["body"].as_str().unwrap_or_default();
    assert!(!note.contains("docsync:target:gitbook"), "the target's part is gone:\n{note}");
    assert!(note.contains("Nothing in this merge request changes a GitBook space any more"), "{note}");
    assert_eq!((writes(&server, "POST").await, writes(&server, "PUT").await), (1, 1));
}
