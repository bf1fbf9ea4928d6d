//! docsync's git fetches over HTTP(S) against a real smart-HTTP server
//! (`common::git_server`): `git http-backend` behind Python's HTTP server,
//! on 127.0.0.1, plain or with the test certificate of `tests/fixtures/tls`.
//! The server logs every request (method, path, `Host`, `Authorization`), so
//! a test can count what was sent and with which credentials.
//!
//! A host that is not loopback is reached through `HTTP_PROXY`: docsync
//! sees `http://gitlab.example.com/…`, a plain-http host elsewhere, while
//! the request travels to the test server on 127.0.0.1 (which answers
//! proxy requests as it answers any other). Nothing in docsync knows it is
//! under test.

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use crate::common::git_server::{GitServer, Options, Seen, Tls};
use crate::common::{self, Env, Pipeline, TestRepo, ci_env, manifest_dir, with};

const JOB_TOKEN: &str = "jobtok-transport-0001";

/// An origin with 30 commits of docs; the base of the push is 5 commits back.
fn origin_with_history() -> TestRepo {
    let origin = TestRepo::new();
    for n in 1..=30 {
        origin.write(&format!("docs/page-{}.md", n % 7), &format!("# Page\n\nVersion {n}.\n"));
        origin.commit(&format!("Commit {n}"));
    }
    origin
}

fn push_env(origin: &TestRepo, repository_url: &str) -> Env {
    let (before, head) = (origin.rev("HEAD~5"), origin.head());
    with(
        ci_env(Pipeline::Push { branch: "main", before: &before, sha: &head }),
        &[("CI_REPOSITORY_URL", repository_url), ("DOCSYNC_GITBOOK_SPACE", "spcTransport")],
    )
}

/// `docsync plan --format json -v` in `repo`: the run.
fn plan(repo: &TestRepo, env: &Env) -> common::Run {
    let mut command = repo.docsync(&["plan", "--format", "json", "-v"]);
    command.envs(env).timeout(Duration::from_secs(60));
    common::run_to_end(command)
}

/// A shallow clone of `origin` (depth 1) lacks the push's base.
fn shallow(origin: &TestRepo) -> TestRepo {
    let shallow = origin.clone_shallow("shallow", 1);
    let before = origin.rev("HEAD~5");
    assert!(!shallow.git_output(&["cat-file", "-e", &before]).status.success(), "the clone lacks the base");
    shallow
}

// ---------------------------------------------------------------------------
// Credentials and plain http

/// The positive control: over loopback http the URL's credentials are sent
/// (the server requires them), so the test below can see them withheld.
#[test]
fn credentials_go_to_loopback_over_plain_http() {
    let origin = origin_with_history();
    let server = GitServer::start(
        origin.root(),
        Options { auth: Some("gitlab-ci-token:jobtok-transport-0001"), ..Default::default() },
    );
    let shallow = shallow(&origin);
    let env = push_env(&origin, &server.url(&format!("gitlab-ci-token:{JOB_TOKEN}@"), "repo"));

    let run = plan(&shallow, &env);

    run.assert_code(0);
    assert_eq!(run.json()["range"]["mode"], "push", "the clone was deepened\n{}", run.context());
    let requests = server.requests();
    assert!(!requests.is_empty() && requests.iter().all(|r| r.authorization.is_some()), "{requests:#?}");
    assert!(!run.stderr.contains(JOB_TOKEN), "{}", run.context());
}

/// `CI_REPOSITORY_URL` on plain http to a host that is not loopback (GitLab
/// served over http): the job token it holds is never sent. The fetch goes
/// without it, which works for a public project, and a warning says why.
#[test]
fn plain_http_to_another_host_carries_no_credentials() {
    let origin = origin_with_history();
    let server = GitServer::start(origin.root(), Options::default());
    let shallow = shallow(&origin);
    let proxy = format!("http://127.0.0.1:{}", server.port);
    let env = with(
        push_env(&origin, &format!("http://gitlab-ci-token:{JOB_TOKEN}@gitlab.example.com/repo")),
        &[
            ("HTTP_PROXY", &proxy),
            ("CI_SERVER_URL", "http://gitlab.example.com"),
            ("CI_API_V4_URL", "http://gitlab.example.com/api/v4"),
            ("CI_JOB_TOKEN", JOB_TOKEN),
        ],
    );

    let run = plan(&shallow, &env);

    run.assert_code(0);
    assert_eq!(run.json()["range"]["mode"], "push", "the public project was deepened\n{}", run.context());
    let requests = server.requests();
    assert!(!requests.is_empty(), "the fetch went through the proxy\n{}", run.context());
    assert!(requests.iter().all(|r| r.host == "gitlab.example.com"), "{requests:#?}");
    let sent: Vec<&Seen> = requests.iter().filter(|r| r.authorization.is_some()).collect();
    assert!(sent.is_empty(), "credentials went over plain http: {sent:#?}");
    assert!(run.stderr.contains("without the URL's credentials"), "a warning says why\n{}", run.context());
    assert_eq!(run.stderr.matches("without the URL's credentials").count(), 1, "said once\n{}", run.context());
    assert!(!run.stderr.contains(JOB_TOKEN) && !run.stdout.contains(JOB_TOKEN), "{}", run.context());
}

