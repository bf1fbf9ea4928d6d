//! GitBook (and any service with the same Git endpoints): the request bodies
//! of `git/import` and `git/export`, as GitBook's published OpenAPI
//! description defines them (`ImportGitRepository`, `ExportToGitRepository`),
//! and the URLs they go to. The client that sends them, what GitBook
//! answers, and the wait for its verdict are each a module below.

pub(crate) mod answers;
pub(crate) mod change_requests;
pub(crate) mod client;
pub(crate) mod installations;
pub(crate) mod space;
pub(crate) mod verdict;

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;

use crate::git::remote::{CloneUrl, Project};
use crate::secret::Secret;

/// `ImportGitRepository` and `ExportToGitRepository` share their fields;
/// `commitMessage` is the export's own.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GitRequestBody {
    pub url: CloneUrl,
    #[serde(rename = "ref")]
    pub git_ref: String,
    #[serde(rename = "repoTreeURL")]
    pub repo_tree_url: String,
    #[serde(rename = "repoCommitURL")]
    pub repo_commit_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo_project_directory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_message: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub standalone: bool,
}

/// What every body needs.
pub(crate) struct BodyInput<'a> {
    pub project: &'a Project,
    pub credentials: Option<(String, Secret)>,
    /// The full ref GitBook reads or writes: `refs/heads/main`,
    /// `refs/merge-requests/7/head`.
    pub git_ref: String,
    /// The branch the tree URLs point at.
    pub branch: &'a str,
    pub directory: &'a str,
    pub timestamp: Option<OffsetDateTime>,
    pub force: bool,
}

impl GitRequestBody {
    fn new(input: BodyInput<'_>) -> GitRequestBody {
        GitRequestBody {
            url: CloneUrl::new(input.project, input.credentials),
            git_ref: input.git_ref,
            // A branch's slashes separate path segments in GitLab's URLs;
            // anything else in its name is encoded.
            repo_tree_url: input.project.at(["-", "blob"].into_iter().chain(input.branch.split('/'))).to_string(),
            repo_commit_url: input.project.at(["-", "commit"]).to_string(),
            repo_project_directory: (!input.directory.is_empty()).then(|| input.directory.to_owned()),
            timestamp: input.timestamp.and_then(rfc3339_utc),
            commit_message: None,
            force: input.force,
            standalone: false,
        }
    }

    pub(crate) fn import(input: BodyInput<'_>) -> GitRequestBody {
        GitRequestBody::new(input)
    }

    /// A merge request preview: a standalone revision, no ordering timestamp
    /// (it never replaces the space's content).
    pub(crate) fn preview(input: BodyInput<'_>) -> GitRequestBody {
        GitRequestBody { standalone: true, timestamp: None, ..GitRequestBody::new(input) }
    }

    pub(crate) fn export(input: BodyInput<'_>, commit_message: String) -> GitRequestBody {
        GitRequestBody { commit_message: Some(commit_message), ..GitRequestBody::new(input) }
    }

    /// An export of the space this import was for, to `branch` of the same
    /// repository and directory instead (`gitbook_edits = "export"`).
    pub(crate) fn export_to(&self, branch: &str, commit_message: String) -> GitRequestBody {
        let mut tree = Url::parse(&self.repo_commit_url).ok();
        if let Some(segments) = tree.as_mut().and_then(|url| url.path_segments_mut().ok()).as_mut() {
            // `<project>/-/commit` → `<project>/-/blob/<branch>`.
            segments.pop().extend(["blob"]).extend(branch.split('/'));
        }
        GitRequestBody {
            git_ref: format!("refs/heads/{branch}"),
            repo_tree_url: tree.map_or_else(|| self.repo_tree_url.clone(), String::from),
            commit_message: Some(commit_message),
            standalone: false,
            ..self.clone()
        }
    }

    /// The branch a `refs/heads/…` body reads or writes.
    pub(crate) fn branch(&self) -> Option<&str> {
        self.git_ref.strip_prefix("refs/heads/")
    }
}

/// RFC 3339 in UTC, whole seconds: `2026-11-22T15:00:00Z`; `None` for a
/// time RFC 3339 cannot write (outside the years 0 to 9999 in UTC).
pub(crate) fn rfc3339_utc(at: OffsetDateTime) -> Option<String> {
    let utc = at.checked_to_offset(time::UtcOffset::UTC)?;
    let utc = utc.replace_nanosecond(0).unwrap_or(utc);
    utc.format(&Rfc3339).ok()
}

/// `{api}/spaces/{space}/git/{operation}`, built segment by segment so a
/// space id can never alter the path.
pub(crate) fn endpoint(api: &Url, space: &str, operation: &str) -> Url {
    space_url(api, space, &["git", operation])
}

/// `{api}/spaces/{space}/…`.
fn space_url(api: &Url, space: &str, rest: &[&str]) -> Url {
    let mut url = api.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().extend(["spaces", space]).extend(rest);
    }
    url
}

