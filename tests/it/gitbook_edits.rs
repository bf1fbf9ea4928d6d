//! The guard before a branch import: docsync reads the space's live
//! revision and never replaces work done in GitBook that Git does not have
//! unless told to (`gitbook_edits`).
//!
//! A stateful stand-in of GitBook plays the space: revisions with parents,
//! their semantic changes, the live revision moving when an import
//! succeeds, and `git/info` showing that import. It answers as GitBook's
//! pinned OpenAPI description shapes the answers (`Revision`,
//! `RevisionSemanticChanges`, `GitSyncState`); `gitbook_prism.rs` checks
//! docsync's requests to the same endpoints against the spec itself.

use crate::common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::gitlab::stand_in::{PROJECT_ID, PROJECT_WEB_URL, StandIn as GitLabStandIn, State as GitLabState};
use common::{ACCEPTED_DATE, Job, NEW_STARTED, Pipeline, Run, TestRepo, ci_env, mock_server, old_success};

const SPACE: &str = "spcEdits";
const TOKEN: &str = "gbtok-edits-0001";
const GIT_TOKEN: &str = "gittok-edits-0002";
const SPACE_URL: &str = "https://app.gitbook.com/o/org/s/spcEdits";
const GUIDE_URL: &str = "https://app.gitbook.com/o/org/s/spcEdits/guide";

/// The space as GitBook holds it.
struct Space {
    revisions: BTreeMap<String, Value>,
    changes: BTreeMap<String, Value>,
    live: String,
    /// The commit an import makes live (GitBook reads the branch's head).
    imports: String,
    imported: bool,
    /// The branches GitBook was asked to export to, in order.
    exported_to: Vec<String>,
    /// The open change requests, most recently updated first, and what
    /// each changes.
    change_requests: Vec<Value>,
    change_request_changes: BTreeMap<String, Value>,
    /// `(method, path)` of every request, in order.
    requests: Vec<(String, String)>,
    /// Answer every read of the space with this status instead.
    refuse_reads: Option<u16>,
}

#[derive(Clone)]
struct StandIn(Arc<Mutex<Space>>);

/// A revision as GitBook's spec shapes it; `oid` when it came from a commit.
fn revision(id: &str, kind: &str, parents: &[&str], oid: Option<&str>, with_pages: bool) -> Value {
    let pages = if with_pages {
        json!([
            { "id": "p-readme", "kind": "sheet", "type": "document", "title": "Docs", "path": "readme",
              "slug": "readme", "pages": [], "urls": { "app": format!("{SPACE_URL}/readme") },
              "git": { "oid": "b1", "path": "README.md" } },
            { "id": "p-guide", "kind": "sheet", "type": "document", "title": "Guide", "path": "guide",
              "slug": "guide", "pages": [], "urls": { "app": GUIDE_URL },
              "git": { "oid": "b2", "path": "guide.md" } },
        ])
    } else {
        json!([])
    };
    let mut revision = json!({
        "object": "revision", "id": id, "type": kind, "parents": parents,
        "pages": pages, "files": [], "reusableContents": [], "tags": [],
        "createdAt": "2026-11-22T14:30:00Z",
        "urls": { "app": SPACE_URL },
    });
    if let Some(oid) = oid {
        revision["git"] = json!({ "oid": oid, "message": "docs", "createdByGitBook": false });
    }
    revision
}

impl StandIn {
    /// A space whose live revision is `live`, with the revisions and
    /// changes given.
    async fn start(revisions: Vec<Value>, changes: &[(&str, Value)], imports: &str) -> (MockServer, StandIn) {
        let server = mock_server().await;
        let live = revisions.last().map(|r| r["id"].as_str().unwrap_or_default().to_owned()).unwrap_or_default();
        let space = Space {
            revisions: revisions.into_iter().map(|r| (r["id"].as_str().unwrap_or_default().to_owned(), r)).collect(),
            changes: changes.iter().map(|(id, c)| ((*id).to_owned(), c.clone())).collect(),
            live,
            imports: imports.to_owned(),
            imported: false,
            exported_to: Vec::new(),
            change_requests: Vec::new(),
            change_request_changes: BTreeMap::new(),
            requests: Vec::new(),
            refuse_reads: None,
        };
        let stand_in = StandIn(Arc::new(Mutex::new(space)));
        Mock::given(wiremock::matchers::path_regex(format!("^/v1/spaces/{SPACE}/")))
            .respond_with(stand_in.clone())
            .mount(&server)
            .await;
        (server, stand_in)
    }

    fn requests(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().requests.clone()
    }

    /// Requests of this method to this path (under the space), or under
    /// it ending so when `route` starts with `/`.
    fn count(&self, verb: &str, route: &str) -> usize {
        let matches = |path: &str| if route.starts_with('/') { path.ends_with(route) } else { path == route };
        self.requests().iter().filter(|(m, p)| m == verb && matches(p)).count()
    }

    fn imports(&self) -> usize {
        self.count("POST", "git/import")
    }
}

