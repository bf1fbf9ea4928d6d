//! What a space holds before a branch import replaces it: its live
//! revision, where that stands against the commit being imported, and,
//! when GitBook holds work Git does not have, which pages that work
//! changed. The decision ([`classify`]) is pure; reading the space
//! ([`read_edits`]) is the client's.

use serde::Serialize;

use crate::git::repo::Ancestry;
use crate::targets::gitbook::answers::{Revision, RevisionPage};
use crate::targets::gitbook::client::{GitBookClient, GitBookError};

/// At most this many revisions are read back from the live one to find
/// the last that came from Git.
pub(crate) const MAX_REVISIONS_WALKED: usize = 50;

/// What the live revision means for an import of head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guard {
    /// Nothing of GitBook's own is replaced: import.
    Import,
    /// The live revision holds head already, and nobody asked for it again.
    AlreadyImported,
    /// The live revision holds a commit newer than head.
    Superseded,
    /// GitBook holds work Git does not have.
    Edits,
}

/// The guard's decision. `live` is where the live revision's commit stands
/// against head (`None`: the revision came from no commit); `has_pages`
/// whether the space holds any page; `requested` a manual pipeline or
/// `--force`, which imports head again (how people repair a space).
pub(crate) fn classify(live: Option<Ancestry>, has_pages: bool, requested: bool) -> Guard {
    match live {
        Some(Ancestry::Same) if requested => Guard::Import,
        Some(Ancestry::Same) => Guard::AlreadyImported,
        Some(Ancestry::Older) => Guard::Import,
        Some(Ancestry::Newer) => Guard::Superseded,
        Some(Ancestry::Unrelated) => Guard::Edits,
        // A new, empty space: nothing to lose.
        None if !has_pages => Guard::Import,
        None => Guard::Edits,
    }
}

/// What GitBook held that Git did not, for the report.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct GitBookEditsFound {
    /// The live revision: its id, type and time.
    pub revision: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The live revision's commit, when it names one outside the branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_commit: Option<String>,
    /// The pages changed since the last revision that came from this
    /// branch's history.
    pub pages: Vec<EditedPage>,
    /// Revisions read back from the live one.
    pub revisions_read: usize,
    /// Why the walk stopped short of a revision from Git, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
    /// `gitbook_edits = "export"`: the branch GitBook exported the space to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exported_to: Option<String>,
}

/// The branch `gitbook_edits = "export"` has GitBook export the space to:
/// `docsync/gitbook-edits-<short revision id>`. The id is GitBook's: only
/// what a branch name may hold is kept, so the same revision always gets
/// the same branch (a retried job exports to it again, and finds its merge
/// request open).
pub(crate) fn edits_branch(revision: &str) -> String {
    let short: String =
        revision.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').take(12).collect();
    let short = if short.is_empty() { "unnamed".to_owned() } else { short };
    format!("docsync/gitbook-edits-{short}")
}

/// One page changed in GitBook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct EditedPage {
    /// `page_created`, `page_edited`, `page_moved`, `page_deleted`.
    pub change: String,
    pub title: String,
    /// Its file in the repository, when GitBook knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The page in GitBook's app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl GitBookEditsFound {
    /// `revision rev-2 (edits, 2026-11-22T15:00:30Z)`.
    pub(crate) fn describe_revision(&self) -> String {
        let mut details: Vec<&str> = Vec::new();
        details.extend(self.revision_type.as_deref());
        details.extend(self.created_at.as_deref());
        let mut text = format!("revision {}", self.revision);
        if !details.is_empty() {
            text.push_str(&format!(" ({})", details.join(", ")));
        }
        if let Some(commit) = &self.live_commit {
            text.push_str(&format!(" of commit {commit}, which is not in this branch's history"));
        }
        text
    }

    /// The pages on one line: `page_edited docs/guide.md "Guide" <url>; …`,
    /// GitBook's strings escaped.
    pub(crate) fn describe_pages(&self) -> String {
        let mut parts: Vec<String> = self
            .pages
            .iter()
            .map(|page| {
                let path = page.path.as_deref().map_or("(no file in the repository)".to_owned(), escaped);
                let mut part = format!("{} {path} {:?}", page.change, page.title);
                if let Some(url) = &page.url {
                    part.push_str(&format!(" {}", escaped(url)));
                }
                part
            })
            .collect();
        if parts.is_empty() {
            parts.push("GitBook names no page changes".to_owned());
        }
        if let Some(why) = &self.incomplete {
            parts.push(format!("({why})"));
        }
        parts.join("; ")
    }
}

