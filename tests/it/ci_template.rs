//! The GitLab CI/CD component (`templates/docsync.yml`) and the project's own
//! `.gitlab-ci.yml`, loaded by a real GitLab CI emulator.
//!
//! `gitlab-ci-local` (npm 4.70.0) loads a project that includes the
//! component with chosen `inputs`: the tests assert which jobs exist in each
//! kind of pipeline, what the rendered jobs look like (`--preview`), that bad
//! inputs are refused, and run the sync job with the shell executor (the
//! job's `image:` is ignored, the debug binary is on `PATH`) against Prism on
//! GitBook's published spec, checking that every input reaches docsync and
//! that the exit codes map as the inputs say. `check-jsonschema
//! --builtin-schema vendor.gitlab-ci` (PyPI; its schemas ship inside the
//! package, no network) validates `.gitlab-ci.yml` and the rendered
//! component, since it cannot read a component's `spec:` header itself.
//!
//! The README's three include examples (`component`, `project`, `remote`)
//! are run as written: the component and project includes from
//! gitlab-ci-local's include cache (it would fetch them from the GitLab
//! instance), the remote include over HTTP from a server on 127.0.0.1.
//!
//! Tools come from `scripts/install-peers`; a missing one fails the tests
//! with a message saying so.

use crate::common;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tempfile::TempDir;

use common::prism;
use common::{Env, TestRepo, describe, free_port, manifest_dir, peer, read_dotenv, read_project_file};

/// The project's `origin`: gitlab-ci-local derives `CI_SERVER_*`,
/// `CI_PROJECT_*` and the include cache paths from it.
const REMOTE_HOST: &str = "gitlab.example.com";
const REMOTE_URL: &str = "https://gitlab.example.com/group/project.git";
const GITBOOK_TOKEN: &str = "gbtok-ci-template-secret";
const GIT_TOKEN: &str = "gittok-ci-template-secret";

fn gitlab_ci_local() -> PathBuf {
    peer("npm/node_modules/.bin/gitlab-ci-local")
}

