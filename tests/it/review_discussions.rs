//! The pre-flight's findings as threads on a merge request's diff lines,
//! against the stateful GitLab stand-in (`gitlab/stand_in.rs`), which
//! refuses with 400 a position on a line the diff does not add, as GitLab
//! does. The repository is real (git in a temp dir) and the merge
//! request's diff is git's own diff of it, in the shape GitLab's "List
//! merge request diffs" answers. Every test counts the writes.

use std::path::PathBuf;
use std::time::Duration;

use docsync::http::{HttpClient, HttpSettings, Request};
use docsync::secret::Secret;
use reqwest::Method;
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{self, Env, Pipeline, Run, TestRepo, ci_env, with};
use crate::gitlab::stand_in::{PROJECT_ID, StandIn, State, serve};

const GITLAB_TOKEN: &str = "glpat-fake.ReviewTok3n-Qx81";
const GITBOOK_TOKEN: &str = "gb_api_ReviewTok3n-Lm27";
const GIT_TOKEN: &str = "glpat-fake.ReviewGitTok3n-Vb40";
const TOKEN_MARK: &str = "Tok3n";
const IID: u64 = 7;

fn fixture(name: &str) -> Value {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gitlab").join(name);
    serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap()
}

/// `main` holds the docs; `feature` moves 3 pages (the summary follows
/// them), adds 2 — the tutorial, whose new line links a moved page by its
/// old path, and a page the summary does not list.
struct MergeRequest {
    repo: TestRepo,
    base: String,
    head: String,
}

fn merge_request() -> MergeRequest {
    let repo = TestRepo::new();
    repo.write("docs/README.md", "# Docs\n");
    repo.write(
        "docs/SUMMARY.md",
        "# Table of contents\n\n* [Docs](README.md)\n* [Install](install.md)\n* [FAQ](faq.md)\n* [API](api.md)\n",
    );
    repo.write("docs/install.md", "# Install\n\n## Linux\n\nRun the installer.\n");
    repo.write("docs/faq.md", "# FAQ\n\nNothing asked yet.\n");
    repo.write("docs/api.md", "# API\n\nThe endpoints.\n");
    let base = repo.commit("Add the docs");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.mv("docs/install.md", "docs/setup/install.md");
    repo.mv("docs/faq.md", "docs/help/faq.md");
    repo.mv("docs/api.md", "docs/reference/api.md");
    repo.write(
        "docs/SUMMARY.md",
        "# Table of contents\n\n* [Docs](README.md)\n* [Install](setup/install.md)\n* [FAQ](help/faq.md)\n\
         * [API](reference/api.md)\n* [Tutorial](tutorial.md)\n",
    );
    repo.write("docs/tutorial.md", "# Tutorial\n\nFirst, read [installing on Linux](install.md#linux).\n");
    repo.write("docs/orphan.md", "# Orphan\n\nNobody links here.\n");
    let head = repo.commit("Reorganise the docs");
    MergeRequest { repo, base, head }
}

/// The merge request's diff as GitLab lists it: one entry per file, with
/// git's hunks (a pure rename has none).
fn gitlab_diffs(repo: &TestRepo, base: &str, head: &str) -> Vec<Value> {
    let listing = repo.git(&["diff", "-M", "--name-status", base, head]);
    listing
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let (status, old_path, new_path) = match fields.as_slice() {
                [status, old, new] => (*status, *old, *new),
                [status, path] => (*status, *path, *path),
                _ => panic!("unexpected name-status line {line:?}"),
            };
            let patch = repo.git(&["diff", "-M", base, head, "--", old_path, new_path]);
            let diff = patch.find("@@").map(|at| format!("{}\n", &patch[at..])).unwrap_or_default();
            json!({
                "old_path": old_path, "new_path": new_path, "a_mode": "100644", "b_mode": "100644",
                "diff": diff, "new_file": status == "A", "renamed_file": status.starts_with('R'),
                "deleted_file": status == "D", "generated_file": false,
            })
        })
        .collect()
}

/// GitLab with merge request !7 of `mr`, the bot's token (scope `api`) and
/// a person who reviews.
fn gitlab_state(mr: &MergeRequest, scopes: &[&str]) -> State {
    let mut state = State::new();
    state.add_token(GITLAB_TOKEN, fixture("user_project_bot.json"), scopes, Some(30));
    state.add_token("glpat-fake.AdaReviewer-0000", fixture("user_person.json"), &["api"], Some(40));
    state.add_merge_request(
        IID,
        &fixture("user_person.json"),
        &mr.base,
        &mr.head,
        gitlab_diffs(&mr.repo, &mr.base, &mr.head),
    );
    state
}

