//! The settings' symptoms of issue 21 part 1, each through the real binary:
//! a setting reaches every target it should, keys of the other kind of
//! target are refused, every message names the layer that really set the
//! value, and the edge values (empty flags, empty lists, `0s`, unknown
//! variables, a webhook URL twice) get the answer docs/settings.md gives.

use std::process::Output;

use serde_json::Value;

use crate::common::{self, Pipeline, TestRepo, ci_env};

/// A repository whose last commit changes `other.txt` only (`docs/a.md`
/// exists), with an `origin` so that plans show the requests they would
/// send, and `docsync.toml` as given (none when empty).
fn repo_with(config: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.write("docs/a.md", "# A\n");
    repo.write("other.txt", "one\n");
    repo.commit("Initial commit");
    repo.write("other.txt", "two\n");
    repo.commit("Change a file outside the docs");
    repo.git(&["remote", "add", "origin", "https://gitlab.example.com/group/project.git"]);
    if !config.is_empty() {
        repo.write("docsync.toml", config);
    }
    repo
}

fn run(repo: &TestRepo, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = repo.docsync(args);
    for (key, value) in vars {
        command.env(key, value);
    }
    command.output().expect("run docsync")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The plan's targets as (name, kind, the first request's URL).
fn planned(output: &Output) -> Vec<(String, String, String)> {
    assert_eq!(output.status.code(), Some(0), "{}", common::describe(output));
    let plan: Value = serde_json::from_slice(&output.stdout).expect("a JSON plan");
    plan["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|target| {
            let url = target["request"]["url"].as_str().or(target["url"].as_str()).unwrap_or_default();
            (
                target["name"].as_str().unwrap_or_default().to_owned(),
                target["kind"].as_str().unwrap_or_default().to_owned(),
                url.to_owned(),
            )
        })
        .collect()
}

fn refused(output: &Output, says: &[&str]) {
    assert_eq!(output.status.code(), Some(2), "{}", common::describe(output));
    let text = stderr(output);
    for part in says {
        assert!(text.contains(part), "stderr lacks {part:?}:\n{text}");
    }
}

const GITBOOK_TARGET: &str = "[[target]]\nname = \"handbook\"\nkind = \"gitbook\"\n";
const IMPORT_URL: &str = "https://api.gitbook.com/v1/spaces/spcFlag/git/import";

#[test]
fn the_space_flag_and_variable_fill_a_gitbook_target_that_names_none() {
    let repo = repo_with(GITBOOK_TARGET);
    let by_flag = planned(&run(&repo, &["--gitbook-space", "spcFlag", "plan", "--format", "json"], &[]));
    assert_eq!(by_flag, [("handbook".into(), "gitbook".into(), IMPORT_URL.into())]);
    let by_variable = planned(&run(&repo, &["plan", "--format", "json"], &[("DOCSYNC_GITBOOK_SPACE", "spcFlag")]));
    assert_eq!(by_variable, by_flag);

    // Over [defaults]: the flag wins, and makes no second target.
    let repo = repo_with(&format!("[defaults]\ngitbook_space = \"spcDefaults\"\n\n{GITBOOK_TARGET}"));
    let targets = planned(&run(&repo, &["--gitbook-space", "spcFlag", "plan", "--format", "json"], &[]));
    assert_eq!(targets, [("handbook".into(), "gitbook".into(), IMPORT_URL.into())]);
}

#[test]
fn the_webhook_url_flag_and_variable_fill_a_dot_target_that_names_none() {
    let dot = "[[target]]\nname = \"site\"\nkind = \"dot\"\npaths = [\"*.txt\"]\n";
    let repo = repo_with(dot);
    let url = "https://dot.example.com/hook";
    let by_variable = run(&repo, &["plan", "--format", "json"], &[("DOCSYNC_DOT_WEBHOOK_URL", url)]);
    let targets: Vec<(String, String)> = planned(&by_variable).into_iter().map(|(n, k, _)| (n, k)).collect();
    assert_eq!(targets, [("site".into(), "dot".into())]);

    let repo = repo_with(&format!("[defaults]\ndot_webhook_url = \"https://old.example.com/hook\"\n\n{dot}"));
    let by_flag = run(&repo, &["--dot-webhook-url", url, "plan", "--format", "json"], &[]);
    let targets: Vec<(String, String)> = planned(&by_flag).into_iter().map(|(n, k, _)| (n, k)).collect();
    assert_eq!(targets, [("site".into(), "dot".into())]);
}

