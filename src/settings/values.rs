//! The parsers of one setting's text: each returns the typed value, or
//! records a problem naming where the text came from (a flag, a variable or
//! a file's key), the value and the fix. Shared by the run's settings and
//! the targets'.

use url::Url;

use crate::error::BadInput;
use crate::settings::{Direction, GitBookEdits, LintMode};

const MAX_CONCURRENCY: usize = 64;

/// A comma-separated list; a comma inside `{…}` belongs to a glob's
/// alternatives (`*.{md,yml}`), not to the list.
pub(super) fn split_list(list: &str) -> Vec<String> {
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

pub(super) fn parse_bool(
    value: &str,
    source: impl Into<crate::error::Source>,
    problems: &mut Vec<BadInput>,
) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => {
            problems.push(BadInput::new(source, "not a boolean", "use true or false").with_value(value));
            None
        }
    }
}

pub(super) fn parse_direction(
    value: &str,
    source: impl Into<crate::error::Source>,
    problems: &mut Vec<BadInput>,
) -> Option<Direction> {
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

pub(super) fn parse_gitbook_edits(
    value: &str,
    source: impl Into<crate::error::Source>,
    problems: &mut Vec<BadInput>,
) -> Option<GitBookEdits> {
    match value.trim().to_ascii_lowercase().as_str() {
        "refuse" => Some(GitBookEdits::Refuse),
        "export" => Some(GitBookEdits::Export),
        "overwrite" => Some(GitBookEdits::Overwrite),
        _ => {
            problems.push(
                BadInput::new(
                    source,
                    "unknown way to treat edits made in GitBook",
                    "use refuse (import nothing), export (import nothing; GitBook exports its edits to a branch for a merge request) or overwrite (import anyway, replacing them)",
                )
                .with_value(value),
            );
            None
        }
    }
}

pub(super) fn parse_lint(
    value: &str,
    source: impl Into<crate::error::Source>,
    problems: &mut Vec<BadInput>,
) -> Option<LintMode> {
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

pub(super) fn parse_concurrency(
    value: &str,
    source: impl Into<crate::error::Source>,
    problems: &mut Vec<BadInput>,
) -> Option<usize> {
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

/// A retry count, from 0 to 20.
pub(super) fn parse_retries(
    value: &str,
    source: impl Into<crate::error::Source>,
    problems: &mut Vec<BadInput>,
) -> Option<u32> {
    match value.parse::<u32>() {
        Ok(n) if n <= 20 => Some(n),
        _ => {
            problems.push(
                BadInput::new(source, "not a number from 0 to 20", "use a small whole number such as 4")
                    .with_value(value),
            );
            None
        }
    }
}

pub(super) fn parse_url(
    value: &str,
    source: impl Into<crate::error::Source>,
    problems: &mut Vec<BadInput>,
) -> Option<Url> {
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

pub(super) fn normalize_directory(
    value: &str,
    source: impl Into<crate::error::Source>,
    problems: &mut Vec<BadInput>,
) -> Option<String> {
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
