//! The GitLab child pipeline `docsync pipeline` writes: one job per acting
//! target, each running `docsync sync --target NAME` in its own resource
//! group and environment (its own watermark), or one job for all of them
//! below the fan-out threshold, or one job saying there is nothing to do.
//!
//! The pipeline is written as JSON, which is YAML (YAML 1.2 is a superset
//! of JSON, and GitLab's and gitlab-ci-local's parsers read it): serde_json
//! is already in the binary, so no YAML writer is added, and no user value
//! is ever spliced into YAML text.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use url::Url;

/// The component's `before_script`: each given input, carried as
/// `DOCSYNC_INPUT_<NAME>` (forwarded to the child pipeline by the trigger
/// job), exported as `DOCSYNC_<NAME>` when it is not empty. The same line
/// as in `templates/docsync.yml`; tests/it/fanout.rs holds them equal.
pub(crate) const INPUTS_AS_SETTINGS: &str = r#"for name in GITBOOK_SPACE GITBOOK_API_URL DOT_WEBHOOK_URL PROJECT_DIRECTORY PATHS IGNORE BRANCH DIRECTION EXPORT_BRANCH EXPORT_MR PREVIEWS WAIT WAIT_TIMEOUT CONFIG LINT; do eval "value=\"\${DOCSYNC_INPUT_$name:-}\""; if [ -n "$value" ]; then export "DOCSYNC_$name=$value"; fi; done"#;

/// Where the jobs write their dotenv report; the artifacts read it there.
const DOTENV_REPORT: &str = "docsync.env";

/// The failures GitLab retries a child job on: the runner's, never
/// docsync's (a target's failure is an answer, not a fault to repeat).
const RETRIED_FAILURES: [&str; 3] = ["runner_system_failure", "stuck_or_timeout_failure", "scheduler_failure"];

/// One target `sync` would call, as far as its job is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActingTarget {
    pub name: String,
    /// What the target changes: one job at a time per resource.
    pub resource: Resource,
    /// A merge request preview, superseded by the next push; a sync of
    /// the branch must finish once started.
    pub interruptible: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resource {
    GitBookSpace(String),
    /// A push-webhook receiver.
    Receiver(Url),
}

impl Resource {
    /// The job's `resource_group`: `docsync/<space>`, or for a receiver
    /// `docsync/<host>-<hash of the URL>`. A receiver URL's path or query
    /// may hold a token (and its userinfo always is one), so only the host
    /// is shown; the hash tells two receivers on one host apart.
    pub(crate) fn group(&self) -> String {
        let name = match self {
            Resource::GitBookSpace(space) => space.clone(),
            Resource::Receiver(url) => {
                let digest =
                    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, url.as_str().as_bytes()).simple().to_string();
                format!("{}-{}", url.host_str().unwrap_or("receiver"), &digest[..12])
            }
        };
        // GitLab's resource group names: letters, digits, `-`, `_`, `/`,
        // `$`, `{`, `}`, `.` and spaces; `$` and braces would be expanded.
        let name: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' })
            .collect();
        format!("docsync/{name}")
    }
}

/// When a pipeline gets one job per target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FanOut {
    Always,
    /// Only when more targets act than this; one job for all below.
    Above(usize),
}

impl FanOut {
    /// `always` or a number, as `--fan-out` and the component's `fan_out`
    /// input take it.
    pub(crate) fn parse(value: &str) -> Option<FanOut> {
        match value.trim() {
            "always" => Some(FanOut::Always),
            number => number.parse().ok().map(FanOut::Above),
        }
    }
}

/// What every job of the child pipeline shares.
#[derive(Debug, Clone)]
pub(crate) struct ChildOptions {
    pub image: String,
    /// The parent's environment; each target deploys to `<it>/<target>`.
    pub environment: String,
    pub fan_out: FanOut,
    pub allow_unreachable: bool,
    /// `--dry-run`: the jobs send nothing and record no deployment.
    pub dry_run: bool,
}

/// The child pipeline: job names and jobs, in the order of the targets.
#[derive(Debug)]
pub(crate) struct ChildPipeline {
    pub jobs: Vec<(String, Job)>,
}

impl Serialize for ChildPipeline {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.jobs.len()))?;
        for (name, job) in &self.jobs {
            map.serialize_entry(name, job)?;
        }
        map.end()
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct Job {
    image: Image,
    variables: Variables,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    before_script: Vec<String>,
    script: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<Environment>,
    interruptible: bool,
    retry: Retry,
    allow_failure: AllowFailure,
    #[serde(skip_serializing_if = "Option::is_none")]
    artifacts: Option<Artifacts>,
}

#[derive(Debug, Serialize)]
struct Image {
    name: String,
}

