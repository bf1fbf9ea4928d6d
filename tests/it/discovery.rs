//! Targets found in a GitBook site (`gitbook_site`): the real binary
//! against Prism on GitBook's pinned spec (conformance of the request), and
//! against a stand-in site of 300 space installations. The stand-in is
//! wiremock answering one fixed, spec-shaped body (`GitSyncInstallation`
//! items, `listSiteGitSyncInstallations`): Prism answers the spec's
//! example (which fails the spec) or, generating from its schemas
//! (`--dynamic`), installations of random projects, so it cannot hold a
//! site of 300 spaces of two projects; its generated answers are read in
//! their own test.

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common;
use common::{Env, Pipeline, Run, TestRepo, ci_env, run_to_end, with};

const TOKEN: &str = "gbtok-discovery";
const PLANTED: &str = "glpat-PLANTED-access-token";
const PROJECT_ID: u64 = 4242;
const OTHER_PROJECT_ID: u64 = 999;
const ORGANIZATION: &str = "org1";
const SITE: &str = "site_many";
const INSTALLATIONS_PATH: &str = "/v1/orgs/org1/sites/site_many/spaces/git/installations";

/// One space installation as GitBook's spec shapes it, access token and all.
fn installation(index: usize, project_id: u64, directory: &str) -> Value {
    json!({
        "object": "git-sync-installation",
        "id": format!("inst{index}"),
        "parentInstallationId": "inst-site",
        "target": { "type": "space", "spaceId": format!("spc{index}") },
        "status": "active",
        "provider": "gitlab",
        "projectDirectory": directory,
        "providerConfiguration": {
            "projectId": project_id,
            "branch": "refs/heads/main",
            "accessToken": PLANTED,
            "customInstanceURL": null,
        },
        "createdAt": "2026-11-22T14:00:00Z",
        "createdBy": "user1",
        "updatedAt": "2026-11-22T14:00:00Z",
        "urls": { "location": format!("https://api.gitbook.com/v1/orgs/org1/git/installations/inst{index}") },
    })
}

/// 300 installations: spaces 0–199 of this project (`spaces/s<i>`), 100
/// of another project (`other/s<i>`).
fn site_of_300() -> Value {
    let ours = (0..200).map(|i| installation(i, PROJECT_ID, &format!("spaces/s{i}")));
    let theirs = (200..300).map(|i| installation(i, OTHER_PROJECT_ID, &format!("other/s{i}")));
    json!({ "items": ours.chain(theirs).collect::<Vec<_>>() })
}

/// A repository with one directory per space of ours, a site file naming
/// the space of `spaces/s1`, and a `[[target]]` for space 0.
fn repository() -> (TestRepo, String) {
    let repo = TestRepo::new();
    for i in 0..200 {
        repo.write(&format!("spaces/s{i}/README.md"), &format!("# Space {i}\n"));
    }
    repo.write(
        "docs.yaml",
        "site:\n  title: Many\n  structure:\n    - type: space\n      key: space-one\n      title: One\n      path: one\n      default: true\n      content:\n        directory: ./spaces/s1\n",
    );
    repo.write(
        "docsync.toml",
        "[[target]]\nname = \"handpicked\"\nkind = \"gitbook\"\ngitbook_space = \"spc0\"\nproject_directory = \"spaces/s0\"\nwait = false\n",
    );
    let head = repo.commit("Spaces");
    (repo, head)
}

fn site_env(head: &str, api_url: &str, site: &str) -> Env {
    with(
        ci_env(Pipeline::Push { branch: "main", before: common::ZERO_SHA, sha: head }),
        &[
            ("CI_PROJECT_ID", &PROJECT_ID.to_string()),
            ("DOCSYNC_GITBOOK_SITE", site),
            ("DOCSYNC_GITBOOK_ORGANIZATION", ORGANIZATION),
            ("DOCSYNC_GITBOOK_TOKEN", TOKEN),
            ("DOCSYNC_GITBOOK_API_URL", api_url),
            ("DOCSYNC_RETRIES", "0"),
            ("DOCSYNC_HTTP_TIMEOUT", "60s"),
            ("DOCSYNC_REPORT", "none"),
        ],
    )
}

async fn run(repo: &TestRepo, env: &Env, args: &[&str]) -> Run {
    let mut command = repo.docsync(args);
    command.envs(env);
    tokio::task::spawn_blocking(move || run_to_end(command)).await.expect("run docsync")
}