fn job_env(server: &MockServer, mr: &MergeRequest, head: &str) -> Env {
    let env =
        ci_env(Pipeline::MergeRequest { iid: IID as u32, diff_base: &mr.base, sha: head, source_branch_sha: None });
    let api = format!("{}/api/v4", server.uri());
    let gitbook = format!("{}/v1", server.uri());
    with(
        env,
        &[
            ("CI_API_V4_URL", &api),
            ("CI_PROJECT_ID", &PROJECT_ID.to_string()),
            ("CI_PIPELINE_URL", "https://gitlab.example.com/group/project/-/pipelines/9001"),
            ("DOCSYNC_GITBOOK_SPACE", "spcReview"),
            ("DOCSYNC_GITBOOK_TOKEN", GITBOOK_TOKEN),
            ("DOCSYNC_GITBOOK_API_URL", &gitbook),
            ("DOCSYNC_PROJECT_DIRECTORY", "docs"),
            ("DOCSYNC_GIT_TOKEN", GIT_TOKEN),
            ("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN),
            ("DOCSYNC_WAIT", "false"),
            ("DOCSYNC_RETRIES", "0"),
            ("DOCSYNC_RETRY_DELAY", "10ms"),
            ("DOCSYNC_HTTP_TIMEOUT", "5s"),
            ("DOCSYNC_REPORT", "none"),
            ("DOCSYNC_CODEQUALITY", "none"),
        ],
    )
}

async fn sync(repo: &TestRepo, env: &Env) -> Run {
    let mut command = repo.docsync(&["sync", "--format", "json"]);
    command.envs(env);
    let run = common::run_in_background(command, Duration::from_secs(60)).await;
    for output in [&run.stdout, &run.stderr] {
        assert!(!output.contains(TOKEN_MARK), "a secret in the output:\n{}", run.context());
    }
    run
}

/// The requests of one verb to a route under the project's merge request.
async fn sent(server: &MockServer, verb: &str, rest: &str) -> Vec<wiremock::Request> {
    let route = format!("/api/v4/projects/{PROJECT_ID}/merge_requests/{IID}/{rest}");
    let requests = server.received_requests().await.unwrap_or_default();
    requests.into_iter().filter(|r| r.method.as_str() == verb && r.url.path().starts_with(&route)).collect()
}

fn threads(stand_in: &StandIn) -> Vec<Value> {
    stand_in.with(|state| state.discussions.get(&IID).cloned().unwrap_or_default())
}

fn first_note(thread: &Value) -> &Value {
    &thread["notes"][0]
}

fn thread_on<'a>(threads: &'a [Value], path: &str) -> &'a Value {
    threads
        .iter()
        .find(|t| first_note(t)["position"]["new_path"] == path)
        .unwrap_or_else(|| panic!("no thread on {path}: {threads:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_on_added_lines_become_threads_once_and_are_resolved_when_fixed() {
    let mr = merge_request();
    let (server, stand_in) = serve(gitlab_state(&mr, &["api"])).await;
    let env = job_env(&server, &mr, &mr.head);

    // The pre-flight's new errors fail the job (exit 1): the threads say where.
    let run = sync(&mr.repo, &env).await;
    run.assert_code(1);
    let posted = sent(&server, "POST", "discussions").await;
    assert_eq!(posted.len(), 2, "{}", run.context());
    assert!(
        stand_in.with(|s| s.refused_positions.is_empty()),
        "a refused position: {:#?}",
        stand_in.with(|s| s.refused_positions.clone())
    );
    let opened = threads(&stand_in);
    assert_eq!(opened.len(), 2, "{opened:#?}");

    // The tutorial's new line links the install page by its old path: the
    // thread is on that line, and its suggestion writes the new path.
    let link = first_note(thread_on(&opened, "docs/tutorial.md"));
    assert_eq!(link["position"]["new_line"], 3, "{link:#}");
    assert_eq!(link["position"]["old_path"], "docs/tutorial.md", "an added file's old path is its path: {link:#}");
    assert!(link["position"].get("old_line").is_none_or(Value::is_null), "an added line has no old line: {link:#}");
    let body = link["body"].as_str().unwrap();
    assert!(body.contains("<!-- docsync:finding:broken-link"), "{body}");
    assert!(
        body.contains("```suggestion\nFirst, read [installing on Linux](setup/install.md#linux).\n```"),
        "the suggestion rewrites the link to the moved page:\n{body}"
    );
    // The page the summary does not list: its fix is in SUMMARY.md, so
    // its thread offers no suggestion.
    let orphan = first_note(thread_on(&opened, "docs/orphan.md"));
    assert_eq!(orphan["position"]["new_line"], 1, "{orphan:#}");
    let body = orphan["body"].as_str().unwrap();
    assert!(body.contains("page-not-in-summary") && !body.contains("suggestion"), "{body}");
    // The pages moved without a redirect are findings on paths the head
    // does not have: in the note, not on the diff.
    assert_eq!(sent(&server, "POST", "notes").await.len(), 1, "one note");

    // The retried job opens nothing new.
    let retried = sync(&mr.repo, &env).await;
    retried.assert_code(1);
    assert_eq!(sent(&server, "POST", "discussions").await.len(), 2, "no new thread:\n{}", retried.context());
    assert!(retried.stderr.contains("0 opened, 2 already open, 0 resolved"), "{}", retried.context());

    // A push fixes the link: that thread is resolved, the orphan's stays.
    mr.repo.write("docs/tutorial.md", "# Tutorial\n\nFirst, read [installing on Linux](setup/install.md#linux).\n");
    let fixed = mr.repo.commit("Link the install page where it is now");
    let diffs = gitlab_diffs(&mr.repo, &mr.base, &fixed);
    stand_in.with(|state| state.push_to_merge_request(IID, &mr.base, &fixed, diffs));
    let pushed = sync(&mr.repo, &job_env(&server, &mr, &fixed)).await;
    pushed.assert_code(1);
    assert_eq!(sent(&server, "POST", "discussions").await.len(), 2, "no new thread:\n{}", pushed.context());
    let resolved = sent(&server, "PUT", "discussions/").await;
    assert_eq!(resolved.len(), 1, "{}", pushed.context());
    assert_eq!(resolved[0].url.query(), Some("resolved=true"));
    let after = threads(&stand_in);
    assert_eq!(first_note(thread_on(&after, "docs/tutorial.md"))["resolved"], true);
    assert_eq!(first_note(thread_on(&after, "docs/orphan.md"))["resolved"], false);
    assert!(stand_in.with(|s| s.refused_positions.is_empty()));
}

/// The stand-in is the check of the test above: it refuses a position on a
/// line the diff does not add, as GitLab does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stand_in_refuses_a_position_on_a_line_the_diff_does_not_add() {
    let mr = merge_request();
    let (server, stand_in) = serve(gitlab_state(&mr, &["api"])).await;
    let client = HttpClient::new(&HttpSettings::default()).unwrap();
    let url =
        Url::parse(&format!("{}/api/v4/projects/{PROJECT_ID}/merge_requests/{IID}/discussions", server.uri())).unwrap();
    let token = Secret::new(GITLAB_TOKEN);
    let post = |position: Value| {
        let request = Request::new(Method::POST, url.clone()).secret_header("private-token", "", &token);
        client.send(request.json(&json!({ "body": "x", "position": position })))
    };
    let position = |path: &str, line: u64| {
        json!({
            "position_type": "text", "base_sha": mr.base, "start_sha": mr.base, "head_sha": mr.head,
            "old_path": path, "new_path": path, "new_line": line,
        })
    };
    assert_eq!(post(position("docs/tutorial.md", 3)).await.map(|r| r.status.as_u16()).ok(), Some(201));
    // The summary's first line is unchanged: not a line the diff adds.
    let refused = post(position("docs/SUMMARY.md", 1)).await.err().unwrap();
    assert_eq!(refused.status().map(|s| s.as_u16()), Some(400));
    assert!(refused.to_string().contains("must be a valid line code"), "{refused}");
    assert_eq!(stand_in.with(|s| s.refused_positions.len()), 1);
}

