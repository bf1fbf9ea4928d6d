//! The spaces a GitBook site syncs from Git: `GET
//! /orgs/{organizationId}/sites/{siteId}/spaces/git/installations`
//! (`listSiteGitSyncInstallations` in GitBook's OpenAPI description). Only
//! what discovery uses is kept: the answer's installations carry the
//! provider's configuration, access token included, and [`Installation`]
//! has no field to hold it, so it is dropped while decoding.

use reqwest::Method;
use serde::Deserialize;
use url::Url;

use crate::http::{HttpClient, HttpError, Request};
use crate::secret::Secret;

/// One space installation of the site, as far as docsync reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Installation {
    pub space: String,
    /// The installation's `projectDirectory`: relative to the repository
    /// root, without leading or trailing slash; empty for the root.
    pub directory: String,
    /// `gitlab` or `github`.
    pub provider: String,
    /// GitLab's project id (`providerConfiguration.projectId`).
    pub project_id: Option<u64>,
    /// The repository's URL on the provider (`repositoryConnection.repositoryUrl`).
    pub repository_url: Option<String>,
    /// The branch name, without `refs/heads/`.
    pub branch: Option<String>,
    /// `active`, `pending` or `unauthenticated`.
    pub status: String,
}

/// The site's installations: its spaces', and where the site's own
/// installation keeps its site file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Listing {
    pub spaces: Vec<Installation>,
    /// The `projectDirectory` of the site's own installation (normalised
    /// like a space's), when the answer lists it.
    pub site_directory: Option<String>,
}

/// Why the site's installations could not be listed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InstallationsError {
    #[error("GitBook refused the token of {variable}: {source}")]
    Unauthorized { variable: String, source: HttpError },
    #[error("GitBook does not know site {site} of organization {organization}: {source}")]
    SiteNotFound { organization: String, site: String, source: HttpError },
    #[error("GitBook did not list the site's installations: {0}")]
    Failed(HttpError),
    #[error("unexpected answer from GitBook at {field}: {detail}")]
    Decode { field: String, detail: String },
}

impl InstallationsError {
    /// The settings are at fault (exit 2), not GitBook's reach.
    pub(crate) fn is_configuration(&self) -> bool {
        match self {
            InstallationsError::Unauthorized { .. } | InstallationsError::SiteNotFound { .. } => true,
            InstallationsError::Failed(error) => error.is_configuration(),
            InstallationsError::Decode { .. } => false,
        }
    }

    pub(crate) fn fix(&self) -> String {
        match self {
            InstallationsError::Unauthorized { variable, .. } => format!(
                "set {variable} to a GitBook API token of a member of the organization who can see the site (app.gitbook.com → Settings → Developer)"
            ),
            InstallationsError::SiteNotFound { .. } => "check DOCSYNC_GITBOOK_SITE and DOCSYNC_GITBOOK_ORGANIZATION: copy both from the site's URL (app.gitbook.com/o/<organization id>/sites/<site id>)".to_owned(),
            InstallationsError::Failed(error) if error.is_configuration() => {
                "put the CA that signed the API's certificate in CI_SERVER_TLS_CA_FILE or SSL_CERT_FILE (a PEM bundle)".to_owned()
            }
            InstallationsError::Failed(_) => {
                "check DOCSYNC_GITBOOK_API_URL, the proxy (HTTPS_PROXY) and GitBook's status page, then retry the job".to_owned()
            }
            InstallationsError::Decode { .. } => "check DOCSYNC_GITBOOK_API_URL points at a GitBook-style API".to_owned(),
        }
    }
}

/// The site's installations. The pinned description gives the answer as
/// one list (`items`, no `next`): there is no page to follow.
pub(crate) async fn list(
    http: &HttpClient,
    api_url: &Url,
    token: &Secret,
    token_source: &str,
    organization: &str,
    site: &str,
) -> Result<Listing, InstallationsError> {
    let url = installations_url(api_url, organization, site);
    let request = Request::new(Method::GET, url).secret_header("authorization", "Bearer ", token);
    let response = http.send(request).await.map_err(|error| match error.status().map(|s| s.as_u16()) {
        Some(401 | 403) => InstallationsError::Unauthorized { variable: token_source.to_owned(), source: error },
        Some(404) => InstallationsError::SiteNotFound {
            organization: organization.to_owned(),
            site: site.to_owned(),
            source: error,
        },
        _ => InstallationsError::Failed(error),
    })?;
    let answer: Answer =
        response.json().map_err(|error| InstallationsError::Decode { field: error.field, detail: error.detail })?;
    Ok(listing(answer))
}

