//! Open change requests in GitBook that edit a page the sync changes too:
//! when one is merged after the import, or the import lands under it, one
//! side's work is lost or must be redone. docsync names them (a warning)
//! and never blocks on them.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::targets::gitbook::answers::{RevisionPage, RevisionUrls};
use crate::targets::gitbook::client::{GitBookClient, GitBookError};

/// At most this many open change requests are read, the most recently
/// updated first.
pub(crate) const MAX_CHANGE_REQUESTS: usize = 100;

/// `GET change-requests`: one page of the list.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ChangeRequestList {
    #[serde(default)]
    pub items: Vec<ChangeRequest>,
    /// Present when another page follows.
    #[serde(default)]
    pub next: Option<serde_json::Value>,
    /// How many there are in all.
    #[serde(default)]
    pub count: Option<f64>,
}

impl ChangeRequestList {
    /// Whether GitBook holds more than the items listed.
    pub(crate) fn more(&self) -> bool {
        self.next.is_some() || self.count.is_some_and(|count| count > self.items.len() as f64)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChangeRequest {
    pub id: String,
    #[serde(default)]
    pub number: f64,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub created_by: Option<Author>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub urls: Option<RevisionUrls>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Author {
    #[serde(default)]
    pub display_name: String,
}

/// An open change request that edits a page the sync changes too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ChangeRequestClash {
    pub number: u64,
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The files in the repository both sides change.
    pub pages: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// What the open change requests hold against the sync's pages.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct OpenChangeRequests {
    pub clashes: Vec<ChangeRequestClash>,
    /// Open change requests read.
    pub read: usize,
    /// More were open than were read.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub more: bool,
}

impl OpenChangeRequests {
    /// One line per clash: `#12 "Subject" by Ada: guide.md <url>`, GitBook's
    /// strings escaped; and whether more were open than were read.
    pub(crate) fn describe(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .clashes
            .iter()
            .map(|clash| {
                let mut line = format!("#{} {:?}", clash.number, clash.subject);
                if let Some(author) = &clash.author {
                    line.push_str(&format!(" by {author:?}"));
                }
                line.push_str(&format!(": {}", clash.pages.join(", ")));
                if let Some(url) = &clash.url {
                    line.push_str(&format!(" {}", url.escape_debug()));
                }
                line
            })
            .collect();
        if self.more {
            lines.push(format!(
                "more than {MAX_CHANGE_REQUESTS} change requests are open: only the {MAX_CHANGE_REQUESTS} most recently updated were read"
            ));
        }
        lines
    }

    /// Whether there is anything to say.
    pub(crate) fn worth_telling(&self) -> bool {
        !self.clashes.is_empty() || self.more
    }
}

/// The open change requests that change a page whose file (`directory`/
/// `git.path` in the live revision's `pages`) is among `changed`, the
/// repository paths the sync changes. No request when no live page's file
/// is among them (no change request can clash); else one for the list, and
/// one for the changes of each open change request listed.
pub(crate) async fn clashing(
    client: &GitBookClient<'_>,
    pages: &[RevisionPage],
    directory: &str,
    changed: &BTreeSet<String>,
) -> Result<OpenChangeRequests, GitBookError> {
    let mut touched = BTreeMap::new();
    changed_pages(pages, directory, changed, &mut touched);
    if touched.is_empty() {
        return Ok(OpenChangeRequests::default());
    }
    let list = client.open_change_requests(MAX_CHANGE_REQUESTS).await?;
    let mut found = OpenChangeRequests { read: list.items.len(), more: list.more(), ..OpenChangeRequests::default() };
    for change_request in list.items.iter().take(MAX_CHANGE_REQUESTS) {
        let changes = client.change_request_changes(&change_request.id).await?;
        let both: BTreeSet<String> =
            changes.changes.iter().filter_map(|change| touched.get(&change.page.as_ref()?.id).cloned()).collect();
        if both.is_empty() {
            continue;
        }
        found.clashes.push(ChangeRequestClash {
            number: change_request.number as u64,
            subject: change_request.subject.clone().unwrap_or_default(),
            author: change_request.created_by.as_ref().map(|a| a.display_name.clone()).filter(|a| !a.is_empty()),
            pages: both.into_iter().collect(),
            url: change_request.urls.as_ref().map(|urls| urls.app.clone()),
        });
    }
    Ok(found)
}

/// Page id → file in the repository, for every page of the tree whose file
/// is among `changed`.
fn changed_pages(
    pages: &[RevisionPage],
    directory: &str,
    changed: &BTreeSet<String>,
    touched: &mut BTreeMap<String, String>,
) {
    for page in pages {
        if let Some(file) = &page.git {
            let path = in_repository(directory, &file.path);
            if changed.contains(&path) {
                touched.insert(page.id.clone(), path);
            }
        }
        changed_pages(&page.pages, directory, changed, touched);
    }
}

/// Every page of the tree that has a file and a page in GitBook: its file
/// in the repository → GitBook's page (`urls.app`), for the merge request
/// note's links.
pub(crate) fn page_links(pages: &[RevisionPage], directory: &str) -> BTreeMap<String, String> {
    let mut links = BTreeMap::new();
    let mut stack: Vec<&RevisionPage> = pages.iter().collect();
    while let Some(page) = stack.pop() {
        if let (Some(file), Some(urls)) = (&page.git, &page.urls) {
            links.insert(in_repository(directory, &file.path), urls.app.clone());
        }
        stack.extend(&page.pages);
    }
    links
}

/// A page's file, given relative to the project directory, as a path in
/// the repository.
fn in_repository(directory: &str, path: &str) -> String {
    let directory = directory.trim_matches('/');
    let path = path.trim_start_matches('/');
    if directory.is_empty() { path.to_owned() } else { format!("{directory}/{path}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pages_file_is_found_under_the_project_directory() {
        assert_eq!(in_repository("docs", "guide.md"), "docs/guide.md");
        assert_eq!(in_repository("", "guide.md"), "guide.md");
        assert_eq!(in_repository("docs/en/", "/a/b.md"), "docs/en/a/b.md");
    }

    #[test]
    fn only_pages_whose_file_the_sync_changes_are_touched_anywhere_in_the_tree() {
        let tree: Vec<RevisionPage> = serde_json::from_value(serde_json::json!([
            { "id": "a", "git": { "path": "README.md" },
              "pages": [{ "id": "b", "git": { "path": "guide/b.md" } }, { "id": "c" }] }
        ]))
        .unwrap();
        let changed = BTreeSet::from(["docs/guide/b.md".to_owned(), "src/lib.rs".to_owned()]);
        let mut touched = BTreeMap::new();
        changed_pages(&tree, "docs", &changed, &mut touched);
        assert_eq!(touched, BTreeMap::from([("b".to_owned(), "docs/guide/b.md".to_owned())]));
    }

    #[test]
    fn a_list_with_a_next_page_or_a_larger_count_has_more() {
        let list = |json| serde_json::from_value::<ChangeRequestList>(json).unwrap();
        assert!(!list(serde_json::json!({ "items": [] })).more());
        assert!(list(serde_json::json!({ "items": [], "next": { "page": "2" } })).more());
        assert!(list(serde_json::json!({ "items": [], "count": 101 })).more());
    }

    #[test]
    fn clashes_are_described_with_their_number_subject_author_pages_and_link() {
        let found = OpenChangeRequests {
            clashes: vec![ChangeRequestClash {
                number: 12,
                subject: "Rework\nthe guide".into(),
                author: Some("Ada".into()),
                pages: vec!["docs/guide.md".into()],
                url: Some("https://app.gitbook.com/o/o/s/s/~/changes/12".into()),
            }],
            read: 1,
            more: true,
        };
        assert_eq!(
            found.describe(),
            [
                "#12 \"Rework\\nthe guide\" by \"Ada\": docs/guide.md https://app.gitbook.com/o/o/s/s/~/changes/12",
                "more than 100 change requests are open: only the 100 most recently updated were read",
            ]
        );
    }
}
