//! A base per space: the change set of each GitBook target starts at the
//! commit its space shows now, when that commit is an ancestor of head,
//! else at the job's range. The live revision is read once per target,
//! before deciding, and the guard before the import uses that read.
//!
//! `wiremock` plays GitBook for three spaces, each with its own live
//! revision shaped as the pinned spec's `Revision` (`git.oid`), counting
//! every request by space.

use crate::common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use common::{Job, Pipeline, Run, TestRepo, ci_env, gitbook_accepted, mock_server};

const TOKEN: &str = "gbtok-base-0001";
/// A commit no history here has.
const STRAY: &str = "0123456789abcdef0123456789abcdef01234567";

/// The spaces' live commits, by space id, and every request:
/// `(space, method, route under the space)`.
#[derive(Default)]
struct State {
    live: BTreeMap<String, String>,
    requests: Vec<(String, String, String)>,
}

#[derive(Clone, Default)]
struct Spaces(Arc<Mutex<State>>);

impl Spaces {
    fn count(&self, space: &str, verb: &str, route: &str) -> usize {
        let state = self.0.lock().unwrap();
        state.requests.iter().filter(|(s, m, p)| s == space && m == verb && p == route).count()
    }
}

impl Respond for Spaces {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap();
        let path = request.url.path().trim_start_matches("/v1/spaces/");
        let (space, route) = path.split_once('/').unwrap_or((path, ""));
        state.requests.push((space.to_owned(), request.method.to_string(), route.to_owned()));
        match (request.method.as_str(), route) {
            ("GET", "content") => {
                let oid = &state.live[space];
                ResponseTemplate::new(200).set_body_json(json!({
                    "object": "revision", "id": format!("rev-{space}"), "type": "update", "parents": [],
                    "pages": [], "files": [], "reusableContents": [], "tags": [],
                    "createdAt": "2026-11-22T14:30:00Z",
                    "urls": { "app": format!("https://app.gitbook.com/o/org/s/{space}") },
                    "git": { "oid": oid, "message": "docs", "createdByGitBook": false },
                }))
            }
            // The guard reads what a live revision of another history
            // changed before replacing it (`gitbook_edits = "overwrite"`).
            ("GET", route) if route.starts_with("revisions/") && route.ends_with("/changes") => {
                ResponseTemplate::new(200).set_body_json(json!({ "changes": [] }))
            }
            ("GET", "change-requests") => ResponseTemplate::new(200).set_body_json(json!({ "items": [], "count": 0 })),
            ("POST", "git/import") => gitbook_accepted(),
            _ => common::unexpected_request(request),
        }
    }
}

/// Three spaces, `old` (dir a/), `fresh` (b/) and `stray` (c/). History:
/// `first` made all three; `failed` changed a/one.md (the import `old`
/// never took: the job's range starts after it); head changes a/two.md,
/// b/ and c/. The job's range is `failed..head`.
async fn three_spaces() -> (Job, Spaces, MockServer, String) {
    let repo = TestRepo::new();
    for dir in ["a", "b", "c"] {
        repo.write(&format!("{dir}/one.md"), "# One\n");
        repo.write(&format!("{dir}/two.md"), "# Two\n");
    }
    let first = repo.commit("Docs");
    repo.write("a/one.md", "# One\n\nEdited.\n");
    let failed = repo.commit("Edit a/one");
    for file in ["a/two.md", "b/one.md", "c/one.md"] {
        repo.write(file, "# Edited\n");
    }
    let head = repo.commit("Edit all three");

    let server = mock_server().await;
    let spaces = Spaces::default();
    spaces.0.lock().unwrap().live = BTreeMap::from([
        ("spcOld".to_owned(), first.clone()),
        ("spcFresh".to_owned(), head.clone()),
        ("spcStray".to_owned(), STRAY.to_owned()),
    ]);
    Mock::given(wiremock::matchers::path_regex("^/v1/spaces/")).respond_with(spaces.clone()).mount(&server).await;
    let api = format!("{}/v1", server.uri());
    repo.write(
        "docsync.toml",
        &format!(
            r#"[defaults]
gitbook_api_url = "{api}"
gitbook_token_env = "GITBOOK_TOKEN"
wait = false

[[target]]
name = "old"
kind = "gitbook"
gitbook_space = "spcOld"
project_directory = "a"

[[target]]
name = "fresh"
kind = "gitbook"
gitbook_space = "spcFresh"
project_directory = "b"

[[target]]
name = "stray"
kind = "gitbook"
gitbook_space = "spcStray"
project_directory = "c"
gitbook_edits = "overwrite"
"#
        ),
    );
    let mut env = ci_env(Pipeline::Push { branch: "main", before: &failed, sha: &head });
    env.insert("GITBOOK_TOKEN".to_owned(), TOKEN.to_owned());
    (Job::new(repo, env, failed, head), spaces, server, first)
}