/// A token without the `api` scope (GitLab answers 403
/// `insufficient_scope`), or a GitLab that refuses positions (400, as one
/// that cannot place a line code does): the note is posted, the job does
/// not fail for it, and the warning says why and what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_gitlab_refuses_leave_the_note_alone_with_a_warning() {
    let scope = ResponseTemplate::new(403).set_body_json(json!({
        "error": "insufficient_scope",
        "error_description": "The request requires higher privileges than provided by the access token.",
        "scope": "api",
    }));
    let position = ResponseTemplate::new(400).set_body_json(json!({
        "message": "400 Bad request - Note {:line_code=>[\"can't be blank\", \"must be a valid line code\"]}",
    }));
    for (answer, why) in [(scope, "api scope"), (position, "GitLab refused a thread's position")] {
        let mr = merge_request();
        let (server, stand_in) = serve(gitlab_state(&mr, &["api"])).await;
        let route = format!("/api/v4/projects/{PROJECT_ID}/merge_requests/{IID}/discussions");
        Mock::given(method("POST")).and(path(route)).respond_with(answer).mount(&server).await;

        let run = sync(&mr.repo, &job_env(&server, &mr, &mr.head)).await;
        run.assert_code(1);
        assert!(run.stderr.contains("could not be put on !7's diff lines"), "{}", run.context());
        assert!(run.stderr.contains(why), "{why}: {}", run.context());
        let warnings = run.json()["targets"][0]["warnings"].to_string();
        assert!(warnings.contains("note only") && warnings.contains(why), "{warnings}");
        assert_eq!(sent(&server, "POST", "discussions").await.len(), 1, "one attempt, then the note alone");
        assert_eq!(sent(&server, "POST", "notes").await.len(), 1, "the note is posted");
        assert!(threads(&stand_in).is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_comments_off_opens_no_thread() {
    let mr = merge_request();
    let (server, stand_in) = serve(gitlab_state(&mr, &["api"])).await;
    let env = with(job_env(&server, &mr, &mr.head), &[("DOCSYNC_REVIEW_COMMENTS", "false")]);

    let run = sync(&mr.repo, &env).await;
    run.assert_code(1);
    assert!(sent(&server, "GET", "discussions").await.is_empty(), "{}", run.context());
    assert!(sent(&server, "POST", "discussions").await.is_empty());
    assert_eq!(sent(&server, "POST", "notes").await.len(), 1, "the note is posted");
    assert!(threads(&stand_in).is_empty());
}

/// A finding quotes the page, and the page holds a token: no thread body
/// carries it, and a suggestion that would is left out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_thread_carries_a_secret_the_page_holds() {
    let mr = merge_request();
    mr.repo.write(
        "docs/tutorial.md",
        &format!("# Tutorial\n\nFirst, read [installing on Linux](install.md?key={GITBOOK_TOKEN}).\n"),
    );
    let head = mr.repo.commit("Link with a key");
    let mr = MergeRequest { head, ..mr };
    let (server, _stand_in) = serve(gitlab_state(&mr, &["api"])).await;

    let run = sync(&mr.repo, &job_env(&server, &mr, &mr.head)).await;
    run.assert_code(1);
    let posted = sent(&server, "POST", "discussions").await;
    assert_eq!(posted.len(), 2, "{}", run.context());
    for request in &posted {
        let body = String::from_utf8_lossy(&request.body);
        assert!(!body.contains(TOKEN_MARK), "a secret in a thread: {body}");
    }
    let link = posted.iter().map(|r| String::from_utf8_lossy(&r.body).into_owned()).find(|b| b.contains("broken-link"));
    assert!(link.is_some_and(|b| !b.contains("suggestion")), "the suggestion is left out");
}

/// A link on a line the merge request leaves alone breaks because the
/// merge request moved its page: a new finding, but not on the diff. It
/// stays in the note; no position is sent for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finding_on_a_line_the_merge_request_does_not_add_stays_in_the_note() {
    let repo = TestRepo::new();
    repo.write("docs/README.md", "# Docs\n");
    repo.write("docs/SUMMARY.md", "# Table of contents\n\n* [Docs](README.md)\n* [Guide](guide.md)\n* [FAQ](faq.md)\n");
    repo.write("docs/guide.md", "# Guide\n\nSee the [FAQ](faq.md).\n");
    repo.write("docs/faq.md", "# FAQ\n");
    let base = repo.commit("Add the docs");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.mv("docs/faq.md", "docs/help/faq.md");
    repo.write(
        "docs/SUMMARY.md",
        "# Table of contents\n\n* [Docs](README.md)\n* [Guide](guide.md)\n* [FAQ](help/faq.md)\n",
    );
    let head = repo.commit("Move the FAQ");
    let mr = MergeRequest { repo, base, head };
    let (server, stand_in) = serve(gitlab_state(&mr, &["api"])).await;

    let run = sync(&mr.repo, &job_env(&server, &mr, &mr.head)).await;
    run.assert_code(1);
    assert!(run.stdout.contains("docs/guide.md"), "the finding is reported:\n{}", run.context());
    assert!(sent(&server, "POST", "discussions").await.is_empty(), "{}", run.context());
    assert!(stand_in.with(|s| s.refused_positions.is_empty()));
    // The broken link, and the FAQ moved without a redirect.
    assert!(run.stderr.contains("0 opened, 0 already open, 0 resolved; 2 finding(s) on lines"), "{}", run.context());
}

