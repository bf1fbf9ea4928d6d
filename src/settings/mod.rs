//! Settings: flags, `DOCSYNC_*` variables, `CI_*` variables and an optional
//! `docsync.toml`, turned into one validated [`Settings`] by the pure
//! function [`resolve`].
//!
//! Precedence, for every setting: a flag beats the environment, which beats
//! the config file's `[defaults]`, which beats the built-in default. A
//! `[[target]]`'s own keys are the most specific and win for that target.
//!
//! The environment describes at most two targets (one GitBook space through
//! `DOCSYNC_GITBOOK_SPACE`, one push-webhook receiver through
//! `DOCSYNC_DOT_WEBHOOK_URL`), named `gitbook` and `dot`; the file can
//! describe many. Both end up in the same list of [`Target`]s.
//!
//! Secrets are never written in the file: the file names the variable that
//! holds each one (`gitbook_token_env = "GITBOOK_TOKEN"`).

pub mod credentials;
pub mod flags;
pub mod glob;
pub mod pipeline;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::error::{BadInput, BadInputs};
use crate::http::{HttpSettings, RetryPolicy};
use crate::secret::Secret;
use crate::settings::flags::{Format, GlobalFlags, SettingFlags};
use crate::settings::glob::{GlobError, GlobSet};
use crate::settings::pipeline::{CiEnv, Pipeline, non_empty};

pub const DEFAULT_GITBOOK_API_URL: &str = "https://api.gitbook.com/v1";
pub const DEFAULT_CONFIG_FILE: &str = "docsync.toml";
pub const DEFAULT_REPORT_IN_CI: &str = "docsync.env";
pub const DEFAULT_REPORT_JSON_IN_CI: &str = "docsync.json";
pub const DEFAULT_CODEQUALITY_IN_CI: &str = "gl-code-quality-report.json";
const DEFAULT_CONCURRENCY: usize = 8;
const MAX_CONCURRENCY: usize = 64;
const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(600);
const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(120);
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Files the Dot target looks at by default: Markdown and YAML.
pub const DOT_DEFAULT_PATHS: &[&str] = &["*.md", "*.markdown", "*.yaml", "*.yml"];
/// Author names or e-mails of commits the platform made itself (GitBook's
/// export commits). Matched case-insensitively.
const DEFAULT_PLATFORM_AUTHORS: &[&str] = &["gitbook-bot", "ghost@gitbook.com"];

/// The `DOCSYNC_*` variables as found (read with `envy`, prefix `DOCSYNC_`).
#[derive(Debug, Default, Deserialize)]
pub struct DocsyncEnv {
    pub gitbook_space: Option<String>,
    pub gitbook_token: Option<Secret>,
    pub gitbook_api_url: Option<String>,
    pub git_token: Option<Secret>,
    pub project_directory: Option<String>,
    pub paths: Option<String>,
    pub dot_webhook_url: Option<String>,
    pub dot_webhook_secret: Option<Secret>,
    pub gitlab_token: Option<Secret>,
    pub gitlab_url: Option<String>,
    pub branch: Option<String>,
    pub export_branch: Option<String>,
    pub export_mr: Option<String>,
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
    pub config: Option<String>,
    pub platform_authors: Option<String>,
    pub http_timeout: Option<String>,
    pub retries: Option<String>,
    pub retry_delay: Option<String>,
    pub poll_interval: Option<String>,
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
    fn required_secret(&self, name: &str, source: &str, problems: &mut Vec<BadInput>) -> Option<Secret> {
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

/// `docsync.toml`, as parsed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub defaults: FileTarget,
    #[serde(default)]
    pub target: Vec<FileTarget>,
}

/// One `[[target]]` or the `[defaults]` table. Keys are the settings' names
/// in lower case without the prefix.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTarget {
    /// Spanned so that duplicate names can be reported with their line.
    pub name: Option<toml::Spanned<String>>,
    pub kind: Option<String>,
    pub gitbook_space: Option<String>,
    pub gitbook_api_url: Option<String>,
    pub gitbook_token_env: Option<String>,
    pub git_token_env: Option<String>,
    pub project_directory: Option<String>,
    pub paths: Option<Vec<String>>,
    pub dot_webhook_url: Option<String>,
    pub dot_webhook_secret_env: Option<String>,
    // The GitLab instance, its token, the request budget and the report are
    // one per run: spanned so that a [[target]] setting them is refused with
    // its line.
    pub gitlab_token_env: Option<toml::Spanned<String>>,
    pub gitlab_url: Option<toml::Spanned<String>>,
    pub branch: Option<String>,
    pub export_branch: Option<String>,
    pub export_mr: Option<bool>,
    pub concurrency: Option<toml::Spanned<u32>>,
    pub direction: Option<String>,
    pub previews: Option<bool>,
    pub wait: Option<bool>,
    pub wait_timeout: Option<String>,
    pub start_timeout: Option<String>,
    pub report: Option<toml::Spanned<String>>,
    pub report_json: Option<toml::Spanned<String>>,
    pub lint: Option<toml::Spanned<String>>,
    pub codequality: Option<toml::Spanned<String>>,
    pub poll_interval: Option<toml::Spanned<String>>,
    pub http_timeout: Option<toml::Spanned<String>>,
    pub retries: Option<toml::Spanned<u32>>,
    pub retry_delay: Option<toml::Spanned<String>>,
    pub platform_authors: Option<Vec<String>>,
    // Secrets written inline are refused with a pointer to the `_env` key;
    // they are accepted by the parser only to give that message.
    pub gitbook_token: Option<toml::Spanned<toml::Value>>,
    pub git_token: Option<toml::Spanned<toml::Value>>,
    pub dot_webhook_secret: Option<toml::Spanned<toml::Value>>,
    pub gitlab_token: Option<toml::Spanned<toml::Value>>,
}

/// A config file read from disk, with its path for messages.
#[derive(Debug)]
pub struct LoadedFile {
    pub path: PathBuf,
    pub text: String,
    pub config: FileConfig,
}

/// Reads the config file: the one named by `--config`/`DOCSYNC_CONFIG` (which
/// must exist), else `docsync.toml` in the working directory when present.
pub fn load_file(flags: &GlobalFlags, env: &Environment) -> Result<Option<LoadedFile>, BadInput> {
    let (path, explicit, source) = match (&flags.config, non_empty(&env.docsync.config)) {
        (Some(path), _) => (path.clone(), true, "--config"),
        (None, Some(path)) => (PathBuf::from(path), true, "DOCSYNC_CONFIG"),
        (None, None) => (PathBuf::from(DEFAULT_CONFIG_FILE), false, DEFAULT_CONFIG_FILE),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && !explicit => return Ok(None),
        Err(error) => {
            return Err(BadInput::new(
                source,
                format!("cannot read {}: {error}", path.display()),
                "point it at an existing docsync.toml, or unset it to use the environment only",
            )
            .with_value(path.display().to_string()));
        }
    };
    let config = parse_file(&path, &text)?;
    Ok(Some(LoadedFile { path, text, config }))
}

fn parse_file(path: &Path, text: &str) -> Result<FileConfig, BadInput> {
    toml::from_str(text).map_err(|error| {
        let location = error.span().map(|span| format!(" line {}", line_of(text, span.start))).unwrap_or_default();
        BadInput::new(
            format!("{}{location}", path.display()),
            error.message().trim().to_owned(),
            "keys are the settings' names in lower case without DOCSYNC_ (see the README's settings table)",
        )
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// What the docs pre-flight does before a sync (`DOCSYNC_LINT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LintMode {
    /// New errors stop the target's import.
    #[default]
    Error,
    /// Findings are reported; nothing stops.
    Warn,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Import,
    Export,
}

/// Which files concern a target: a directory and globs inside it.
#[derive(Debug, Clone)]
pub struct PathFilter {
    /// The docs root, relative to the repository root, without leading or
    /// trailing slash; empty for the root itself.
    pub directory: String,
    /// The globs as written (shown in plans).
    pub globs: Vec<String>,
    matcher: Option<GlobSet>,
}

impl PathFilter {
    /// `globs` are relative to `directory`. A glob without `/` matches a file
    /// name at any depth (`*.md`); one with `/` is anchored at the directory
    /// (`guides/**/*.md`). No globs means every file under the directory.
    pub fn new(directory: String, globs: Vec<String>) -> Result<PathFilter, GlobError> {
        let matcher = if globs.is_empty() { None } else { Some(GlobSet::new(&globs)?) };
        Ok(PathFilter { directory, globs, matcher })
    }

    /// Whether a repository-relative path concerns this target.
    pub fn matches(&self, path: &str) -> bool {
        let inside = if self.directory.is_empty() {
            path
        } else {
            match path.strip_prefix(self.directory.as_str()).and_then(|rest| rest.strip_prefix('/')) {
                Some(rest) => rest,
                None => return false,
            }
        };
        self.matcher.as_ref().is_none_or(|set| set.is_match(inside))
    }
}

#[derive(Debug, Clone)]
pub struct GitBookTarget {
    pub space: String,
    pub api_url: Url,
    pub token: Option<Secret>,
    /// The variable the token came from, for messages.
    pub token_source: String,
    pub git_token: Option<Secret>,
    pub git_token_source: String,
    pub export_branch: Option<String>,
    pub export_mr: bool,
    /// Wait for GitBook's verdict, and for how long.
    pub wait: bool,
    pub wait_timeout: Duration,
    /// How long GitBook may take to start our operation before the target
    /// ends `not_started`.
    pub start_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct DotTarget {
    pub webhook_url: Url,
    pub secret: Option<Secret>,
    pub secret_source: String,
}

#[derive(Debug, Clone)]
pub enum TargetKind {
    GitBook(GitBookTarget),
    Dot(DotTarget),
}

impl TargetKind {
    pub fn name(&self) -> &'static str {
        match self {
            TargetKind::GitBook(_) => "gitbook",
            TargetKind::Dot(_) => "dot",
        }
    }
}

/// One docs platform endpoint to keep in sync.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    /// Where the target was described, for messages: a file and line, or
    /// the variable of the environment's shorthand.
    pub defined_at: String,
    /// The branch whose pushes sync this target; `None` when neither the
    /// settings nor `CI_DEFAULT_BRANCH` name one (a local run).
    pub branch: Option<String>,
    pub paths: PathFilter,
    /// What a manual pipeline asks of this target.
    pub direction: Direction,
    /// Standalone imports of merge requests (GitBook only).
    pub previews: bool,
    /// Authors whose commits are the platform's own (the skip rules).
    pub platform_authors: Vec<String>,
    pub kind: TargetKind,
}

/// The GitLab instance and API token.
#[derive(Debug, Clone, Default)]
pub struct GitLabSettings {
    pub url: Option<Url>,
    pub token: Option<Secret>,
    /// The variable the token came from, for messages.
    pub token_source: String,
    /// GitLab is plain http to another host and only `CI_JOB_TOKEN` would
    /// be sent there: GitLab is not called (see [`crate::settings::credentials`]).
    pub plain_http: bool,
}

/// Where a report goes, and what set it: `DOCSYNC_REPORT`, `--report`, a
/// file's key. Named when the file cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPath {
    pub path: PathBuf,
    pub source: String,
}