#[derive(Debug, Serialize)]
struct Variables {
    #[serde(rename = "DOCSYNC_REPORT", skip_serializing_if = "Option::is_none")]
    report: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct Environment {
    name: String,
    /// The page the import changed, from the job's dotenv report.
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct Retry {
    max: u8,
    when: [&'static str; 3],
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum AllowFailure {
    No(bool),
    ExitCodes { exit_codes: [u8; 1] },
}

#[derive(Debug, Serialize)]
struct Artifacts {
    when: &'static str,
    paths: [&'static str; 1],
    reports: Reports,
}

#[derive(Debug, Serialize)]
struct Reports {
    dotenv: &'static str,
}

/// The child pipeline for `targets`, the targets `sync` would call.
pub(crate) fn child_pipeline(targets: &[ActingTarget], options: &ChildOptions) -> ChildPipeline {
    let jobs = match (targets, options.fan_out) {
        ([], _) => vec![nothing_to_do(options)],
        (_, FanOut::Above(limit)) if targets.len() <= limit => vec![one_job_for_all(targets, options)],
        _ => targets.iter().map(|target| job_for(target, options)).collect(),
    };
    ChildPipeline { jobs }
}

/// The pipeline as it is written: JSON, which GitLab reads as YAML.
pub(crate) fn render(pipeline: &ChildPipeline) -> serde_json::Result<String> {
    Ok(serde_json::to_string_pretty(pipeline)? + "\n")
}

fn sync_script(names: &[&str], options: &ChildOptions) -> Vec<String> {
    // Target names are letters, digits, `.`, `-` and `_` (the settings
    // refuse any other), so they are safe as shell words.
    let mut command = String::from("docsync sync");
    for name in names {
        command.push_str(" --target ");
        command.push_str(name);
    }
    if options.dry_run {
        command.push_str(" --dry-run");
    }
    // The component's `args` input, forwarded by the trigger job.
    command.push_str(" ${DOCSYNC_INPUT_ARGS:-}");
    vec![command]
}

fn base_job(script: Vec<String>, options: &ChildOptions) -> Job {
    Job {
        image: Image { name: options.image.clone() },
        variables: Variables { report: Some(DOTENV_REPORT) },
        before_script: vec![INPUTS_AS_SETTINGS.to_owned()],
        script,
        resource_group: None,
        environment: None,
        interruptible: false,
        retry: Retry { max: 2, when: RETRIED_FAILURES },
        allow_failure: match options.allow_unreachable {
            true => AllowFailure::ExitCodes { exit_codes: [3] },
            false => AllowFailure::No(false),
        },
        artifacts: Some(Artifacts {
            when: "always",
            paths: ["docsync.json"],
            reports: Reports { dotenv: DOTENV_REPORT },
        }),
    }
}

fn job_for(target: &ActingTarget, options: &ChildOptions) -> (String, Job) {
    let mut job = base_job(sync_script(&[&target.name], options), options);
    job.resource_group = Some(target.resource.group());
    job.environment = Some(Environment {
        name: format!("{}/{}", options.environment, target.name),
        url: Some("$DOCSYNC_URL"),
        action: options.dry_run.then_some("prepare"),
    });
    job.interruptible = target.interruptible;
    (format!("sync {}", target.name), job)
}

/// Below the threshold: one job, as without fan-out. The trigger job holds
/// the parent environment's deployment; this job only reads its watermark.
fn one_job_for_all(targets: &[ActingTarget], options: &ChildOptions) -> (String, Job) {
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    let mut job = base_job(sync_script(&names, options), options);
    job.resource_group = Some(format!("docsync/{}", options.environment));
    job.environment = Some(Environment { name: options.environment.clone(), url: None, action: Some("prepare") });
    job.interruptible = targets.iter().all(|t| t.interruptible);
    ("sync".to_owned(), job)
}

/// GitLab refuses a child pipeline without jobs: one job that says why
/// there is none, and passes.
fn nothing_to_do(options: &ChildOptions) -> (String, Job) {
    let mut job = base_job(vec!["echo 'docsync: no target to sync in this pipeline'".to_owned()], options);
    job.before_script.clear();
    job.variables.report = None;
    job.artifacts = None;
    job.interruptible = true;
    job.allow_failure = AllowFailure::No(false);
    ("nothing to sync".to_owned(), job)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receiver_group_shows_its_host_and_never_its_path_or_userinfo() {
        let url = Url::parse("https://user:s3cret@hooks.example.com:8443/hooks/tok3n?key=k3y").unwrap();
        let group = Resource::Receiver(url.clone()).group();
        assert!(group.starts_with("docsync/hooks.example.com-"), "{group}");
        for secret in ["user", "s3cret", "tok3n", "k3y", "8443"] {
            assert!(!group.contains(secret), "{group}");
        }
        let other = Resource::Receiver(Url::parse("https://hooks.example.com/hooks/other").unwrap()).group();
        assert_ne!(group, other, "two receivers on one host share no group");
        assert_eq!(Resource::GitBookSpace("spc_A-1".into()).group(), "docsync/spc_A-1");
    }

    #[test]
    fn fan_out_takes_always_or_a_number() {
        assert_eq!(FanOut::parse("always"), Some(FanOut::Always));
        assert_eq!(FanOut::parse("12"), Some(FanOut::Above(12)));
        assert_eq!(FanOut::parse("never"), None);
        assert_eq!(FanOut::parse("-1"), None);
    }
}