#[test]
fn keys_of_the_other_kind_of_target_are_refused_with_their_line() {
    let repo = repo_with(
        "[[target]]\nname = \"site\"\nkind = \"dot\"\ndot_webhook_url = \"https://dot.example.com/hook\"\n\
         gitbook_space = \"spc1\"\ngitbook_token_env = \"UNSET\"\nwait_timeout = \"1s\"\nexport_branch = \"gb\"\n\
         direction = \"export\"\n\n\
         [[target]]\nname = \"handbook\"\nkind = \"gitbook\"\ngitbook_space = \"spc2\"\n\
         dot_webhook_url = \"https://dot.example.com/other\"\n",
    );
    let output = run(&repo, &["plan"], &[]);
    let dot_only = "only a GitBook target takes this key, and this target is kind = \"dot\"";
    refused(
        &output,
        &[
            &format!("docsync.toml: line 5, key `gitbook_space`: {dot_only}"),
            &format!("docsync.toml: line 6, key `gitbook_token_env`: {dot_only}"),
            &format!("docsync.toml: line 7, key `wait_timeout`: {dot_only}"),
            &format!("docsync.toml: line 8, key `export_branch`: {dot_only}"),
            &format!("docsync.toml: line 9, key `direction`: {dot_only}"),
            "docsync.toml: line 15, key `dot_webhook_url`: only a Dot target takes this key, and this target is kind = \"gitbook\"",
        ],
    );
}

#[test]
fn a_bad_value_is_named_by_the_layer_that_set_it() {
    let space = [("DOCSYNC_GITBOOK_SPACE", "spc1")];
    let repo = repo_with("");
    let output = run(&repo, &["--paths", "docs/[", "plan"], &space);
    refused(&output, &["--paths = \"docs/[\": not a valid glob"]);
    assert!(!stderr(&output).contains("DOCSYNC_PATHS"), "{}", stderr(&output));

    let repo = repo_with("[defaults]\npaths = [\"docs/[\"]\n");
    refused(&run(&repo, &["plan"], &space), &["docsync.toml: line 2, key `paths` = \"docs/[\": not a valid glob"]);

    // A plain-http webhook URL in a [[target]] with a secret: the target's
    // key is named, not the variable nobody set; the secret never shows.
    let repo =
        repo_with("[[target]]\nname = \"site\"\nkind = \"dot\"\ndot_webhook_url = \"http://dot.example.com/hook\"\n");
    let output = run(&repo, &["plan"], &[("DOCSYNC_DOT_WEBHOOK_SECRET", "dot-secret-value-1")]);
    refused(
        &output,
        &[
            "docsync.toml: line 4, target \"site\", key `dot_webhook_url` = \"http://dot.example.com/…\": plain http would send DOCSYNC_DOT_WEBHOOK_SECRET unencrypted",
        ],
    );
    assert!(!stderr(&output).contains("DOCSYNC_DOT_WEBHOOK_URL"), "{}", stderr(&output));
    assert!(!stderr(&output).contains("dot-secret-value-1"), "{}", stderr(&output));
}

/// `check` labels the GitLab token by the variable it came from, here the
/// one `[defaults] gitlab_token_env` names.
#[test]
fn check_names_the_gitlab_token_by_the_variable_the_file_names() {
    let repo = repo_with("[defaults]\ngitlab_token_env = \"MY_GITLAB_TOKEN\"\n");
    let output = run(&repo, &["check"], &[("MY_GITLAB_TOKEN", "glpat-check-label-0001")]);
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), stderr(&output));
    assert!(text.contains("MY_GITLAB_TOKEN"), "{text}");
    assert!(!text.contains("DOCSYNC_GITLAB_TOKEN"), "{text}");
    assert!(!text.contains("glpat-check-label-0001"), "{text}");
}

/// An empty flag is unset, like an empty variable: `--paths ""` leaves
/// `[defaults] paths` in force (the change outside `docs/` is skipped).
#[test]
fn an_empty_flag_counts_as_unset() {
    let repo = repo_with("[defaults]\npaths = [\"docs/**\"]\n");
    let space = [("DOCSYNC_GITBOOK_SPACE", "spc1")];
    let plan = |args: &[&str]| -> Value {
        let output = run(&repo, args, &space);
        assert_eq!(output.status.code(), Some(0), "{}", common::describe(&output));
        serde_json::from_slice(&output.stdout).expect("a JSON plan")
    };
    let with_empty_flag = plan(&["--paths", "", "plan", "--format", "json"]);
    let without = plan(&["plan", "--format", "json"]);
    assert_eq!(without["targets"][0]["action"], "skip", "{without:#}");
    assert_eq!(with_empty_flag["targets"][0]["action"], "skip", "{with_empty_flag:#}");
}