/// The validated settings of one run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub format: Format,
    pub dry_run: bool,
    pub force: bool,
    pub from: Option<String>,
    pub to: Option<String>,
    pub pipeline: Pipeline,
    /// How often GitBook's operation state is read while waiting.
    pub poll_interval: Duration,
    /// The dotenv report, and the variable or key that set it (for messages).
    pub report: Option<ReportPath>,
    /// The JSON report (the `--format json` result).
    pub report_json: Option<ReportPath>,
    /// The docs pre-flight before imports.
    pub lint: LintMode,
    /// Where the pre-flight writes a GitLab Code Quality report.
    pub codequality: Option<PathBuf>,
    pub http: HttpSettings,
    pub gitlab: GitLabSettings,
    pub targets: Vec<Target>,
    /// Where the repository is: `GIT_DIR` and `GIT_WORK_TREE` (relative to
    /// the working directory), else found from the working directory.
    pub git_dir: Option<PathBuf>,
    pub git_work_tree: Option<PathBuf>,
}

/// Turns every input into validated settings, or every problem found.
/// Pure: the file is already read, the environment already captured.
pub fn resolve(flags: &GlobalFlags, env: &Environment, file: Option<&LoadedFile>) -> Result<Settings, BadInputs> {
    let mut problems = Vec::new();
    let pipeline = Pipeline::from_env(&env.ci).unwrap_or_else(|found| {
        problems.extend(found);
        Pipeline::default()
    });
    let empty = FileConfig::default();
    let file_config = file.map_or(&empty, |f| &f.config);
    let file_name = file.map(|f| f.path.display().to_string()).unwrap_or_default();
    let defaults = &file_config.defaults;
    let d = &env.docsync;
    let s = &flags.settings;

    if file.is_some() {
        check_defaults_table(&file_name, file.map(|f| f.text.as_str()).unwrap_or(""), defaults, &mut problems);
    }

    // Global settings: flag, env, file defaults, built-in default.
    let layered =
        |flag: &Option<String>, var: &Option<String>, file_value: Option<String>, var_name: &str, key: &str| {
            layer(flag, var, file_value, var_name, key, &file_name)
        };
    let direction = layered(&s.direction, &d.direction, defaults.direction.clone(), "DOCSYNC_DIRECTION", "direction")
        .map_or(Some(Direction::Import), |(value, source)| parse_direction(&value, &source, &mut problems));
    let previews =
        layered(&s.previews, &d.previews, defaults.previews.map(|b| b.to_string()), "DOCSYNC_PREVIEWS", "previews")
            .map_or(Some(true), |(value, source)| parse_bool(&value, &source, &mut problems));
    let wait = layered(&s.wait, &d.wait, defaults.wait.map(|b| b.to_string()), "DOCSYNC_WAIT", "wait")
        .map_or(Some(true), |(value, source)| parse_bool(&value, &source, &mut problems));
    let duration = |layer: Option<(String, String)>, default: Duration, problems: &mut Vec<BadInput>| {
        layer.map_or(Some(default), |(value, source)| parse_duration_setting(&value, &source, problems))
    };
    let wait_timeout = duration(
        layered(
            &s.wait_timeout,
            &d.wait_timeout,
            defaults.wait_timeout.clone(),
            "DOCSYNC_WAIT_TIMEOUT",
            "wait_timeout",
        ),
        DEFAULT_WAIT_TIMEOUT,
        &mut problems,
    );
    let start_timeout = duration(
        layered(
            &s.start_timeout,
            &d.start_timeout,
            defaults.start_timeout.clone(),
            "DOCSYNC_START_TIMEOUT",
            "start_timeout",
        ),
        DEFAULT_START_TIMEOUT,
        &mut problems,
    );
    let concurrency = layered(
        &s.concurrency,
        &d.concurrency,
        defaults.concurrency.as_ref().map(|n| n.get_ref().to_string()),
        "DOCSYNC_CONCURRENCY",
        "concurrency",
    )
    .map_or(Some(DEFAULT_CONCURRENCY), |(value, source)| parse_concurrency(&value, &source, &mut problems));
    let http_defaults = HttpSettings::default();
    let spanned_text = |value: &Option<toml::Spanned<String>>| value.as_ref().map(|v| v.get_ref().clone());
    let poll_interval = duration(
        layered(
            &s.poll_interval,
            &d.poll_interval,
            spanned_text(&defaults.poll_interval),
            "DOCSYNC_POLL_INTERVAL",
            "poll_interval",
        ),
        DEFAULT_POLL_INTERVAL,
        &mut problems,
    );
    let http_timeout = duration(
        layered(
            &s.http_timeout,
            &d.http_timeout,
            spanned_text(&defaults.http_timeout),
            "DOCSYNC_HTTP_TIMEOUT",
            "http_timeout",
        ),
        http_defaults.timeout,
        &mut problems,
    );
    let retry_delay = duration(
        layered(
            &s.retry_delay,
            &d.retry_delay,
            spanned_text(&defaults.retry_delay),
            "DOCSYNC_RETRY_DELAY",
            "retry_delay",
        ),
        http_defaults.retry.base_delay,
        &mut problems,
    );
    let file_retries = defaults.retries.as_ref().map(|n| n.get_ref().to_string());
    let retries = match layered(&s.retries, &d.retries, file_retries, "DOCSYNC_RETRIES", "retries") {
        None => Some(http_defaults.retry.retries),
        Some((value, source)) => match value.parse::<u32>() {
            Ok(n) if n <= 20 => Some(n),
            _ => {
                problems.push(
                    BadInput::new(source, "not a number from 0 to 20", "use a small whole number such as 4")
                        .with_value(value),
                );
                None
            }
        },
    };
    let mut ca_files = Vec::new();
    if let Some(path) = &pipeline.tls_ca_file {
        ca_files.push(("CI_SERVER_TLS_CA_FILE".to_owned(), path.clone()));
    }
    if let Some(path) = &env.ssl_cert_file {
        ca_files.push(("SSL_CERT_FILE".to_owned(), path.clone()));
    }
    let http = HttpSettings {
        timeout: http_timeout.unwrap_or(http_defaults.timeout),
        connect_timeout: http_defaults.connect_timeout,
        retry: RetryPolicy {
            retries: retries.unwrap_or(http_defaults.retry.retries),
            base_delay: retry_delay.unwrap_or(http_defaults.retry.base_delay),
            ..http_defaults.retry
        },
        ca_files,
        max_in_flight: concurrency.unwrap_or(DEFAULT_CONCURRENCY),
    };
    let in_ci = pipeline.ci.is_some();
    let report_path = |layer: Option<(String, String)>, variable: &str, default_in_ci: &str| match layer {
        Some((value, _)) if value.eq_ignore_ascii_case("none") || value.eq_ignore_ascii_case("false") => None,
        Some((value, source)) => Some(ReportPath { path: PathBuf::from(value), source }),
        None if in_ci => Some(ReportPath { path: PathBuf::from(default_in_ci), source: variable.to_owned() }),
        None => None,
    };
    let report = report_path(
        layered(
            &s.report,
            &d.report,
            defaults.report.as_ref().map(|r| r.get_ref().clone()),
            "DOCSYNC_REPORT",
            "report",
        ),
        "DOCSYNC_REPORT",
        DEFAULT_REPORT_IN_CI,
    );
    let report_json = report_path(
        layered(
            &s.report_json,
            &d.report_json,
            defaults.report_json.as_ref().map(|r| r.get_ref().clone()),
            "DOCSYNC_REPORT_JSON",
            "report_json",
        ),
        "DOCSYNC_REPORT_JSON",
        DEFAULT_REPORT_JSON_IN_CI,
    );
    let lint = layered(&s.lint, &d.lint, defaults.lint.as_ref().map(|v| v.get_ref().clone()), "DOCSYNC_LINT", "lint")
        .map_or(Some(LintMode::Error), |(value, source)| parse_lint(&value, &source, &mut problems));
    let codequality = match layered(
        &s.codequality,
        &d.codequality,
        defaults.codequality.as_ref().map(|v| v.get_ref().clone()),
        "DOCSYNC_CODEQUALITY",
        "codequality",
    ) {
        Some((value, _)) if value.eq_ignore_ascii_case("none") || value.eq_ignore_ascii_case("false") => None,
        Some((value, _)) => Some(PathBuf::from(value)),
        None if in_ci => Some(PathBuf::from(DEFAULT_CODEQUALITY_IN_CI)),
        None => None,
    };
    let platform_authors =
        match (s.platform_authors.as_deref().or(non_empty(&d.platform_authors)), &defaults.platform_authors) {
            (Some(list), _) => split_list(list),
            (None, Some(list)) => list.clone(),
            (None, None) => DEFAULT_PLATFORM_AUTHORS.iter().map(|s| (*s).to_owned()).collect(),
        };
    let file_gitlab_url = defaults.gitlab_url.as_ref().map(|u| u.get_ref().clone());
    let gitlab_url = layered(&s.gitlab_url, &d.gitlab_url, file_gitlab_url, "DOCSYNC_GITLAB_URL", "gitlab_url")
        .or_else(|| pipeline.server_url.clone().map(|url| (url, "CI_SERVER_URL".to_owned())))
        .and_then(|(value, source)| parse_url(&value, &source, &mut problems));
    // The environment beats [defaults]; a variable the file names must be set.
    let direct_gitlab_token = d.gitlab_token.clone().filter(|t| !t.expose().is_empty());
    let gitlab_token_source = match (&direct_gitlab_token, &defaults.gitlab_token_env) {
        (None, Some(name)) => name.get_ref().clone(),
        _ => "DOCSYNC_GITLAB_TOKEN".to_owned(),
    };
    let gitlab_token = match direct_gitlab_token {
        Some(token) => Some(token),
        None => defaults.gitlab_token_env.as_ref().and_then(|name| {
            let source = format!("{file_name}: [defaults] key `gitlab_token_env`");
            env.required_secret(name.get_ref(), &source, &mut problems)
        }),
    };

    let from = flags.from.clone().or_else(|| non_empty(&d.from).map(str::to_owned));
    let to = flags.to.clone().or_else(|| non_empty(&d.to).map(str::to_owned));
    for (value, source) in [(&from, "--from / DOCSYNC_FROM"), (&to, "--to / DOCSYNC_TO")] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty() || v.starts_with('-')) {
            problems.push(
                BadInput::new(source, "not a revision", "give a commit SHA, branch, tag or expression like HEAD~3")
                    .with_value(value.clone().unwrap_or_default()),
            );
        }
    }

    let inherited = Inherited {
        direction: direction.unwrap_or(Direction::Import),
        previews: previews.unwrap_or(true),
        wait: wait.unwrap_or(true),
        wait_timeout: wait_timeout.unwrap_or(DEFAULT_WAIT_TIMEOUT),
        start_timeout: start_timeout.unwrap_or(DEFAULT_START_TIMEOUT),
        platform_authors,
    };
    let context =
        TargetContext { flags: s, env, defaults, file_name: &file_name, pipeline: &pipeline, inherited: &inherited };
    let mut targets = Vec::new();
    for (index, file_target) in file_config.target.iter().enumerate() {
        if let Some(target) =
            context.file_target(index, file_target, file.map(|f| f.text.as_str()).unwrap_or(""), &mut problems)
        {
            targets.push(target);
        }
    }
    targets.extend(context.env_targets(&mut problems));
    // A bad API URL is an error even while no GitBook target uses it: it
    // would silently break the day a space is added.
    if !targets.iter().any(|t| matches!(t.kind, TargetKind::GitBook(_))) {
        let api = s.gitbook_api_url.as_deref().map(|v| (v, "--gitbook-api-url"));
        if let Some((value, source)) = api.or(non_empty(&d.gitbook_api_url).map(|v| (v, "DOCSYNC_GITBOOK_API_URL"))) {
            parse_url(value, source, &mut problems);
        }
    }
    check_unique(&targets, &mut problems);

    for wanted in &flags.targets {
        if !targets.iter().any(|t| &t.name == wanted) {
            let known: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
            problems.push(
                BadInput::new(
                    "--target",
                    "no target has this name",
                    if known.is_empty() {
                        "configure a target first (DOCSYNC_GITBOOK_SPACE, DOCSYNC_DOT_WEBHOOK_URL or docsync.toml)"
                            .to_owned()
                    } else {
                        format!("use one of: {}", known.join(", "))
                    },
                )
                .with_value(wanted.clone()),
            );
        }
    }
    if !flags.targets.is_empty() {
        targets.retain(|t| flags.targets.contains(&t.name));
    }

    let mut settings = Settings {
        format: flags.format.unwrap_or_default(),
        dry_run: flags.dry_run,
        force: flags.force,
        from,
        to,
        pipeline,
        poll_interval: poll_interval.unwrap_or(DEFAULT_POLL_INTERVAL),
        http,
        report,
        lint: lint.unwrap_or_default(),
        codequality,
        report_json,
        gitlab: GitLabSettings {
            url: gitlab_url,
            token: gitlab_token,
            token_source: gitlab_token_source,
            plain_http: false,
        },
        targets,
        git_dir: env.git_dir.as_ref().map(PathBuf::from),
        git_work_tree: env.git_work_tree.as_ref().map(PathBuf::from),
    };
    problems.extend(crate::settings::credentials::check(&mut settings));
    if !problems.is_empty() {
        return Err(BadInputs(problems));
    }
    Ok(settings)
}

