//! The compare fallback: the change set between two commits as GitLab
//! computes it, for clones too shallow to hold both, refused when GitLab
//! cut it short or it holds a path git could never store.

use serde::Deserialize;

use crate::git::diff::{Change, ChangeKind, ChangeStatus};
use crate::gitlab::client::{GitLabClient, GitLabError};
use crate::log::printable;

/// `GET /projects/:id/repository/compare`.
#[derive(Debug, Clone, Deserialize)]
pub struct Compare {
    #[serde(default)]
    pub diffs: Vec<CompareDiff>,
    #[serde(default)]
    pub compare_timeout: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CompareDiff {
    pub old_path: String,
    pub new_path: String,
    #[serde(default)]
    pub new_file: bool,
    #[serde(default)]
    pub renamed_file: bool,
    #[serde(default)]
    pub deleted_file: bool,
    #[serde(default)]
    pub too_large: Option<bool>,
    #[serde(default)]
    pub collapsed: Option<bool>,
    /// The file modes, like `"100644"`; `"160000"` is a submodule.
    #[serde(default)]
    pub a_mode: Option<String>,
    #[serde(default)]
    pub b_mode: Option<String>,
}

impl CompareDiff {
    fn kind(&self) -> ChangeKind {
        let gitlink = |mode: &Option<String>| mode.as_deref() == Some("160000");
        if gitlink(&self.b_mode) || (self.deleted_file && gitlink(&self.a_mode)) {
            ChangeKind::Submodule
        } else {
            ChangeKind::File
        }
    }
}

impl Compare {
    /// The change set, or why it cannot be trusted (GitLab cut it short).
    pub fn changes(&self) -> Result<Vec<Change>, String> {
        if self.compare_timeout {
            return Err("GitLab's compare timed out (compare_timeout)".into());
        }
        if let Some(diff) = self.diffs.iter().find(|d| d.too_large == Some(true) || d.collapsed == Some(true)) {
            return Err(format!(
                "GitLab's compare left out part of the changes ({} is too large or collapsed)",
                diff.new_path
            ));
        }
        for diff in &self.diffs {
            for path in [&diff.old_path, &diff.new_path] {
                if let Some(why) = refused_path(path) {
                    return Err(format!(
                        "GitLab's compare answer holds a path docsync refuses ({why}): {}",
                        printable(path)
                    ));
                }
            }
        }
        Ok(self
            .diffs
            .iter()
            .map(|diff| match (diff.new_file, diff.deleted_file, diff.renamed_file) {
                (true, _, _) => Change {
                    status: ChangeStatus::Added,
                    path: diff.new_path.clone(),
                    old_path: None,
                    kind: diff.kind(),
                },
                (_, true, _) => Change {
                    status: ChangeStatus::Deleted,
                    path: diff.old_path.clone(),
                    old_path: None,
                    kind: diff.kind(),
                },
                (_, _, true) => Change {
                    status: ChangeStatus::Renamed,
                    path: diff.new_path.clone(),
                    old_path: Some(diff.old_path.clone()),
                    kind: diff.kind(),
                },
                _ => Change {
                    status: ChangeStatus::Modified,
                    path: diff.new_path.clone(),
                    old_path: None,
                    kind: diff.kind(),
                },
            })
            .collect())
    }
}

/// Why a path from a compare answer cannot be a path in the repository:
/// git never stores an empty, absolute or `..` path, nor one with control
/// characters that would forge lines wherever it is printed.
fn refused_path(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        Some("empty")
    } else if path.starts_with('/') || path.starts_with('\\') {
        Some("absolute")
    } else if path.split(['/', '\\']).any(|part| part == ".." || part == ".") {
        Some("a . or .. component")
    } else if path.chars().any(char::is_control) {
        Some("control characters")
    } else {
        None
    }
}

impl GitLabClient<'_> {
    pub async fn compare(&self, project: &str, from: &str, to: &str) -> Result<Compare, GitLabError> {
        self.get(&["projects", project, "repository", "compare"], &[("from", from), ("to", to), ("straight", "true")])
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_changes_and_cut_short_answers() {
        let compare: Compare = serde_json::from_str(
            r#"{"compare_timeout": false, "diffs": [
                {"old_path": "a.md", "new_path": "a.md", "new_file": true, "renamed_file": false, "deleted_file": false},
                {"old_path": "b.md", "new_path": "c.md", "new_file": false, "renamed_file": true, "deleted_file": false},
                {"old_path": "d.md", "new_path": "d.md", "new_file": false, "renamed_file": false, "deleted_file": true},
                {"old_path": "e.md", "new_path": "e.md", "new_file": false, "renamed_file": false, "deleted_file": false}
            ]}"#,
        )
        .unwrap();
        let statuses: Vec<ChangeStatus> = compare.changes().unwrap().iter().map(|c| c.status).collect();
        assert_eq!(
            statuses,
            [ChangeStatus::Added, ChangeStatus::Renamed, ChangeStatus::Deleted, ChangeStatus::Modified]
        );
        let cut: Compare = serde_json::from_str(
            r#"{"compare_timeout": false, "diffs": [{"old_path": "x", "new_path": "x", "too_large": true}]}"#,
        )
        .unwrap();
        assert!(cut.changes().unwrap_err().contains("too large"));
        let timeout: Compare = serde_json::from_str(r#"{"compare_timeout": true, "diffs": []}"#).unwrap();
        assert!(timeout.changes().is_err());
    }
}