/// A private project on plain http to another host: the fetch without
/// credentials is refused, and the warning says the credentials were kept
/// back on purpose rather than blaming the token.
#[test]
fn a_refusal_over_plain_http_says_the_credentials_were_kept_back() {
    let origin = origin_with_history();
    let server = GitServer::start(
        origin.root(),
        Options { auth: Some("gitlab-ci-token:jobtok-transport-0001"), ..Default::default() },
    );
    let shallow = shallow(&origin);
    let proxy = format!("http://127.0.0.1:{}", server.port);
    let env = with(
        push_env(&origin, &format!("http://gitlab-ci-token:{JOB_TOKEN}@gitlab.example.com/repo")),
        &[("HTTP_PROXY", &proxy)],
    );

    let run = plan(&shallow, &env);

    run.assert_code(0);
    assert_eq!(run.json()["range"]["mode"], "full", "{}", run.context());
    assert!(run.stderr.contains("not sent over plain http"), "{}", run.context());
    assert!(server.requests().iter().all(|r| r.authorization.is_none()), "{:#?}", server.requests());
}

// ---------------------------------------------------------------------------
// Redirects, certificates, the fetch budget

/// A server that answers git-upload-pack's POST with a same-origin 301: a
/// redirect, named as one with its Location, not "not a git server".
#[test]
fn a_redirect_of_git_upload_pack_is_named() {
    let origin = origin_with_history();
    let server = GitServer::start(origin.root(), Options { redirect: true, ..Default::default() });
    let shallow = shallow(&origin);
    let env = push_env(&origin, &server.url("", "repo"));

    let run = plan(&shallow, &env);

    run.assert_code(0);
    assert_eq!(run.json()["range"]["mode"], "full", "{}", run.context());
    let location = format!("http://127.0.0.1:{}/moved/repo/git-upload-pack", server.port);
    assert!(run.stderr.contains("301") && run.stderr.contains(&location), "{}", run.context());
    assert!(run.stderr.contains("CI_REPOSITORY_URL") && run.stderr.contains("final URL"), "{}", run.context());
    let posts =
        server.requests().into_iter().filter(|r| r.method == "POST" && r.path.ends_with("/git-upload-pack")).count();
    assert_eq!(posts, 1, "the first POST is refused and never resent as a GET or again");
}

/// A git server whose certificate no trusted CA signed: bad configuration
/// (exit 2) naming the CA variables, as for an API request.
#[test]
fn an_untrusted_certificate_on_a_git_fetch_is_bad_configuration() {
    let origin = origin_with_history();
    let server = GitServer::start(origin.root(), Options { tls: Some(Tls::fixture()), ..Default::default() });
    let shallow = shallow(&origin);
    let env = push_env(&origin, &server.url("", "repo"));

    let run = plan(&shallow, &env);

    run.assert_code(2);
    assert!(run.stderr.contains("CI_SERVER_TLS_CA_FILE") && run.stderr.contains("SSL_CERT_FILE"), "{}", run.context());
    assert!(run.stderr.contains("not trusted"), "{}", run.context());

    // Trusted, the same server deepens the clone.
    let ca = manifest_dir().join("tests/fixtures/tls/ca.pem").display().to_string();
    let run = plan(&shallow, &with(env, &[("SSL_CERT_FILE", &ca)]));
    run.assert_code(0);
    assert_eq!(run.json()["range"]["mode"], "push", "{}", run.context());
}