/// The first of flag, variable and file value that is set, with a name for
/// where it came from.
fn layer(
    flag: &Option<String>,
    var: &Option<String>,
    file_value: Option<String>,
    var_name: &str,
    key: &str,
    file_name: &str,
) -> Option<(String, String)> {
    if let Some(value) = flag.as_deref() {
        return Some((value.to_owned(), format!("--{}", key.replace('_', "-"))));
    }
    if let Some(value) = non_empty(var) {
        return Some((value.to_owned(), var_name.to_owned()));
    }
    file_value.map(|value| (value, format!("{file_name}: key `{key}`")))
}

struct TargetContext<'a> {
    flags: &'a SettingFlags,
    env: &'a Environment,
    defaults: &'a FileTarget,
    file_name: &'a str,
    pipeline: &'a Pipeline,
    inherited: &'a Inherited,
}

/// The run's own values (flag, environment, `[defaults]`, built-in) of the
/// settings a `[[target]]` may override.
struct Inherited {
    direction: Direction,
    previews: bool,
    wait: bool,
    wait_timeout: Duration,
    start_timeout: Duration,
    platform_authors: Vec<String>,
}

/// Keys a `[[target]]` cannot have: one value serves the whole run.
fn run_wide_keys(raw: &FileTarget) -> Vec<(&'static str, std::ops::Range<usize>)> {
    [
        ("concurrency", raw.concurrency.as_ref().map(toml::Spanned::span)),
        ("report", raw.report.as_ref().map(toml::Spanned::span)),
        ("report_json", raw.report_json.as_ref().map(toml::Spanned::span)),
        // One pre-flight and one Code Quality report serve the whole run.
        ("lint", raw.lint.as_ref().map(toml::Spanned::span)),
        ("codequality", raw.codequality.as_ref().map(toml::Spanned::span)),
        // One HTTP client and one polling pace serve every target.
        ("poll_interval", raw.poll_interval.as_ref().map(toml::Spanned::span)),
        ("http_timeout", raw.http_timeout.as_ref().map(toml::Spanned::span)),
        ("retries", raw.retries.as_ref().map(toml::Spanned::span)),
        ("retry_delay", raw.retry_delay.as_ref().map(toml::Spanned::span)),
        ("gitlab_url", raw.gitlab_url.as_ref().map(toml::Spanned::span)),
        ("gitlab_token_env", raw.gitlab_token_env.as_ref().map(toml::Spanned::span)),
    ]
    .into_iter()
    .filter_map(|(key, span)| span.map(|span| (key, span)))
    .collect()
}