async fn stand_in_site() -> MockServer {
    let server = common::mock_server().await;
    Mock::given(method("GET"))
        .and(path(INSTALLATIONS_PATH))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(site_of_300()))
        .named("listSiteGitSyncInstallations")
        .mount(&server)
        .await;
    server
}

fn installation_requests(received: &[wiremock::Request]) -> usize {
    received.iter().filter(|r| r.url.path() == INSTALLATIONS_PATH).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_this_projects_200_spaces_become_targets_and_a_target_entry_wins() {
    let server = stand_in_site().await;
    let (repo, head) = repository();
    let env = site_env(&head, &format!("{}/v1", server.uri()), SITE);

    let plan = run(&repo, &env, &["plan", "--format", "json"]).await;
    plan.assert_code(0);
    let result = plan.json();
    let targets = result["targets"].as_array().expect("targets is a list");
    assert_eq!(targets.len(), 200, "199 discovered and the [[target]] of space 0\n{}", plan.context());
    let discovered: Vec<&Value> = targets.iter().filter(|t| t["origin"].is_string()).collect();
    assert_eq!(discovered.len(), 199, "{}", plan.context());
    // The [[target]] for space 0 is the one that syncs it, with its keys.
    let handpicked = targets.iter().find(|t| t["name"] == "handpicked").expect("the [[target]] is kept");
    assert!(handpicked.get("origin").is_none(), "{handpicked:#}");
    assert!(!targets.iter().any(|t| t["origin"].as_str().is_some_and(|o| o.contains("space spc0,"))));
    // Named from the site file's key, else from its directory.
    let one = targets.iter().find(|t| t["name"] == "space-one").expect("named from docs.yaml");
    assert_eq!(one["origin"], "discovered in site site_many: space spc1, directory spaces/s1");
    assert!(targets.iter().any(|t| t["name"] == "spaces/s2"), "{}", plan.context());
    assert!(!targets.iter().any(|t| t["origin"].as_str().is_some_and(|o| o.contains("other/"))));
    // The discovered targets act on the push like configured ones.
    let import = targets.iter().find(|t| t["name"] == "spaces/s7").expect("space 7");
    assert_eq!(import["action"], "import", "{import:#}");
    assert!(import["request"]["url"].as_str().unwrap().ends_with("/spaces/spc7/git/import"), "{import:#}");

    let text = run(&repo, &env, &["plan"]).await;
    text.assert_code(0);
    assert!(text.stdout.contains("discovered in site site_many: space spc1, directory spaces/s1"), "{}", text.stdout);

    let check = run(&repo, &env, &["check"]).await;
    assert!(
        check.stdout.contains(
            "300 space installations found, 200 kept (this project and branch; 1 configured by a [[target]], 0 without their directory), 100 ignored (other projects or branches)"
        ),
        "{}",
        check.context()
    );

    // One listing per run, and the planted token in no output.
    let received = server.received_requests().await.expect("wiremock records requests");
    assert_eq!(installation_requests(&received), 3);
    for run in [&plan, &text, &check] {
        assert!(!run.stdout.contains(PLANTED) && !run.stderr.contains(PLANTED), "{}", run.context());
        assert!(!run.stdout.contains("accessToken") && !run.stderr.contains("accessToken"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_writes_the_token_in_no_report() {
    let server = stand_in_site().await;
    let (repo, head) = repository();
    let artifacts = repo.outside_dir("artifacts");
    let mut env = site_env(&head, &format!("{}/v1", server.uri()), SITE);
    env.insert("DOCSYNC_REPORT".into(), artifacts.join("docsync.env").display().to_string());
    env.insert("DOCSYNC_REPORT_JSON".into(), artifacts.join("docsync.json").display().to_string());
    let sync = run(&repo, &env, &["sync", "--dry-run"]).await;
    sync.assert_code(0);
    let reports: Vec<String> = ["docsync.env", "docsync.json"]
        .iter()
        .map(|name| std::fs::read_to_string(artifacts.join(name)).unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect();
    assert!(reports[1].contains("spc7"), "the JSON report lists the discovered targets:\n{}", reports[1]);
    for text in reports.iter().chain([&sync.stdout, &sync.stderr]) {
        assert!(!text.contains(PLANTED), "{text}");
    }
    let received = server.received_requests().await.expect("wiremock records requests");
    assert_eq!(
        received.len(),
        1,
        "a dry run only lists the site: {:?}",
        received.iter().map(|r| r.url.path()).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discovered_space_without_its_directory_is_a_warning_naming_it() {
    let server = stand_in_site().await;
    let (repo, _) = repository();
    repo.remove("spaces/s5/README.md");
    let head = repo.commit("Drop space 5's directory");
    let env = site_env(&head, &format!("{}/v1", server.uri()), SITE);
    let plan = run(&repo, &env, &["plan", "--format", "json"]).await;
    plan.assert_code(0);
    assert!(
        plan.stderr.contains(
            "space spc5 of GitBook site site_many: its directory spaces/s5 is not in the repository: not synced"
        ),
        "{}",
        plan.context()
    );
    let targets = plan.json()["targets"].as_array().unwrap().len();
    assert_eq!(targets, 199, "{}", plan.context());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_on_a_site_with_no_space_of_ours_is_exit_2_naming_the_site() {
    let server = stand_in_site().await;
    let (repo, _) = repository();
    repo.remove("docsync.toml");
    let head = repo.commit("No configured target");
    let mut env = site_env(&head, &format!("{}/v1", server.uri()), SITE);
    env.insert("CI_PROJECT_ID".into(), "1".into());
    let sync = run(&repo, &env, &["sync"]).await;
    sync.assert_code(2);
    assert!(
        sync.stderr
            .contains("DOCSYNC_GITBOOK_SITE: GitBook site site_many syncs no space from project 1 on branch main"),
        "{}",
        sync.context()
    );
    let received = server.received_requests().await.expect("wiremock records requests");
    assert_eq!(installation_requests(&received), received.len(), "only the listing is sent");
}

/// GitBook's refusals are the settings' fault (exit 2, naming what to
/// fix); a server error leaves the site's targets unknown (exit 3). Each
/// is one request: nothing else is called.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_exit_2_naming_the_setting_and_a_server_error_exit_3() {
    let server = common::mock_server().await;
    for (site, status) in [("site_gone", 404), ("site_locked", 401), ("site_down", 500)] {
        let listing = format!("/v1/orgs/org1/sites/{site}/spaces/git/installations");
        Mock::given(method("GET"))
            .and(path(listing.as_str()))
            .respond_with(
                ResponseTemplate::new(status).set_body_json(json!({"error": {"code": status, "message": "no"}})),
            )
            .mount(&server)
            .await;
    }
    let (repo, head) = repository();
    let api = format!("{}/v1", server.uri());
    for (site, code, says) in [
        ("site_gone", 2, "DOCSYNC_GITBOOK_SITE: GitBook does not know site site_gone of organization org1"),
        ("site_locked", 2, "DOCSYNC_GITBOOK_TOKEN: GitBook refused the token of DOCSYNC_GITBOOK_TOKEN"),
        ("site_down", 3, "cannot list the spaces of GitBook site site_down"),
    ] {
        let plan = run(&repo, &site_env(&head, &api, site), &["plan"]).await;
        plan.assert_code(code);
        assert!(plan.stderr.contains(says), "{}", plan.context());
    }
    let received = server.received_requests().await.expect("wiremock records requests");
    assert_eq!(received.len(), 3, "{:?}", received.iter().map(|r| r.url.path()).collect::<Vec<_>>());
}

#[test]
fn a_site_without_its_organization_is_exit_2_naming_the_missing_one() {
    let repo = TestRepo::new();
    repo.write("README.md", "# R\n");
    let head = repo.commit("R");
    for (given, missing) in [
        ("DOCSYNC_GITBOOK_SITE", "DOCSYNC_GITBOOK_ORGANIZATION"),
        ("DOCSYNC_GITBOOK_ORGANIZATION", "DOCSYNC_GITBOOK_SITE"),
    ] {
        let env =
            with(ci_env(Pipeline::Push { branch: "main", before: common::ZERO_SHA, sha: &head }), &[(given, "x1")]);
        let mut command = repo.docsync(&["plan"]);
        command.envs(&env);
        let run = run_to_end(command);
        run.assert_code(2);
        assert!(run.stderr.contains(&format!("{given} is set but {missing} is not")), "{}", run.context());
    }
}

/// Prism on the pinned spec checks docsync's listing request. Prism's own
/// example answer fails the spec (its generator ignores the branch's
/// `pattern` and the provider's `oneOf`), so Prism answers 500 naming only
/// violations of its response body: a violation of the request (path,
/// query, headers) would be a 422 naming the request. With no answer the
/// site's targets are unknown: exit 3, before any other request.
#[test]
fn prism_validates_the_listing_request() {
    let prism = common::prism::shared();
    let (repo, head) = repository();
    let env = site_env(&head, &prism.api_url(), "site_prism");
    let mut command = repo.docsync(&["plan", "--format", "json"]);
    command.envs(&env);
    let plan = run_to_end(command);
    let log = prism.log();
    let lines: Vec<&str> = log.lines().filter(|line| line.contains("/sites/site_prism/")).collect();
    assert!(
        lines.iter().any(|line| line.contains("get /orgs/org1/sites/site_prism/spaces/git/installations")),
        "Prism never logged the listing:\n{log}"
    );
    plan.assert_code(3);
    let (_, violations) = plan
        .stderr
        .split_once("answered 500 Internal Server Error: Request/Response not valid: ")
        .unwrap_or_else(|| panic!("not Prism's response violation: {}", plan.context()));
    let violations = violations.lines().next().unwrap_or_default();
    for violation in violations.split("; ") {
        assert!(violation.starts_with("Response body"), "a violation of the request: {violation}\n{}", plan.context());
    }
    assert!(plan.stderr.contains("cannot list the spaces of GitBook site site_prism"), "{}", plan.context());
}

/// A fan-out child job runs `sync --target NAME` for a target found in the
/// site: `--target` names discovered targets as well as configured ones,
/// and an unknown name lists both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_names_a_discovered_target() {
    let server = stand_in_site().await;
    let (repo, head) = repository();
    let env = site_env(&head, &format!("{}/v1", server.uri()), SITE);

    let plan = run(&repo, &env, &["plan", "--format", "json", "--target", "space-one", "--target", "handpicked"]).await;
    plan.assert_code(0);
    let names: Vec<String> = plan.json()["targets"]
        .as_array()
        .expect("targets is a list")
        .iter()
        .map(|t| t["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(names, ["handpicked", "space-one"], "{}", plan.context());

    let unknown = run(&repo, &env, &["plan", "--target", "no-such-space"]).await;
    unknown.assert_code(2);
    assert!(unknown.stderr.contains("--target"), "{}", unknown.context());
    assert!(unknown.stderr.contains("space-one") && unknown.stderr.contains("handpicked"), "{}", unknown.context());
}

/// Prism serving the installations endpoint from the pinned spec itself:
/// answers generated from GitBook's schemas (`--dynamic`, a fixed seed, so
/// the same answer every time), each installation with its access token.
/// docsync reads them all, keeps none (none is of this project), counts
/// only the space installations, and prints no access token.
#[test]
fn installations_generated_from_the_spec_are_read_and_their_tokens_never_printed() {
    let prism = common::prism::Prism::start_generating(&common::prism::gitbook_spec(), "2");
    let listing = {
        let answer = prism.get(&format!("/orgs/{ORGANIZATION}/sites/site_generated/spaces/git/installations"), TOKEN);
        let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
        assert!(head.starts_with("HTTP/1.1 200"), "Prism's answer:\n{answer}");
        serde_json::from_str::<Value>(body).unwrap_or_else(|e| panic!("not JSON ({e}):\n{answer}"))
    };
    let items = listing["items"].as_array().expect("items is a list");
    let spaces = items.iter().filter(|item| item["target"]["type"] == "space").count();
    let tokens: Vec<&str> =
        items.iter().filter_map(|item| item["providerConfiguration"]["accessToken"].as_str()).collect();
    assert!(spaces > 0 && !tokens.is_empty(), "the seed gives space installations with tokens: {listing:#}");
    assert!(
        items.iter().all(|item| item["providerConfiguration"]["projectId"] != json!(PROJECT_ID)),
        "no installation of this project: {listing:#}"
    );

    let (repo, head) = repository();
    let env = site_env(&head, &prism.api_url(), "site_generated");
    let mut command = repo.docsync(&["check"]);
    command.envs(&env);
    let check = run_to_end(command);
    check.assert_code(0);
    let counted = format!("GitBook site site_generated  {spaces} space installations found, 0 kept");
    assert!(check.stdout.contains(&counted), "expected {counted:?}\n{}", check.context());
    for token in tokens {
        for output in [&check.stdout, &check.stderr] {
            assert!(!output.contains(token), "the access token {token:?} was printed\n{}", check.context());
        }
    }
}
