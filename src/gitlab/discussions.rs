//! docsync's threads on a merge request's diff: one per finding on a line
//! the merge request adds, opened once, found again by its marker and its
//! author, and resolved when its finding is gone. GitLab's "Discussions
//! API" ("Create a new thread in the merge request diff", "Resolve a merge
//! request thread") and "Merge requests API" ("Get single MR", "List
//! merge request diffs"). The text of a thread is the output stage's.

use std::collections::{BTreeMap, HashMap};

use reqwest::Method;
use serde::Deserialize;

use crate::gitlab::client::{GitLabClient, GitLabError};
use crate::gitlab::merge_requests::NoteAuthor;
use crate::http::Request;
use crate::secret::Redacted;

/// Where every marker of docsync's diff threads starts; the finding's
/// identity follows, then ` -->`.
const MARKER_START: &str = "<!-- docsync:finding:";

/// The hidden line that finds a finding's thread again: its identity
/// (rule, path and subject, never the line, which moves with every edit)
/// percent-encoded, so no text of the page can end the comment early.
pub(crate) fn marker(identity: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(identity.as_bytes()).collect();
    format!("{MARKER_START}{encoded} -->")
}

/// The SHAs a diff position is given in: the merge request's latest diff.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DiffRefs {
    pub base_sha: String,
    pub start_sha: String,
    pub head_sha: String,
}

#[derive(Deserialize)]
struct MergeRequestRefs {
    #[serde(default)]
    diff_refs: Option<DiffRefs>,
}

/// One file of `GET …/merge_requests/:iid/diffs`.
#[derive(Deserialize)]
struct FileDiff {
    old_path: String,
    new_path: String,
    /// Empty when GitLab leaves the file out (too large, collapsed).
    #[serde(default)]
    diff: String,
    #[serde(default)]
    deleted_file: bool,
}

/// The lines a merge request adds, per file (its path at the head): the
/// file's path at the base, and each added line's number and text.
#[derive(Debug, Default)]
pub(crate) struct AddedLines {
    files: HashMap<String, (String, BTreeMap<usize, String>)>,
}

impl AddedLines {
    /// The base path of `path`, when the diff adds `line` with `text`: a
    /// line whose text differs is another version's, and a position on it
    /// would land on the wrong text.
    fn old_path(&self, path: &str, line: usize, text: &str) -> Option<&str> {
        let (old_path, lines) = self.files.get(path)?;
        (lines.get(&line)?.trim_end() == text.trim_end()).then_some(old_path.as_str())
    }

    fn add_file(&mut self, old_path: &str, new_path: &str, diff: &str) {
        self.files.insert(new_path.to_owned(), (old_path.to_owned(), added_lines(diff)));
    }
}

/// The added lines of a unified diff (GitLab's `diff`, from the first `@@`
/// on): their number in the new file, and their text.
fn added_lines(diff: &str) -> BTreeMap<usize, String> {
    let mut added = BTreeMap::new();
    let mut new_line = 0;
    for line in diff.lines() {
        if let Some(header) = line.strip_prefix("@@ ") {
            // `@@ -a,b +c,d @@`: the hunk's new side starts at line c.
            new_line = header
                .split_whitespace()
                .find_map(|part| part.strip_prefix('+'))
                .and_then(|start| start.split(',').next()?.parse().ok())
                .unwrap_or(0);
        } else if new_line == 0 {
            continue;
        } else if let Some(text) = line.strip_prefix('+') {
            added.insert(new_line, text.to_owned());
            new_line += 1;
        } else if !line.starts_with('-') && !line.starts_with('\\') {
            new_line += 1;
        }
    }
    added
}

/// A finding's thread as docsync would open it.
pub struct DiffComment {
    /// Rule, path and subject: what [`marker`] encodes.
    pub identity: String,
    pub path: String,
    pub line: usize,
    /// The line's text at the pipeline's head, matched against the diff's;
    /// `None` when the head has no such file or line.
    pub line_text: Option<String>,
    /// The body, [`marker`] included: read by everyone who can see the
    /// merge request.
    pub body: Redacted,
}

/// What a review did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Review {
    pub opened: usize,
    /// Findings whose thread is open already.
    pub kept: usize,
    pub resolved: usize,
    /// Findings on lines the merge request does not add: the note has them.
    pub off_the_diff: usize,
}

/// Why no thread was opened, though nothing failed.
#[derive(Debug, PartialEq, Eq)]
pub enum NotReviewed {
    /// The merge request's head is no longer the pipeline's commit: the
    /// newer pipeline comments on the newer diff.
    HeadMoved { head_sha: String },
    /// GitLab has no diff for it yet.
    NoDiff,
}

#[derive(Deserialize)]
struct Discussion {
    id: String,
    #[serde(default)]
    notes: Vec<DiscussionNote>,
}

#[derive(Deserialize)]
struct DiscussionNote {
    #[serde(default)]
    body: String,
    #[serde(default)]
    author: Option<NoteAuthor>,
    #[serde(default)]
    resolved: bool,
}

/// docsync's own thread: its id, and whether it is resolved.
struct OwnThread {
    id: String,
    resolved: bool,
}

