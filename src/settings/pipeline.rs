//! The GitLab pipeline docsync runs in, from its predefined `CI_*` variables.
//!
//! [`CiEnv`] is the raw variables as found (read once, at the edge, with
//! `envy`); [`Pipeline`] is the validated context the rest of the program
//! reads. GitLab sets empty strings for many variables that do not apply, so
//! an empty value counts as unset everywhere.

use serde::{Deserialize, Deserializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::BadInput;
use crate::secret::{Secret, secret_url};

/// The `CI_*` and `GITLAB_*` variables docsync reads, as found.
#[derive(Debug, Default, Deserialize)]
pub struct CiEnv {
    pub gitlab_ci: Option<String>,
    pub ci_pipeline_source: Option<String>,
    pub ci_pipeline_created_at: Option<String>,
    pub ci_pipeline_url: Option<String>,
    pub ci_pipeline_id: Option<String>,
    pub ci_job_url: Option<String>,
    pub ci_commit_sha: Option<String>,
    pub ci_commit_before_sha: Option<String>,
    pub ci_commit_ref_name: Option<String>,
    pub ci_commit_branch: Option<String>,
    pub ci_commit_tag: Option<String>,
    pub ci_default_branch: Option<String>,
    pub ci_merge_request_iid: Option<String>,
    pub ci_merge_request_diff_base_sha: Option<String>,
    pub ci_merge_request_source_branch_sha: Option<String>,
    pub ci_merge_request_source_branch_name: Option<String>,
    pub ci_merge_request_target_branch_name: Option<String>,
    pub ci_project_id: Option<String>,
    pub ci_project_url: Option<String>,
    pub ci_project_path: Option<String>,
    pub ci_project_name: Option<String>,
    pub ci_project_namespace: Option<String>,
    pub ci_project_visibility: Option<String>,
    pub ci_project_title: Option<String>,
    pub ci_project_description: Option<String>,
    pub ci_config_path: Option<String>,
    pub ci_commit_ref_protected: Option<String>,
    pub ci_server_url: Option<String>,
    pub ci_server_host: Option<String>,
    pub ci_server_shell_ssh_host: Option<String>,
    pub ci_server_shell_ssh_port: Option<String>,
    pub ci_api_v4_url: Option<String>,
    pub ci_environment_name: Option<String>,
    pub ci_environment_action: Option<String>,
    pub ci_server_tls_ca_file: Option<String>,
    #[serde(default, deserialize_with = "secret_url_opt")]
    pub ci_repository_url: Option<Secret>,
    pub ci_job_token: Option<Secret>,
    pub gitlab_user_id: Option<String>,
    pub gitlab_user_login: Option<String>,
    pub gitlab_user_name: Option<String>,
    pub gitlab_user_email: Option<String>,
}

fn secret_url_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Secret>, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.map(|raw| secret_url(&raw)))
}

/// `CI_PIPELINE_SOURCE`, the event that started the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineSource {
    Push,
    MergeRequestEvent,
    /// `web`, `api`, `trigger`, `schedule`, `pipeline`, `parent_pipeline`:
    /// someone (or something) asked for this pipeline.
    Manual(String),
    /// Any other source GitLab knows (`chat`, `external`, `webide`…).
    Other(String),
}

impl PipelineSource {
    fn parse(raw: &str) -> PipelineSource {
        match raw {
            "push" => PipelineSource::Push,
            "merge_request_event" => PipelineSource::MergeRequestEvent,
            "web" | "api" | "trigger" | "schedule" | "pipeline" | "parent_pipeline" => {
                PipelineSource::Manual(raw.to_owned())
            }
            other => PipelineSource::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            PipelineSource::Push => "push",
            PipelineSource::MergeRequestEvent => "merge_request_event",
            PipelineSource::Manual(raw) | PipelineSource::Other(raw) => raw,
        }
    }
}

/// A merge request pipeline's own variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRequest {
    pub iid: u64,
    pub diff_base_sha: Option<String>,
    /// Set in merged-results pipelines, where `CI_COMMIT_SHA` is a temporary
    /// merge commit and this is the real head of the source branch.
    pub source_branch_sha: Option<String>,
    pub source_branch: Option<String>,
}