impl TargetContext<'_> {
    /// The targets the environment (and flags) describe: `gitbook` and `dot`.
    fn env_targets(&self, problems: &mut Vec<BadInput>) -> Vec<Target> {
        let s = self.flags;
        let d = &self.env.docsync;
        let mut targets = Vec::new();
        let space = s.gitbook_space.clone().or_else(|| non_empty(&d.gitbook_space).map(str::to_owned));
        let space_source = if s.gitbook_space.is_some() { "--gitbook-space" } else { "DOCSYNC_GITBOOK_SPACE" };
        let webhook = s.dot_webhook_url.clone().or_else(|| non_empty(&d.dot_webhook_url).map(str::to_owned));
        let webhook_source = if s.dot_webhook_url.is_some() { "--dot-webhook-url" } else { "DOCSYNC_DOT_WEBHOOK_URL" };
        if let Some(space) = space {
            let raw = FileTarget { kind: Some("gitbook".into()), gitbook_space: Some(space), ..FileTarget::default() };
            if let Some(target) = self.build("gitbook", space_source, &raw, Some(space_source), problems) {
                targets.push(target);
            }
        }
        if let Some(url) = webhook {
            let raw = FileTarget { kind: Some("dot".into()), dot_webhook_url: Some(url), ..FileTarget::default() };
            if let Some(target) = self.build("dot", webhook_source, &raw, Some(webhook_source), problems) {
                targets.push(target);
            }
        }
        targets
    }

    fn file_target(&self, index: usize, raw: &FileTarget, text: &str, problems: &mut Vec<BadInput>) -> Option<Target> {
        let label = match &raw.name {
            Some(name) => {
                format!("{}: line {}, target \"{}\"", self.file_name, line_of(text, name.span().start), name.get_ref())
            }
            None => format!("{}: target #{}", self.file_name, index + 1),
        };
        let mut ok = true;
        for (key, span) in run_wide_keys(raw) {
            problems.push(BadInput::new(
                format!("{}: line {}, key `{key}`", self.file_name, line_of(text, span.start)),
                "this setting is one for the whole run, not per target",
                format!("move `{key}` into [defaults]: one value serves every target"),
            ));
            ok = false;
        }
        for (key, value) in inline_secrets(raw) {
            problems.push(BadInput::new(
                format!("{}: line {}, key `{key}`", self.file_name, line_of(text, value.span().start)),
                "a secret is written in the file",
                format!("remove it, put it in a masked CI/CD variable, and name that variable with `{key}_env = \"VARIABLE\"`"),
            ));
            ok = false;
        }
        let name = match raw.name.as_ref().map(toml::Spanned::get_ref) {
            Some(name) if valid_name(name) => name.clone(),
            Some(name) => {
                problems.push(
                    BadInput::new(
                        format!("{label}: key `name`"),
                        "not a valid target name",
                        "use letters, digits, '-', '_' and '.' only",
                    )
                    .with_value(name.clone()),
                );
                return None;
            }
            None => {
                problems.push(BadInput::new(
                    format!("{label}: key `name`"),
                    "every target needs a name",
                    "add name = \"…\" to the target",
                ));
                return None;
            }
        };
        if !ok {
            return None;
        }
        self.build(&name, &label, raw, None, problems)
    }

    /// Builds one target from its own keys over the defaults. `env_source`
    /// is set for the environment's shorthand targets, whose every setting
    /// follows flag > environment > file defaults.
    fn build(
        &self,
        name: &str,
        label: &str,
        raw: &FileTarget,
        env_source: Option<&str>,
        problems: &mut Vec<BadInput>,
    ) -> Option<Target> {
        let s = self.flags;
        let d = &self.env.docsync;
        let defaults = self.defaults;
        let file_name = self.file_name;
        let from_file = env_source.is_none();
        let target_label = label.to_owned();
        // A target's own key, else flag, else environment, else [defaults].
        let pick = |own: &Option<String>,
                    flag: &Option<String>,
                    var: &Option<String>,
                    default: &Option<String>,
                    var_name: &str,
                    key: &str|
         -> Option<(String, String)> {
            if from_file {
                if let Some(value) = own {
                    return Some((value.clone(), format!("{target_label}: key `{key}`")));
                }
            }
            layer(flag, var, default.clone(), var_name, key, file_name)
        };
        let before = problems.len();

        let kind = match raw.kind.as_deref() {
            Some("gitbook") => "gitbook",
            Some("dot") => "dot",
            Some(other) => {
                problems.push(
                    BadInput::new(
                        format!("{target_label}: key `kind`"),
                        "unknown target kind",
                        "use kind = \"gitbook\" or kind = \"dot\"",
                    )
                    .with_value(other),
                );
                return None;
            }
            None => {
                problems.push(BadInput::new(
                    format!("{target_label}: key `kind`"),
                    "every target needs a kind",
                    "add kind = \"gitbook\" or kind = \"dot\"",
                ));
                return None;
            }
        };

        let directory = pick(
            &raw.project_directory,
            &s.project_directory,
            &d.project_directory,
            &defaults.project_directory,
            "DOCSYNC_PROJECT_DIRECTORY",
            "project_directory",
        )
        .map_or(Some(String::new()), |(value, source)| normalize_directory(&value, &source, problems));
        let globs: Vec<String> = if from_file && raw.paths.is_some() {
            raw.paths.clone().unwrap_or_default()
        } else if let Some(list) = s.paths.as_deref().or(non_empty(&d.paths)) {
            split_list(list)
        } else if let Some(list) = &defaults.paths {
            list.clone()
        } else if kind == "dot" {
            DOT_DEFAULT_PATHS.iter().map(|s| (*s).to_owned()).collect()
        } else {
            Vec::new()
        };
        let branch = pick(&raw.branch, &s.branch, &d.branch, &defaults.branch, "DOCSYNC_BRANCH", "branch")
            .map(|(value, _)| value)
            .or_else(|| self.pipeline.ci.as_ref().and_then(|ci| ci.default_branch.clone()));
        // A [[target]]'s own key beats the run's value (flag, environment,
        // [defaults]); the environment's targets take the run's.
        let own = |key: &str| format!("{target_label}: key `{key}`");
        let inherited = self.inherited;
        let direction = match raw.direction.as_ref().filter(|_| from_file) {
            Some(value) => parse_direction(value, &own("direction"), problems),
            None => Some(inherited.direction),
        };
        let previews = raw.previews.filter(|_| from_file).unwrap_or(inherited.previews);
        let wait = raw.wait.filter(|_| from_file).unwrap_or(inherited.wait);
        let wait_timeout = match raw.wait_timeout.as_ref().filter(|_| from_file) {
            Some(value) => parse_duration_setting(value, &own("wait_timeout"), problems),
            None => Some(inherited.wait_timeout),
        };
        let start_timeout = match raw.start_timeout.as_ref().filter(|_| from_file) {
            Some(value) => parse_duration_setting(value, &own("start_timeout"), problems),
            None => Some(inherited.start_timeout),
        };
        let platform_authors = match raw.platform_authors.as_ref().filter(|_| from_file) {
            Some(list) => list.clone(),
            None => inherited.platform_authors.clone(),
        };

        let kind = if kind == "gitbook" {
            let space_key = if from_file {
                format!("{target_label}: key `gitbook_space`")
            } else {
                env_source.unwrap_or("DOCSYNC_GITBOOK_SPACE").to_owned()
            };
            let space = raw.gitbook_space.clone().or_else(|| defaults.gitbook_space.clone());
            let space = match space {
                Some(space) if valid_space(&space) => Some(space),
                Some(space) => {
                    problems.push(
                        BadInput::new(
                            space_key,
                            "not a GitBook space id",
                            "copy the id from the space's URL: app.gitbook.com/o/…/s/<space id>",
                        )
                        .with_value(space),
                    );
                    None
                }
                None => {
                    problems.push(BadInput::new(
                        space_key,
                        "a GitBook target needs a space",
                        "set gitbook_space = \"<space id>\"",
                    ));
                    None
                }
            };
            let api_url = pick(
                &raw.gitbook_api_url,
                &s.gitbook_api_url,
                &d.gitbook_api_url,
                &defaults.gitbook_api_url,
                "DOCSYNC_GITBOOK_API_URL",
                "gitbook_api_url",
            )
            .map_or_else(
                || Url::parse(DEFAULT_GITBOOK_API_URL).ok(),
                |(value, source)| parse_url(&value, &source, problems),
            );
            let (token, token_source) = self.secret(
                raw.gitbook_token_env.as_ref().filter(|_| from_file).map(|name| (name, own("gitbook_token_env"))),
                defaults.gitbook_token_env.as_ref(),
                "gitbook_token_env",
                &d.gitbook_token,
                "DOCSYNC_GITBOOK_TOKEN",
                problems,
            );
            let (git_token, git_token_source) = self.secret(
                raw.git_token_env.as_ref().filter(|_| from_file).map(|name| (name, own("git_token_env"))),
                defaults.git_token_env.as_ref(),
                "git_token_env",
                &d.git_token,
                "DOCSYNC_GIT_TOKEN",
                problems,
            );
            if let (Some(url), Some(_)) = (&api_url, &token) {
                refuse_plain_http(url, "DOCSYNC_GITBOOK_API_URL", &token_source, problems);
            }
            let export_branch = pick(
                &raw.export_branch,
                &s.export_branch,
                &d.export_branch,
                &defaults.export_branch,
                "DOCSYNC_EXPORT_BRANCH",
                "export_branch",
            )
            .map(|(v, _)| v);
            let export_mr = pick(
                &raw.export_mr.map(|b| b.to_string()),
                &s.export_mr,
                &d.export_mr,
                &defaults.export_mr.map(|b| b.to_string()),
                "DOCSYNC_EXPORT_MR",
                "export_mr",
            )
            .map_or(Some(false), |(value, source)| parse_bool(&value, &source, problems));
            match (space, api_url) {
                (Some(space), Some(api_url)) => TargetKind::GitBook(GitBookTarget {
                    space,
                    api_url,
                    token,
                    token_source,
                    git_token,
                    git_token_source,
                    export_branch,
                    export_mr: export_mr.unwrap_or(false),
                    wait,
                    wait_timeout: wait_timeout.unwrap_or(DEFAULT_WAIT_TIMEOUT),
                    start_timeout: start_timeout.unwrap_or(DEFAULT_START_TIMEOUT),
                }),
                _ => return None,
            }
        } else {
            let url_key = if from_file {
                format!("{target_label}: key `dot_webhook_url`")
            } else {
                env_source.unwrap_or("DOCSYNC_DOT_WEBHOOK_URL").to_owned()
            };
            let url = match raw.dot_webhook_url.clone().or_else(|| defaults.dot_webhook_url.clone()) {
                Some(url) => parse_url(&url, &url_key, problems),
                None => {
                    problems.push(BadInput::new(
                        url_key,
                        "a dot target needs a webhook URL",
                        "set dot_webhook_url = \"https://…\"",
                    ));
                    None
                }
            };
            let (secret, secret_source) = self.secret(
                raw.dot_webhook_secret_env
                    .as_ref()
                    .filter(|_| from_file)
                    .map(|name| (name, own("dot_webhook_secret_env"))),
                defaults.dot_webhook_secret_env.as_ref(),
                "dot_webhook_secret_env",
                &d.dot_webhook_secret,
                "DOCSYNC_DOT_WEBHOOK_SECRET",
                problems,
            );
            if let (Some(url), Some(_)) = (&url, &secret) {
                refuse_plain_http(url, "DOCSYNC_DOT_WEBHOOK_URL", &secret_source, problems);
            }
            match url {
                Some(webhook_url) => TargetKind::Dot(DotTarget { webhook_url, secret, secret_source }),
                None => return None,
            }
        };

        let globs_source = if from_file && raw.paths.is_some() {
            format!("{target_label}: key `paths`")
        } else {
            "DOCSYNC_PATHS".to_owned()
        };
        let paths = match directory.map(|dir| PathFilter::new(dir, globs.clone())) {
            Some(Ok(filter)) => Some(filter),
            Some(Err(error)) => {
                problems.push(
                    BadInput::new(
                        globs_source,
                        format!("not a valid glob: {error}"),
                        "write globs like *.md or guides/**/*.md, separated by commas",
                    )
                    .with_value(globs.join(",")),
                );
                None
            }
            None => None,
        };
        if problems.len() > before {
            return None;
        }
        let defined_at = target_label;
        Some(Target {
            name: name.to_owned(),
            defined_at,
            branch,
            paths: paths?,
            direction: direction?,
            previews,
            platform_authors,
            kind,
        })
    }

    /// A target's secret, by the settings' precedence: the variable its own
    /// `*_env` key names, else the `DOCSYNC_` variable, else the one
    /// `[defaults]` names. A variable the file names must be set: a missing
    /// secret is never replaced by another one, nor silently absent.
    #[allow(clippy::too_many_arguments, reason = "one lookup of a secret over every layer it may come from")]
    fn secret(
        &self,
        own: Option<(&String, String)>,
        default: Option<&String>,
        key: &str,
        direct: &Option<Secret>,
        direct_name: &str,
        problems: &mut Vec<BadInput>,
    ) -> (Option<Secret>, String) {
        if let Some((name, source)) = own {
            return (self.env.required_secret(name, &source, problems), name.clone());
        }
        if let Some(secret) = direct.clone().filter(|s| !s.expose().is_empty()) {
            return (Some(secret), direct_name.to_owned());
        }
        match default {
            Some(name) => {
                let source = format!("{}: [defaults] key `{key}`", self.file_name);
                (self.env.required_secret(name, &source, problems), name.clone())
            }
            None => (None, direct_name.to_owned()),
        }
    }
}

