//! The process environment docsync reads, captured once: the `DOCSYNC_*`
//! variables, the pipeline's `CI_*` variables, and the few others it honours
//! (`NO_COLOR`, `SSL_CERT_FILE`, `GIT_DIR`, `GIT_WORK_TREE`). Apart from
//! [`super::resolve`] so that `main` captures it and tests replace it.

use std::collections::BTreeMap;

use crate::error::{BadInput, BadInputs};
use crate::secret::Secret;
use crate::settings::declarations::{self, Setting};
use crate::settings::pipeline::CiEnv;

/// The `DOCSYNC_*` variables as found, by setting (the variable each
/// declaration in `declarations::ALL` names). Empty values count as
/// unset. Secrets are kept as [`Secret`]s, so that no debug print shows them.
#[derive(Debug, Default)]
pub(crate) struct DocsyncEnv {
    values: BTreeMap<&'static str, String>,
    secrets: BTreeMap<&'static str, Secret>,
    /// Set by the CI/CD component's jobs, which GitLab chose by rules that
    /// cannot read `docsync.toml`.
    pub component: Option<String>,
}

impl DocsyncEnv {
    fn from_vars(vars: &[(String, String)]) -> DocsyncEnv {
        let mut env = DocsyncEnv::default();
        for (name, value) in vars {
            if value.trim().is_empty() {
                continue;
            }
            if name == "DOCSYNC_COMPONENT" {
                env.component = Some(value.clone());
            }
            let Some(setting) = declarations::ALL.iter().find(|setting| setting.variable == name) else { continue };
            if setting.is_secret() {
                env.secrets.insert(setting.name, Secret::new(value.clone()));
            } else {
                env.values.insert(setting.name, value.clone());
            }
        }
        env
    }

    /// The variable's value; `None` when unset or empty.
    pub(crate) fn get(&self, setting: &Setting) -> Option<&str> {
        self.values.get(setting.name).map(String::as_str)
    }

    /// The secret variable's value; `None` when unset or empty.
    pub(crate) fn secret(&self, setting: &Setting) -> Option<&Secret> {
        self.secrets.get(setting.name)
    }
}

/// A variable docsync reads: a declared setting's, or the component's.
fn is_docsync_variable(name: &str) -> bool {
    name == "DOCSYNC_COMPONENT" || declarations::ALL.iter().any(|setting| setting.variable == name)
}

/// Everything the process environment holds that docsync reads: read once in
/// `main`, replaced by explicit values in tests.
#[derive(Default)]
pub(crate) struct Environment {
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
    /// `DOCSYNC_` variables that are no setting (a typo, an old name).
    unknown_variables: Vec<String>,
}

impl Environment {
    /// Reads the given variables (the process environment, in `main`).
    pub(crate) fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Environment, BadInputs> {
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        let docsync = DocsyncEnv::from_vars(&vars);
        let ci = envy::from_iter(vars.iter().cloned()).map_err(|error| {
            BadInputs(vec![BadInput::new("CI_*", error.to_string(), "check the CI_ variables of the job")])
        })?;
        let lookup = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        Ok(Environment {
            no_color: lookup("NO_COLOR").is_some_and(|v| !v.is_empty()),
            ssl_cert_file: lookup("SSL_CERT_FILE").filter(|v| !v.is_empty()),
            git_dir: lookup("GIT_DIR").filter(|v| !v.is_empty()),
            git_work_tree: lookup("GIT_WORK_TREE").filter(|v| !v.is_empty()),
            unknown_variables: vars
                .iter()
                .map(|(name, _)| name)
                .filter(|name| name.starts_with("DOCSYNC_") && !is_docsync_variable(name))
                .cloned()
                .collect(),
            docsync,
            ci,
            named: vars.into_iter().collect(),
        })
    }

    /// A warning for each `DOCSYNC_` variable that is no setting, naming
    /// the nearest one: unlike an unknown file key (exit 2), a variable may
    /// be set for a newer docsync or by a group the project inherits.
    pub(crate) fn unknown_variable_warnings(&self) -> Vec<String> {
        self.unknown_variables
            .iter()
            .map(|name| {
                let variables = declarations::ALL.iter().map(|setting| setting.variable);
                match declarations::nearest(name, variables) {
                    Some(near) => format!("{name} is no docsync setting and is ignored: did you mean {near}?"),
                    None => format!("{name} is no docsync setting and is ignored (docs/settings.md lists them)"),
                }
            })
            .collect()
    }

    /// The secret in the variable a config file names (`source` is the
    /// key that names it); unset or empty is a problem naming both.
    pub(super) fn required_secret(
        &self,
        name: &str,
        source: impl FnOnce() -> crate::error::Source,
        problems: &mut Vec<BadInput>,
    ) -> Option<Secret> {
        let found = self.named.get(name).filter(|v| !v.trim().is_empty()).map(|v| Secret::new(v.clone()));
        if found.is_none() {
            problems.push(
                BadInput::new(
                    source(),
                    format!("the variable {name} it names is not set"),
                    format!("set {name} as a masked CI/CD variable, or remove the key to use the DOCSYNC_ variable"),
                )
                .with_value(name),
            );
        }
        found
    }
}