/// `DOCSYNC_FETCH_TIMEOUT` bounds all git fetches of a run together: a
/// server that accepts and never answers ends the deepening then, long
/// before `DOCSYNC_HTTP_TIMEOUT`.
#[test]
fn the_fetch_budget_is_a_setting() {
    let origin = origin_with_history();
    let shallow = shallow(&origin);
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let url = format!("http://127.0.0.1:{}/repo", silent.local_addr().expect("an address").port());
    // Accepts connections (the backlog) and never answers.
    let env = with(push_env(&origin, &url), &[("DOCSYNC_HTTP_TIMEOUT", "60s"), ("DOCSYNC_FETCH_TIMEOUT", "1s")]);

    let run = plan(&shallow, &env);

    run.assert_code(0);
    assert_eq!(run.json()["range"]["mode"], "full", "{}", run.context());
    assert!(run.stderr.contains("DOCSYNC_FETCH_TIMEOUT"), "the message names the setting\n{}", run.context());
    // Before the HTTP timeout (60 s) could have ended them: the budget did.
    assert!(run.elapsed < Duration::from_secs(60), "the budget of 1s ended the fetches\n{}", run.context());
    drop(silent);

    let run = plan(&shallow, &with(env, &[("DOCSYNC_FETCH_TIMEOUT", "soon")]));
    run.assert_code(2);
    assert!(run.stderr.contains("DOCSYNC_FETCH_TIMEOUT"), "{}", run.context());
}

// ---------------------------------------------------------------------------
// Fetch by SHA, partial clones

/// A full clone that lacks the base (a commit only the origin holds, as
/// after a force push): it is fetched by its SHA, and the clone stays full
/// (a depth on that fetch would make it shallow, then need deepening).
#[test]
fn a_fetch_by_sha_keeps_a_full_clone_full() {
    let origin = origin_with_history();
    origin.git(&["config", "uploadpack.allowAnySHA1InWant", "true"]);
    let head = origin.head();
    origin.git(&["checkout", "-q", "-b", "gone", "HEAD~3"]);
    origin.write("docs/gone.md", "# Gone\n");
    let gone = origin.commit("A commit a force push removed");
    origin.git(&["update-ref", "refs/keep/gone", &gone]);
    origin.git(&["checkout", "-q", "main"]);
    origin.git(&["branch", "-q", "-D", "gone"]);
    let server = GitServer::start(origin.root(), Options::default());
    let clone = origin.root().join("full");
    origin.git(&["clone", "-q", &origin.file_url(), &clone.display().to_string()]);
    let has_gone = || {
        let output = origin.command("git").current_dir(&clone).args(["cat-file", "-e", &gone]).output();
        output.expect("run git cat-file").status.success()
    };
    assert!(!clone.join(".git/shallow").exists(), "a full clone");
    assert!(!has_gone(), "the clone lacks the old base");
    let env = with(
        ci_env(Pipeline::Push { branch: "main", before: &gone, sha: &head }),
        &[("CI_REPOSITORY_URL", &server.url("", "repo")), ("DOCSYNC_GITBOOK_SPACE", "spcTransport")],
    );

    let mut command = origin.docsync(&["plan", "--format", "json", "-v"]);
    command.current_dir(&clone).envs(&env).timeout(Duration::from_secs(60));
    let run = common::run_to_end(command);

    run.assert_code(0);
    assert!(run.stderr.contains("by its SHA"), "{}", run.context());
    assert!(has_gone(), "the base was fetched\n{}", run.context());
    assert!(!clone.join(".git/shallow").exists(), "the full clone became shallow\n{}", run.context());
    // A clone made shallow by that fetch would have to be deepened again,
    // three fetches more, to decide the base's ancestry.
    assert!(!run.stderr.contains("shallow clone"), "the clone was shallow for a while\n{}", run.context());
    let fetches = server.requests().into_iter().filter(|r| r.method == "GET" && r.path.ends_with("/info/refs")).count();
    assert_eq!(fetches, 1, "one fetch, by the SHA\n{}", run.context());
}