async fn run(job: &Job, command: &str) -> Run {
    let mut docsync = job.repo.docsync(&[command, "--format", "json"]);
    docsync.envs(&job.env);
    common::run_in_background(docsync, Duration::from_secs(60)).await
}

fn target<'a>(run: &'a Run, json: &'a Value, name: &str) -> &'a Value {
    let targets = json["targets"].as_array().unwrap_or_else(|| panic!("no targets: {}", run.context()));
    targets.iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("no target {name}: {}", run.context()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_space_is_imported_from_the_commit_it_shows() {
    let (job, spaces, _server, first) = three_spaces().await;
    let run = run(&job, "sync").await;
    run.assert_code(0);
    let json = run.json();

    // The space whose import failed is imported with all its changes since
    // the commit it shows: two, where the job's range has one.
    let old = target(&run, &json, "old");
    assert_eq!(old["action"], "import", "{}", run.context());
    assert_eq!(old["base"]["commit"], first.as_str(), "{}", run.context());
    assert_eq!(old["base"]["source"], "live_revision", "{}", run.context());
    assert_eq!(old["changed"], 2, "{}", run.context());
    assert_eq!(spaces.count("spcOld", "POST", "git/import"), 1);

    // The space up to date is not called.
    let fresh = target(&run, &json, "fresh");
    assert_eq!(fresh["base"]["source"], "live_revision", "{}", run.context());
    assert_eq!(fresh["outcome"]["status"], "already_imported", "{}", run.context());
    assert_eq!(spaces.count("spcFresh", "POST", "git/import"), 0);

    // A live commit not in the history: the job's range, said so.
    let stray = target(&run, &json, "stray");
    assert_eq!(stray["base"]["source"], "range", "{}", run.context());
    assert_eq!(stray["base"]["commit"], job.base.as_str(), "{}", run.context());
    let reason = stray["base"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("not in the branch's history"), "{reason}");
    assert_eq!(stray["changed"], 1, "{}", run.context());
    assert_eq!(spaces.count("spcStray", "POST", "git/import"), 1);

    // One read of each space, never a second by the guard.
    for space in ["spcOld", "spcFresh", "spcStray"] {
        assert_eq!(spaces.count(space, "GET", "content"), 1, "{space}: {}", run.context());
    }
    assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_reads_no_space_and_counts_on_the_jobs_range() {
    let (job, spaces, _server, _first) = three_spaces().await;
    let run = run(&job, "plan").await;
    run.assert_code(0);
    let json = run.json();
    let old = target(&run, &json, "old");
    assert!(old.get("base").is_none(), "{}", run.context());
    assert_eq!(old["changed"], 1, "{}", run.context());
    for space in ["spcOld", "spcFresh", "spcStray"] {
        assert_eq!(spaces.count(space, "GET", "content"), 0, "{space}: {}", run.context());
        assert_eq!(spaces.count(space, "POST", "git/import"), 0, "{space}");
    }
}