#[test]
fn an_empty_list_of_paths_is_refused() {
    let repo = repo_with(
        "[[target]]\nname = \"site\"\nkind = \"dot\"\ndot_webhook_url = \"https://dot.example.com/hook\"\npaths = []\n",
    );
    refused(
        &run(&repo, &["plan"], &[]),
        &["docsync.toml: line 5, target \"site\", key `paths`: an empty list of globs matches no file"],
    );
    let repo = repo_with("");
    refused(
        &run(&repo, &["plan"], &[("DOCSYNC_GITBOOK_SPACE", "spc1"), ("DOCSYNC_PATHS", " , ")]),
        &["DOCSYNC_PATHS: an empty list of globs matches no file"],
    );
}

#[test]
fn an_unknown_docsync_variable_is_a_warning_naming_the_nearest_setting() {
    let repo = repo_with("");
    let output = run(&repo, &["plan"], &[("DOCSYNC_GITBOOK_SPACE", "spc1"), ("DOCSYNC_WAIT_TIMOUT", "5m")]);
    assert_eq!(output.status.code(), Some(0), "{}", common::describe(&output));
    let text = stderr(&output);
    assert!(
        text.contains(
            "WARN DOCSYNC_WAIT_TIMOUT is no docsync setting and is ignored: did you mean DOCSYNC_WAIT_TIMEOUT?"
        ),
        "{text}"
    );
}

/// In CI the job's own instance is the one docsync talks to: another one
/// given is a warning (docs/settings.md says why not exit 2).
#[test]
fn another_gitlab_url_in_ci_is_a_warning() {
    let repo = repo_with("");
    let (base, head) = (repo.rev("HEAD~1"), repo.head());
    let mut env = ci_env(Pipeline::Push { branch: "main", before: &base, sha: &head });
    env.insert("CI_SERVER_URL".into(), "https://gitlab.example.com".into());
    env.insert("DOCSYNC_GITBOOK_SPACE".into(), "spc1".into());
    let mut command = repo.docsync(&["--gitlab-url", "https://other.example.com", "plan"]);
    command.envs(&env);
    let output = command.output().expect("run docsync");
    assert_eq!(output.status.code(), Some(0), "{}", common::describe(&output));
    let text = stderr(&output);
    assert!(
        text.contains("--gitlab-url (https://other.example.com/) is ignored in CI: the job talks to its own instance, CI_SERVER_URL (https://gitlab.example.com/)"),
        "{text}"
    );
}

#[test]
fn two_dot_targets_on_one_webhook_url_are_refused_naming_both() {
    let repo = repo_with(
        "[[target]]\nname = \"a\"\nkind = \"dot\"\ndot_webhook_url = \"https://dot.example.com/hook\"\n\n\
         [[target]]\nname = \"b\"\nkind = \"dot\"\ndot_webhook_url = \"https://dot.example.com/hook/\"\n",
    );
    let output = run(&repo, &["plan"], &[]);
    refused(
        &output,
        &[
            "docsync.toml: line 7, target \"b\", key `dot_webhook_url` = \"https://dot.example.com/…\"",
            "is also the URL of docsync.toml: line 2, target \"a\"",
        ],
    );
    // A webhook URL's path may be its secret: shown as everywhere, never whole.
    assert!(!stderr(&output).contains("/hook"), "{}", stderr(&output));
}

#[test]
fn a_zero_duration_must_be_more_than_zero() {
    let repo = repo_with("");
    refused(
        &run(&repo, &["plan"], &[("DOCSYNC_GITBOOK_SPACE", "spc1"), ("DOCSYNC_WAIT_TIMEOUT", "0s")]),
        &["DOCSYNC_WAIT_TIMEOUT = \"0s\": must be more than 0"],
    );
}

#[test]
fn toml_type_and_duplicate_key_errors_name_the_key_and_its_fix() {
    let repo = repo_with("[defaults]\nexport_mr = \"yes\"\n");
    refused(
        &run(&repo, &["plan"], &[]),
        &[
            "docsync.toml: line 2, key `export_mr`: not a boolean",
            "fix: write export_mr = true or export_mr = false, without quotes",
        ],
    );
    let repo = repo_with("[defaults]\npaths = [\"a/**\"]\npaths = [\"b/**\"]\n");
    refused(
        &run(&repo, &["plan"], &[]),
        &[
            "docsync.toml: line 3, key `paths`: the key is set twice in one table",
            "fix: keep one `paths` line in this table",
        ],
    );
}