/// Reads back from the live revision, through its first parents, the pages
/// changed in each revision until one whose commit `in_branch` holds (the
/// last that came from Git), at most [`MAX_REVISIONS_WALKED`] revisions.
pub(crate) async fn read_edits(
    client: &GitBookClient<'_>,
    live: &Revision,
    in_branch: impl Fn(&str) -> bool,
) -> Result<GitBookEditsFound, GitBookError> {
    let mut found = GitBookEditsFound {
        revision: live.id.clone(),
        revision_type: live.kind.clone(),
        created_at: live.created_at.clone(),
        live_commit: live.git.as_ref().map(|git| git.oid.clone()),
        pages: Vec::new(),
        revisions_read: 0,
        incomplete: None,
        exported_to: None,
    };
    let mut current = live.clone();
    let mut seen = std::collections::HashSet::from([live.id.clone()]);
    loop {
        if current.git.as_ref().is_some_and(|git| in_branch(&git.oid)) {
            break;
        }
        if found.revisions_read == MAX_REVISIONS_WALKED {
            found.incomplete = Some(format!(
                "stopped after {MAX_REVISIONS_WALKED} revisions without reaching one that came from this branch: more pages may have changed"
            ));
            break;
        }
        found.revisions_read += 1;
        let changes = client.revision_changes(&current.id).await?;
        for change in changes.changes {
            let Some(page) = change.page.filter(|_| change.kind.starts_with("page_")) else { continue };
            let known = find_page(&live.pages, &page.id);
            let edited = EditedPage {
                change: change.kind,
                title: page.title,
                path: known.and_then(|p| p.git.as_ref()).map(|git| git.path.clone()),
                url: known.and_then(|p| p.urls.as_ref()).map(|urls| urls.app.clone()),
            };
            if !found.pages.iter().any(|p| p.title == edited.title && p.path == edited.path) {
                found.pages.push(edited);
            }
        }
        if let Some(more) = changes.more.filter(|more| *more > 0.0) {
            found.incomplete = Some(format!("GitBook left out {more} changes of revision {}", current.id));
        }
        let Some(parent) = current.parents.first() else { break };
        current = client.revision(parent).await?;
        // A history that loops back would otherwise be read to the bound.
        if !seen.insert(current.id.clone()) {
            found.incomplete = Some(format!("revision {} is its own ancestor: the walk stopped there", current.id));
            break;
        }
    }
    Ok(found)
}

/// A server's string made safe for a one-line log: control characters
/// escaped.
fn escaped(text: &str) -> String {
    text.chars().flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect()
}

/// The page with this id anywhere in the tree.
fn find_page<'a>(pages: &'a [RevisionPage], id: &str) -> Option<&'a RevisionPage> {
    pages.iter().find_map(|page| if page.id == id { Some(page) } else { find_page(&page.pages, id) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_of_the_live_revision() {
        use Ancestry::*;
        for requested in [false, true] {
            assert_eq!(classify(Some(Older), true, requested), Guard::Import);
            assert_eq!(classify(Some(Newer), true, requested), Guard::Superseded);
            assert_eq!(classify(Some(Unrelated), true, requested), Guard::Edits);
            assert_eq!(classify(Some(Unrelated), false, requested), Guard::Edits, "a commit of another history");
            assert_eq!(classify(None, true, requested), Guard::Edits, "made in GitBook");
            assert_eq!(classify(None, false, requested), Guard::Import, "a new, empty space");
        }
        assert_eq!(classify(Some(Same), true, false), Guard::AlreadyImported);
        assert_eq!(classify(Some(Same), true, true), Guard::Import, "a manual run or --force repairs the space");
    }

    #[test]
    fn the_export_branch_keeps_only_what_a_branch_name_may_hold() {
        assert_eq!(edits_branch("rev-2"), "docsync/gitbook-edits-rev-2");
        assert_eq!(edits_branch("Xa1b2c3d4e5f6g7h8"), "docsync/gitbook-edits-Xa1b2c3d4e5f");
        assert_eq!(edits_branch("../~^:?*[ @{"), "docsync/gitbook-edits-unnamed");
    }

    #[test]
    fn pages_are_found_anywhere_in_the_tree() {
        let tree: Vec<RevisionPage> = serde_json::from_value(serde_json::json!([
            { "id": "a", "pages": [{ "id": "b", "git": { "path": "guide/b.md" } }] }
        ]))
        .unwrap();
        assert_eq!(find_page(&tree, "b").and_then(|p| p.git.as_ref()).map(|g| g.path.as_str()), Some("guide/b.md"));
        assert!(find_page(&tree, "c").is_none());
    }

    #[test]
    fn the_description_names_revision_pages_and_a_short_walk() {
        let found = GitBookEditsFound {
            revision: "rev-9".into(),
            revision_type: Some("edits".into()),
            created_at: Some("2026-11-22T15:00:30Z".into()),
            live_commit: None,
            pages: vec![EditedPage {
                change: "page_edited".into(),
                title: "Guide".into(),
                path: Some("guide.md".into()),
                url: Some("https://app.gitbook.com/o/o/s/s/guide".into()),
            }],
            revisions_read: 50,
            incomplete: Some("stopped after 50 revisions".into()),
            exported_to: None,
        };
        assert_eq!(found.describe_revision(), "revision rev-9 (edits, 2026-11-22T15:00:30Z)");
        assert_eq!(
            found.describe_pages(),
            "page_edited guide.md \"Guide\" https://app.gitbook.com/o/o/s/s/guide; (stopped after 50 revisions)"
        );
    }
}
