//! `docsync.toml`: its serde model, reading it, and the rules on its keys
//! that serde cannot express (secrets written inline, run-wide keys in a
//! `[[target]]`, target-only keys in `[defaults]`), each refused with the
//! file and line. Apart from [`super::resolve`] because it is the one part
//! of the settings that reads the disk.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::bounded_file;
use crate::error::BadInput;
use crate::settings::environment::Environment;
use crate::settings::flags::GlobalFlags;
use crate::settings::pipeline::non_empty;

pub const DEFAULT_CONFIG_FILE: &str = "docsync.toml";
/// The largest `docsync.toml` read: hundreds of targets fit in a few dozen
/// KiB; anything near this is a wrong path, not a configuration.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

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
    pub ignore: Option<Vec<String>>,
    pub dot_webhook_url: Option<String>,
    pub dot_webhook_secret_env: Option<String>,
    // The GitLab instance, its token, the request budget and the report are
    // one per run: spanned so that a [[target]] setting them is refused with
    // its line.
    pub gitlab_token_env: Option<toml::Spanned<String>>,
    pub gitlab_url: Option<toml::Spanned<String>>,
    // The component's jobs refuse these two with their line (see
    // `refuse_keys_rules_cannot_read`).
    pub branch: Option<toml::Spanned<String>>,
    pub export_branch: Option<String>,
    pub export_mr: Option<bool>,
    pub gitbook_edits: Option<String>,
    pub concurrency: Option<toml::Spanned<u32>>,
    pub direction: Option<toml::Spanned<String>>,
    pub previews: Option<bool>,
    pub wait: Option<bool>,
    pub wait_timeout: Option<String>,
    pub start_timeout: Option<String>,
    pub report: Option<toml::Spanned<String>>,
    pub report_json: Option<toml::Spanned<String>>,
    pub lint: Option<toml::Spanned<String>>,
    pub codequality: Option<toml::Spanned<String>>,
    pub review_comments: Option<toml::Spanned<bool>>,
    pub poll_interval: Option<toml::Spanned<String>>,
    pub http_timeout: Option<toml::Spanned<String>>,
    pub retries: Option<toml::Spanned<u32>>,
    pub retry_delay: Option<toml::Spanned<String>>,
    pub fetch_timeout: Option<toml::Spanned<String>>,
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
    let cannot_read = |why: String| {
        BadInput::new(
            source,
            format!("cannot read {}: {why}", path.display()),
            "point it at an existing docsync.toml (a regular file of at most 1 MiB), or unset it to use the environment only",
        )
        .with_value(path.display().to_string())
    };
    let bytes = match bounded_file::read(&path, MAX_CONFIG_BYTES) {
        Ok(bytes) => bytes,
        Err(refused) if refused.is_not_found() && !explicit => return Ok(None),
        Err(refused) => return Err(cannot_read(refused.to_string())),
    };
    let text = String::from_utf8(bytes).map_err(|error| {
        cannot_read(format!("it is not UTF-8 text (invalid bytes at offset {})", error.utf8_error().valid_up_to()))
    })?;
    let config = parse_file(&path, &text)?;
    Ok(Some(LoadedFile { path, text, config }))
}

pub(super) fn parse_file(path: &Path, text: &str) -> Result<FileConfig, BadInput> {
    toml::from_str(text).map_err(|error| {
        let location = error.span().map(|span| format!(" line {}", line_of(text, span.start))).unwrap_or_default();
        BadInput::new(
            format!("{}{location}", path.display()),
            error.message().trim().to_owned(),
            "keys are the settings' names in lower case without DOCSYNC_ (docs/settings.md lists them)",
        )
    })
}

pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
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
        // One merge request, one set of threads.
        ("review_comments", raw.review_comments.as_ref().map(toml::Spanned::span)),
        // One HTTP client and one polling pace serve every target.
        ("poll_interval", raw.poll_interval.as_ref().map(toml::Spanned::span)),
        ("http_timeout", raw.http_timeout.as_ref().map(toml::Spanned::span)),
        ("retries", raw.retries.as_ref().map(toml::Spanned::span)),
        ("retry_delay", raw.retry_delay.as_ref().map(toml::Spanned::span)),
        ("fetch_timeout", raw.fetch_timeout.as_ref().map(toml::Spanned::span)),
        ("gitlab_url", raw.gitlab_url.as_ref().map(toml::Spanned::span)),
        ("gitlab_token_env", raw.gitlab_token_env.as_ref().map(toml::Spanned::span)),
    ]
    .into_iter()
    .filter_map(|(key, span)| span.map(|span| (key, span)))
    .collect()
}