/// YAML to JSON with the `js-yaml` CLI that comes with gitlab-ci-local (the
/// crate has no YAML parser of its own).
fn yaml_to_json(yaml: &str) -> Value {
    let mut child = Command::new(peer("npm/node_modules/.bin/js-yaml"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run js-yaml (scripts/install-peers)");
    child.stdin.take().expect("js-yaml's stdin").write_all(yaml.as_bytes()).expect("write YAML to js-yaml");
    let output = child.wait_with_output().expect("wait for js-yaml");
    assert!(output.status.success(), "js-yaml could not parse:\n{yaml}\n{}", describe(&output));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("js-yaml printed no JSON ({e})"))
}

/// The component's two documents: the `spec:` header and the jobs.
fn component_documents() -> (Value, String) {
    let text = read_project_file("templates/docsync.yml");
    let (header, jobs) = text.split_once("\n---\n").expect("templates/docsync.yml has a spec header and ---");
    (yaml_to_json(header), jobs.to_owned())
}

// ---------------------------------------------------------------------------
// A project that includes the component

/// The kinds of pipeline, as the variables GitLab sets for them.
#[derive(Clone, Copy, Debug)]
enum Pipeline<'a> {
    Push(&'a str),
    Tag(&'a str),
    Manual(&'a str),
    /// A manual pipeline run on another branch than `main`.
    ManualOn(&'a str, &'a str),
    MergeRequest,
}

impl Pipeline<'_> {
    /// `(variables to set, variables to unset)`.
    fn variables(self) -> (Vec<(String, String)>, Vec<&'static str>) {
        let set = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        match self {
            Pipeline::Push(branch) => (
                set(&[("CI_PIPELINE_SOURCE", "push"), ("CI_COMMIT_BRANCH", branch), ("CI_COMMIT_REF_NAME", branch)]),
                vec![],
            ),
            Pipeline::Tag(tag) => (
                set(&[("CI_PIPELINE_SOURCE", "push"), ("CI_COMMIT_TAG", tag), ("CI_COMMIT_REF_NAME", tag)]),
                vec!["CI_COMMIT_BRANCH"],
            ),
            Pipeline::Manual(source) => (set(&[("CI_PIPELINE_SOURCE", source), ("CI_COMMIT_BRANCH", "main")]), vec![]),
            Pipeline::ManualOn(source, branch) => (
                set(&[("CI_PIPELINE_SOURCE", source), ("CI_COMMIT_BRANCH", branch), ("CI_COMMIT_REF_NAME", branch)]),
                vec![],
            ),
            Pipeline::MergeRequest => (
                set(&[
                    ("CI_PIPELINE_SOURCE", "merge_request_event"),
                    ("CI_MERGE_REQUEST_IID", "7"),
                    ("CI_COMMIT_REF_NAME", "feature"),
                ]),
                vec!["CI_COMMIT_BRANCH"],
            ),
        }
    }
}

/// Every predefined variable a test overrides (gitlab-ci-local warns about
/// each otherwise).
const OVERRIDDEN: &str = "CI_PIPELINE_SOURCE,CI_COMMIT_BRANCH,CI_COMMIT_REF_NAME,CI_COMMIT_TAG,\
CI_MERGE_REQUEST_IID,CI_COMMIT_BEFORE_SHA,GITLAB_CI";

struct Project {
    repo: TestRepo,
    /// The commit before the docs change (`CI_COMMIT_BEFORE_SHA` of a push).
    before: String,
    /// The pipeline files gitlab-ci-local last validated against GitLab's
    /// CI schema and found valid (see `gitlab_ci_local`).
    schema_valid: RefCell<Option<String>>,
}

impl Project {
    /// A repository with the component at `templates/docsync.yml`, the given
    /// `.gitlab-ci.yml`, and a second commit that changes the docs.
    fn new(gitlab_ci: &str) -> Project {
        let repo = TestRepo::new();
        repo.write("README.md", "# Project\n");
        repo.write("src/lib.rs", "");
        repo.write("docs/README.md", "# Handbook\n");
        repo.write("templates/docsync.yml", &read_project_file("templates/docsync.yml"));
        repo.write(".gitlab-ci.yml", gitlab_ci);
        let before = repo.commit("initial");
        repo.write("docs/guide.md", "# Guide\n");
        repo.commit("docs: add a guide");
        repo.git(&["remote", "add", "origin", REMOTE_URL]);
        // What a clone has: origin/main and origin/HEAD pointing at it.
        repo.git(&["update-ref", "refs/remotes/origin/main", "HEAD"]);
        repo.git(&["symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main"]);
        std::fs::write(repo.path.join(".git/info/exclude"), ".gitlab-ci-local/\ndocsync.env\n")
            .expect("ignore gitlab-ci-local's state");
        Project { repo, before, schema_valid: RefCell::new(None) }
    }

    /// Runs gitlab-ci-local in the project. Its check of the pipeline
    /// against GitLab's CI schema takes most of a second of each run, and
    /// its verdict depends only on the pipeline files: it runs on the first
    /// call, and again whenever they changed since the last valid check.
    fn gitlab_ci_local(&self, args: &[&str]) -> Output {
        let files = self.pipeline_files();
        let checked = self.schema_valid.borrow().as_ref() == Some(&files);
        let output = self
            .repo
            .command(gitlab_ci_local())
            .args(["--no-color", "--max-job-name-padding", "0", "--ignore-predefined-vars", OVERRIDDEN])
            .arg(format!("--json-schema-validation={}", !checked))
            .args(args)
            .output()
            .expect("run gitlab-ci-local");
        if !checked && output.status.success() {
            *self.schema_valid.borrow_mut() = Some(files);
        }
        output
    }

    /// `.gitlab-ci.yml` and the component it includes, as they are now.
    fn pipeline_files(&self) -> String {
        [".gitlab-ci.yml", "templates/docsync.yml"]
            .map(|file| std::fs::read_to_string(self.repo.path.join(file)).unwrap_or_default())
            .join("\n---\n")
    }

    fn pipeline_args(pipeline: Pipeline<'_>) -> Vec<String> {
        let (set, unset) = pipeline.variables();
        let mut args = Vec::new();
        for (key, value) in set {
            args.push("--variable".to_owned());
            args.push(format!("{key}={value}"));
        }
        for key in unset {
            args.push("--unset-variable".to_owned());
            args.push(key.to_owned());
        }
        args
    }

    /// `--list-json`: every job, with `when` and `allow_failure`.
    fn job_list(&self, pipeline: Pipeline<'_>) -> Vec<Value> {
        let mut args = vec!["--list-json".to_owned()];
        args.extend(Self::pipeline_args(pipeline));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = self.gitlab_ci_local(&args);
        assert!(output.status.success(), "gitlab-ci-local --list-json ({pipeline:?}): {}", describe(&output));
        match serde_json::from_slice(&output.stdout) {
            Ok(Value::Array(jobs)) => jobs,
            other => panic!("gitlab-ci-local --list-json printed no job list ({other:?}): {}", describe(&output)),
        }
    }

    /// The jobs that run in this pipeline (`when` is not `never`).
    fn jobs(&self, pipeline: Pipeline<'_>) -> BTreeSet<String> {
        self.job_list(pipeline)
            .iter()
            .filter(|job| job["when"] != "never")
            .map(|job| job["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// `--preview`: the pipeline with includes, inputs and `extends`
    /// resolved, as YAML.
    fn preview_yaml(&self) -> String {
        let output = self.gitlab_ci_local(&["--preview"]);
        assert!(output.status.success(), "gitlab-ci-local --preview: {}", describe(&output));
        String::from_utf8(output.stdout).expect("gitlab-ci-local prints UTF-8")
    }

    fn preview(&self) -> Value {
        yaml_to_json(&self.preview_yaml())
    }
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

const ONE_TARGET: &str = r#"
include:
  - local: templates/docsync.yml
    inputs:
      gitbook_space: spcCiLocal
      project_directory: docs
"#;

#[test]
fn jobs_exist_for_sync_branch_pushes_manual_pipelines_and_merge_requests() {
    let project = Project::new(ONE_TARGET);
    let sync = names(&["docsync-sync"]);
    let preview = names(&["docsync-preview"]);
    let none = BTreeSet::new();

    assert_eq!(project.jobs(Pipeline::Push("main")), sync, "push to the sync branch (the default branch)");
    assert_eq!(project.jobs(Pipeline::Push("feature")), none, "push to another branch");
    assert_eq!(project.jobs(Pipeline::Tag("1.0.0")), none, "tag pipeline");
    for source in ["web", "api", "trigger"] {
        assert_eq!(project.jobs(Pipeline::Manual(source)), sync, "{source} pipeline");
    }
    assert_eq!(project.jobs(Pipeline::Manual("schedule")), none, "scheduled pipelines do not sync");
    assert_eq!(project.jobs(Pipeline::MergeRequest), preview, "merge request pipeline");
    // Off the sync branch a manual pipeline never deploys: docsync refuses
    // the import there, naming the branch to run it on.
    let manual = names(&["docsync-manual"]);
    for source in ["web", "api", "trigger"] {
        assert_eq!(project.jobs(Pipeline::ManualOn(source, "feature")), manual, "{source} pipeline on feature");
    }
}

/// `fan_out` other than `never`: the sync job's pipelines get the generator
/// and the trigger job instead (tests/it/fanout.rs runs them).
#[test]
fn fan_out_replaces_the_sync_job_by_a_generator_and_a_trigger() {
    for fan_out in ["always", "10"] {
        let project =
            Project::new(&format!("{ONE_TARGET}      fan_out: \"{fan_out}\"\n      environment: docs/site\n"));
        let fan = names(&["docsync-fan-out", "docsync-fan-out-trigger"]);
        assert_eq!(project.jobs(Pipeline::Push("main")), fan, "push to the sync branch, fan_out {fan_out}");
        assert_eq!(project.jobs(Pipeline::Push("feature")), BTreeSet::new(), "push to another branch");
        assert_eq!(project.jobs(Pipeline::Manual("web")), fan, "web pipeline");
        assert_eq!(project.jobs(Pipeline::MergeRequest), names(&["docsync-preview"]), "previews stay one job");
        assert_eq!(project.jobs(Pipeline::ManualOn("web", "feature")), names(&["docsync-manual"]));

        let pipeline = project.preview();
        let generator = &pipeline["docsync-fan-out"];
        let script = generator["script"][0].as_str().expect("the generator's script");
        assert!(script.starts_with("docsync pipeline --output docsync-child-pipeline.yml"), "{script}");
        assert!(
            script.contains(&format!("--fan-out \"{fan_out}\"")) && script.contains("--environment \"docs/site\""),
            "{script}"
        );
        assert_eq!(generator["environment"], serde_json::json!({"name": "docs/site", "action": "prepare"}));
        assert_eq!(generator["artifacts"]["paths"], serde_json::json!(["docsync-child-pipeline.yml"]));
        let trigger = &pipeline["docsync-fan-out-trigger"];
        assert_eq!(
            trigger["trigger"],
            serde_json::json!({"include": [{"artifact": "docsync-child-pipeline.yml", "job": "docsync-fan-out"}], "strategy": "depend"})
        );
        // The watermark moves when every child job passed, as with one job.
        assert_eq!(trigger["environment"], serde_json::json!({"name": "docs/site", "action": "start"}));
        assert_eq!(trigger["resource_group"], "docsync/docs/site");
        assert_eq!(trigger["variables"]["DOCSYNC_INPUT_GITBOOK_SPACE"], "spcCiLocal", "inputs reach the child jobs");
        for keyword in ["script", "image", "artifacts", "before_script"] {
            assert!(trigger.get(keyword).is_none(), "a trigger job has no {keyword}: {trigger:#}");
        }

        let rendered = project.repo.outside_dir("rendered").join("pipeline.yml");
        std::fs::write(&rendered, project.preview_yaml()).expect("write the rendered pipeline");
        let output = check_gitlab_ci_schema(&rendered);
        assert!(output.status.success(), "the rendered fan-out does not validate: {}", describe(&output));
    }
}

#[test]
fn only_imports_of_the_sync_branch_deploy() {
    let export = Project::new(
        "include:\n  - local: templates/docsync.yml\n    inputs:\n      gitbook_space: spcCiLocal\n      direction: export\n",
    );
    let manual = names(&["docsync-manual"]);
    assert_eq!(export.jobs(Pipeline::Manual("web")), manual, "exports from the sync branch do not deploy");
    assert_eq!(export.jobs(Pipeline::ManualOn("web", "feature")), manual, "exports work from any branch");
    assert_eq!(export.jobs(Pipeline::Push("main")), names(&["docsync-sync"]), "pushes still import");

    let pipeline = export.preview();
    assert_eq!(pipeline["docsync-sync"]["environment"]["name"], "docs");
    for job in ["docsync-manual", "docsync-preview"] {
        assert!(pipeline[job].get("environment").is_none(), "{job} must record no deployment: {:#}", pipeline[job]);
    }
    assert_eq!(pipeline["docsync-manual"]["variables"]["DOCSYNC_INPUT_DIRECTION"], "export");
    assert_eq!(pipeline["docsync-manual"]["resource_group"], pipeline["docsync-sync"]["resource_group"]);
}

#[test]
fn branch_previews_prefix_and_exit_code_inputs_shape_the_jobs() {
    // The monorepo way without docsync.toml: the component once per target.
    let project = Project::new(
        r#"
include:
  - local: templates/docsync.yml
    inputs:
      job_prefix: handbook-
      gitbook_space: spcHandbook
      project_directory: docs
      branch: docs-live
      environment: docs/handbook
      allow_unreachable: true
  - local: templates/docsync.yml
    inputs:
      job_prefix: api-
      dot_webhook_url: https://dot.example.invalid/hooks/gitlab
      project_directory: api
      previews: false
      environment: docs/api
      stage: test
"#,
    );
    assert_eq!(project.jobs(Pipeline::Push("main")), names(&["api-sync"]), "handbook syncs from docs-live only");
    assert_eq!(project.jobs(Pipeline::Push("docs-live")), names(&["handbook-sync"]));
    assert_eq!(
        project.jobs(Pipeline::Manual("web")),
        names(&["api-sync", "handbook-manual"]),
        "handbook imports docs-live"
    );
    assert_eq!(project.jobs(Pipeline::ManualOn("web", "docs-live")), names(&["api-manual", "handbook-sync"]));
    assert_eq!(project.jobs(Pipeline::MergeRequest), names(&["handbook-preview"]), "previews off for api");

    let list = project.job_list(Pipeline::ManualOn("web", "docs-live"));
    let job = |name: &str| list.iter().find(|j| j["name"] == name).cloned().unwrap_or_else(|| panic!("no {name}"));
    assert_eq!(job("handbook-sync")["allow_failure"], serde_json::json!({"exit_codes": [3]}));
    assert_eq!(job("api-sync")["allow_failure"], false);
    assert_eq!(job("api-sync")["stage"], "test");
    assert_eq!(job("handbook-sync")["stage"], "deploy");

    let pipeline = project.preview();
    let handbook = &pipeline["handbook-sync"];
    let api = &pipeline["api-sync"];
    assert_eq!(handbook["environment"]["name"], "docs/handbook");
    assert_eq!(api["environment"]["name"], "docs/api");
    assert_ne!(handbook["resource_group"], api["resource_group"], "one resource group per target");
    assert_eq!(handbook["variables"]["DOCSYNC_INPUT_GITBOOK_SPACE"], "spcHandbook");
    assert_eq!(handbook["variables"]["DOCSYNC_INPUT_BRANCH"], "docs-live");
    assert_eq!(api["variables"]["DOCSYNC_INPUT_DOT_WEBHOOK_URL"], "https://dot.example.invalid/hooks/gitlab");
    assert_eq!(api["variables"]["DOCSYNC_INPUT_GITBOOK_SPACE"], "");
    assert_eq!(api["variables"]["DOCSYNC_INPUT_PREVIEWS"], "false");
    assert!(handbook["variables"].get("DOCSYNC_INPUT_PREVIEWS").is_none(), "an input left at its default sets nothing");
}

/// The jobs' rules decide the sync branch and the direction from the
/// values docsync reads: the input, else the pipeline's `DOCSYNC_BRANCH` /
/// `DOCSYNC_DIRECTION` (top-level or project variables, which `rules:if`
/// sees: https://docs.gitlab.com/ci/jobs/job_rules/#cicd-variable-expressions),
/// else the default branch and `import`.
#[test]
fn job_rules_follow_the_branch_and_direction_variables_when_the_inputs_are_left_alone() {
    let include = "include:\n  - local: templates/docsync.yml\n    inputs:\n      gitbook_space: spcCiLocal\n";
    let (sync, manual, none) = (names(&["docsync-sync"]), names(&["docsync-manual"]), BTreeSet::new());

    let project = Project::new(&format!("variables:\n  DOCSYNC_BRANCH: docs-live\n\n{include}"));
    assert_eq!(project.jobs(Pipeline::Push("docs-live")), sync, "pushes to DOCSYNC_BRANCH sync");
    assert_eq!(project.jobs(Pipeline::Push("main")), none, "the default branch is not the sync branch");
    assert_eq!(project.jobs(Pipeline::ManualOn("web", "docs-live")), sync);
    assert_eq!(project.jobs(Pipeline::Manual("web")), manual, "a manual import on main deploys nothing");

    // The input beats the variable, as it does for docsync.
    let project = Project::new(&format!("variables:\n  DOCSYNC_BRANCH: docs-live\n\n{include}      branch: main\n"));
    assert_eq!(project.jobs(Pipeline::Push("main")), sync);
    assert_eq!(project.jobs(Pipeline::Push("docs-live")), none);

    let project = Project::new(&format!("variables:\n  DOCSYNC_DIRECTION: export\n\n{include}"));
    assert_eq!(project.jobs(Pipeline::Manual("web")), manual, "exports deploy nothing");
    assert_eq!(project.jobs(Pipeline::Push("main")), sync, "pushes still import");
    let project = Project::new(&format!("variables:\n  DOCSYNC_DIRECTION: import\n\n{include}"));
    assert_eq!(project.jobs(Pipeline::Manual("web")), sync);
}

#[test]
fn rendered_jobs_keep_the_component_contract() {
    let project = Project::new(ONE_TARGET);
    let pipeline = project.preview();
    let sync = &pipeline["docsync-sync"];
    let preview = &pipeline["docsync-preview"];

    let version = env!("CARGO_PKG_VERSION");
    for job in [sync, preview] {
        assert_eq!(job["image"]["name"], format!("registry.gitlab.com/docsync/docsync:{version}"), "{job:#}");
        assert!(job["image"].get("entrypoint").is_none(), "the image needs no entrypoint override: {job:#}");
        assert_eq!(job["artifacts"]["reports"]["dotenv"], "docsync.env", "{job:#}");
        assert_eq!(job["variables"]["DOCSYNC_REPORT"], "docsync.env", "{job:#}");
        let script = job["script"].as_array().expect("a script");
        assert_eq!(script.last(), Some(&Value::from("docsync sync ${DOCSYNC_INPUT_DRY_RUN:+--dry-run} ")), "{job:#}");
        // A job variable hides the pipeline's own variable of that name: the
        // component declares none of docsync's settings but where its
        // artifacts read the reports, and that it is the component.
        for name in job["variables"].as_object().expect("job variables").keys() {
            let declared = !name.starts_with("DOCSYNC_") || name.starts_with("DOCSYNC_INPUT_");
            let own = ["DOCSYNC_REPORT", "DOCSYNC_CODEQUALITY", "DOCSYNC_COMPONENT"];
            assert!(declared || own.contains(&name.as_str()), "{name}: {job:#}");
        }
        // Secrets come from masked CI/CD variables only, never from the
        // pipeline configuration.
        let variables = job["variables"].as_object().expect("job variables");
        for name in variables.keys() {
            assert!(!name.contains("TOKEN") && !name.contains("SECRET"), "{name} is set by the component");
        }
    }
    assert_eq!(sync["interruptible"], false);
    assert_eq!(preview["interruptible"], true);
    assert_eq!(sync["resource_group"], "docsync/docs");
    // The URL of the docs the job changed, from its dotenv report.
    assert_eq!(sync["environment"], serde_json::json!({"name": "docs", "url": "$DOCSYNC_URL", "action": "start"}));
    for job in [sync, preview] {
        assert_eq!(job["artifacts"]["paths"], serde_json::json!(["docsync.json"]), "the JSON report is kept: {job:#}");
    }
    assert!(preview.get("environment").is_none() && preview.get("resource_group").is_none(), "{preview:#}");
    assert!(pipeline["docsync-manual"].get("environment").is_none(), "{:#}", pipeline["docsync-manual"]);

    // Every input travels as DOCSYNC_INPUT_<NAME>, which the script turns
    // into docsync's variable only when it is not empty; booleans and
    // options left at their default are not even carried.
    let expected = [
        ("DOCSYNC_INPUT_GITBOOK_SPACE", "spcCiLocal"),
        ("DOCSYNC_INPUT_GITBOOK_API_URL", ""),
        ("DOCSYNC_INPUT_DOT_WEBHOOK_URL", ""),
        ("DOCSYNC_INPUT_PROJECT_DIRECTORY", "docs"),
        ("DOCSYNC_INPUT_PATHS", ""),
        ("DOCSYNC_INPUT_IGNORE", ""),
        ("DOCSYNC_INPUT_BRANCH", ""),
        ("DOCSYNC_INPUT_EXPORT_BRANCH", ""),
        ("DOCSYNC_INPUT_WAIT_TIMEOUT", ""),
        ("DOCSYNC_INPUT_CONFIG", ""),
        ("DOCSYNC_INPUT_LINT", ""),
        ("DOCSYNC_INPUT_ARGS", ""),
        ("DOCSYNC_REPORT", "docsync.env"),
        ("DOCSYNC_COMPONENT", "true"),
    ];
    let variables: BTreeMap<String, Value> =
        sync["variables"].as_object().expect("variables").iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let expected: BTreeMap<String, Value> = expected.iter().map(|(k, v)| ((*k).to_owned(), Value::from(*v))).collect();
    assert_eq!(variables, expected);
}

#[test]
fn spec_inputs_are_typed_and_documented() {
    let (header, jobs) = component_documents();
    let inputs = header["spec"]["inputs"].as_object().expect("spec:inputs");
    let reference = read_project_file("docs/component.md");
    for (name, input) in inputs {
        assert!(input["description"].as_str().is_some_and(|d| d.len() > 10), "input {name} has no description");
        assert!(input.get("default").is_some(), "input {name} has no default: the component must work with none");
        let kind = input["type"].as_str().unwrap_or("string");
        let default_kind = match &input["default"] {
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::Array(_) => "array",
            _ => "string",
        };
        assert_eq!(kind, default_kind, "input {name}: default of the wrong type");
        assert!(jobs.contains(&format!("$[[ inputs.{name} ]]")), "input {name} is never used");
        assert!(!name.contains("token") && !name.contains("secret"), "secrets must not be inputs: {name}");
        assert!(reference.contains(&format!("| `{name}` |")), "docs/component.md's input table lacks `{name}`");
    }
    // Every input carried as DOCSYNC_INPUT_<NAME> is exported by the script.
    let export_loop = jobs.lines().find_map(|l| l.split_once("- for name in ")).expect("the script's export loop").1;
    let exported: BTreeSet<&str> = export_loop.split(';').next().unwrap_or_default().split_whitespace().collect();
    for carried in jobs.split("DOCSYNC_INPUT_").skip(1) {
        let name: String = carried.chars().take_while(|c| c.is_ascii_uppercase() || *c == '_').collect();
        if name.is_empty() {
            continue; // `DOCSYNC_INPUT_$name` in the loop itself
        }
        let flag = jobs.contains(&format!("${{DOCSYNC_INPUT_{name}:+--"));
        // `args` reaches the fan-out's child jobs, whose script (written by
        // `docsync pipeline`, checked in tests/it/fanout.rs) appends it.
        let child_args = name == "ARGS";
        assert!(
            exported.contains(name.as_str()) || flag || child_args,
            "DOCSYNC_INPUT_{name} is never used: {export_loop}"
        );
    }
    assert_eq!(inputs["direction"]["options"], serde_json::json!(["import", "export"]));
    assert_eq!(
        inputs["version"]["default"],
        env!("CARGO_PKG_VERSION"),
        "the component's default image version must be this crate's version"
    );
    assert_ne!(inputs["version"]["default"], "latest");
}

#[test]
fn invalid_inputs_are_refused() {
    for (inputs, complaint) in [
        ("direction: sideways", "not in the list of allowed options"),
        ("previews: \"no\"", "provided value is not a boolean"),
        ("gitbook_spcae: spcTypo", ""),
    ] {
        let project = Project::new(&format!(
            "include:\n  - local: templates/docsync.yml\n    inputs:\n      gitbook_space: spcCiLocal\n      {inputs}\n"
        ));
        let output = project.gitlab_ci_local(&["--list"]);
        if complaint.is_empty() {
            // GitLab refuses unknown inputs; gitlab-ci-local 4.70.0 ignores
            // them. Documented here so a newer release that checks them shows up.
            assert!(output.status.success(), "{}", describe(&output));
            continue;
        }
        assert!(!output.status.success(), "gitlab-ci-local accepted `{inputs}`: {}", describe(&output));
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(text.contains(complaint), "`{inputs}` refused without saying `{complaint}`: {text}");
    }
}

// ---------------------------------------------------------------------------
// Running the sync job against Prism

/// A directory holding only the debug docsync binary, for the job's `PATH`.
fn docsync_on_path() -> (TempDir, String) {
    let dir = tempfile::tempdir().expect("a directory for PATH");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_docsync"), dir.path().join("docsync")).expect("link docsync");
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", dir.path().display());
    (dir, path)
}

impl Project {
    /// Runs one job of a push to `main` with the shell executor: the job's
    /// image is ignored and docsync comes from `PATH`. GitLab sets
    /// `GITLAB_CI=true` and `CI_COMMIT_BEFORE_SHA`, gitlab-ci-local does not;
    /// the secrets are what masked CI/CD variables would give the job.
    fn run_job(&self, job: &str, extra: &[(&str, &str)]) -> Output {
        self.run_job_in(Pipeline::Push("main"), job, extra)
    }

    fn run_job_in(&self, pipeline: Pipeline<'_>, job: &str, extra: &[(&str, &str)]) -> Output {
        let (_bin, path) = docsync_on_path();
        let mut args: Vec<String> = vec!["--force-shell-executor".into(), "--shell-isolation".into()];
        let mut variables = vec![
            ("PATH".to_owned(), path),
            ("GITLAB_CI".to_owned(), "true".to_owned()),
            ("CI_COMMIT_BEFORE_SHA".to_owned(), self.before.clone()),
            ("NO_COLOR".to_owned(), "1".to_owned()),
            ("DOCSYNC_GITBOOK_TOKEN".to_owned(), GITBOOK_TOKEN.to_owned()),
            ("DOCSYNC_GIT_TOKEN".to_owned(), GIT_TOKEN.to_owned()),
        ];
        variables.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        for (key, value) in variables {
            args.push("--variable".into());
            args.push(format!("{key}={value}"));
        }
        args.extend(Self::pipeline_args(pipeline));
        args.push(job.into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.gitlab_ci_local(&args)
    }

    fn state_file(&self, relative: &str) -> String {
        let path = self.repo.path.join(".gitlab-ci-local").join(relative);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// The sync job's dotenv report, as gitlab-ci-local kept the artifact.
    fn sync_report(&self) -> Env {
        read_dotenv(
            &self.repo.path.join(".gitlab-ci-local/artifacts/docsync-sync/.gitlab-ci-reports/dotenv/docsync.env"),
        )
    }
}

#[test]
fn sync_job_runs_docsync_with_the_inputs_against_the_gitbook_stand_in() {
    let prism = prism::shared();
    let project = Project::new(&format!(
        r#"
include:
  - local: templates/docsync.yml
    inputs:
      gitbook_space: spcCiLocal
      gitbook_api_url: {api}
      project_directory: docs
      paths: "*.md"
      wait: false
      environment: docs/handbook
      args: --format json
"#,
        api = prism.api_url()
    ));
    // Prism's example live revision names a commit no branch holds: the
    // import goes ahead only with gitbook_edits = overwrite.
    let output = project.run_job("docsync-sync", &[("DOCSYNC_GITBOOK_EDITS", "overwrite")]);
    let job_log = project.state_file("output/docsync-sync.log");
    let context = format!("{}\n--- job log\n{job_log}\n--- prism\n{}", describe(&output), prism.log());
    assert!(output.status.success(), "the sync job failed: {context}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("PASS  docsync-sync"), "{context}");

    // The request docsync reports, built from the inputs.
    assert!(job_log.contains(&format!("\"url\": \"{}/spaces/spcCiLocal/git/import\"", prism.api_url())), "{context}");
    assert!(job_log.contains("\"repoProjectDirectory\": \"docs\""), "{context}");
    assert!(job_log.contains("\"ref\": \"refs/heads/main\""), "{context}");
    // The environment input is docsync's watermark.
    assert!(job_log.contains("docs/handbook"), "the environment name did not reach docsync: {context}");
    // Prism received it and found it valid against GitBook's spec (it
    // answers 422 otherwise, which fails the job).
    assert!(prism.log().contains("/spaces/spcCiLocal/git/import"), "{context}");

    let report = project.sync_report();
    let get = |key: &str| report.get(key).map(String::as_str);
    assert_eq!(get("DOCSYNC_STATUS"), Some("synced"), "{report:?}");
    assert_eq!(get("DOCSYNC_RANGE_MODE"), Some("push"), "{report:?}");
    assert_eq!(get("DOCSYNC_RANGE_BASE"), Some(project.before.as_str()), "{report:?}");
    assert_eq!(get("DOCSYNC_FAILED"), Some(""), "{report:?}");
    // Each target's detail is in the JSON report the job keeps.
    let detail: serde_json::Value =
        serde_json::from_str(&project.state_file("artifacts/docsync-sync/docsync.json")).expect("the JSON report");
    let target = &detail["targets"][0];
    assert_eq!((&target["action"], &target["changed"]), (&"import".into(), &1.into()), "{detail:#}");
    assert_eq!(target["outcome"]["status"], "queued", "wait: false must reach docsync: {detail:#}");

    for secret in [GITBOOK_TOKEN, GIT_TOKEN] {
        assert!(!context.contains(secret), "a secret leaked into the job's output: {context}");
    }
}

/// The `ignore` input reaches docsync as `DOCSYNC_IGNORE`: a draft with a
/// broken link, new in the push, stops the import without it and not with it.
#[test]
fn the_ignore_input_keeps_drafts_out_of_the_pre_flight() {
    let prism = prism::shared();
    let imports = || prism.log().matches("/spaces/spcIgnore/git/import").count();
    for (ignore, imported) in [("", false), ("      ignore: \"drafts/**\"\n", true)] {
        let project = Project::new(&format!(
            "include:\n  - local: templates/docsync.yml\n    inputs:\n      gitbook_space: spcIgnore\n      gitbook_api_url: {api}\n      project_directory: docs\n      wait: false\n      args: --format json\n{ignore}",
            api = prism.api_url()
        ));
        project.repo.write("docs/drafts/wip.md", "# Work in progress\n\nSee [the plan](plan.md).\n");
        project.repo.commit("docs: a draft");
        project.repo.git(&["update-ref", "refs/remotes/origin/main", "HEAD"]);
        let before = imports();
        let output = project.run_job("docsync-sync", &[("DOCSYNC_GITBOOK_EDITS", "overwrite")]);
        let job_log = project.state_file("output/docsync-sync.log");
        let context = format!("{}\n--- job log\n{job_log}\n--- prism\n{}", describe(&output), prism.log());
        assert_eq!(output.status.success(), imported, "ignore input {ignore:?}: {context}");
        assert_eq!(imports() - before, usize::from(imported), "ignore input {ignore:?}: {context}");
        assert_eq!(job_log.contains("\"rule\": \"broken-link\""), !imported, "ignore input {ignore:?}: {context}");
    }
}

/// docs/component.md's one-job monorepo setup: the component with its inputs left
/// alone, the settings in docsync.toml's [defaults]. What the file sets is
/// what the job does.
#[test]
fn docsync_toml_defaults_beat_component_inputs_left_at_their_default() {
    let prism = prism::shared();
    let project = Project::new(
        "include:\n  - local: templates/docsync.yml\n    inputs:\n      gitbook_space: spcTomlDefaults\n      args: --format json\n",
    );
    project.repo.write(
        "docsync.toml",
        &format!(
            "[defaults]\ngitbook_api_url = \"{api}\"\nproject_directory = \"docs\"\nwait = false\nwait_timeout = \"1m\"\npreviews = false\nexport_mr = true\ngitbook_edits = \"overwrite\"\n",
            api = prism.api_url()
        ),
    );
    project.repo.commit("Configure docsync in docsync.toml");

    let output = project.run_job("docsync-sync", &[]);
    let job_log = project.state_file("output/docsync-sync.log");
    let context = format!("{}\n--- job log\n{job_log}\n--- prism\n{}", describe(&output), prism.log());
    assert!(output.status.success(), "the sync job failed: {context}");
    assert!(prism.log().contains("/spaces/spcTomlDefaults/git/import"), "gitbook_api_url from the file: {context}");
    assert!(job_log.contains("\"repoProjectDirectory\": \"docs\""), "{context}");
    assert!(job_log.contains("\"status\": \"queued\""), "wait = false from the file: {context}");

    // previews = false in the file: the preview job runs and skips.
    let output = project.run_job_in(
        Pipeline::MergeRequest,
        "docsync-preview",
        &[("CI_MERGE_REQUEST_DIFF_BASE_SHA", &project.before)],
    );
    let job_log = project.state_file("output/docsync-preview.log");
    let context = format!("{}\n--- job log\n{job_log}", describe(&output));
    assert!(output.status.success(), "{context}");
    assert!(job_log.contains("merge request previews are off"), "previews = false from the file: {context}");
}

/// GitLab's "CI/CD variable precedence": job `variables:` beat top-level
/// `variables:` (https://docs.gitlab.com/ci/variables/#cicd-variable-precedence).
/// An input left at its default must therefore declare no job variable, or
/// the pipeline's own `DOCSYNC_*` variables reach docsync empty; an input
/// that is given beats them.
#[test]
fn top_level_variables_reach_docsync_unless_an_input_is_given() {
    let prism = prism::shared();
    let top_level = format!(
        "variables:\n  DOCSYNC_GITBOOK_SPACE: spcTopLevel\n  DOCSYNC_GITBOOK_API_URL: {api}\n  DOCSYNC_PROJECT_DIRECTORY: docs\n  DOCSYNC_WAIT: \"false\"\n  DOCSYNC_GITBOOK_EDITS: overwrite\n",
        api = prism.api_url()
    );
    // (Prism's example live revision names a commit no branch holds: the
    // import goes ahead only with gitbook_edits = overwrite.)
    let top_level_imports = || prism.log().matches("/spaces/spcTopLevel/git/import").count();
    for (inputs, space) in [("", "spcTopLevel"), ("      gitbook_space: spcInput\n", "spcInput")] {
        let before = top_level_imports();
        let project = Project::new(&format!(
            "{top_level}\ninclude:\n  - local: templates/docsync.yml\n    inputs:\n      args: --format json\n{inputs}"
        ));
        let output = project.run_job("docsync-sync", &[]);
        let job_log = project.state_file("output/docsync-sync.log");
        let context = format!("{}\n--- job log\n{job_log}\n--- prism\n{}", describe(&output), prism.log());
        assert!(output.status.success(), "the sync job failed: {context}");
        assert!(prism.log().contains(&format!("/spaces/{space}/git/import")), "no import into {space}: {context}");
        assert!(job_log.contains("\"repoProjectDirectory\": \"docs\""), "{context}");
        assert!(job_log.contains("\"status\": \"queued\""), "DOCSYNC_WAIT from the top level: {context}");
        if space != "spcTopLevel" {
            assert_eq!(top_level_imports(), before, "the given input must beat the variable: {context}");
        }
    }
}

/// In CI a sync with no target is exit 2 naming the fix, never a passing
/// job that records a deployment; `[defaults] gitbook_space` makes the
/// target as `DOCSYNC_GITBOOK_SPACE` does.
#[test]
fn a_sync_job_without_a_target_fails_and_a_defaults_space_is_a_target() {
    let prism = prism::shared();
    // Exit code 2, and only it, as a warning: the job's outcome shows the code.
    let project = Project::new(
        "include:\n  - local: templates/docsync.yml\n    inputs:\n      args: --format json\n\ndocsync-sync:\n  allow_failure:\n    exit_codes: [2]\n",
    );
    project.repo.write("docsync.toml", "# targets to come\n");
    project.repo.commit("An empty docsync.toml");
    let output = project.run_job("docsync-sync", &[]);
    let job_log = project.state_file("output/docsync-sync.log");
    let context = format!("{}\n--- job log\n{job_log}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("WARN  docsync-sync"), "not exit 2: {context}");
    assert!(job_log.contains("no target is configured"), "{context}");
    assert!(job_log.contains("docsync.toml has no [[target]]"), "the file it read is named: {context}");
    assert!(job_log.contains("fix: give the component's gitbook_space or dot_webhook_url input"), "{context}");

    project.repo.write(
        "docsync.toml",
        &format!(
            "[defaults]\ngitbook_space = \"spcDefaultsOnly\"\ngitbook_api_url = \"{api}\"\nproject_directory = \"docs\"\nwait = false\ngitbook_edits = \"overwrite\"\n",
            api = prism.api_url()
        ),
    );
    project.repo.commit("The space in [defaults]");
    let output = project.run_job("docsync-sync", &[]);
    let job_log = project.state_file("output/docsync-sync.log");
    let context = format!("{}\n--- job log\n{job_log}\n--- prism\n{}", describe(&output), prism.log());
    assert!(String::from_utf8_lossy(&output.stdout).contains("PASS  docsync-sync"), "{context}");
    assert!(prism.log().contains("/spaces/spcDefaultsOnly/git/import"), "{context}");
    assert!(job_log.contains("\"status\": \"queued\""), "{context}");
}

/// The sync job records a deployment when it passes, and that deployment
/// is the sync watermark: a job that skips for a configuration reason, or a
/// dry run, must not pass there. Skipping because no docs changed passes.
#[test]
fn the_deploying_job_passes_only_when_it_synced_what_was_configured() {
    let prism = prism::shared();
    let api = prism.api_url();
    // Exit code 2, and only it, shows as a warning.
    let exit_2_warns = "docsync-sync:\n  allow_failure:\n    exit_codes: [2]\n";
    let ran = |project: &Project, pipeline: Pipeline<'_>| {
        let output = project.run_job_in(pipeline, "docsync-sync", &[]);
        let job_log = project.state_file("output/docsync-sync.log");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        (stdout.clone(), job_log.clone(), format!("{stdout}\n--- job log\n{job_log}\n--- prism\n{}", prism.log()))
    };

    // A user's own rule runs the sync job on every push: a push to another
    // branch is not the sync branch's, and nothing may record it.
    let project = Project::new(&format!(
        "include:\n  - local: templates/docsync.yml\n    inputs:\n      gitbook_space: spcDeployCfg\n      gitbook_api_url: {api}\n      wait: false\n\n{exit_2_warns}  rules:\n    - if: $CI_PIPELINE_SOURCE == \"push\"\n"
    ));
    let (stdout, job_log, context) = ran(&project, Pipeline::Push("feature"));
    assert!(stdout.contains("WARN  docsync-sync"), "not exit 2: {context}");
    assert!(job_log.contains("not to the sync branch main"), "{context}");
    assert!(job_log.contains("deploys to environment docs"), "{context}");
    assert!(!prism.log().contains("/spaces/spcDeployCfg/"), "nothing may be sent: {context}");

    // No docs change: the job passes (the watermark may move past it).
    let project = Project::new(&format!(
        "include:\n  - local: templates/docsync.yml\n    inputs:\n      gitbook_space: spcDeployCfg\n      gitbook_api_url: {api}\n      paths: \"*.txt\"\n      args: --format json\n"
    ));
    let (stdout, job_log, context) = ran(&project, Pipeline::Push("main"));
    assert!(stdout.contains("PASS  docsync-sync"), "{context}");
    assert!(job_log.contains("\"status\": \"nothing_to_do\""), "{context}");

    // A dry run through `args` in the job that deploys: exit 2 naming the input to use.
    let project = Project::new(&format!(
        "include:\n  - local: templates/docsync.yml\n    inputs:\n      gitbook_space: spcDeployDry\n      gitbook_api_url: {api}\n      args: --dry-run\n\n{exit_2_warns}"
    ));
    let (stdout, job_log, context) = ran(&project, Pipeline::Push("main"));
    assert!(stdout.contains("WARN  docsync-sync"), "not exit 2: {context}");
    assert!(job_log.contains("--dry-run: a dry run in a job that deploys to environment docs"), "{context}");
    assert!(job_log.contains("give the component's dry_run input true"), "{context}");

    // The dry_run input: the sync job prepares its environment, deploys nothing.
    let project = Project::new(&format!(
        "include:\n  - local: templates/docsync.yml\n    inputs:\n      gitbook_space: spcDeployDry\n      gitbook_api_url: {api}\n      dry_run: true\n      args: --format json\n"
    ));
    let pipeline = project.preview();
    assert_eq!(pipeline["docsync-sync"]["environment"]["action"], "prepare", "{:#}", pipeline["docsync-sync"]);
    assert_eq!(pipeline["docsync-sync"]["environment"]["name"], "docs", "{:#}", pipeline["docsync-sync"]);
    let (stdout, job_log, context) = ran(&project, Pipeline::Push("main"));
    assert!(stdout.contains("PASS  docsync-sync"), "{context}");
    assert!(job_log.contains("\"status\": \"planned\""), "{context}");
    assert!(!prism.log().contains("/spaces/spcDeployDry/"), "a dry run sends nothing: {context}");
}

/// GitLab picks the jobs before any job can read docsync.toml, so its
/// `branch` and `direction` cannot reach the jobs' rules: in the
/// component's jobs docsync refuses them, naming file, line, key and the
/// input to use instead.
#[test]
fn docsync_toml_branch_and_direction_are_refused_in_the_component_jobs() {
    let project = Project::new(
        "include:\n  - local: templates/docsync.yml\n    inputs:\n      gitbook_space: spcCiLocal\n      paths: \"*.txt\"\n\ndocsync-sync:\n  allow_failure:\n    exit_codes: [2]\n",
    );
    project.repo.write("docsync.toml", "[defaults]\ndirection = \"export\"\nbranch = \"main\"\n");
    project.repo.commit("Branch and direction in docsync.toml");
    let output = project.run_job("docsync-sync", &[]);
    let job_log = project.state_file("output/docsync-sync.log");
    let context = format!("{}\n--- job log\n{job_log}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("WARN  docsync-sync"), "not exit 2: {context}");
    assert!(job_log.contains("docsync.toml: line 2, key `direction`"), "{context}");
    assert!(job_log.contains("docsync.toml: line 3, key `branch`"), "{context}");
    assert!(job_log.contains("give the component's direction input"), "{context}");
    assert!(job_log.contains("give the component's branch input"), "{context}");
}

/// A manual import on another branch than the sync branch runs in the job
/// that records no deployment, and docsync refuses it naming the branch.
#[test]
fn manual_import_off_the_sync_branch_fails_naming_the_branch() {
    let project = Project::new(ONE_TARGET);
    let output = project.run_job_in(Pipeline::ManualOn("web", "feature"), "docsync-manual", &[]);
    let job_log = project.state_file("output/docsync-manual.log");
    let context = format!("{}\n--- job log\n{job_log}", describe(&output));
    assert!(!output.status.success(), "{context}");
    assert!(job_log.contains("CI_COMMIT_BRANCH = \"feature\""), "{context}");
    assert!(job_log.contains("run the pipeline on main"), "{context}");
}

#[test]
fn unreachable_target_fails_the_job_unless_allowed() {
    // Nothing listens on this port: docsync exits 3 after its retries.
    let closed = format!("http://127.0.0.1:{}", free_port());
    for allow in [false, true] {
        let project = Project::new(&format!(
            r#"
include:
  - local: templates/docsync.yml
    inputs:
      gitbook_space: spcUnreachable
      gitbook_api_url: {closed}
      wait: false
      allow_unreachable: {allow}
"#
        ));
        let output = project.run_job("docsync-sync", &[("DOCSYNC_RETRIES", "0")]);
        let job_log = project.state_file("output/docsync-sync.log");
        let context = format!("{}\n--- job log\n{job_log}", describe(&output));
        let report = project.sync_report();
        assert_eq!(report.get("DOCSYNC_STATUS").map(String::as_str), Some("unreachable"), "{context}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        if allow {
            assert!(output.status.success(), "exit code 3 must be allowed: {context}");
            assert!(stdout.contains("WARN  docsync-sync"), "an allowed failure is a warning: {context}");
        } else {
            assert!(!output.status.success(), "exit code 3 must fail the pipeline: {context}");
            assert!(stdout.contains("FAIL  docsync-sync"), "{context}");
        }
    }
}

// ---------------------------------------------------------------------------
// docs/component.md's include examples, run as written

/// A one-file HTTP server on 127.0.0.1 for `include: remote` (a thread that
/// answers until the test ends).
fn serve(body: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a port for the remote include");
    let port = listener.local_addr().expect("its address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let mut stream = &stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// The YAML blocks of docs/component.md's section on including it.
fn readme_include_examples() -> Vec<String> {
    let reference = read_project_file("docs/component.md");
    let section = reference
        .split("\n## ")
        .find(|s| s.starts_with("Include it"))
        .expect("docs/component.md has a `## Include it` section");
    section
        .split("```yaml\n")
        .skip(1)
        .filter_map(|block| block.split_once("```").map(|(yaml, _)| yaml.to_owned()))
        .filter(|yaml| yaml.starts_with("include:"))
        .collect()
}

#[test]
fn readme_examples_work_with_component_project_and_remote_includes() {
    let examples = readme_include_examples();
    let template = read_project_file("templates/docsync.yml");
    let version = env!("CARGO_PKG_VERSION");
    let mut styles = BTreeSet::new();
    for example in &examples {
        let style = ["component:", "project:", "remote:", "local:"]
            .into_iter()
            .find(|style| example.contains(&format!("- {style}")))
            .unwrap_or_else(|| panic!("an include example of no known style:\n{example}"));
        let mut yaml = example.clone();
        let project_placeholder = Project::new("");
        let cache = project_placeholder.repo.path.join(".gitlab-ci-local/includes");
        match style {
            // gitlab-ci-local fetches these from the instance (`origin`);
            // its include cache holds what it would fetch.
            "component:" | "project:" => {
                let file = cache.join(REMOTE_HOST).join("docsync/docsync").join(version).join("templates/docsync.yml");
                std::fs::create_dir_all(file.parent().expect("a parent")).expect("create the include cache");
                std::fs::write(&file, &template).expect("seed the include cache");
            }
            "remote:" => {
                let published = format!("https://gitlab.com/docsync/docsync/-/raw/{version}/templates/docsync.yml");
                assert!(yaml.contains(&published), "the remote example must name {published}:\n{yaml}");
                let port = serve(template.clone());
                yaml = yaml.replace(&published, &format!("http://127.0.0.1:{port}/templates/docsync.yml"));
            }
            _ => {}
        }
        styles.insert(style);
        // The component example names the instance as CI_SERVER_FQDN or
        // gitlab.com; the emulator's instance is the origin's host.
        yaml = yaml.replace("gitlab.com/docsync/docsync/docsync@", &format!("{REMOTE_HOST}/docsync/docsync/docsync@"));
        std::fs::write(project_placeholder.repo.path.join(".gitlab-ci.yml"), &yaml).expect("write .gitlab-ci.yml");

        let jobs = project_placeholder.jobs(Pipeline::Push("main"));
        assert!(jobs.iter().any(|j| j.ends_with("sync")), "{style} example: no sync job on a push to main: {jobs:?}");
        let jobs = project_placeholder.jobs(Pipeline::MergeRequest);
        assert!(jobs.iter().any(|j| j.ends_with("preview")), "{style} example: no preview job: {jobs:?}");
    }
    assert_eq!(styles, ["component:", "project:", "remote:"].into_iter().collect(), "one example per include style");
}

// ---------------------------------------------------------------------------
// The project's own pipeline

/// A copy of this repository's pipeline files in a repository whose origin
/// is the project itself, so that `$CI_SERVER_FQDN/$CI_PROJECT_PATH/docsync@
/// $CI_COMMIT_SHA` is this very commit (gitlab-ci-local reads such a
/// component from the working tree).
fn project_pipeline() -> TestRepo {
    let repo = TestRepo::new();
    for file in [".gitlab-ci.yml", "templates/docsync.yml", "Dockerfile"] {
        repo.write(file, &read_project_file(file));
    }
    repo.commit("pipeline");
    repo.git(&["remote", "add", "origin", "https://gitlab.example.com/docsync/docsync.git"]);
    repo.git(&["update-ref", "refs/remotes/origin/main", "HEAD"]);
    repo.git(&["symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main"]);
    repo
}

fn list_json(repo: &TestRepo, variables: &[(&str, &str)], unset: &[&str]) -> Vec<Value> {
    let mut command = repo.command(gitlab_ci_local());
    command.args(["--no-color", "--list-json", "--ignore-predefined-vars", OVERRIDDEN]);
    for (key, value) in variables {
        command.arg("--variable").arg(format!("{key}={value}"));
    }
    for key in unset {
        command.arg("--unset-variable").arg(key);
    }
    let output = command.output().expect("run gitlab-ci-local");
    assert!(output.status.success(), "gitlab-ci-local on .gitlab-ci.yml: {}", describe(&output));
    serde_json::from_slice::<Vec<Value>>(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&output)))
}

#[test]
fn project_pipeline_tests_builds_self_tests_and_releases_on_semver_tags() {
    let repo = project_pipeline();
    let running = |jobs: Vec<Value>| -> BTreeSet<String> {
        jobs.iter().filter(|j| j["when"] != "never").filter_map(|j| j["name"].as_str().map(str::to_owned)).collect()
    };
    let branch = running(list_json(&repo, &[], &[]));
    assert_eq!(branch, names(&["test", "build:static", "container-image", "self-test-sync"]), "branch pipeline");

    let tag = running(list_json(
        &repo,
        &[("CI_COMMIT_TAG", env!("CARGO_PKG_VERSION")), ("CI_COMMIT_REF_NAME", env!("CARGO_PKG_VERSION"))],
        &["CI_COMMIT_BRANCH"],
    ));
    assert!(tag.contains("release") && tag.contains("container-image"), "semver tag pipeline: {tag:?}");
    let other_tag = running(list_json(&repo, &[("CI_COMMIT_TAG", "nightly")], &["CI_COMMIT_BRANCH"]));
    assert!(!other_tag.contains("release") && !other_tag.contains("self-test-sync"), "other tag: {other_tag:?}");

    let output =
        repo.command(gitlab_ci_local()).args(["--no-color", "--preview"]).output().expect("run gitlab-ci-local");
    assert!(output.status.success(), "{}", describe(&output));
    let pipeline = yaml_to_json(&String::from_utf8_lossy(&output.stdout));
    let self_test = &pipeline["self-test-sync"];
    assert_eq!(self_test["image"]["name"], "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA", "{self_test:#}");
    assert!(self_test["script"].to_string().contains("docsync plan"), "{self_test:#}");
    assert_eq!(self_test["variables"]["DOCSYNC_INPUT_GITBOOK_SPACE"], "spcSelfTest", "the inputs reached the job");
    let test = &pipeline["test"];
    assert!(test["script"].to_string().contains("./scripts/test"), "the test job runs the README's command");
    assert!(pipeline["release"]["release"]["tag_name"].is_string(), "release uses the release keyword");
    let build = pipeline["build:static"]["script"].to_string();
    assert!(build.contains("--locked") && build.contains("$MUSL_TARGET"), "{build}");
}

// ---------------------------------------------------------------------------
// check-jsonschema

/// `check-jsonschema --builtin-schema vendor.gitlab-ci` on a file.
fn check_gitlab_ci_schema(file: &Path) -> Output {
    Command::new(peer("venv/bin/check-jsonschema"))
        .args(["--builtin-schema", "vendor.gitlab-ci"])
        .arg(file)
        .output()
        .expect("run check-jsonschema")
}

/// The schema ships inside the package: the check needs no network. Needs
/// a network namespace (`unshare -n`), which an unprivileged container
/// lacks, so it is ignored by default and run by `scripts/test` wherever
/// `unshare -n` works.
#[test]
#[ignore = "needs a network namespace (unshare -n); scripts/test runs it where one can be made"]
fn check_jsonschema_needs_no_network() {
    let offline = Command::new("unshare").args(["-n", "true"]).output().is_ok_and(|o| o.status.success());
    assert!(offline, "unshare -n cannot make a network namespace here");
    let output = Command::new("unshare")
        .arg("-n")
        .arg(peer("venv/bin/check-jsonschema"))
        .args(["--builtin-schema", "vendor.gitlab-ci"])
        .arg(manifest_dir().join(".gitlab-ci.yml"))
        .output()
        .expect("run check-jsonschema");
    assert!(output.status.success(), ".gitlab-ci.yml does not validate offline: {}", describe(&output));
}

#[test]
fn check_jsonschema_validates_the_pipeline_and_the_rendered_component() {
    let output = check_gitlab_ci_schema(&manifest_dir().join(".gitlab-ci.yml"));
    assert!(output.status.success(), ".gitlab-ci.yml does not validate: {}", describe(&output));

    let project = Project::new(ONE_TARGET);
    let rendered = project.repo.outside_dir("rendered").join("pipeline.yml");
    std::fs::write(&rendered, project.preview_yaml()).expect("write the rendered pipeline");
    let output = check_gitlab_ci_schema(&rendered);
    assert!(output.status.success(), "the rendered component does not validate: {}", describe(&output));

    // And the check can fail: a job with an unknown keyword.
    let broken = project.repo.outside_dir("broken").join("pipeline.yml");
    std::fs::write(&broken, "job:\n  script: [true]\n  interruptable: false\n").expect("write a broken pipeline");
    let output = check_gitlab_ci_schema(&broken);
    assert!(!output.status.success(), "check-jsonschema accepted an unknown keyword: {}", describe(&output));
}