fn inline_secrets(raw: &FileTarget) -> Vec<(&'static str, &toml::Spanned<toml::Value>)> {
    [
        ("gitbook_token", &raw.gitbook_token),
        ("git_token", &raw.git_token),
        ("dot_webhook_secret", &raw.dot_webhook_secret),
        ("gitlab_token", &raw.gitlab_token),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.as_ref().map(|v| (key, v)))
    .collect()
}

fn check_defaults_table(file_name: &str, text: &str, defaults: &FileTarget, problems: &mut Vec<BadInput>) {
    for (key, value) in inline_secrets(defaults) {
        problems.push(BadInput::new(
            format!("{file_name}: line {}, key `{key}`", line_of(text, value.span().start)),
            "a secret is written in the file",
            format!(
                "remove it, put it in a masked CI/CD variable, and name that variable with `{key}_env = \"VARIABLE\"`"
            ),
        ));
    }
    for (key, set) in [("name", defaults.name.is_some()), ("kind", defaults.kind.is_some())] {
        if set {
            problems.push(BadInput::new(
                format!("{file_name}: [defaults] key `{key}`"),
                "only a [[target]] has this key",
                format!("move `{key}` into a [[target]] table"),
            ));
        }
    }
}

fn check_unique(targets: &[Target], problems: &mut Vec<BadInput>) {
    // File targets are named by file, line and key; the environment's by
    // their variable.
    let source = |target: &Target, key: &str| {
        if target.defined_at.starts_with("DOCSYNC_") || target.defined_at.starts_with("--") {
            target.defined_at.clone()
        } else {
            format!("{}, key `{key}`", target.defined_at)
        }
    };
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    let mut spaces: BTreeMap<(String, String), &str> = BTreeMap::new();
    for target in targets {
        if let Some(first) = names.insert(target.name.as_str(), target.defined_at.as_str()) {
            problems.push(BadInput::new(
                source(target, "name"),
                format!("two targets are named \"{}\" (the first at {first})", target.name),
                "give every target its own name (the environment's targets are named `gitbook` and `dot`)",
            ));
        }
        if let TargetKind::GitBook(gitbook) = &target.kind {
            // `…/v1` and `…/v1/` are one API (the url crate already folds
            // the host's case and a default port).
            let key = (gitbook.api_url.as_str().trim_end_matches('/').to_owned(), gitbook.space.clone());
            if let Some(first) = spaces.insert(key, target.defined_at.as_str()) {
                problems.push(BadInput::new(
                    source(target, "gitbook_space"),
                    format!("GitBook space {} is also the space of {first}", gitbook.space),
                    "a space syncs from one directory: remove one of the two targets",
                ));
            }
        }
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn valid_space(space: &str) -> bool {
    !space.is_empty()
        && space.len() <= 128
        && space.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

/// A comma-separated list; a comma inside `{…}` belongs to a glob's
/// alternatives (`*.{md,yml}`), not to the list.
fn split_list(list: &str) -> Vec<String> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (index, c) in list.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(&list[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    items.push(&list[start..]);
    items.into_iter().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn parse_bool(value: &str, source: &str, problems: &mut Vec<BadInput>) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => {
            problems.push(BadInput::new(source, "not a boolean", "use true or false").with_value(value));
            None
        }
    }
}

fn parse_direction(value: &str, source: &str, problems: &mut Vec<BadInput>) -> Option<Direction> {
    match value.trim().to_ascii_lowercase().as_str() {
        "import" => Some(Direction::Import),
        "export" => Some(Direction::Export),
        _ => {
            problems.push(
                BadInput::new(
                    source,
                    "unknown direction",
                    "use import (GitLab → platform) or export (GitBook → GitLab)",
                )
                .with_value(value),
            );
            None
        }
    }
}

fn parse_lint(value: &str, source: &str, problems: &mut Vec<BadInput>) -> Option<LintMode> {
    match value.trim().to_ascii_lowercase().as_str() {
        "error" => Some(LintMode::Error),
        "warn" | "warning" => Some(LintMode::Warn),
        "off" => Some(LintMode::Off),
        _ => {
            problems.push(
                BadInput::new(
                    source,
                    "unknown docs pre-flight mode",
                    "use error (new errors stop the import), warn (report only) or off",
                )
                .with_value(value),
            );
            None
        }
    }
}

fn parse_concurrency(value: &str, source: &str, problems: &mut Vec<BadInput>) -> Option<usize> {
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => Some(n),
        _ => {
            problems.push(
                BadInput::new(
                    source,
                    format!("not a number from 1 to {MAX_CONCURRENCY}"),
                    "use a small whole number such as 8",
                )
                .with_value(value),
            );
            None
        }
    }
}

/// The longest duration any setting accepts: longer than any CI job runs,
/// and short enough that adding it to a clock never overflows.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

fn parse_duration_setting(value: &str, source: &str, problems: &mut Vec<BadInput>) -> Option<Duration> {
    match parse_duration(value) {
        Some(duration) if duration > MAX_DURATION => {
            problems.push(
                BadInput::new(
                    source,
                    format!("longer than the {} docsync allows", format_duration(MAX_DURATION)),
                    "use a duration a CI job can wait, like 10m or 1h",
                )
                .with_value(value),
            );
            None
        }
        Some(duration) if !duration.is_zero() => Some(duration),
        _ => {
            problems.push(
                BadInput::new(source, "not a duration", "write a number with a unit, like 90s, 10m, 1h or 1h30m")
                    .with_value(value),
            );
            None
        }
    }
}

/// `90s`, `10m`, `1h30m`, `500ms`: numbers each followed by a unit.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(number),
            "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number.checked_mul(60)?),
            "h" => Duration::from_secs(number.checked_mul(3600)?),
            _ => return None,
        };
        total = total.checked_add(unit)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// A duration as `parse_duration` reads it: `1h30m`, `10m`, `90s`, `250ms`.
pub fn format_duration(duration: Duration) -> String {
    let mut out = String::new();
    let mut seconds = duration.as_secs();
    for (unit, size) in [("h", 3600), ("m", 60), ("s", 1)] {
        if seconds >= size {
            out.push_str(&format!("{}{unit}", seconds / size));
            seconds %= size;
        }
    }
    let millis = duration.subsec_millis();
    if millis > 0 || out.is_empty() {
        out.push_str(&format!("{millis}ms"));
    }
    out
}

fn parse_url(value: &str, source: &str, problems: &mut Vec<BadInput>) -> Option<Url> {
    let shown = crate::secret::redact(value);
    match Url::parse(value.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Some(url),
        Ok(_) => {
            problems.push(
                BadInput::new(source, "not an http(s) URL", "write the full address, like https://example.com/path")
                    .with_value(shown),
            );
            None
        }
        Err(error) => {
            // Host names are ASCII only (idna_adapter 1.0, Cargo.toml).
            let fix = if error == url::ParseError::IdnaError {
                "write a non-ASCII host name in its ASCII form (xn--…, as `idn2` prints it)"
            } else {
                "write the full address, like https://example.com/path"
            };
            problems.push(BadInput::new(source, format!("not a URL ({error})"), fix).with_value(shown));
            None
        }
    }
}

/// Tokens never travel over plain `http://`, except to this machine.
fn refuse_plain_http(url: &Url, url_source: &str, secret_source: &str, problems: &mut Vec<BadInput>) {
    if url.scheme() == "http" && !is_loopback(url) {
        problems.push(
            BadInput::new(
                url_source,
                format!("plain http would send {secret_source} unencrypted"),
                "use an https:// URL",
            )
            .with_value(crate::secret::redact_url(url)),
        );
    }
}

pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn normalize_directory(value: &str, source: &str, problems: &mut Vec<BadInput>) -> Option<String> {
    let trimmed = value.trim().trim_start_matches("./").trim_matches('/');
    if trimmed == "." {
        return Some(String::new());
    }
    if trimmed.split('/').any(|part| part == ".." || part == "." || part.is_empty()) && !trimmed.is_empty() {
        problems.push(
            BadInput::new(
                source,
                "not a plain directory inside the repository",
                "write it relative to the repository root, like docs or handbook/en",
            )
            .with_value(value),
        );
        return None;
    }
    Some(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn env(vars: &[(&str, &str)]) -> Environment {
        Environment::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string()))).unwrap()
    }

    fn resolve_env(vars: &[(&str, &str)]) -> Result<Settings, BadInputs> {
        resolve(&GlobalFlags::default(), &env(vars), None)
    }

    fn loaded(text: &str) -> LoadedFile {
        let path = PathBuf::from("docsync.toml");
        match parse_file(&path, text) {
            Ok(config) => LoadedFile { path, text: text.to_owned(), config },
            Err(error) => panic!("{error}"),
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("10 minutes"), None);
        assert_eq!(parse_duration("600"), None);
        assert_eq!(parse_duration("m"), None);
        for text in ["1h30m", "10m", "90s", "250ms", "1m5s", "2s500ms"] {
            let duration = parse_duration(text).unwrap();
            assert_eq!(parse_duration(&format_duration(duration)), Some(duration), "{text}");
        }
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
    }

    fn gitbook(target: &Target) -> &GitBookTarget {
        match &target.kind {
            TargetKind::GitBook(gitbook) => gitbook,
            other => panic!("not a GitBook target: {other:?}"),
        }
    }

    #[test]
    fn defaults_without_any_configuration() {
        let settings = resolve_env(&[]).unwrap();
        assert!(settings.targets.is_empty());
        assert_eq!(settings.http.max_in_flight, 8);
        assert_eq!(settings.report, None);
        let settings = resolve_env(&[("DOCSYNC_GITBOOK_SPACE", "spc1")]).unwrap();
        let target = &settings.targets[0];
        assert_eq!(target.direction, Direction::Import);
        assert!(target.previews && gitbook(target).wait);
        assert_eq!(gitbook(target).wait_timeout, Duration::from_secs(600));
        assert_eq!(gitbook(target).start_timeout, Duration::from_secs(120));
        assert_eq!(settings.report_json, None);
    }

    #[test]
    fn start_timeout_and_json_report_layer_like_every_setting() {
        let file = loaded(
            "[defaults]\nstart_timeout = \"5m\"\nreport_json = \"from-file.json\"\n\n[[target]]\nname = \"docs\"\nkind = \"gitbook\"\ngitbook_space = \"spc1\"\n",
        );
        let settings = resolve(&GlobalFlags::default(), &env(&[]), Some(&file)).unwrap();
        assert_eq!(gitbook(&settings.targets[0]).start_timeout, Duration::from_secs(300));
        assert_eq!(settings.report_json.map(|r| r.path), Some(PathBuf::from("from-file.json")));
        let mut flags = GlobalFlags::default();
        flags.settings.start_timeout = Some("30s".into());
        let settings =
            resolve(&flags, &env(&[("DOCSYNC_START_TIMEOUT", "1m"), ("DOCSYNC_REPORT_JSON", "env.json")]), Some(&file))
                .unwrap();
        assert_eq!(gitbook(&settings.targets[0]).start_timeout, Duration::from_secs(30));
        let report_json = settings.report_json.unwrap();
        assert_eq!((report_json.path, report_json.source.as_str()), (PathBuf::from("env.json"), "DOCSYNC_REPORT_JSON"));
        let problems = resolve_env(&[("DOCSYNC_START_TIMEOUT", "soon")]).unwrap_err().to_string();
        assert!(problems.contains("DOCSYNC_START_TIMEOUT = \"soon\": not a duration"), "{problems}");
    }

    #[test]
    fn bad_values_name_variable_value_and_fix() {
        let problems = resolve_env(&[
            ("DOCSYNC_WAIT_TIMEOUT", "10 minutes"),
            ("DOCSYNC_DIRECTION", "sideways"),
            ("DOCSYNC_GITBOOK_SPACE", "spc1"),
            ("DOCSYNC_GITBOOK_API_URL", "api.gitbook.com"),
        ])
        .unwrap_err()
        .to_string();
        assert!(problems.contains("DOCSYNC_WAIT_TIMEOUT = \"10 minutes\": not a duration"), "{problems}");
        assert!(problems.contains("fix: write a number with a unit, like 90s, 10m"), "{problems}");
        assert!(problems.contains("DOCSYNC_DIRECTION = \"sideways\": unknown direction"), "{problems}");
        assert!(problems.contains("DOCSYNC_GITBOOK_API_URL = \"api.gitbook.com\": not a URL"), "{problems}");
    }

    #[test]
    fn flag_beats_environment_beats_file() {
        let file = loaded("[defaults]\nwait_timeout = \"5m\"\ndirection = \"export\"\nbranch = \"docs\"\n");
        let mut flags = GlobalFlags::default();
        flags.settings.wait_timeout = Some("30s".into());
        let vars = [("DOCSYNC_GITBOOK_SPACE", "spc1"), ("DOCSYNC_WAIT_TIMEOUT", "2m"), ("DOCSYNC_DIRECTION", "import")];
        let settings = resolve(&flags, &env(&vars), Some(&file)).unwrap();
        assert_eq!(gitbook(&settings.targets[0]).wait_timeout, Duration::from_secs(30));
        assert_eq!(settings.targets[0].direction, Direction::Import);
        let settings = resolve(&GlobalFlags::default(), &env(&vars[..1]), Some(&file)).unwrap();
        assert_eq!(gitbook(&settings.targets[0]).wait_timeout, Duration::from_secs(300));
        assert_eq!(settings.targets[0].direction, Direction::Export);
    }

    /// Every key a [[target]] accepts either works for that target or is
    /// refused with its line: nothing is accepted and then ignored.
    /// The HTTP and polling settings layer like every other: flag, then
    /// environment, then [defaults].
    #[test]
    fn http_and_polling_settings_are_flags_and_file_keys() {
        let file = loaded(
            "[defaults]\nhttp_timeout = \"7s\"\nretries = 2\nretry_delay = \"3s\"\npoll_interval = \"4s\"\nplatform_authors = [\"bot\"]\n",
        );
        let settings = resolve(&GlobalFlags::default(), &env(&[]), Some(&file)).unwrap();
        assert_eq!(settings.http.timeout, Duration::from_secs(7));
        assert_eq!(settings.http.retry.retries, 2);
        assert_eq!(settings.http.retry.base_delay, Duration::from_secs(3));
        assert_eq!(settings.poll_interval, Duration::from_secs(4));
        let mut flags = GlobalFlags::default();
        flags.settings.http_timeout = Some("9s".into());
        flags.settings.retries = Some("1".into());
        let settings =
            resolve(&flags, &env(&[("DOCSYNC_HTTP_TIMEOUT", "8s"), ("DOCSYNC_RETRY_DELAY", "5s")]), Some(&file))
                .unwrap();
        assert_eq!(settings.http.timeout, Duration::from_secs(9));
        assert_eq!(settings.http.retry.retries, 1);
        assert_eq!(settings.http.retry.base_delay, Duration::from_secs(5));
        let problems = resolve(&GlobalFlags::default(), &env(&[]), Some(&loaded("[defaults]\nretries = 99\n")))
            .unwrap_err()
            .to_string();
        assert!(problems.contains("docsync.toml: key `retries`") && problems.contains("0 to 20"), "{problems}");
    }

    /// docs/settings.md, `--help` and the keys docsync.toml accepts name the
    /// same settings: a setting added to one and not the others fails here.
    #[test]
    fn settings_reference_help_and_file_keys_agree() {
        use clap::CommandFactory;
        let reference = include_str!("../../docs/settings.md");
        let rows: Vec<Vec<String>> = reference
            .lines()
            .filter(|line| line.starts_with("| `DOCSYNC_"))
            .map(|line| line.split(" | ").map(|cell| cell.trim_matches(|c| c == '|' || c == ' ').to_owned()).collect())
            .collect();
        assert!(rows.len() > 25, "docs/settings.md has {} rows", rows.len());
        let code = |cell: &str| cell.split('`').nth(1).map(str::to_owned);

        let command = crate::settings::flags::Cli::command();
        let flags: BTreeSet<String> =
            command.get_arguments().filter_map(|arg| arg.get_long().map(|long| format!("--{long}"))).collect();
        let file_keys: BTreeSet<String> = match toml::from_str::<FileTarget>("unknown_key_probe = 1") {
            Err(error) => error
                .message()
                .split_once("expected one of ")
                .map(|(_, list)| list.split(", ").map(|k| k.trim().trim_matches('`').to_owned()).collect())
                .unwrap_or_default(),
            Ok(_) => panic!("FileTarget accepts unknown keys"),
        };

        let mut documented_flags = BTreeSet::new();
        let mut documented_keys = BTreeSet::new();
        for row in &rows {
            let variable = code(&row[0]).expect("a variable");
            // Each documented variable is read: set alone, it fills a field.
            let read = envy::prefixed("DOCSYNC_")
                .from_iter::<_, DocsyncEnv>([(variable.clone(), "probe-value-1234".to_owned())])
                .unwrap_or_else(|e| panic!("{variable}: {e}"));
            assert!(format!("{read:?}").contains("Some("), "docsync does not read {variable}");
            match code(&row[1]) {
                Some(flag) => {
                    assert!(flags.contains(&flag), "{variable}: {flag} is not a flag of docsync");
                    documented_flags.insert(flag);
                }
                None => assert!(
                    row[3].contains("(secret)"),
                    "{variable} has no flag: only secrets may lack one (a command line is visible to every process)"
                ),
            }
            if let Some(key) = code(&row[2]) {
                assert!(file_keys.contains(&key), "{variable}: `{key}` is not a docsync.toml key");
                documented_keys.insert(key);
            }
        }
        let global_flags =
            ["--format", "--dry-run", "--force", "--target", "--verbose", "--quiet", "--help", "--version"];
        for flag in &flags {
            assert!(
                documented_flags.contains(flag) || global_flags.contains(&flag.as_str()),
                "{flag} is a flag but not in docs/settings.md"
            );
        }
        // Keys that are no setting of their own: a target's identity, and
        // secrets written inline, which are refused with a pointer to `_env`.
        let not_settings = ["name", "kind", "gitbook_token", "git_token", "dot_webhook_secret", "gitlab_token"];
        for key in &file_keys {
            assert!(
                documented_keys.contains(key) || not_settings.contains(&key.as_str()),
                "docsync.toml accepts `{key}` but docs/settings.md does not document it"
            );
        }
    }

    #[test]
    fn every_target_key_works_for_its_target_or_is_refused() {
        // The keys serde accepts in a [[target]], from the struct itself.
        let accepted = match toml::from_str::<FileTarget>("unknown_key_probe = 1") {
            Err(error) => error.message().to_owned(),
            Ok(_) => panic!("FileTarget accepts unknown keys"),
        };
        let keys: Vec<&str> = accepted
            .split_once("expected one of ")
            .map(|(_, list)| list)
            .unwrap_or_default()
            .split(", ")
            .map(|key| key.trim().trim_matches('`'))
            .collect();
        assert!(keys.len() > 20, "{accepted}");

        let base = "name = \"t\"\nkind = \"gitbook\"\ngitbook_space = \"spcOwn\"\n";
        let vars = [
            ("OWN_GB", "own-gitbook-token"),
            ("OWN_GIT", "own-git-token"),
            ("OWN_DOT", "own-dot-secret"),
            ("GITLAB_TOKEN_VAR", "gitlab-token-value"),
            ("GITLAB_CI", "true"),
            ("CI_PIPELINE_SOURCE", "push"),
            ("CI_COMMIT_SHA", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            ("CI_DEFAULT_BRANCH", "main"),
        ];
        for key in keys {
            let (line, check): (&str, Check<'_>) = match key {
                "name" | "kind" | "gitbook_space" => continue,
                "gitbook_token" | "git_token" | "dot_webhook_secret" | "gitlab_token" => (
                    "= \"inline-secret-value\"",
                    Box::new(|t| assert!(t.unwrap_err().contains("line 5, key"), "{key}")),
                ),
                "concurrency" => ("= 2", Box::new(|t| refused(t, "concurrency"))),
                "report" => ("= \"x.env\"", Box::new(|t| refused(t, "report"))),
                "report_json" => ("= \"x.json\"", Box::new(|t| refused(t, "report_json"))),
                "lint" => ("= \"warn\"", Box::new(|t| refused(t, "lint"))),
                "codequality" => ("= \"cq.json\"", Box::new(|t| refused(t, "codequality"))),
                "poll_interval" => ("= \"2s\"", Box::new(|t| refused(t, "poll_interval"))),
                "http_timeout" => ("= \"10s\"", Box::new(|t| refused(t, "http_timeout"))),
                "retries" => ("= 2", Box::new(|t| refused(t, "retries"))),
                "retry_delay" => ("= \"2s\"", Box::new(|t| refused(t, "retry_delay"))),
                "gitlab_url" => ("= \"https://gitlab.example.com\"", Box::new(|t| refused(t, "gitlab_url"))),
                "gitlab_token_env" => ("= \"GITLAB_TOKEN_VAR\"", Box::new(|t| refused(t, "gitlab_token_env"))),
                "gitbook_api_url" => (
                    "= \"https://gitbook.example.com/v1\"",
                    Box::new(|t| assert_eq!(gitbook(t.unwrap()).api_url.as_str(), "https://gitbook.example.com/v1")),
                ),
                "gitbook_token_env" => (
                    "= \"OWN_GB\"",
                    Box::new(|t| {
                        assert_eq!(gitbook(t.unwrap()).token.as_ref().map(Secret::expose), Some("own-gitbook-token"))
                    }),
                ),
                "git_token_env" => (
                    "= \"OWN_GIT\"",
                    Box::new(|t| {
                        assert_eq!(gitbook(t.unwrap()).git_token.as_ref().map(Secret::expose), Some("own-git-token"))
                    }),
                ),
                "project_directory" => {
                    ("= \"handbook\"", Box::new(|t| assert_eq!(t.unwrap().paths.directory, "handbook")))
                }
                "paths" => ("= [\"*.md\"]", Box::new(|t| assert_eq!(t.unwrap().paths.globs, ["*.md"]))),
                "branch" => ("= \"live\"", Box::new(|t| assert_eq!(t.unwrap().branch.as_deref(), Some("live")))),
                "export_branch" => (
                    "= \"gitbook\"",
                    Box::new(|t| assert_eq!(gitbook(t.unwrap()).export_branch.as_deref(), Some("gitbook"))),
                ),
                "export_mr" => ("= true", Box::new(|t| assert!(gitbook(t.unwrap()).export_mr))),
                "direction" => ("= \"export\"", Box::new(|t| assert_eq!(t.unwrap().direction, Direction::Export))),
                "previews" => ("= false", Box::new(|t| assert!(!t.unwrap().previews))),
                "wait" => ("= false", Box::new(|t| assert!(!gitbook(t.unwrap()).wait))),
                "wait_timeout" => {
                    ("= \"90s\"", Box::new(|t| assert_eq!(gitbook(t.unwrap()).wait_timeout, Duration::from_secs(90))))
                }
                "start_timeout" => {
                    ("= \"45s\"", Box::new(|t| assert_eq!(gitbook(t.unwrap()).start_timeout, Duration::from_secs(45))))
                }
                "platform_authors" => {
                    ("= [\"docs-bot\"]", Box::new(|t| assert_eq!(t.unwrap().platform_authors, ["docs-bot"])))
                }
                // Keys of the other kind are tried on a dot target below.
                "dot_webhook_url" | "dot_webhook_secret_env" => continue,
                other => panic!("the test does not know the [[target]] key `{other}`: make it work or refuse it"),
            };
            let text = format!("[[target]]\n{base}{key} {line}\n");
            let file = loaded(&text);
            let result = resolve(&GlobalFlags::default(), &env(&vars), Some(&file));
            check(result.as_ref().map(|s| &s.targets[0]).map_err(|e| e.to_string()));
        }
        let text = "[[target]]\nname = \"d\"\nkind = \"dot\"\ndot_webhook_url = \"https://dot.example.com/hook\"\ndot_webhook_secret_env = \"OWN_DOT\"\n";
        let settings = resolve(&GlobalFlags::default(), &env(&vars), Some(&loaded(text))).unwrap();
        match &settings.targets[0].kind {
            TargetKind::Dot(dot) => {
                assert_eq!(dot.webhook_url.as_str(), "https://dot.example.com/hook");
                assert_eq!(dot.secret.as_ref().map(Secret::expose), Some("own-dot-secret"));
            }
            other => panic!("{other:?}"),
        }
    }

    /// Checks what one key did to its target, or the problems it caused.
    type Check<'a> = Box<dyn Fn(Result<&Target, String>) + 'a>;

    fn refused(result: Result<&Target, String>, key: &str) {
        let problems = result.unwrap_err();
        assert!(
            problems.contains(&format!("docsync.toml: line 5, key `{key}`: this setting is one for the whole run")),
            "{problems}"
        );
        assert!(problems.contains("move it") || problems.contains("into [defaults]"), "{problems}");
    }

    /// PRODUCT.md "Several targets": a target's own `*_env`, then the
    /// environment, then [defaults]; a named variable that is unset is exit 2.
    #[test]
    fn secrets_follow_the_settings_precedence_and_named_ones_must_be_set() {
        let file = loaded(
            "[defaults]\ngitbook_token_env = \"SHARED_GB\"\n\n[[target]]\nname = \"own\"\nkind = \"gitbook\"\ngitbook_space = \"spcOwn\"\ngitbook_token_env = \"OWN_GB\"\n\n[[target]]\nname = \"shared\"\nkind = \"gitbook\"\ngitbook_space = \"spcShared\"\n",
        );
        let vars = [
            ("OWN_GB", "own-gitbook-token"),
            ("SHARED_GB", "shared-gitbook-token"),
            ("DOCSYNC_GITBOOK_TOKEN", "environment-token"),
            ("DOCSYNC_GITBOOK_SPACE", "spcEnv"),
        ];
        let settings = resolve(&GlobalFlags::default(), &env(&vars), Some(&file)).unwrap();
        let token = |name: &str| {
            let target = settings.targets.iter().find(|t| t.name == name).unwrap();
            gitbook(target).token.as_ref().map(|t| t.expose().to_owned())
        };
        assert_eq!(token("own").as_deref(), Some("own-gitbook-token"));
        // The environment beats [defaults], for the environment's own target too.
        assert_eq!(token("gitbook").as_deref(), Some("environment-token"));
        assert_eq!(token("shared").as_deref(), Some("environment-token"));
        let settings = resolve(&GlobalFlags::default(), &env(&[vars[0], vars[1]]), Some(&file)).unwrap();
        let target = settings.targets.iter().find(|t| t.name == "shared").unwrap();
        assert_eq!(gitbook(target).token.as_ref().map(Secret::expose), Some("shared-gitbook-token"));

        // Unset named variables: exit 2 naming the key and the variable.
        let problems = resolve(&GlobalFlags::default(), &env(&[]), Some(&file)).unwrap_err().to_string();
        assert!(problems.contains("docsync.toml: line 5, target \"own\": key `gitbook_token_env` = \"OWN_GB\": the variable OWN_GB it names is not set"), "{problems}");
        assert!(problems.contains("docsync.toml: [defaults] key `gitbook_token_env` = \"SHARED_GB\""), "{problems}");
        assert!(problems.contains("fix: set SHARED_GB as a masked CI/CD variable"), "{problems}");
    }

    #[test]
    fn one_space_is_one_target_however_the_api_url_is_written() {
        let file = loaded(
            "[[target]]\nname = \"a\"\nkind = \"gitbook\"\ngitbook_space = \"s1\"\ngitbook_api_url = \"https://GitBook.example.com:443/v1\"\n\n[[target]]\nname = \"b\"\nkind = \"gitbook\"\ngitbook_space = \"s1\"\ngitbook_api_url = \"https://gitbook.example.com/v1/\"\n",
        );
        let problems = resolve(&GlobalFlags::default(), &env(&[]), Some(&file)).unwrap_err().to_string();
        assert!(problems.contains("GitBook space s1 is also the space of docsync.toml: line 2"), "{problems}");
    }

    #[test]
    fn a_comma_inside_braces_is_part_of_the_glob() {
        assert_eq!(split_list("*.{md,yml}, guides/*.txt"), ["*.{md,yml}", "guides/*.txt"]);
        let settings = resolve_env(&[("DOCSYNC_GITBOOK_SPACE", "spc1"), ("DOCSYNC_PATHS", "*.{md,yml}")]).unwrap();
        let paths = &settings.targets[0].paths;
        assert_eq!(paths.globs, ["*.{md,yml}"]);
        assert!(paths.matches("a/b.md") && paths.matches("c.yml") && !paths.matches("d.txt"));
    }

    #[test]
    fn environment_targets_and_file_targets_share_one_list() {
        let file = loaded(
            "[defaults]\ngitbook_token_env = \"GB_TOKEN\"\n\n[[target]]\nname = \"handbook\"\nkind = \"gitbook\"\ngitbook_space = \"spcA\"\nproject_directory = \"/handbook/\"\n\n[[target]]\nname = \"api\"\nkind = \"dot\"\ndot_webhook_url = \"https://example.invalid/hook\"\nproject_directory = \"api\"\n",
        );
        let settings = resolve(
            &GlobalFlags::default(),
            &env(&[("GB_TOKEN", "gb-token-from-named-var"), ("DOCSYNC_GITBOOK_SPACE", "spcB")]),
            Some(&file),
        )
        .unwrap();
        let names: Vec<&str> = settings.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["handbook", "api", "gitbook"]);
        assert_eq!(settings.targets[0].paths.directory, "handbook");
        match &settings.targets[0].kind {
            TargetKind::GitBook(gitbook) => {
                assert_eq!(gitbook.token.as_ref().map(Secret::expose), Some("gb-token-from-named-var"));
                assert_eq!(gitbook.token_source, "GB_TOKEN");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(settings.targets[1].paths.globs, DOT_DEFAULT_PATHS);
    }

    #[test]
    fn inline_secret_unknown_key_and_duplicates_are_refused_with_line() {
        let error =
            parse_file(Path::new("docsync.toml"), "[[target]]\nname = \"a\"\nkind = \"gitbook\"\nspace = \"x\"\n")
                .unwrap_err();
        assert!(error.to_string().starts_with("docsync.toml line 4: unknown field `space`"), "{error}");

        let file = loaded(
            "[[target]]\nname = \"a\"\nkind = \"gitbook\"\ngitbook_space = \"s1\"\ngitbook_token = \"gb_live_x\"\n\n[[target]]\nname = \"a\"\nkind = \"gitbook\"\ngitbook_space = \"s1\"\n",
        );
        let problems = resolve(&GlobalFlags::default(), &env(&[]), Some(&file)).unwrap_err().to_string();
        assert!(
            problems.contains("docsync.toml: line 5, key `gitbook_token`: a secret is written in the file"),
            "{problems}"
        );
        assert!(problems.contains("gitbook_token_env = \"VARIABLE\""), "{problems}");
        assert!(!problems.contains("gb_live_x"), "{problems}");

        let file = loaded(
            "[[target]]\nname = \"a\"\nkind = \"gitbook\"\ngitbook_space = \"s1\"\n\n[[target]]\nname = \"b\"\nkind = \"gitbook\"\ngitbook_space = \"s1\"\n",
        );
        let problems = resolve(&GlobalFlags::default(), &env(&[]), Some(&file)).unwrap_err().to_string();
        assert!(
            problems.contains(
                "docsync.toml: line 7, target \"b\", key `gitbook_space`: GitBook space s1 is also the space of docsync.toml: line 2, target \"a\""
            ),
            "{problems}"
        );
    }

    #[test]
    fn tokens_are_refused_over_plain_http_except_loopback() {
        let problems = resolve_env(&[
            ("DOCSYNC_GITBOOK_SPACE", "spc1"),
            ("DOCSYNC_GITBOOK_TOKEN", "gb-secret-token"),
            ("DOCSYNC_GITBOOK_API_URL", "http://gitbook.example.com/v1"),
        ])
        .unwrap_err()
        .to_string();
        assert!(problems.contains("plain http would send DOCSYNC_GITBOOK_TOKEN unencrypted"), "{problems}");
        assert!(
            resolve_env(&[
                ("DOCSYNC_GITBOOK_SPACE", "spc1"),
                ("DOCSYNC_GITBOOK_TOKEN", "gb-secret-token"),
                ("DOCSYNC_GITBOOK_API_URL", "http://127.0.0.1:4010/v1"),
            ])
            .is_ok()
        );
    }

    #[test]
    fn path_filter_directory_and_globs() {
        let all = PathFilter::new("docs".into(), vec![]).unwrap();
        assert!(all.matches("docs/a.png") && all.matches("docs/x/y.md"));
        assert!(!all.matches("docsy/a.md") && !all.matches("README.md"));
        let md = PathFilter::new("docs".into(), vec!["*.md".into(), "guides/*.yaml".into()]).unwrap();
        assert!(md.matches("docs/deep/er/page.md"));
        assert!(md.matches("docs/guides/a.yaml"));
        assert!(!md.matches("docs/other/a.yaml"));
        assert!(!md.matches("docs/a.png"));
        let root = PathFilter::new(String::new(), vec!["*.md".into()]).unwrap();
        assert!(root.matches("README.md") && root.matches("a/b/ç é.md"));
    }

    #[test]
    fn directories_are_normalised_or_refused() {
        let mut problems = Vec::new();
        assert_eq!(normalize_directory("/docs/en/", "x", &mut problems), Some("docs/en".into()));
        assert_eq!(normalize_directory("./docs", "x", &mut problems), Some("docs".into()));
        assert_eq!(normalize_directory("/", "x", &mut problems), Some(String::new()));
        assert_eq!(normalize_directory("../up", "DOCSYNC_PROJECT_DIRECTORY", &mut problems), None);
        assert!(problems[0].to_string().starts_with("DOCSYNC_PROJECT_DIRECTORY = \"../up\""));
    }
}