/// A `[[target]]` whose keys pass the file's rules: its name, and its label
/// for messages (the file, the line and the name).
pub(super) fn checked_target(
    file_name: &str,
    index: usize,
    raw: &FileTarget,
    text: &str,
    problems: &mut Vec<BadInput>,
) -> Option<(String, String)> {
    let label = match &raw.name {
        Some(name) => {
            format!("{file_name}: line {}, target \"{}\"", line_of(text, name.span().start), name.get_ref())
        }
        None => format!("{file_name}: target #{}", index + 1),
    };
    let mut ok = true;
    for (key, span) in run_wide_keys(raw) {
        problems.push(BadInput::new(
            format!("{file_name}: line {}, key `{key}`", line_of(text, span.start)),
            "this setting is one for the whole run, not per target",
            format!("move `{key}` into [defaults]: one value serves every target"),
        ));
        ok = false;
    }
    for (key, value) in inline_secrets(raw) {
        problems.push(BadInput::new(
            format!("{file_name}: line {}, key `{key}`", line_of(text, value.span().start)),
            "a secret is written in the file",
            format!(
                "remove it, put it in a masked CI/CD variable, and name that variable with `{key}_env = \"VARIABLE\"`"
            ),
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
    Some((name, label))
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

/// The rules of the `[defaults]` table: no secret written inline, and no
/// key that only a `[[target]]` has.
pub(super) fn check_defaults_table(file_name: &str, text: &str, defaults: &FileTarget, problems: &mut Vec<BadInput>) {
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

/// In the CI/CD component's jobs, GitLab chose the job by its rules, which
/// read the inputs and the pipeline's variables but never this file: a
/// `branch` or `direction` here would have the job sync another branch, or
/// do another thing, than GitLab chose it for (and the branch's own pushes
/// would get no job at all).
pub(super) fn refuse_keys_rules_cannot_read(
    file_name: &str,
    text: &str,
    config: &FileConfig,
    problems: &mut Vec<BadInput>,
) {
    for table in std::iter::once(&config.defaults).chain(&config.target) {
        for (key, value, variable) in
            [("branch", &table.branch, "DOCSYNC_BRANCH"), ("direction", &table.direction, "DOCSYNC_DIRECTION")]
        {
            let Some(value) = value else { continue };
            problems.push(
                BadInput::new(
                    format!("{file_name}: line {}, key `{key}`", line_of(text, value.span().start)),
                    format!(
                        "the component's jobs are chosen by their rules, which cannot read {file_name}: the job would run for another {key} than this one"
                    ),
                    format!(
                        "remove `{key}` from {file_name} and give the component's {key} input instead (or set {variable} as a CI/CD variable): the jobs' rules follow those"
                    ),
                )
                .with_value(value.get_ref().clone()),
            );
        }
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::settings::file::parse_file;
    use crate::settings::flags::GlobalFlags;
    use crate::settings::resolve::resolve;
    use crate::settings::test_inputs::{env, loaded};

    /// The component's jobs (`DOCSYNC_COMPONENT=true`) refuse the keys
    /// their rules cannot read, in `[defaults]` and in every `[[target]]`.
    #[test]
    fn branch_and_direction_are_refused_in_the_component_only() {
        let file = loaded(
            "[[target]]\nname = \"a\"\nkind = \"gitbook\"\ngitbook_space = \"s1\"\nbranch = \"docs-live\"\ndirection = \"export\"\n",
        );
        assert!(resolve(&GlobalFlags::default(), &env(&[]), Some(&file)).is_ok());
        let problems = resolve(&GlobalFlags::default(), &env(&[("DOCSYNC_COMPONENT", "true")]), Some(&file))
            .unwrap_err()
            .to_string();
        assert!(problems.contains("docsync.toml: line 5, key `branch` = \"docs-live\""), "{problems}");
        assert!(problems.contains("docsync.toml: line 6, key `direction` = \"export\""), "{problems}");
        assert!(problems.contains("give the component's branch input instead (or set DOCSYNC_BRANCH"), "{problems}");
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
}