impl GitRequestBody {
    /// The body as sent: the clone URL with its real credentials.
    /// An error, never a body without its fields, should the body not
    /// serialize.
    pub(crate) fn wire_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        let mut json = serde_json::to_value(self)?;
        json["url"] = serde_json::Value::String(self.url.exposed());
        Ok(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_from_ci_and_remote_urls() {
        let expected = "https://gitlab.example.com/group/sub/project";
        for raw in [
            "https://gitlab.example.com/group/sub/project",
            "https://gitlab.example.com/group/sub/project/",
            "https://gitlab-ci-token:secret@gitlab.example.com/group/sub/project.git",
            "git@gitlab.example.com:group/sub/project.git",
            "ssh://git@gitlab.example.com:2222/group/sub/project.git",
        ] {
            assert_eq!(Project::from_url(raw).unwrap().web_url.as_str(), expected, "{raw}");
        }
        assert_eq!(Project::from_url("/srv/repo.git"), None);
    }

    #[test]
    fn import_body_masks_credentials_when_shown() {
        let project = Project::from_url("https://gitlab.example.com/g/p").unwrap();
        let body = GitRequestBody::import(BodyInput {
            project: &project,
            credentials: Some(("oauth2".into(), Secret::new("glpat-body-test-secret"))),
            git_ref: "refs/heads/main".into(),
            branch: "main",
            directory: "docs/en",
            timestamp: Some(time::macros::datetime!(2026-11-22 16:00:00.5 +01:00)),
            force: false,
        });
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "url": "https://oauth2:[MASKED]@gitlab.example.com/g/p.git",
                "ref": "refs/heads/main",
                "repoTreeURL": "https://gitlab.example.com/g/p/-/blob/main",
                "repoCommitURL": "https://gitlab.example.com/g/p/-/commit",
                "repoProjectDirectory": "docs/en",
                "timestamp": "2026-11-22T15:00:00Z"
            })
        );
        assert_eq!(body.url.exposed(), "https://oauth2:glpat-body-test-secret@gitlab.example.com/g/p.git");
    }

    #[test]
    fn encoded_token_in_the_clone_url_is_redacted() {
        let project = Project::from_url("https://gitlab.example.com/g/p").unwrap();
        let url = CloneUrl::new(&project, Some(("oauth2".into(), Secret::new("tok/en+with@special chars"))));
        let exposed = url.exposed();
        assert_eq!(exposed, "https://oauth2:tok%2Fen%2Bwith%40special%20chars@gitlab.example.com/g/p.git");
        assert_eq!(crate::secret::redact(&exposed), "https://oauth2:[MASKED]@gitlab.example.com/g/p.git");
    }

    #[test]
    fn branch_names_never_alter_the_tree_url() {
        let project = Project::from_url("https://gitlab.example.com/g/p").unwrap();
        let body = GitRequestBody::import(BodyInput {
            project: &project,
            credentials: None,
            git_ref: "refs/heads/docs/x".into(),
            branch: "docs/x?y#z %",
            directory: "",
            timestamp: None,
            force: false,
        });
        assert_eq!(body.repo_tree_url, "https://gitlab.example.com/g/p/-/blob/docs/x%3Fy%23z%20%25");
    }

    #[test]
    fn an_export_of_an_imports_space_writes_its_own_branch() {
        let project = Project::from_url("https://gitlab.example.com/g/p").unwrap();
        let import = GitRequestBody::import(BodyInput {
            project: &project,
            credentials: None,
            git_ref: "refs/heads/main".into(),
            branch: "main",
            directory: "docs",
            timestamp: None,
            force: false,
        });
        let export = import.export_to("docsync/gitbook-edits-rev-2", "GitBook's edits".into());
        assert_eq!(export.git_ref, "refs/heads/docsync/gitbook-edits-rev-2");
        assert_eq!(export.branch(), Some("docsync/gitbook-edits-rev-2"));
        assert_eq!(export.repo_tree_url, "https://gitlab.example.com/g/p/-/blob/docsync/gitbook-edits-rev-2");
        assert_eq!(export.repo_commit_url, import.repo_commit_url);
        assert_eq!(export.repo_project_directory.as_deref(), Some("docs"));
        assert_eq!(export.commit_message.as_deref(), Some("GitBook's edits"));
    }

    #[test]
    fn endpoint_keeps_the_api_path() {
        let api = Url::parse("https://api.gitbook.com/v1").unwrap();
        assert_eq!(endpoint(&api, "spc1", "import").as_str(), "https://api.gitbook.com/v1/spaces/spc1/git/import");
        let api = Url::parse("http://127.0.0.1:4010/v1/").unwrap();
        assert_eq!(endpoint(&api, "spc1", "info").as_str(), "http://127.0.0.1:4010/v1/spaces/spc1/git/info");
        assert_eq!(space_url(&api, "spc1", &["content"]).as_str(), "http://127.0.0.1:4010/v1/spaces/spc1/content");
    }
}