impl Respond for StandIn {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut space = self.0.lock().unwrap();
        let path = request.url.path().trim_start_matches(&format!("/v1/spaces/{SPACE}/")).to_owned();
        space.requests.push((request.method.to_string(), path.clone()));
        let segments: Vec<&str> = path.split('/').collect();
        let is_read = request.method.as_str() == "GET" && segments[0] != "git";
        if let (Some(status), true) = (space.refuse_reads, is_read) {
            return ResponseTemplate::new(status)
                .set_body_json(json!({ "error": { "code": status, "message": "refused by the stand-in" } }));
        }
        let not_found =
            || ResponseTemplate::new(404).set_body_json(json!({ "error": { "code": 404, "message": "Not found" } }));
        match (request.method.as_str(), segments.as_slice()) {
            ("GET", ["content"]) => ResponseTemplate::new(200).set_body_json(&space.revisions[&space.live]),
            ("GET", ["revisions", id]) => match space.revisions.get(*id) {
                Some(revision) => ResponseTemplate::new(200).set_body_json(revision),
                None => not_found(),
            },
            ("GET", ["revisions", id, "changes"]) => match space.changes.get(*id) {
                Some(changes) => ResponseTemplate::new(200).set_body_json(changes),
                None if space.revisions.contains_key(*id) => {
                    ResponseTemplate::new(200).set_body_json(json!({ "changes": [] }))
                }
                None => not_found(),
            },
            ("POST", ["git", "import"]) => {
                // GitBook imports the branch's head: a new live revision.
                let id = format!("rev-import-{}", space.revisions.len());
                let parent = space.live.clone();
                let oid = space.imports.clone();
                space.revisions.insert(id.clone(), revision(&id, "update", &[&parent], Some(&oid), true));
                space.live = id;
                space.imported = true;
                ResponseTemplate::new(204).insert_header("date", ACCEPTED_DATE)
            }
            ("GET", ["change-requests"]) => {
                // GitBook's list: `limit` items, `next` when more follow.
                let limit = request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "limit")
                    .and_then(|(_, v)| v.parse::<usize>().ok())
                    .unwrap_or(20);
                let items: Vec<Value> = space.change_requests.iter().take(limit).cloned().collect();
                let mut list = json!({ "items": items, "count": space.change_requests.len() });
                if space.change_requests.len() > limit {
                    list["next"] = json!({ "page": "2" });
                }
                ResponseTemplate::new(200).set_body_json(list)
            }
            ("GET", ["change-requests", id, "changes"]) => match space.change_request_changes.get(*id) {
                Some(changes) => ResponseTemplate::new(200).set_body_json(changes),
                None => not_found(),
            },
            ("POST", ["git", "export"]) => {
                // An export leaves the live revision as it is.
                let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                let branch = body["ref"].as_str().unwrap_or_default().to_owned();
                space.exported_to.push(branch);
                ResponseTemplate::new(204).insert_header("date", ACCEPTED_DATE)
            }
            ("GET", ["git", "info"]) if !space.exported_to.is_empty() => {
                ResponseTemplate::new(200).set_body_json(common::gitbook_state(Some(json!({
                    "state": "success", "direction": "export", "stage": "done",
                    "startedAt": NEW_STARTED, "endedAt": "2026-11-22T15:00:20Z",
                }))))
            }
            ("GET", ["git", "info"]) if space.imported => {
                ResponseTemplate::new(200).set_body_json(common::gitbook_state(Some(json!({
                    "state": "success", "direction": "import", "stage": "done",
                    "startedAt": NEW_STARTED, "endedAt": "2026-11-22T15:00:20Z",
                }))))
            }
            ("GET", ["git", "info"]) => ResponseTemplate::new(200).set_body_json(old_success()),
            _ => common::unexpected_request(request),
        }
    }
}