fn listing(answer: Answer) -> Listing {
    let mut listing = Listing::default();
    for item in answer.items {
        if item.target.kind == "site" {
            listing.site_directory = Some(normalized_directory(item.project_directory.as_deref()));
        } else if let Some(installation) = item.into_installation() {
            listing.spaces.push(installation);
        }
    }
    listing
}

/// A `projectDirectory` as the repository's tree names it: no `./`, no
/// leading or trailing slash; empty for the root.
fn normalized_directory(directory: Option<&str>) -> String {
    let directory = directory.unwrap_or_default().trim();
    let directory = directory.strip_prefix("./").unwrap_or(directory);
    directory.trim_matches('/').to_owned()
}

/// `{api}/orgs/{organization}/sites/{site}/spaces/git/installations`.
fn installations_url(api: &Url, organization: &str, site: &str) -> Url {
    let mut url = api.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().extend(["orgs", organization, "sites", site, "spaces", "git", "installations"]);
    }
    url
}

#[derive(Deserialize)]
struct Answer {
    items: Vec<WireInstallation>,
}

/// `GitSyncInstallation`, narrowed to what docsync reads. Every other
/// field of the answer (the provider's `accessToken` among them) is
/// skipped by serde, never held.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireInstallation {
    target: WireTarget,
    status: String,
    #[serde(default)]
    project_directory: Option<String>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    provider_configuration: Option<WireProviderConfiguration>,
    #[serde(default)]
    repository_connection: Option<WireRepositoryConnection>,
}

/// `GitSyncInstallationTarget`: a space, or the site itself.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireTarget {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    space_id: Option<String>,
}

/// `providerConfiguration`: the project and branch only.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireProviderConfiguration {
    #[serde(default)]
    project_id: Option<f64>,
    #[serde(default)]
    branch: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRepositoryConnection {
    #[serde(default)]
    repository_url: Option<String>,
}

impl WireInstallation {
    /// A space's installation; `None` for the site's own (it syncs no
    /// space of its own).
    fn into_installation(self) -> Option<Installation> {
        let space = self.target.space_id.filter(|_| self.target.kind == "space")?;
        let configuration = self.provider_configuration;
        let project_id = configuration
            .as_ref()
            .and_then(|c| c.project_id)
            .filter(|id| id.fract() == 0.0 && *id >= 0.0)
            .map(|id| id as u64);
        let branch = configuration.and_then(|c| c.branch).map(|branch| match branch.strip_prefix("refs/heads/") {
            Some(name) => name.to_owned(),
            None => branch,
        });
        Some(Installation {
            space,
            directory: normalized_directory(self.project_directory.as_deref()),
            provider: self.provider.unwrap_or_default(),
            project_id,
            repository_url: self.repository_connection.and_then(|c| c.repository_url),
            branch,
            status: self.status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_keeps_the_api_path() {
        let api = Url::parse("http://127.0.0.1:4010/v1/").unwrap();
        assert_eq!(
            installations_url(&api, "org1", "site_1").as_str(),
            "http://127.0.0.1:4010/v1/orgs/org1/sites/site_1/spaces/git/installations"
        );
    }

    #[test]
    fn only_what_discovery_uses_is_kept_and_the_access_token_is_dropped() {
        let answer = r#"{"items": [
            {"object": "git-sync-installation", "id": "i1", "target": {"type": "space", "spaceId": "spcA"},
             "status": "active", "projectDirectory": "./docs/en/", "provider": "gitlab",
             "providerConfiguration": {"projectId": 42, "branch": "refs/heads/main", "accessToken": "glpat-planted"},
             "repositoryConnection": {"repositoryUrl": "https://gitlab.example.com/g/p"}},
            {"object": "git-sync-installation", "id": "i0", "target": {"type": "site", "siteId": "site_1"},
             "status": "active", "provider": "gitlab", "providerConfiguration": {"projectId": 42}}
        ]}"#;
        let answer: Answer = serde_json::from_str(answer).unwrap();
        let kept: Vec<Installation> =
            answer.items.into_iter().filter_map(WireInstallation::into_installation).collect();
        assert_eq!(
            kept,
            [Installation {
                space: "spcA".into(),
                directory: "docs/en".into(),
                provider: "gitlab".into(),
                project_id: Some(42),
                repository_url: Some("https://gitlab.example.com/g/p".into()),
                branch: Some("main".into()),
                status: "active".into(),
            }]
        );
        assert!(!format!("{kept:?}").contains("glpat-planted"));
    }
}
