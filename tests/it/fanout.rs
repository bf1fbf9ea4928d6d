//! Fan-out: `docsync pipeline` writes a GitLab child pipeline with one
//! `docsync sync --target NAME` job per target that acts, and the
//! component's `fan_out` input runs it (a generator job and a trigger job).
//!
//! The child pipeline is checked against GitLab's CI schema
//! (check-jsonschema `vendor.gitlab-ci`), and the whole parent pipeline —
//! generator, trigger, child jobs — runs in gitlab-ci-local (4.70.0, whose
//! downstream pipelines are "experimental": it runs the child pipeline from
//! the generator's artifact, but its trigger job passes whatever the child
//! jobs do, so the tests read each child job's own result) with the shell
//! executor against Prism on GitBook's published spec.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use common::prism;
use common::{Pipeline, TestRepo, ci_env, describe, peer, read_project_file, run_to_end, with};

const SPACES: usize = 300;
const GITBOOK_TOKEN: &str = "gbtok-fanout-secret-1234";

fn space_name(i: usize) -> String {
    format!("space-{i:03}")
}

/// A repository with `SPACES` spaces, one directory each, and a
/// docsync.toml with one GitBook target per space; then a commit that
/// changes the spaces `changed`. Returns the repository and the first
/// commit (the push's `before`).
fn spaces_repository(changed: &[usize]) -> (TestRepo, String) {
    let repo = TestRepo::new();
    let mut config = String::from("[defaults]\ngitbook_token_env = \"GITBOOK_TOKEN\"\n");
    for i in 0..SPACES {
        let name = space_name(i);
        repo.write(&format!("{name}/README.md"), &format!("# Space {i}\n"));
        config.push_str(&format!(
            "\n[[target]]\nname = \"{name}\"\nkind = \"gitbook\"\ngitbook_space = \"spc{i:03}\"\nproject_directory = \"{name}\"\n"
        ));
    }
    repo.write("docsync.toml", &config);
    repo.write("README.md", "# Site\n");
    let before = repo.commit("300 spaces");
    for i in changed {
        repo.write(&format!("{}/guide.md", space_name(*i)), "# Guide\n");
    }
    if changed.is_empty() {
        repo.write("README.md", "# Site, renamed\n");
    }
    repo.commit("Change some spaces");
    (repo, before)
}

/// `docsync pipeline` in a push pipeline of `repo`; the child pipeline it
/// wrote (as JSON: YAML's JSON subset) and where.
fn pipeline(repo: &TestRepo, before: &str, extra: &[&str]) -> (common::Run, Option<Value>, std::path::PathBuf) {
    let head = repo.head();
    let env = with(ci_env(Pipeline::Push { branch: "main", before, sha: &head }), &[("GITBOOK_TOKEN", GITBOOK_TOKEN)]);
    let file = repo.outside_dir("child").join("child-pipeline.yml");
    let file_arg = file.display().to_string();
    let mut args = vec!["pipeline", "--output", file_arg.as_str()];
    args.extend_from_slice(extra);
    let run = run_to_end({
        let mut command = repo.docsync(&args);
        command.envs(&env);
        command
    });
    let written = std::fs::read_to_string(&file).ok().map(|text| {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("the child pipeline is not JSON ({e}):\n{text}"))
    });
    (run, written, file)
}

fn job_names(pipeline: &Value) -> BTreeSet<String> {
    pipeline.as_object().expect("a mapping of jobs").keys().cloned().collect()
}

/// `check-jsonschema --builtin-schema vendor.gitlab-ci` on a file.
fn check_gitlab_ci_schema(file: &Path) -> Output {
    Command::new(peer("venv/bin/check-jsonschema"))
        .args(["--builtin-schema", "vendor.gitlab-ci"])
        .arg(file)
        .output()
        .expect("run check-jsonschema (scripts/install-peers)")
}

const CHANGED: [usize; 12] = [0, 7, 42, 99, 100, 123, 150, 199, 200, 256, 298, 299];