/// The branch: `base` (imported into GitBook before) and `head`, a human's
/// commit pushed before GitBook exported its edits.
fn job(api: &str, pipeline: &str, extra: &[(&str, &str)]) -> Job {
    let repo = TestRepo::new();
    repo.write("docs/README.md", "# Docs\n");
    repo.write("docs/guide.md", "# Guide\n");
    let base = repo.commit("Docs");
    repo.write("docs/README.md", "# Docs\n\nA human's edit.\n");
    let head = repo.commit("Edit the docs");
    let mut env = match pipeline {
        "push" => ci_env(Pipeline::Push { branch: "main", before: &base, sha: &head }),
        "merge_request" => {
            ci_env(Pipeline::MergeRequest { iid: 7, diff_base: &base, sha: &head, source_branch_sha: None })
        }
        source => ci_env(Pipeline::Manual { source, branch: "main", sha: &head }),
    };
    for (key, value) in [
        ("DOCSYNC_GITBOOK_SPACE", SPACE),
        ("DOCSYNC_GITBOOK_TOKEN", TOKEN),
        ("DOCSYNC_GIT_TOKEN", GIT_TOKEN),
        ("DOCSYNC_GITBOOK_API_URL", api),
        ("DOCSYNC_PROJECT_DIRECTORY", "docs"),
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

fn api(server: &MockServer) -> String {
    format!("{}/v1", server.uri())
}

async fn sync(job: &Job) -> Run {
    let mut command = job.repo.docsync(&["sync", "--format", "json"]);
    command.envs(&job.env);
    common::run_in_background(command, Duration::from_secs(60)).await
}

fn outcome(run: &Run) -> Value {
    run.json()["targets"][0]["outcome"].clone()
}

/// The commit an import makes live, known only once the job exists.
fn imports(stand_in: &StandIn, commit: &str) {
    stand_in.0.lock().unwrap().imports = commit.to_owned();
}

/// The incident: `base` was imported (rev-1), someone edited the guide in
/// GitBook (rev-2, no commit), a human pushed `head` before GitBook exported.
async fn incident(pipeline: &str, extra: &[(&str, &str)]) -> (Job, StandIn, MockServer) {
    let (server, stand_in) = StandIn::start(Vec::new(), &[], "").await;
    let job = job(&api(&server), pipeline, extra);
    {
        let mut space = stand_in.0.lock().unwrap();
        space.revisions.insert("rev-1".into(), revision("rev-1", "update", &["rev-0"], Some(&job.base), true));
        let mut edited = revision("rev-2", "edits", &["rev-1"], None, true);
        edited["createdAt"] = json!("2026-11-22T14:45:00Z");
        space.revisions.insert("rev-2".into(), edited);
        space.changes.insert(
            "rev-2".into(),
            json!({ "changes": [
                { "type": "page_edited", "page": { "id": "p-guide", "type": "document", "title": "Guide", "path": "guide" },
                  "attributes": { "document": { "before": "a", "after": "b" } } },
            ] }),
        );
        space.live = "rev-2".into();
        space.imports = job.head.clone();
    }
    (job, stand_in, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_incident_with_refuse_imports_nothing_and_names_the_page() {
    let (job, stand_in, _server) = incident("push", &[]).await;
    let run = sync(&job).await;
    run.assert_code(1);
    let outcome = outcome(&run);
    assert_eq!(outcome["status"], "conflict", "{}", run.context());
    let message = outcome["message"].as_str().unwrap_or_default();
    for part in ["revision rev-2 (edits, 2026-11-22T14:45:00Z)", "page_edited guide.md \"Guide\"", GUIDE_URL] {
        assert!(message.contains(part), "{part:?} missing from {message}");
    }
    let fix = outcome["fix"].as_str().unwrap_or_default();
    assert!(fix.contains("export") && fix.contains("gitbook_edits = \"overwrite\""), "{fix}");
    assert_eq!(outcome["gitbook_edits"]["pages"][0]["path"], "guide.md", "{outcome:#}");
    assert_eq!(outcome["gitbook_edits"]["pages"][0]["url"], GUIDE_URL, "{outcome:#}");
    assert_eq!(stand_in.imports(), 0, "{:?}", stand_in.requests());
    // The live revision, rev-2's changes, then rev-1, which came from the branch.
    assert_eq!(stand_in.count("GET", "revisions/rev-2/changes"), 1, "{:?}", stand_in.requests());
    assert_eq!(stand_in.count("GET", "revisions/rev-1"), 1, "{:?}", stand_in.requests());
    assert_eq!(stand_in.count("GET", "revisions/rev-1/changes"), 0, "rev-1 came from Git");
    assert!(run.stderr.contains("conflict") && run.stderr.contains(GUIDE_URL), "{}", run.context());
    let dotenv = common::read_dotenv(&job.report);
    assert_eq!(dotenv.get("DOCSYNC_STATUS").map(String::as_str), Some("failed"), "{dotenv:?}");
    for secret in [TOKEN, GIT_TOKEN] {
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "{}", run.context());
    }
}

/// GitBook's strings reach the log, the result and the reports: a page
/// title echoing the tokens, with a line break, shows neither the tokens nor
/// a second log line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_naming_pages_that_echo_the_tokens_shows_no_secret() {
    let (job, stand_in, _server) = incident("push", &[]).await;
    stand_in.0.lock().unwrap().changes.insert(
        "rev-2".into(),
        json!({ "changes": [
            { "type": "page_created", "page": { "id": "p-new", "type": "document",
              "title": format!("Tokens {TOKEN}\nERROR forged line {GIT_TOKEN}"), "path": "new" } },
        ] }),
    );
    let run = sync(&job).await;
    run.assert_code(1);
    let json_report = std::fs::read_to_string(job.report.with_file_name("docsync.json")).unwrap_or_default();
    for secret in [TOKEN, GIT_TOKEN] {
        for (what, text) in [("stdout", &run.stdout), ("stderr", &run.stderr), ("JSON report", &json_report)] {
            assert!(!text.contains(secret), "{secret} in the {what}\n{}", run.context());
        }
    }
    assert!(!run.stderr.lines().any(|l| l.starts_with("ERROR forged")), "{}", run.context());
    assert!(run.stderr.contains("Tokens [MASKED]"), "{}", run.context());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_incident_with_overwrite_imports_and_names_the_page() {
    let (job, stand_in, _server) = incident("push", &[("DOCSYNC_GITBOOK_EDITS", "overwrite")]).await;
    let run = sync(&job).await;
    run.assert_code(0);
    let outcome = outcome(&run);
    assert_eq!(outcome["status"], "verified", "{}", run.context());
    let message = outcome["message"].as_str().unwrap_or_default();
    assert!(message.contains("replaced what GitBook held") && message.contains("guide.md"), "{message}");
    assert_eq!(outcome["gitbook_edits"]["pages"][0]["path"], "guide.md", "{outcome:#}");
    assert!(run.stderr.contains("WARN") && run.stderr.contains("importing anyway"), "{}", run.context());
    assert_eq!(stand_in.imports(), 1, "{:?}", stand_in.requests());
}

const GITLAB_TOKEN: &str = "glpat-edits-0003";

/// GitLab's side on the same server: a project with the sync branch and
/// docsync's token (tests/it/gitlab/stand_in.rs answers as GitLab's REST
/// API does). Returns the stand-in and the job's variables that point at it.
async fn gitlab(server: &MockServer) -> (GitLabStandIn, Vec<(String, String)>) {
    let mut state = GitLabState::new();
    state.add_token(
        GITLAB_TOKEN,
        json!({ "id": 77, "username": "project_42_bot_1", "name": "docsync" }),
        &["api"],
        Some(30),
    );
    let stand_in = GitLabStandIn::new(state);
    Mock::given(wiremock::matchers::path_regex("^/api/v4/")).respond_with(stand_in.clone()).mount(server).await;
    let env = [
        ("CI_API_V4_URL", format!("{}/api/v4", server.uri())),
        ("CI_PROJECT_ID", PROJECT_ID.to_string()),
        ("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN.to_owned()),
    ];
    (stand_in, env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

async fn merge_request_creates(server: &MockServer) -> usize {
    let requests = server.received_requests().await.unwrap_or_default();
    requests.iter().filter(|r| r.method.as_str() == "POST" && r.url.path().ends_with("/merge_requests")).count()
}

/// The incident with `export`: GitBook exports its edits to a branch of
/// their own, docsync opens one merge request from it into the sync branch
/// and imports nothing; a retried job opens no second merge request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_incident_with_export_has_gitbook_export_its_edits_and_opens_one_merge_request() {
    let (mut job, stand_in, server) = incident("push", &[("DOCSYNC_GITBOOK_EDITS", "export")]).await;
    let (gitlab, env) = gitlab(&server).await;
    job.env.extend(env);
    let branch = "docsync/gitbook-edits-rev-2";
    let merge_request = format!("{PROJECT_WEB_URL}/-/merge_requests/1");
    for attempt in ["first", "retried"] {
        let run = sync(&job).await;
        run.assert_code(1);
        let outcome = outcome(&run);
        assert_eq!(outcome["status"], "conflict", "{attempt}: {}", run.context());
        assert_eq!(outcome["gitbook_edits"]["exported_to"], branch, "{attempt}: {outcome:#}");
        assert_eq!(outcome["merge_request"], merge_request.as_str(), "{attempt}: {outcome:#}");
        let message = outcome["message"].as_str().unwrap_or_default();
        for part in ["page_edited guide.md", branch, "nothing imported", &merge_request] {
            assert!(message.contains(part), "{attempt}: {part:?} missing from {message}");
        }
        assert!(outcome["fix"].as_str().unwrap_or_default().contains(&format!("merge branch {branch} into main")));
        assert_eq!(stand_in.imports(), 0, "{attempt}: {:?}", stand_in.requests());
        assert!(!run.stdout.contains(GITLAB_TOKEN) && !run.stderr.contains(GITLAB_TOKEN), "{}", run.context());
    }
    let exported = stand_in.0.lock().unwrap().exported_to.clone();
    // One export per job: a retried job asks GitBook again, to the same branch.
    assert_eq!(exported, [format!("refs/heads/{branch}"), format!("refs/heads/{branch}")]);
    let opened = gitlab.with(|state| state.merge_requests.clone());
    assert_eq!(opened.len(), 1, "{opened:#?}");
    assert_eq!((&opened[0]["source_branch"], &opened[0]["target_branch"]), (&json!(branch), &json!("main")));
    let description = opened[0]["description"].as_str().unwrap_or_default();
    assert!(description.contains("`guide.md`") && description.contains(GUIDE_URL), "{description}");
    assert_eq!(merge_request_creates(&server).await, 1, "the retried job looked the merge request up first");
}

/// A merge request preview is never blocked, but its note tells the
/// reviewer what GitBook holds that Git does not (the page edited in
/// GitBook) and the open change requests on the merge request's pages,
/// GitBook's strings escaped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_previews_note_lists_gitbooks_edits_and_the_change_requests_on_its_pages() {
    let (mut job, stand_in, server) = incident("merge_request", &[]).await;
    let (gitlab, env) = gitlab(&server).await;
    gitlab.with(|state| state.notes.insert(7, Vec::new()));
    job.env.extend(env);
    change_request(&mut stand_in.0.lock().unwrap(), 12, "Intro @all <b>", &["p-readme"]);
    change_request(&mut stand_in.0.lock().unwrap(), 13, "Guide typo", &["p-guide"]);
    let run = sync(&job).await;
    run.assert_code(0);
    let outcome = outcome(&run);
    assert_eq!(outcome["status"], "queued", "{}", run.context());
    assert_eq!(stand_in.imports(), 1, "a preview is never blocked: {:?}", stand_in.requests());
    let notes = gitlab.with(|state| state.notes.get(&7).cloned().unwrap_or_default());
    assert_eq!(notes.len(), 1, "{notes:#?}");
    let note = notes[0]["body"].as_str().unwrap_or_default();
    for part in [
        "**GitBook holds edits Git does not have**",
        "- `page_edited` `guide.md` `Guide`",
        &format!("[in GitBook](<{GUIDE_URL}>)"),
        "**Open change requests in GitBook on this merge request's pages**",
        "- #12 `Intro @all <b>` by `Ada Lovelace`: `docs/README.md`",
    ] {
        assert!(note.contains(part), "{part:?} missing from the note:\n{note}");
    }
    assert!(!note.contains("#13"), "{note}");
}

/// Without a GitLab token the export still happens; the outcome says to
/// open the merge request by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_of_gitbook_edits_without_a_gitlab_token_says_to_open_the_merge_request() {
    let (job, stand_in, server) = incident("push", &[("DOCSYNC_GITBOOK_EDITS", "export")]).await;
    let run = sync(&job).await;
    run.assert_code(1);
    let outcome = outcome(&run);
    assert_eq!(outcome["status"], "conflict", "{}", run.context());
    let message = outcome["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("no DOCSYNC_GITLAB_TOKEN")
            && message.contains("open a merge request from docsync/gitbook-edits-rev-2 into main"),
        "{message}"
    );
    assert_eq!(stand_in.0.lock().unwrap().exported_to.len(), 1);
    assert_eq!(stand_in.imports(), 0);
    assert_eq!(merge_request_creates(&server).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_revision_from_an_ancestor_costs_two_reads_and_imports() {
    let (server, stand_in) = StandIn::start(Vec::new(), &[], "").await;
    let job = job(&api(&server), "push", &[]);
    {
        let mut space = stand_in.0.lock().unwrap();
        space.revisions.insert("rev-1".into(), revision("rev-1", "update", &[], Some(&job.base), true));
        space.live = "rev-1".into();
    }
    imports(&stand_in, &job.head);
    let run = sync(&job).await;
    run.assert_code(0);
    assert_eq!(outcome(&run)["status"], "verified", "{}", run.context());
    assert_eq!(stand_in.imports(), 1);
    let requests = stand_in.requests();
    // The guard's read and the open change requests' list come before the
    // import; the second read of the content is the verification after it,
    // as before the guard.
    assert_eq!(requests[0], ("GET".to_owned(), "content".to_owned()), "{requests:?}");
    assert_eq!(requests[1], ("GET".to_owned(), "change-requests".to_owned()), "{requests:?}");
    assert_eq!(requests[2], ("GET".to_owned(), "git/info".to_owned()), "{requests:?}");
    assert_eq!(requests[3], ("POST".to_owned(), "git/import".to_owned()), "{requests:?}");
    assert_eq!(stand_in.count("GET", "content"), 2, "{requests:?}");
    assert_eq!(requests.iter().filter(|(_, p)| p.starts_with("revisions")).count(), 0, "{requests:?}");
    // The open change requests: one list request, no more when none is open.
    assert_eq!(stand_in.count("GET", "change-requests"), 1, "{requests:?}");
    assert_eq!(requests.iter().filter(|(_, p)| p.starts_with("change-requests/")).count(), 0, "{requests:?}");
}

/// A change request as GitBook's spec shapes it, changing `pages` (ids).
fn change_request(space: &mut Space, number: u64, subject: &str, pages: &[&str]) {
    let id = format!("cr-{number}");
    space.change_requests.push(json!({
        "object": "change-request", "id": id, "number": number, "status": "open", "subject": subject,
        "createdBy": { "object": "user", "id": "u-ada", "displayName": "Ada Lovelace",
                       "urls": { "location": "https://api.gitbook.com/v1/users/u-ada" } },
        "createdAt": "2026-11-22T13:00:00Z", "updatedAt": "2026-11-22T14:00:00Z",
        "space": SPACE, "revision": "cr-rev", "revisionInitial": "rev-1", "comments": 0, "outdated": false,
        "urls": { "app": format!("{SPACE_URL}/~/changes/{number}"), "location": "https://api.gitbook.com/v1/cr" },
    }));
    let changes: Vec<Value> = pages
        .iter()
        .map(|page| json!({ "type": "page_edited", "page": { "id": page, "type": "document", "title": page, "path": page } }))
        .collect();
    space.change_request_changes.insert(id, json!({ "changes": changes }));
}

/// Open change requests that edit a page the push changes are warnings in
/// the log and the JSON outcome; one on another page is not named. The
/// import goes ahead: a list request, then one per open change request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_change_requests_on_the_pages_a_push_changes_are_warnings() {
    let (server, stand_in) = StandIn::start(Vec::new(), &[], "").await;
    let job = job(&api(&server), "push", &[]);
    {
        let mut space = stand_in.0.lock().unwrap();
        space.revisions.insert("rev-1".into(), revision("rev-1", "update", &[], Some(&job.base), true));
        space.live = "rev-1".into();
        // The push edits docs/README.md: page p-readme.
        change_request(&mut space, 12, "Rework the intro", &["p-readme", "p-new"]);
        change_request(&mut space, 13, "Guide typo", &["p-guide"]);
    }
    imports(&stand_in, &job.head);
    let run = sync(&job).await;
    run.assert_code(0);
    let outcome = outcome(&run);
    assert_eq!(outcome["status"], "verified", "{}", run.context());
    let clashes = &outcome["change_requests"]["clashes"];
    assert_eq!(
        clashes,
        &json!([{ "number": 12, "subject": "Rework the intro", "author": "Ada Lovelace",
                  "pages": ["docs/README.md"], "url": format!("{SPACE_URL}/~/changes/12") }]),
        "{outcome:#}"
    );
    assert_eq!(outcome["change_requests"]["read"], 2, "{outcome:#}");
    let line = format!("#12 \"Rework the intro\" by \"Ada Lovelace\": docs/README.md {SPACE_URL}/~/changes/12");
    assert!(run.stderr.contains(&line) && run.stderr.contains("WARN"), "{line}\n{}", run.context());
    assert!(outcome["message"].as_str().unwrap_or_default().contains(&line), "{outcome:#}");
    assert!(!run.stderr.contains("#13"), "{}", run.context());
    assert_eq!(stand_in.imports(), 1);
    assert_eq!(stand_in.count("GET", "change-requests"), 1);
    assert_eq!(stand_in.count("GET", "/changes") - stand_in.count("GET", "/revisions"), 2, "{:?}", stand_in.requests());
}

/// No live page holds a file the push changes: no change request can
/// clash with it, so none is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_change_request_is_read_when_the_push_changes_no_pages_file() {
    let (server, stand_in) = StandIn::start(Vec::new(), &[], "").await;
    let job = job(&api(&server), "push", &[]);
    {
        let mut space = stand_in.0.lock().unwrap();
        space.revisions.insert("rev-1".into(), revision("rev-1", "update", &[], Some(&job.base), true));
        space.live = "rev-1".into();
        // The push edits docs/README.md; the page holding it is gone.
        space.revisions.get_mut("rev-1").unwrap()["pages"].as_array_mut().unwrap().remove(0);
        change_request(&mut space, 12, "Rework the intro", &["p-readme", "p-guide"]);
    }
    imports(&stand_in, &job.head);
    let run = sync(&job).await;
    run.assert_code(0);
    assert!(outcome(&run).get("change_requests").is_none(), "{}", run.context());
    assert_eq!(stand_in.count("GET", "change-requests"), 0, "{:?}", stand_in.requests());
    assert_eq!(stand_in.imports(), 1);
}

/// More open change requests than docsync reads: it reads the 100 most
/// recently updated, and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_a_hundred_open_change_requests_are_read_to_the_bound_and_said_so() {
    let (server, stand_in) = StandIn::start(Vec::new(), &[], "").await;
    let job = job(&api(&server), "push", &[]);
    {
        let mut space = stand_in.0.lock().unwrap();
        space.revisions.insert("rev-1".into(), revision("rev-1", "update", &[], Some(&job.base), true));
        space.live = "rev-1".into();
        for number in 1..=101 {
            change_request(&mut space, number, "Other page", &["p-other"]);
        }
    }
    imports(&stand_in, &job.head);
    let run = sync(&job).await;
    run.assert_code(0);
    let outcome = outcome(&run);
    assert_eq!((&outcome["change_requests"]["read"], &outcome["change_requests"]["more"]), (&json!(100), &json!(true)));
    assert!(run.stderr.contains("only the 100 most recently updated were read"), "{}", run.context());
    let reads = stand_in.requests().iter().filter(|(_, p)| p.starts_with("change-requests/")).count();
    assert_eq!(reads, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_head_already_live_is_not_imported_again_on_a_push_but_is_on_a_manual_run() {
    for (pipeline, code, status, imports) in [("push", 0, "already_imported", 0), ("web", 0, "verified", 1)] {
        let (server, stand_in) = StandIn::start(Vec::new(), &[], "").await;
        let job = job(&api(&server), pipeline, &[]);
        {
            let mut space = stand_in.0.lock().unwrap();
            space.revisions.insert("rev-1".into(), revision("rev-1", "update", &[], Some(&job.head), true));
            space.live = "rev-1".into();
            space.imports = job.head.clone();
        }
        let run = sync(&job).await;
        run.assert_code(code);
        assert_eq!(outcome(&run)["status"], status, "{pipeline}: {}", run.context());
        assert_eq!(stand_in.imports(), imports, "{pipeline}: {:?}", stand_in.requests());
        if pipeline == "push" {
            assert_eq!(run.json()["status"], "nothing_to_do", "{}", run.context());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_revision_newer_than_the_head_is_superseded() {
    let (server, stand_in) = StandIn::start(Vec::new(), &[], "").await;
    let job = job(&api(&server), "push", &[]);
    job.repo.write("docs/guide.md", "# Guide\n\nNewer.\n");
    let newer = job.repo.commit("A newer push");
    {
        let mut space = stand_in.0.lock().unwrap();
        space.revisions.insert("rev-1".into(), revision("rev-1", "update", &[], Some(&newer), true));
        space.live = "rev-1".into();
    }
    let run = sync(&job).await;
    run.assert_code(0);
    assert_eq!(outcome(&run)["status"], "superseded", "{}", run.context());
    assert_eq!(stand_in.imports(), 0, "{:?}", stand_in.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_commit_of_another_history_is_a_conflict() {
    let (server, stand_in) = StandIn::start(Vec::new(), &[], "").await;
    let job = job(&api(&server), "push", &[]);
    let elsewhere = "0123456789abcdef0123456789abcdef01234567";
    {
        let mut space = stand_in.0.lock().unwrap();
        space.revisions.insert("rev-1".into(), revision("rev-1", "update", &[], Some(elsewhere), true));
        space.live = "rev-1".into();
    }
    let run = sync(&job).await;
    run.assert_code(1);
    let message = outcome(&run)["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains(&format!("of commit {elsewhere}, which is not in this branch's history")), "{message}");
    assert_eq!(stand_in.imports(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_empty_space_is_imported_and_one_with_pages_made_in_gitbook_is_a_conflict() {
    for (with_pages, code, imports) in [(false, 0, 1), (true, 1, 0)] {
        let (server, stand_in) = StandIn::start(Vec::new(), &[], "").await;
        let job = job(&api(&server), "push", &[]);
        {
            let mut space = stand_in.0.lock().unwrap();
            space.revisions.insert("rev-1".into(), revision("rev-1", "edits", &[], None, with_pages));
            space.live = "rev-1".into();
            space.imports = job.head.clone();
        }
        let run = sync(&job).await;
        run.assert_code(code);
        assert_eq!(stand_in.imports(), imports, "pages: {with_pages}: {:?}", stand_in.requests());
        if with_pages {
            let fix = outcome(&run)["fix"].as_str().unwrap_or_default().to_owned();
            assert!(fix.contains("intended first import") && fix.contains("overwrite"), "{fix}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_history_of_gitbook_edits_is_read_back_at_most_fifty_revisions() {
    let (server, stand_in) = StandIn::start(Vec::new(), &[], "").await;
    let job = job(&api(&server), "push", &[]);
    {
        let mut space = stand_in.0.lock().unwrap();
        for i in 0..60 {
            let id = format!("rev-{i}");
            let parent = format!("rev-{}", i + 1);
            space.revisions.insert(id.clone(), revision(&id, "edits", &[&parent], None, true));
        }
        space.live = "rev-0".into();
    }
    let run = sync(&job).await;
    run.assert_code(1);
    let message = outcome(&run)["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("stopped after 50 revisions"), "{message}");
    assert_eq!(stand_in.count("GET", "/changes"), 50, "{:?}", stand_in.requests());
    assert_eq!(stand_in.imports(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_space_that_cannot_be_read_is_not_imported_on_a_guess() {
    // 401/403/404: exit 1 with the fix; 5xx after retries: exit 3;
    // with overwrite, the import goes ahead and says the space was unread.
    for (status, edits, code, imports, says) in [
        (401, "refuse", 1, 0, "needs read access to space"),
        (404, "refuse", 1, 0, "the space id is wrong"),
        (503, "refuse", 3, 0, "retry the job"),
        (503, "overwrite", 0, 1, "could not be read before the import"),
    ] {
        let (server, stand_in) = StandIn::start(Vec::new(), &[], "").await;
        let job = job(&api(&server), "push", &[("DOCSYNC_GITBOOK_EDITS", edits)]);
        {
            let mut space = stand_in.0.lock().unwrap();
            space.revisions.insert("rev-1".into(), revision("rev-1", "update", &[], Some(&job.base), true));
            space.live = "rev-1".into();
            space.imports = job.head.clone();
            space.refuse_reads = Some(status);
        }
        let run = sync(&job).await;
        run.assert_code(code);
        assert_eq!(stand_in.imports(), imports, "{status} {edits}: {:?}", stand_in.requests());
        let outcome = outcome(&run);
        let text = format!("{} {}", outcome["message"], outcome["fix"]);
        assert!(text.contains(says), "{status} {edits}: {text}");
    }
}

/// A shallow clone lacks the live revision's commit: docsync fetches the
/// branch deeper through its own HTTP transport (from its own thread: the
/// transport's runtime cannot run inside the sync's), finds the commit an
/// ancestor, and imports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_commit_the_shallow_clone_lacks_is_fetched_over_http() {
    use crate::common::git_server::{GitServer, Options};
    let origin = TestRepo::new();
    origin.write("docs/README.md", "# Docs\n");
    let live = origin.commit("Docs");
    for n in 1..=3 {
        origin.write("docs/README.md", &format!("# Docs\n\nVersion {n}.\n"));
        origin.commit(&format!("Edit {n}"));
    }
    let head = origin.head();
    let shallow = origin.clone_shallow("shallow", 1);
    assert!(!shallow.git_output(&["cat-file", "-e", &live]).status.success(), "the clone lacks the live commit");
    let git = GitServer::start(origin.root(), Options::default());
    let (server, stand_in) =
        StandIn::start(vec![revision("rev-1", "update", &[], Some(&live), true)], &[], &head).await;
    let mut command = shallow.docsync(&["sync", "--format", "json"]);
    command.envs(common::with(
        ci_env(Pipeline::Manual { source: "web", branch: "main", sha: &head }),
        &[
            ("CI_REPOSITORY_URL", &git.url("", "repo")),
            ("DOCSYNC_GITBOOK_SPACE", SPACE),
            ("DOCSYNC_GITBOOK_TOKEN", TOKEN),
            ("DOCSYNC_GITBOOK_API_URL", &api(&server)),
            ("DOCSYNC_PROJECT_DIRECTORY", "docs"),
            ("DOCSYNC_POLL_INTERVAL", "50ms"),
            ("DOCSYNC_RETRIES", "0"),
            ("DOCSYNC_REPORT", "none"),
        ],
    ));
    let run = common::run_in_background(command, Duration::from_secs(60)).await;
    run.assert_code(0);
    assert_eq!(outcome(&run)["status"], "verified", "{}", run.context());
    assert_eq!(stand_in.imports(), 1, "{:?}", stand_in.requests());
}

/// `docsync status` lists each space's open change requests: number,
/// subject, author, when updated, link; and says when more are open than
/// it read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_lists_the_open_change_requests() {
    let (job, stand_in, _server) = incident("push", &[]).await;
    change_request(&mut stand_in.0.lock().unwrap(), 12, "Rework\nthe intro", &["p-readme"]);
    let mut command = job.repo.docsync(&["status", "--format", "json"]);
    command.envs(&job.env);
    let run = common::run_in_background(command, Duration::from_secs(60)).await;
    run.assert_code(0);
    assert_eq!(
        run.json()["targets"][0]["open_change_requests"],
        json!({ "items": [{ "number": 12, "subject": "Rework\nthe intro", "author": "Ada Lovelace",
                            "updated_at": "2026-11-22T14:00:00Z", "url": format!("{SPACE_URL}/~/changes/12") }] }),
        "{}",
        run.context()
    );
    for number in 13..=112 {
        change_request(&mut stand_in.0.lock().unwrap(), number, "More", &[]);
    }
    let mut command = job.repo.docsync(&["status"]);
    command.envs(&job.env);
    let run = common::run_in_background(command, Duration::from_secs(60)).await;
    run.assert_code(0);
    let expected = format!("    #12 \"Rework\\nthe intro\" by \"Ada Lovelace\" {SPACE_URL}/~/changes/12\n");
    assert!(run.stdout.contains(&expected), "{expected}\n{}", run.context());
    assert!(
        run.stdout.contains("open change requests  100 (more are open: the 100 most recently updated shown)"),
        "{}",
        run.context()
    );
    assert_eq!(stand_in.count("GET", "change-requests"), 2, "one list request per status: {:?}", stand_in.requests());
}

/// `docsync status` shows the live revision: made in GitBook, or from a
/// commit in the branch's history or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_the_live_revision_and_whether_its_commit_is_in_the_branch() {
    let (job, stand_in, _server) = incident("push", &[]).await;
    let status = || async {
        let mut command = job.repo.docsync(&["status", "--format", "json"]);
        command.envs(&job.env);
        common::run_in_background(command, Duration::from_secs(60)).await
    };
    let run = status().await;
    run.assert_code(0);
    let live = &run.json()["targets"][0]["live_revision"];
    assert_eq!((&live["id"], &live["type"]), (&json!("rev-2"), &json!("edits")), "{}", run.context());
    assert!(live.get("commit").is_none(), "made in GitBook: {live:#}");
    assert_eq!(run.json()["targets"][0]["open_change_requests"], json!({ "items": [] }), "{}", run.context());

    stand_in.0.lock().unwrap().live = "rev-1".into();
    let run = status().await;
    let live = &run.json()["targets"][0]["live_revision"];
    assert_eq!((&live["commit"], &live["commit_in_branch"]), (&json!(job.base), &json!(true)), "{live:#}");

    let elsewhere = "0123456789abcdef0123456789abcdef01234567";
    stand_in
        .0
        .lock()
        .unwrap()
        .revisions
        .insert("rev-1".into(), revision("rev-1", "update", &[], Some(elsewhere), true));
    let mut command = job.repo.docsync(&["status"]);
    command.envs(&job.env);
    let run = common::run_in_background(command, Duration::from_secs(60)).await;
    assert!(
        run.stdout.contains(&format!(
            "live revision rev-1 (update, 2026-11-22T14:30:00Z): from commit {elsewhere}, NOT in this branch's history"
        )),
        "{}",
        run.context()
    );
}

#[test]
fn a_bad_gitbook_edits_value_names_its_source() {
    let repo = TestRepo::new();
    repo.write("docs/README.md", "# Docs\n");
    let head = repo.commit("Docs");
    let mut command = repo.docsync(&["plan"]);
    command.envs(common::with(
        ci_env(Pipeline::Manual { source: "web", branch: "main", sha: &head }),
        &[("DOCSYNC_GITBOOK_SPACE", SPACE), ("DOCSYNC_GITBOOK_EDITS", "merge")],
    ));
    let run = common::run_to_end(command);
    run.assert_code(2);
    assert!(run.stderr.contains("DOCSYNC_GITBOOK_EDITS") && run.stderr.contains("\"merge\""), "{}", run.context());
    assert!(run.stderr.contains("refuse") && run.stderr.contains("overwrite"), "{}", run.context());
}
