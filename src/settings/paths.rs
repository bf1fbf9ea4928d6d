//! [`PathFilter`]: which files of the repository concern a target (a
//! directory and globs inside it). Apart because the plan, the Dot sender
//! and the pre-flight all match paths with it, and its glob engine is its
//! own business.

use crate::error::BadInput;
use crate::settings::glob::{GlobError, GlobSet};

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

    /// [`PathFilter::new`], or the bad input naming where the globs came
    /// from (`source`), with an example of globs that fit the setting.
    pub fn checked(
        directory: String,
        globs: Vec<String>,
        source: impl Into<crate::error::Source>,
        example: &str,
    ) -> Result<PathFilter, BadInput> {
        PathFilter::new(directory, globs.clone()).map_err(|error| {
            BadInput::new(
                source,
                format!("not a valid glob: {error}"),
                format!("write globs like {example}, separated by commas"),
            )
            .with_value(globs.join(","))
        })
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

    /// Whether the path, or a folder it lies in below the directory,
    /// matches: `drafts`, `drafts/` and `.github` name whole folders, as in
    /// `.gitignore` (the `ignore` setting).
    pub fn covers(&self, path: &str) -> bool {
        if self.matches(path) {
            return true;
        }
        let mut at = path;
        while let Some((folder, _)) = at.rsplit_once('/').filter(|(folder, _)| folder.len() > self.directory.len()) {
            if self.matches(folder) || self.matches(&format!("{folder}/")) {
                return true;
            }
            at = folder;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_glob_that_names_a_folder_covers_its_files() {
        let ignore = PathFilter::new("docs".into(), vec!["drafts".into(), ".github/".into(), "a/*.md".into()]).unwrap();
        assert!(ignore.covers("docs/drafts/wip.md") && ignore.covers("docs/x/drafts/deep/wip.md"));
        assert!(ignore.covers("docs/.github/CONTRIBUTING.md") && ignore.covers("docs/a/b.md"));
        assert!(!ignore.covers("docs/draftsman.md") && !ignore.covers("docs/a/b/c.txt"));
        // The directory itself is never matched as a folder of its files.
        let root_named = PathFilter::new("drafts".into(), vec!["drafts".into()]).unwrap();
        assert!(!root_named.covers("drafts/wip.md"));
    }
}