#[test]
fn twelve_changed_spaces_of_300_make_exactly_twelve_jobs_gitlab_accepts() {
    let (repo, before) = spaces_repository(&CHANGED);
    let (run, child, file) = pipeline(&repo, &before, &["--image", "registry.example.com/docsync:1.2.3"]);
    run.assert_code(0);
    let child = child.expect("the child pipeline was written");
    let expected: BTreeSet<String> = CHANGED.iter().map(|i| format!("sync {}", space_name(*i))).collect();
    assert_eq!(job_names(&child), expected, "{child:#}");
    assert!(run.stderr.contains("12 of 300 targets act"), "{}", run.context());

    let template_before_script = read_project_file("templates/docsync.yml")
        .lines()
        .find_map(|line| line.trim().strip_prefix("- for name in ").map(|rest| format!("for name in {rest}")))
        .expect("the component's before_script");
    for i in CHANGED {
        let name = space_name(i);
        let job = &child[format!("sync {name}")];
        assert_eq!(
            job["script"],
            serde_json::json!([format!("docsync sync --target {name} ${{DOCSYNC_INPUT_ARGS:-}}")])
        );
        assert_eq!(job["image"]["name"], "registry.example.com/docsync:1.2.3");
        assert_eq!(job["resource_group"], format!("docsync/spc{i:03}"));
        assert_eq!(job["environment"], serde_json::json!({"name": format!("docs/{name}"), "url": "$DOCSYNC_URL"}));
        assert_eq!(job["interruptible"], false, "a sync of the branch must finish once started");
        assert_eq!(
            job["retry"],
            serde_json::json!({"max": 2, "when": ["runner_system_failure", "stuck_or_timeout_failure", "scheduler_failure"]})
        );
        assert_eq!(job["allow_failure"], false, "exit 3 fails the job unless --allow-unreachable");
        assert_eq!(job["artifacts"]["reports"]["dotenv"], "docsync.env");
        assert_eq!(job["variables"]["DOCSYNC_REPORT"], "docsync.env");
        // The child jobs turn the forwarded inputs into settings as the
        // component's jobs do: the same line.
        assert_eq!(job["before_script"], serde_json::json!([template_before_script]), "{job:#}");
    }
    assert!(!std::fs::read_to_string(&file).unwrap().contains(GITBOOK_TOKEN));

    let output = check_gitlab_ci_schema(&file);
    assert!(output.status.success(), "the child pipeline does not validate: {}", describe(&output));

    // Unreachable allowed: exit code 3 only warns.
    let (run, child, _) = pipeline(&repo, &before, &["--allow-unreachable"]);
    run.assert_code(0);
    let child = child.unwrap();
    assert_eq!(child["sync space-000"]["allow_failure"], serde_json::json!({"exit_codes": [3]}));
    assert_eq!(
        child["sync space-000"]["image"]["name"],
        format!("registry.gitlab.com/docsync/docsync:{}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn fan_out_above_a_number_is_one_job_for_all_up_to_it() {
    let (repo, before) = spaces_repository(&CHANGED);
    let (run, child, file) = pipeline(&repo, &before, &["--fan-out", "12"]);
    run.assert_code(0);
    let child = child.unwrap();
    assert_eq!(job_names(&child), BTreeSet::from(["sync".to_owned()]), "{child:#}");
    let targets: String = CHANGED.iter().map(|i| format!(" --target {}", space_name(*i))).collect();
    assert_eq!(
        child["sync"]["script"],
        serde_json::json!([format!("docsync sync{targets} ${{DOCSYNC_INPUT_ARGS:-}}")])
    );
    // The trigger job deploys the environment; this job only reads it.
    assert_eq!(child["sync"]["environment"], serde_json::json!({"name": "docs", "action": "prepare"}));
    assert_eq!(child["sync"]["resource_group"], "docsync/docs");
    let output = check_gitlab_ci_schema(&file);
    assert!(output.status.success(), "{}", describe(&output));

    let (run, child, _) = pipeline(&repo, &before, &["--fan-out", "11", "--environment", "docs/site"]);
    run.assert_code(0);
    let child = child.unwrap();
    assert_eq!(job_names(&child).len(), 12, "{child:#}");
    assert_eq!(child["sync space-042"]["environment"]["name"], "docs/site/space-042");
}

#[test]
fn nothing_to_do_is_one_job_that_says_so() {
    let (repo, before) = spaces_repository(&[]);
    let (run, child, file) = pipeline(&repo, &before, &[]);
    run.assert_code(0);
    let child = child.unwrap();
    assert_eq!(job_names(&child), BTreeSet::from(["nothing to sync".to_owned()]), "{child:#}");
    let job = &child["nothing to sync"];
    assert!(job["script"][0].as_str().unwrap().contains("no target to sync"), "{job:#}");
    assert!(job.get("environment").is_none() && job.get("resource_group").is_none(), "{job:#}");
    let output = check_gitlab_ci_schema(&file);
    assert!(output.status.success(), "{}", describe(&output));
}

#[test]
fn bad_pipeline_flags_are_exit_2_naming_the_flag() {
    let repo = TestRepo::new();
    repo.write("docs/README.md", "# Docs\n");
    repo.write("docsync.toml", "[[target]]\nname = \"handbook\"\nkind = \"gitbook\"\ngitbook_space = \"spcH\"\ngitbook_token_env = \"GITBOOK_TOKEN\"\nproject_directory = \"docs\"\n\n[[target]]\nname = \"guides\"\nkind = \"gitbook\"\ngitbook_space = \"spcG\"\ngitbook_token_env = \"GITBOOK_TOKEN\"\nproject_directory = \"docs\"\n");
    let before = repo.commit("docs");
    repo.write("docs/guide.md", "# Guide\n");
    repo.commit("guide");
    for (args, source, words) in [
        (&["--target", "handbok"][..], "--target", &["handbok", "handbook, guides"][..]),
        (&["--fan-out", "sometimes"][..], "--fan-out", &["sometimes", "always"][..]),
        (&["--environment", "/docs"][..], "--environment", &["/docs"][..]),
        (&["--image", "registry.example.com/docsync 1.0"][..], "--image", &["image"][..]),
    ] {
        let (run, child, _) = pipeline(&repo, &before, args);
        run.assert_code(2);
        assert!(child.is_none(), "nothing is written on bad input");
        assert!(run.stderr.contains(source), "{args:?}: names {source}\n{}", run.context());
        for word in words {
            assert!(run.stderr.contains(word), "{args:?}: says {word}\n{}", run.context());
        }
    }
}

// ---------------------------------------------------------------------------
// The component's fan_out in gitlab-ci-local

const REMOTE_URL: &str = "https://gitlab.example.com/group/project.git";

/// Generator, trigger and child jobs of a push to main, in gitlab-ci-local
/// with the shell executor. Its `--variable`s do not reach a child
/// pipeline, so the job variables come from the project's
/// `.gitlab-ci-local-variables.yml`, which both read, and docsync from the
/// `PATH` gitlab-ci-local runs with.
#[test]
fn the_component_fans_out_one_child_job_per_changed_target_against_prism() {
    let prism = prism::shared();
    let repo = TestRepo::new();
    let mut config = String::from(
        "[defaults]\ngitbook_token_env = \"GITBOOK_TOKEN\"\n# Prism's example live revision is a commit no branch holds.\ngitbook_edits = \"overwrite\"\nwait = false\n",
    );
    config.push_str(&format!("gitbook_api_url = \"{}\"\n", prism.api_url()));
    for name in ["alpha", "beta", "gamma"] {
        repo.write(&format!("{name}/README.md"), &format!("# {name}\n"));
        config.push_str(&format!(
            "\n[[target]]\nname = \"{name}\"\nkind = \"gitbook\"\ngitbook_space = \"spc{name}\"\nproject_directory = \"{name}\"\n"
        ));
    }
    repo.write("docsync.toml", &config);
    repo.write("templates/docsync.yml", &read_project_file("templates/docsync.yml"));
    repo.write(
        ".gitlab-ci.yml",
        "include:\n  - local: templates/docsync.yml\n    inputs:\n      fan_out: always\n      args: --format json\n",
    );
    let before = repo.commit("three spaces");
    repo.write("alpha/guide.md", "# Guide\n");
    repo.write("beta/guide.md", "# Guide\n");
    repo.commit("Change alpha and beta");
    repo.git(&["remote", "add", "origin", REMOTE_URL]);
    repo.git(&["update-ref", "refs/remotes/origin/main", "HEAD"]);
    repo.git(&["symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main"]);

    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_docsync"), bin.path().join("docsync")).unwrap();
    let variables = format!(
        "GITLAB_CI: \"true\"\nNO_COLOR: \"1\"\nCI_COMMIT_BEFORE_SHA: \"{before}\"\nGITBOOK_TOKEN: \"{GITBOOK_TOKEN}\"\n"
    );
    repo.write(".gitlab-ci-local-variables.yml", &variables);
    std::fs::write(
        repo.path.join(".git/info/exclude"),
        ".gitlab-ci-local/\n.gitlab-ci-local-variables.yml\ndocsync*\n",
    )
    .unwrap();

    let output = repo
        .command(peer("npm/node_modules/.bin/gitlab-ci-local"))
        .args(["--no-color", "--max-job-name-padding", "0", "--force-shell-executor", "--shell-isolation"])
        .args(["--ignore-predefined-vars", "CI_PIPELINE_SOURCE,CI_COMMIT_BRANCH,CI_COMMIT_BEFORE_SHA,GITLAB_CI"])
        .args(["--variable", "CI_PIPELINE_SOURCE=push", "--variable", "CI_COMMIT_BRANCH=main"])
        // The shell executor's jobs, the children's too, find docsync here.
        .env("PATH", format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap_or_default()))
        .output()
        .expect("run gitlab-ci-local (scripts/install-peers)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let context = format!("{}\n--- prism\n{}", describe(&output), prism.log());
    let child = |job: &str| format!("[docsync-fan-out-trigger] -> {job}");
    for job in
        ["docsync-fan-out".to_owned(), "docsync-fan-out-trigger".to_owned(), child("sync alpha"), child("sync beta")]
    {
        assert!(stdout.contains(&format!("PASS  {job}")), "{job} did not pass: {context}");
    }
    assert!(!stdout.contains("sync gamma"), "gamma changed nothing: {context}");
    assert!(!stdout.contains("FAIL"), "{context}");
    assert!(!stdout.contains("docsync-sync"), "fan_out replaces the sync job: {context}");
    // Each child job imported its own space, and Prism found the requests
    // valid against GitBook's spec.
    assert_eq!(prism.log().matches("/spaces/spcalpha/git/import").count(), 1, "{context}");
    assert_eq!(prism.log().matches("/spaces/spcbeta/git/import").count(), 1, "{context}");
    assert!(!prism.log().contains("/spaces/spcgamma/"), "{context}");
    assert!(!context.contains(GITBOOK_TOKEN), "a secret leaked: {context}");
}