/// GitLab stored the thread but its answer was lost (502): docsync looks
/// before sending it again, and the merge request holds one thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_whose_answer_was_lost_is_looked_up_not_opened_twice() {
    let mr = merge_request();
    let mut state = gitlab_state(&mr, &["api"]);
    state.lose_answer_of.push("POST /discussions");
    let (server, stand_in) = serve(state).await;
    let env = with(job_env(&server, &mr, &mr.head), &[("DOCSYNC_RETRIES", "2")]);

    let run = sync(&mr.repo, &env).await;
    run.assert_code(1);
    assert_eq!(sent(&server, "POST", "discussions").await.len(), 2, "{}", run.context());
    assert_eq!(threads(&stand_in).len(), 2);
}

/// A run without the pre-flight knows nothing of the findings: it leaves
/// the threads as they are, rather than resolving them as gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_without_the_preflight_resolves_no_thread() {
    let mr = merge_request();
    let (server, stand_in) = serve(gitlab_state(&mr, &["api"])).await;
    Mock::given(method("POST"))
        .and(path("/v1/spaces/spcReview/git/import"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let env = job_env(&server, &mr, &mr.head);
    sync(&mr.repo, &env).await.assert_code(1);
    assert_eq!(threads(&stand_in).len(), 2);

    let run = sync(&mr.repo, &with(env, &[("DOCSYNC_LINT", "off")])).await;
    run.assert_code(0);
    assert!(sent(&server, "PUT", "discussions/").await.is_empty(), "{}", run.context());
    assert!(threads(&stand_in).iter().all(|t| first_note(t)["resolved"] == false));
}

/// The two other mechanical fixes, on a page the merge request adds: a
/// front matter value that needs quotes, and a hint never closed (a
/// suggestion over the hint's paragraph, `suggestion:-0+2`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_matter_quotes_and_closing_tags_are_suggested() {
    let repo = TestRepo::new();
    repo.write("docs/README.md", "# Docs\n");
    repo.write("docs/SUMMARY.md", "# Table of contents\n\n* [Docs](README.md)\n");
    let base = repo.commit("Add the docs");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("docs/SUMMARY.md", "# Table of contents\n\n* [Docs](README.md)\n* [Setup](setup.md)\n");
    repo.write(
        "docs/setup.md",
        "---\ndescription: Setup: the fast way\n---\n\n# Setup\n\n{% hint style=\"info\" %}\nRead this first.\nIt takes a minute.\n\n## Next\n",
    );
    let head = repo.commit("Add the setup page");
    let mr = MergeRequest { repo, base, head };
    let (server, stand_in) = serve(gitlab_state(&mr, &["api"])).await;

    let run = sync(&mr.repo, &job_env(&server, &mr, &mr.head)).await;
    run.assert_code(1);
    assert!(stand_in.with(|s| s.refused_positions.is_empty()), "{}", run.context());
    let bodies: Vec<String> =
        threads(&stand_in).iter().map(|t| first_note(t)["body"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(bodies.len(), 2, "{bodies:#?}\n{}", run.context());
    assert!(
        bodies.iter().any(|b| b.contains("```suggestion\ndescription: \"Setup: the fast way\"\n```")),
        "{bodies:#?}"
    );
    assert!(
        bodies.iter().any(|b| b.contains(
            "```suggestion:-0+2\n{% hint style=\"info\" %}\nRead this first.\nIt takes a minute.\n{% endhint %}\n```"
        )),
        "{bodies:#?}"
    );
}