/// The validated pipeline context. `None` of `ci` means docsync runs outside
/// GitLab CI (a developer's checkout).
#[derive(Debug, Clone, Default)]
pub struct Pipeline {
    pub ci: Option<CiContext>,
    pub repository_url: Option<Secret>,
    pub job_token: Option<Secret>,
    pub server_url: Option<String>,
    /// `CI_API_V4_URL`: the REST API, also for instances under a sub-path.
    pub api_v4_url: Option<String>,
    pub tls_ca_file: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CiContext {
    pub source: PipelineSource,
    pub commit_sha: String,
    /// `CI_COMMIT_BEFORE_SHA` unless it is all zeros (new branch, manual and
    /// merge request pipelines).
    pub before_sha: Option<String>,
    pub branch: Option<String>,
    pub tag: Option<String>,
    pub default_branch: Option<String>,
    pub merge_request: Option<MergeRequest>,
    pub created_at: Option<OffsetDateTime>,
    pub pipeline_url: Option<String>,
    /// `CI_PIPELINE_ID`, the same in every job of the pipeline and in a
    /// retried job: what tells one manual re-sync from the next.
    pub pipeline_id: Option<u64>,
    pub project_url: Option<String>,
    pub project_path: Option<String>,
    pub project_id: Option<u64>,
    pub environment_name: Option<String>,
    /// `CI_ENVIRONMENT_ACTION`: `start` records a deployment (older GitLab
    /// releases do not set it); `prepare`, `verify` and `access` do not.
    pub environment_action: Option<String>,
    pub user_login: Option<String>,
    pub user_name: Option<String>,
    /// `GITLAB_USER_ID` and `GITLAB_USER_EMAIL`: the push event's user.
    pub user_id: Option<u64>,
    pub user_email: Option<String>,
    /// `CI_COMMIT_REF_PROTECTED`.
    pub ref_protected: bool,
    /// What GitLab's webhooks say of the project (the push event's
    /// `project`): `CI_PROJECT_TITLE` (its display name), `CI_PROJECT_NAME`
    /// (its path), `CI_PROJECT_DESCRIPTION`, `CI_PROJECT_NAMESPACE`,
    /// `CI_PROJECT_VISIBILITY` and `CI_CONFIG_PATH`.
    pub project_title: Option<String>,
    pub project_name: Option<String>,
    pub project_description: Option<String>,
    pub project_namespace: Option<String>,
    pub project_visibility: Option<String>,
    pub config_path: Option<String>,
    /// Where the project is cloned over SSH: `CI_SERVER_SHELL_SSH_HOST`
    /// (else `CI_SERVER_HOST`) and `CI_SERVER_SHELL_SSH_PORT`.
    pub ssh_host: Option<String>,
    pub ssh_port: Option<u16>,
}

impl Pipeline {
    /// The commit the pipeline runs for: the source branch head in
    /// merged-results pipelines, never GitLab's temporary merge commit.
    pub fn head_sha(&self) -> Option<&str> {
        let ci = self.ci.as_ref()?;
        let mr_head = ci.merge_request.as_ref().and_then(|mr| mr.source_branch_sha.as_deref());
        Some(mr_head.unwrap_or(&ci.commit_sha))
    }
}

/// Treats GitLab's empty variables as unset.
pub(crate) fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

pub(crate) fn is_sha(value: &str) -> bool {
    value.len() == 40 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

fn sha(variable: &str, value: &Option<String>, problems: &mut Vec<BadInput>) -> Option<String> {
    let value = non_empty(value)?;
    if is_sha(value) {
        Some(value.to_ascii_lowercase())
    } else {
        problems.push(
            BadInput::new(variable, "not a commit SHA (40 hexadecimal characters)", format!(
                "{variable} is set by GitLab; do not override it in the job's variables, or unset it to let docsync read the checkout"
            ))
            .with_value(value),
        );
        None
    }
}

fn number(variable: &str, value: &Option<String>, problems: &mut Vec<BadInput>) -> Option<u64> {
    let value = non_empty(value)?;
    match value.parse() {
        Ok(number) => Some(number),
        Err(_) => {
            problems.push(
                BadInput::new(
                    variable,
                    "not a whole number",
                    format!("{variable} is set by GitLab; do not override it"),
                )
                .with_value(value),
            );
            None
        }
    }
}

impl Pipeline {
    /// Validates the raw variables. Outside CI (`GITLAB_CI` unset) the
    /// pipeline variables are ignored, so a developer's stray `CI_*` exports do
    /// not turn a local run into a pretend pipeline.
    pub fn from_env(ci: &CiEnv) -> Result<Pipeline, Vec<BadInput>> {
        let in_ci = non_empty(&ci.gitlab_ci).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let mut pipeline = Pipeline {
            ci: None,
            repository_url: ci.ci_repository_url.clone(),
            job_token: ci.ci_job_token.clone(),
            server_url: non_empty(&ci.ci_server_url).map(|s| s.trim_end_matches('/').to_owned()),
            api_v4_url: non_empty(&ci.ci_api_v4_url).map(|s| s.trim_end_matches('/').to_owned()),
            tls_ca_file: non_empty(&ci.ci_server_tls_ca_file).map(str::to_owned),
        };
        if in_ci {
            pipeline.ci = Some(CiContext::from_env(ci)?);
        }
        Ok(pipeline)
    }
}

impl CiContext {
    /// The pipeline's own variables, validated; every problem found.
    fn from_env(ci: &CiEnv) -> Result<CiContext, Vec<BadInput>> {
        let mut problems = Vec::new();
        let commit_sha = commit_sha(ci, &mut problems);
        let before_sha = sha("CI_COMMIT_BEFORE_SHA", &ci.ci_commit_before_sha, &mut problems)
            .filter(|sha| sha.bytes().any(|b| b != b'0'));
        let source = pipeline_source(ci, &mut problems);
        let merge_request = merge_request(ci, &source, &mut problems);
        let created_at = created_at(ci, &mut problems);
        let project_id = number("CI_PROJECT_ID", &ci.ci_project_id, &mut problems);
        let pipeline_id = number("CI_PIPELINE_ID", &ci.ci_pipeline_id, &mut problems);
        let user_id = number("GITLAB_USER_ID", &ci.gitlab_user_id, &mut problems);
        let ssh_port = number("CI_SERVER_SHELL_SSH_PORT", &ci.ci_server_shell_ssh_port, &mut problems)
            .and_then(|port| u16::try_from(port).ok());
        if !problems.is_empty() {
            return Err(problems);
        }

        let owned = |value: &Option<String>| non_empty(value).map(str::to_owned);
        Ok(CiContext {
            source,
            commit_sha: commit_sha.unwrap_or_default(),
            before_sha,
            branch: owned(&ci.ci_commit_branch),
            tag: owned(&ci.ci_commit_tag),
            default_branch: owned(&ci.ci_default_branch),
            merge_request,
            created_at,
            pipeline_url: owned(&ci.ci_pipeline_url),
            pipeline_id,
            project_url: owned(&ci.ci_project_url),
            project_path: owned(&ci.ci_project_path),
            project_id,
            environment_name: owned(&ci.ci_environment_name),
            environment_action: owned(&ci.ci_environment_action),
            user_login: owned(&ci.gitlab_user_login),
            user_name: owned(&ci.gitlab_user_name),
            user_id,
            user_email: owned(&ci.gitlab_user_email),
            ref_protected: non_empty(&ci.ci_commit_ref_protected).is_some_and(|v| v.eq_ignore_ascii_case("true")),
            project_title: owned(&ci.ci_project_title),
            project_name: owned(&ci.ci_project_name),
            project_description: owned(&ci.ci_project_description),
            project_namespace: owned(&ci.ci_project_namespace),
            project_visibility: owned(&ci.ci_project_visibility),
            config_path: owned(&ci.ci_config_path),
            ssh_host: owned(&ci.ci_server_shell_ssh_host).or_else(|| owned(&ci.ci_server_host)),
            ssh_port,
        })
    }
}

/// `CI_COMMIT_SHA`, which every pipeline has.
fn commit_sha(ci: &CiEnv, problems: &mut Vec<BadInput>) -> Option<String> {
    let commit_sha = sha("CI_COMMIT_SHA", &ci.ci_commit_sha, problems);
    if non_empty(&ci.ci_commit_sha).is_none() {
        problems.push(BadInput::new(
            "CI_COMMIT_SHA",
            "GITLAB_CI is true but CI_COMMIT_SHA is not set",
            "run docsync as a GitLab CI job, or unset GITLAB_CI to run it as a local checkout",
        ));
    }
    commit_sha
}

/// `CI_PIPELINE_SOURCE`, which GitLab sets in every pipeline.
fn pipeline_source(ci: &CiEnv, problems: &mut Vec<BadInput>) -> PipelineSource {
    match non_empty(&ci.ci_pipeline_source) {
        Some(raw) => PipelineSource::parse(raw),
        None => {
            problems.push(BadInput::new(
                "CI_PIPELINE_SOURCE",
                "GITLAB_CI is true but CI_PIPELINE_SOURCE is not set",
                "run docsync as a GitLab CI job (GitLab sets this variable), or unset GITLAB_CI",
            ));
            PipelineSource::Other(String::new())
        }
    }
}

/// The merge request's variables, which a merge request pipeline must have.
fn merge_request(ci: &CiEnv, source: &PipelineSource, problems: &mut Vec<BadInput>) -> Option<MergeRequest> {
    let merge_request = number("CI_MERGE_REQUEST_IID", &ci.ci_merge_request_iid, problems).map(|iid| MergeRequest {
        iid,
        diff_base_sha: sha("CI_MERGE_REQUEST_DIFF_BASE_SHA", &ci.ci_merge_request_diff_base_sha, problems),
        source_branch_sha: sha("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", &ci.ci_merge_request_source_branch_sha, problems),
        source_branch: non_empty(&ci.ci_merge_request_source_branch_name).map(str::to_owned),
    });
    if *source == PipelineSource::MergeRequestEvent && merge_request.is_none() {
        problems.push(BadInput::new(
            "CI_MERGE_REQUEST_IID",
            "a merge request pipeline without CI_MERGE_REQUEST_IID",
            "run the job in a merge request pipeline (rules: if: $CI_PIPELINE_SOURCE == \"merge_request_event\")",
        ));
    }
    merge_request
}

/// `CI_PIPELINE_CREATED_AT`, the push events' ordering timestamp.
fn created_at(ci: &CiEnv, problems: &mut Vec<BadInput>) -> Option<OffsetDateTime> {
    let raw = non_empty(&ci.ci_pipeline_created_at)?;
    match OffsetDateTime::parse(raw, &Rfc3339) {
        // The ordering timestamp is sent in UTC, which RFC 3339 can
        // only write for the years 0 to 9999.
        Ok(at) if at.checked_to_offset(time::UtcOffset::UTC).is_none_or(|utc| utc.year() < 0) => {
            problems.push(
                BadInput::new(
                    "CI_PIPELINE_CREATED_AT",
                    "outside the years 0000 to 9999 once in UTC",
                    "GitLab sets it like 2026-11-22T15:00:00Z; do not override it",
                )
                .with_value(raw),
            );
            None
        }
        Ok(at) => Some(at),
        Err(_) => {
            problems.push(
                BadInput::new(
                    "CI_PIPELINE_CREATED_AT",
                    "not an RFC 3339 time",
                    "GitLab sets it like 2026-11-22T15:00:00Z; do not override it",
                )
                .with_value(raw),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ci(vars: &[(&str, &str)]) -> CiEnv {
        envy::from_iter(vars.iter().map(|(k, v)| (k.to_string(), v.to_string()))).unwrap()
    }

    const SHA_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const SHA_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn outside_ci_there_is_no_pipeline() {
        let pipeline = Pipeline::from_env(&ci(&[("CI_COMMIT_SHA", "not-checked-outside-ci")])).unwrap();
        assert!(pipeline.ci.is_none());
    }

    #[test]
    fn all_zero_before_sha_means_none() {
        let pipeline = Pipeline::from_env(&ci(&[
            ("GITLAB_CI", "true"),
            ("CI_PIPELINE_SOURCE", "push"),
            ("CI_COMMIT_SHA", SHA_A),
            ("CI_COMMIT_BEFORE_SHA", "0000000000000000000000000000000000000000"),
        ]))
        .unwrap();
        assert_eq!(pipeline.ci.unwrap().before_sha, None);
    }

    #[test]
    fn merged_results_head_is_the_source_branch_sha() {
        let pipeline = Pipeline::from_env(&ci(&[
            ("GITLAB_CI", "true"),
            ("CI_PIPELINE_SOURCE", "merge_request_event"),
            ("CI_COMMIT_SHA", SHA_A),
            ("CI_MERGE_REQUEST_IID", "7"),
            ("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", SHA_B),
        ]))
        .unwrap();
        assert_eq!(pipeline.head_sha(), Some(SHA_B));
    }

    #[test]
    fn bad_shas_name_the_variable() {
        let problems = Pipeline::from_env(&ci(&[
            ("GITLAB_CI", "true"),
            ("CI_PIPELINE_SOURCE", "push"),
            ("CI_COMMIT_SHA", "abc123"),
            ("CI_COMMIT_BEFORE_SHA", "zz"),
        ]))
        .unwrap_err();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(text[0].starts_with("CI_COMMIT_SHA = \"abc123\": not a commit SHA"), "{text:?}");
        assert!(text[1].starts_with("CI_COMMIT_BEFORE_SHA = \"zz\""), "{text:?}");
    }
}