impl GitLabClient<'_> {
    /// Opens a thread on the diff for each comment on a line the merge
    /// request adds, unless its thread is open already; resolves docsync's
    /// threads whose finding is gone. `head` is the commit the findings
    /// were read at.
    pub async fn review(
        &self,
        project: &str,
        iid: u64,
        head: &str,
        comments: &[DiffComment],
    ) -> Result<Result<Review, NotReviewed>, GitLabError> {
        let iid = iid.to_string();
        let refs: MergeRequestRefs = self.get(&["projects", project, "merge_requests", &iid], &[]).await?;
        let Some(refs) = refs.diff_refs else { return Ok(Err(NotReviewed::NoDiff)) };
        if refs.head_sha != head {
            return Ok(Err(NotReviewed::HeadMoved { head_sha: refs.head_sha }));
        }
        let mut added = AddedLines::default();
        let diffs: Vec<FileDiff> = self.all_pages(&["projects", project, "merge_requests", &iid, "diffs"], &[]).await?;
        for file in diffs.iter().filter(|f| !f.deleted_file) {
            added.add_file(&file.old_path, &file.new_path, &file.diff);
        }
        let me = self.user().await?.id;
        let mut own = self.own_threads(project, &iid, me).await?;
        let mut review = Review::default();

        let current: Vec<String> = comments.iter().map(|c| c.identity.clone()).collect();
        for (identity, thread) in &own {
            if !thread.resolved && !current.contains(identity) {
                self.resolve(project, &iid, &thread.id).await?;
                review.resolved += 1;
            }
        }
        for comment in comments {
            if own.contains_key(&comment.identity) {
                review.kept += 1;
                continue;
            }
            let placed =
                comment.line_text.as_deref().and_then(|text| added.old_path(&comment.path, comment.line, text));
            let Some(old_path) = placed else {
                review.off_the_diff += 1;
                continue;
            };
            let payload = serde_json::json!({
                "body": comment.body,
                "position": {
                    "position_type": "text",
                    "base_sha": refs.base_sha,
                    "start_sha": refs.start_sha,
                    "head_sha": refs.head_sha,
                    "old_path": old_path,
                    "new_path": comment.path,
                    // An added line has a new line number only.
                    "new_line": comment.line,
                },
            });
            let create = || {
                Request::new(Method::POST, self.url(&["projects", project, "merge_requests", &iid, "discussions"], &[]))
                    .json(&payload)
            };
            match self.call::<serde_json::Value>(create()).await {
                Ok(_) => {}
                Err(error) if error.is_ambiguous() => {
                    tracing::info!("GitLab's answer to a new thread was lost: looking for it before sending it again");
                    own = self.own_threads(project, &iid, me).await?;
                    if !own.contains_key(&comment.identity) {
                        self.call::<serde_json::Value>(create()).await?;
                    }
                }
                Err(error) => return Err(error),
            }
            own.insert(comment.identity.clone(), OwnThread { id: String::new(), resolved: false });
            review.opened += 1;
        }
        Ok(Ok(review))
    }

    /// docsync's threads on the merge request, by identity: opened by `me`
    /// with a marker in the first note. A person's quote of one is not one.
    async fn own_threads(&self, project: &str, iid: &str, me: u64) -> Result<HashMap<String, OwnThread>, GitLabError> {
        let discussions: Vec<Discussion> =
            self.all_pages(&["projects", project, "merge_requests", iid, "discussions"], &[]).await?;
        let mut own = HashMap::new();
        for discussion in discussions {
            let Some(first) = discussion.notes.first() else { continue };
            if first.author.as_ref().is_none_or(|a| a.id != me) {
                continue;
            }
            let Some(encoded) = first.body.split_once(MARKER_START).and_then(|(_, rest)| rest.split_once(" -->"))
            else {
                continue;
            };
            let identity: String = url::form_urlencoded::parse(format!("i={}", encoded.0).as_bytes())
                .map(|(_, value)| value.into_owned())
                .collect();
            own.insert(identity, OwnThread { id: discussion.id, resolved: first.resolved });
        }
        Ok(own)
    }

    async fn resolve(&self, project: &str, iid: &str, discussion: &str) -> Result<(), GitLabError> {
        let url =
            self.url(&["projects", project, "merge_requests", iid, "discussions", discussion], &[("resolved", "true")]);
        self.call::<serde_json::Value>(Request::new(Method::PUT, url)).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_added_lines_are_read_from_the_hunks() {
        let diff = "@@ -1,4 +1,5 @@\n # Guide\n-Old line\n+New line\n+Another\n \n same\n\\ No newline at end of file\n@@ -20,2 +21,3 @@ heading\n x\n+added far below\n y\n";
        let added = added_lines(diff);
        let expected: BTreeMap<usize, String> =
            [(2, "New line".to_owned()), (3, "Another".to_owned()), (22, "added far below".to_owned())].into();
        assert_eq!(added, expected);
        let new_file = added_lines("@@ -0,0 +1,2 @@\n+# New\n+\n");
        assert_eq!(new_file.keys().copied().collect::<Vec<_>>(), vec![1, 2]);
    }

    #[test]
    fn a_marker_survives_any_path_and_reads_back() {
        let identity = "broken-link docs/a --> b.md x -->";
        let marker = marker(identity);
        assert_eq!(marker.matches("-->").count(), 1, "{marker}");
        let encoded = marker.strip_prefix(MARKER_START).and_then(|m| m.strip_suffix(" -->")).unwrap();
        let back: String =
            url::form_urlencoded::parse(format!("i={encoded}").as_bytes()).map(|(_, v)| v.into_owned()).collect();
        assert_eq!(back, identity);
    }
}
