//! The process environment docsync reads, captured once: the `DOCSYNC_*`
//! variables, the pipeline's `CI_*` variables, and the few others it honours
//! (`NO_COLOR`, `SSL_CERT_FILE`, `GIT_DIR`, `GIT_WORK_TREE`). Apart from
//! [`super::resolve`] so that `main` captures it and tests replace it.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{BadInput, BadInputs};
use crate::secret::Secret;
use crate::settings::pipeline::CiEnv;

/// The `DOCSYNC_*` variables as found (read with `envy`, prefix `DOCSYNC_`).
#[derive(Debug, Default, Deserialize)]
pub struct DocsyncEnv {
    pub gitbook_space: Option<String>,
    pub gitbook_token: Option<Secret>,
    pub gitbook_api_url: Option<String>,
    pub git_token: Option<Secret>,
    pub project_directory: Option<String>,
    pub paths: Option<String>,
    pub ignore: Option<String>,
    pub dot_webhook_url: Option<String>,
    pub dot_webhook_secret: Option<Secret>,
    pub gitlab_token: Option<Secret>,
    pub gitlab_url: Option<String>,
    pub branch: Option<String>,
    pub export_branch: Option<String>,
    pub export_mr: Option<String>,
    pub gitbook_edits: Option<String>,
    pub concurrency: Option<String>,
    pub direction: Option<String>,
    pub previews: Option<String>,
    pub wait: Option<String>,
    pub wait_timeout: Option<String>,
    pub start_timeout: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub report: Option<String>,
    pub report_json: Option<String>,
    pub lint: Option<String>,
    pub codequality: Option<String>,
    pub review_comments: Option<String>,
    pub config: Option<String>,
    pub platform_authors: Option<String>,
    pub http_timeout: Option<String>,
    pub retries: Option<String>,
    pub retry_delay: Option<String>,
    pub fetch_timeout: Option<String>,
    pub poll_interval: Option<String>,
    /// Set by the CI/CD component's jobs, which GitLab chose by rules that
    /// cannot read `docsync.toml`.
    pub component: Option<String>,
}

/// Everything the process environment holds that docsync reads: read once in
/// `main`, replaced by explicit values in tests.
#[derive(Default)]
pub struct Environment {
    pub docsync: DocsyncEnv,
    pub ci: CiEnv,
    /// Variables a config file may name as the holder of a secret
    /// (`gitbook_token_env = "GITBOOK_TOKEN"`), looked up on demand.
    named: BTreeMap<String, String>,
    pub no_color: bool,
    pub ssl_cert_file: Option<String>,
    /// `GIT_DIR` and `GIT_WORK_TREE`, honoured as git honours them.
    pub git_dir: Option<String>,
    pub git_work_tree: Option<String>,
}

impl Environment {
    /// Reads the given variables (the process environment, in `main`).
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Environment, BadInputs> {
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        // envy fails only on type mismatches; every field is a string here.
        let docsync = envy::prefixed("DOCSYNC_").from_iter(vars.iter().cloned()).map_err(|error| {
            BadInputs(vec![BadInput::new("DOCSYNC_*", error.to_string(), "check the DOCSYNC_ variables of the job")])
        })?;
        let ci = envy::from_iter(vars.iter().cloned()).map_err(|error| {
            BadInputs(vec![BadInput::new("CI_*", error.to_string(), "check the CI_ variables of the job")])
        })?;
        let lookup = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        Ok(Environment {
            no_color: lookup("NO_COLOR").is_some_and(|v| !v.is_empty()),
            ssl_cert_file: lookup("SSL_CERT_FILE").filter(|v| !v.is_empty()),
            git_dir: lookup("GIT_DIR").filter(|v| !v.is_empty()),
            git_work_tree: lookup("GIT_WORK_TREE").filter(|v| !v.is_empty()),
            docsync,
            ci,
            named: vars.into_iter().collect(),
        })
    }

    /// The secret in the variable a config file names (`source` is the
    /// key that names it); unset or empty is a problem naming both.
    pub(super) fn required_secret(&self, name: &str, source: &str, problems: &mut Vec<BadInput>) -> Option<Secret> {
        let found = self.named.get(name).filter(|v| !v.trim().is_empty()).map(|v| Secret::new(v.clone()));
        if found.is_none() {
            problems.push(
                BadInput::new(
                    source,
                    format!("the variable {name} it names is not set"),
                    format!("set {name} as a masked CI/CD variable, or remove the key to use the DOCSYNC_ variable"),
                )
                .with_value(name),
            );
        }
        found
    }
}