/// A blob-less partial clone whose origin remote has no credentials (as a
/// runner leaves it) from a server that requires them: the missing blobs
/// come from `CI_REPOSITORY_URL`, with the credentials deepening uses.
#[test]
fn partial_clone_blobs_are_fetched_with_the_repository_url_credentials() {
    let origin = TestRepo::new();
    let body: String = (1..=12).map(|n| format!("Paragraph {n} of the chapter, long enough to compare.\n")).collect();
    origin.write("docs/chapter.md", &body);
    let base = origin.commit("A chapter");
    origin.mv("docs/chapter.md", "docs/part-one.md");
    origin.write("docs/part-one.md", &body.replace("Paragraph 3 ", "Paragraph three "));
    let head = origin.commit("Rename and edit the chapter");
    for (key, value) in [("uploadpack.allowFilter", "true"), ("uploadpack.allowAnySHA1InWant", "true")] {
        origin.git(&["config", key, value]);
    }
    let server = GitServer::start(
        origin.root(),
        Options { auth: Some("gitlab-ci-token:jobtok-transport-0001"), ..Default::default() },
    );
    let with_token = server.url(&format!("gitlab-ci-token:{JOB_TOKEN}@"), "repo");
    let clone = |name: &str| {
        let path = origin.root().join(name);
        origin.git(&["clone", "-q", "--filter=blob:none", &with_token, &path.display().to_string()]);
        let lacking = origin
            .command("git")
            .current_dir(&path)
            .env("GIT_NO_LAZY_FETCH", "1")
            .args(["cat-file", "-e", &format!("{base}:docs/chapter.md")])
            .output()
            .expect("run git cat-file");
        assert!(!lacking.status.success(), "the partial clone lacks the old blob");
        // The runner's remote carries no token.
        let run_git = |args: &[&str]| {
            let output = origin.command("git").current_dir(&path).args(args).output().expect("run git");
            assert!(output.status.success(), "{}", common::describe(&output));
        };
        run_git(&["remote", "set-url", "origin", &server.url("", "repo")]);
        path
    };
    let env = |url: &str| {
        with(
            ci_env(Pipeline::Push { branch: "main", before: &base, sha: &head }),
            &[("CI_REPOSITORY_URL", url), ("DOCSYNC_GITBOOK_SPACE", "spcTransport")],
        )
    };
    let run_in = |path: &Path, env: &Env| {
        let mut command = origin.docsync(&["plan", "--format", "json", "-v"]);
        command.current_dir(path).envs(env).timeout(Duration::from_secs(60));
        common::run_to_end(command)
    };

    let run = run_in(&clone("partial"), &env(&with_token));
    run.assert_code(0);
    let changes = &run.json()["changes"];
    assert!(changes.to_string().contains("renamed"), "a rename, as git finds: {changes:#}\n{}", run.context());

    // Refused, the fetch says why above debug level.
    let run = run_in(&clone("partial-refused"), &env(&server.url("gitlab-ci-token:wrong-token-0002@", "repo")));
    run.assert_code(0);
    let why = run.stderr.lines().find(|line| line.contains("could not fetch the")).unwrap_or_default().to_owned();
    assert!(why.contains("WARN") || why.contains("warn"), "{}", run.context());
    assert!(why.contains("401"), "the reason is given: {why}\n{}", run.context());
    assert!(!run.stderr.contains("wrong-token-0002"), "{}", run.context());
}

// ---------------------------------------------------------------------------
// The clone URL handed to GitBook

/// GitBook clones `CI_PROJECT_URL` + `.git` with a token in the URL: on
/// plain http to another host, `DOCSYNC_GIT_TOKEN` is refused (exit 2) and
/// the job token is left out with a warning; over https both are used.
#[test]
fn the_clone_url_carries_no_token_over_plain_http() {
    const GIT_TOKEN: &str = "gittok-transport-0002";
    let origin = origin_with_history();
    let (before, head) = (origin.rev("HEAD~1"), origin.head());
    let env = |project_url: &str, token: (&str, &str)| {
        with(
            ci_env(Pipeline::Push { branch: "main", before: &before, sha: &head }),
            &[("CI_PROJECT_URL", project_url), ("DOCSYNC_GITBOOK_SPACE", "spcTransport"), token],
        )
    };
    let body_url = |run: &common::Run| run.json()["targets"][0]["request"]["body"]["url"].as_str().map(str::to_owned);

    let run = plan(&origin, &env("http://gitlab.example.com/group/project", ("DOCSYNC_GIT_TOKEN", GIT_TOKEN)));
    run.assert_code(2);
    assert!(run.stderr.contains("CI_PROJECT_URL") && run.stderr.contains("DOCSYNC_GIT_TOKEN"), "{}", run.context());
    assert!(run.stderr.contains("cleartext"), "{}", run.context());

    let run = plan(&origin, &env("http://gitlab.example.com/group/project", ("CI_JOB_TOKEN", JOB_TOKEN)));
    run.assert_code(0);
    assert_eq!(body_url(&run).as_deref(), Some("http://gitlab.example.com/group/project.git"), "{}", run.context());
    let warnings = run.json()["targets"][0]["warnings"].to_string();
    assert!(warnings.contains("plain http") && !warnings.contains("using CI_JOB_TOKEN"), "{warnings}");

    // The control: over https (or to loopback) the tokens go into the URL.
    for (project_url, token, user) in [
        ("https://gitlab.example.com/group/project", ("CI_JOB_TOKEN", JOB_TOKEN), "gitlab-ci-token"),
        ("https://gitlab.example.com/group/project", ("DOCSYNC_GIT_TOKEN", GIT_TOKEN), "oauth2"),
        ("http://127.0.0.1:8929/group/project", ("DOCSYNC_GIT_TOKEN", GIT_TOKEN), "oauth2"),
    ] {
        let run = plan(&origin, &env(project_url, token));
        run.assert_code(0);
        let url = body_url(&run).unwrap_or_default();
        assert!(url.contains(&format!("{user}:[MASKED]@")), "{url}\n{}", run.context());
    }
}
