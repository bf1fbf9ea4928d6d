//! Locating the project and its instance: from the CI variables in a
//! pipeline, else from the URL people paste (an instance or a project page)
//! and the `origin` remote.

use reqwest::Method;
use url::Url;

use crate::gitlab::client::Auth;
use crate::http::{HttpClient, HttpError, Request};
use crate::secret::redact_url;

/// Why a pasted URL did not lead to a GitLab instance.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InstanceError {
    #[error("{url} responded {status} for /api/v4/version: set the instance URL, not a page")]
    NotGitLab { url: String, status: String },
    #[error("cannot reach {host}: check the address, proxy and firewall ({detail})")]
    Unreachable { host: String, detail: String },
}

/// The instance behind what people paste: an instance URL or a project URL,
/// with or without trailing slashes. Asks `…/api/v4/version` at the given
/// path and each parent, longest first; an instance answers 200, or 401
/// when it wants a token for it — either proves it is GitLab.
pub(crate) async fn resolve_instance(
    http: &HttpClient,
    pasted: &Url,
    token: Option<&Auth>,
) -> Result<Url, InstanceError> {
    let mut segments: Vec<String> =
        pasted.path_segments().map(|s| s.filter(|p| !p.is_empty()).map(str::to_owned).collect()).unwrap_or_default();
    // `/-/` starts a page inside a project: the instance lies above it.
    if let Some(dash) = segments.iter().position(|s| s == "-") {
        segments.truncate(dash);
    }
    let mut last_status: String;
    loop {
        let mut base = pasted.clone();
        base.set_query(None);
        base.set_fragment(None);
        base.set_path(&format!("/{}", segments.join("/")));
        let mut probe = base.clone();
        if let Ok(mut path) = probe.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v4", "version"]);
        }
        let mut request = Request::new(Method::GET, probe);
        if let Some(auth) = token {
            request = auth.apply(request);
        }
        match http.send(request).await {
            Ok(response) if looks_like_version(&response.body) => return Ok(trim_slash(base)),
            Ok(response) => last_status = format!("{} without a GitLab version", response.status.as_u16()),
            Err(HttpError::Status { status, body, .. })
                if matches!(status.as_u16(), 401 | 403) && body.contains("Unauthorized") =>
            {
                return Ok(trim_slash(base));
            }
            Err(HttpError::Status { status, .. }) => last_status = status.as_u16().to_string(),
            Err(HttpError::Redirect { status, location, .. }) => {
                last_status = format!("{} redirecting to {location}", status.as_u16());
            }
            Err(HttpError::Unreachable { last, .. } | HttpError::Ambiguous { last, .. }) => {
                return Err(InstanceError::Unreachable {
                    host: pasted.host_str().unwrap_or_default().to_owned(),
                    detail: last,
                });
            }
            Err(error) => {
                return Err(InstanceError::Unreachable {
                    host: pasted.host_str().unwrap_or_default().to_owned(),
                    detail: error.to_string(),
                });
            }
        }
        if segments.pop().is_none() {
            return Err(InstanceError::NotGitLab { url: redact_url(pasted), status: last_status });
        }
    }
}

fn looks_like_version(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .is_ok_and(|json| json.get("version").is_some_and(|v| v.is_string()))
}

fn trim_slash(mut url: Url) -> Url {
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    url
}

/// Where the project lives on GitLab: its REST API and its id (or path).
#[derive(Debug, Clone)]
pub(crate) struct ProjectApi {
    pub api: Url,
    /// `CI_PROJECT_ID`, or the project's path (`group/project`).
    pub project: String,
}

/// Why the project could not be located.
#[derive(Debug, Clone)]
pub(crate) struct LocateProblem {
    pub subject: String,
    pub message: String,
    pub fix: String,
}

/// `text`, set in `variable`, as an http(s) URL with a host.
fn web_url(variable: &str, text: &str, example: &str) -> Result<Url, LocateProblem> {
    match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        _ => Err(LocateProblem {
            subject: variable.to_owned(),
            // Masked: a mistyped URL may still hold credentials.
            message: format!(
                "{variable} = {:?} is not an http(s) URL",
                crate::secret::redact(text).chars().take(crate::error::MAX_SHOWN_VALUE).collect::<String>()
            ),
            fix: format!("set {variable} to a URL like {example}, or unset it to use the runner's"),
        }),
    }
}

/// Finds the project's API: in CI from `CI_API_V4_URL` and `CI_PROJECT_ID`
/// as given (instances under a sub-path included); outside CI from
/// `DOCSYNC_GITLAB_URL`, resolved to its instance, and the project's path in
/// that URL or in the `origin` remote.
pub(crate) async fn locate_project(
    settings: &crate::settings::Settings,
    http: &HttpClient,
    origin: Option<&str>,
) -> Result<Option<ProjectApi>, LocateProblem> {
    let pipeline = &settings.pipeline;
    if let Some(ci) = &pipeline.ci {
        // A variable that is set must be a URL: never passed over for the
        // next one, nor for no project at all.
        let api = match (pipeline.api_v4_url.as_deref(), pipeline.server_url.as_deref()) {
            (Some(api), _) => Some(web_url("CI_API_V4_URL", api, "https://gitlab.example.com/api/v4")?),
            (None, Some(server)) => Some(api_url(&web_url("CI_SERVER_URL", server, "https://gitlab.example.com")?)),
            (None, None) => None,
        };
        let project = ci.project_id.map(|id| id.to_string()).or_else(|| ci.project_path.clone());
        return Ok(api.zip(project).map(|(api, project)| ProjectApi { api, project }));
    }
    let Some(pasted) = &settings.gitlab.url else { return Ok(None) };
    let auth = settings.gitlab.token.as_ref().map(Auth::for_token);
    let source =
        settings.gitlab.url_source.as_ref().map_or_else(|| "DOCSYNC_GITLAB_URL".to_owned(), ToString::to_string);
    let instance = resolve_instance(http, pasted, auth.as_ref()).await.map_err(|error| LocateProblem {
        subject: source.clone(),
        message: error.to_string(),
        fix: format!("set {source} to the instance or project URL you open in the browser"),
    })?;
    let below_instance = |url: &Url| -> Option<String> {
        if url.host_str() != instance.host_str() {
            return None;
        }
        let path = url.path().trim_matches('/').trim_end_matches(".git");
        let base = instance.path().trim_matches('/');
        let rest = if base.is_empty() { path } else { path.strip_prefix(base)?.trim_start_matches('/') };
        let rest = rest.split("/-/").next().unwrap_or(rest).trim_end_matches('/');
        // The URL's path is percent-encoded; the API encodes the project
        // path as one segment itself, so it is decoded here, once.
        let rest = percent_encoding::percent_decode_str(rest).decode_utf8().ok()?;
        (!rest.is_empty()).then(|| rest.into_owned())
    };
    let project = below_instance(pasted)
        .or_else(|| origin.and_then(crate::git::remote::Project::from_url).and_then(|p| below_instance(&p.web_url)));
    match project {
        Some(project) => Ok(Some(ProjectApi { api: api_url(&instance), project })),
        None => Err(LocateProblem {
            subject: "DOCSYNC_GITLAB_URL".into(),
            message: format!("{} is a GitLab instance, but which project is unknown", redact_url(&instance)),
            fix:
                "paste the project's URL (https://host/group/project) into DOCSYNC_GITLAB_URL, or add an origin remote"
                    .into(),
        }),
    }
}

/// `…/api/v4` of an instance URL.
pub(crate) fn api_url(instance: &Url) -> Url {
    let mut api = instance.clone();
    if let Ok(mut path) = api.path_segments_mut() {
        path.pop_if_empty().extend(["api", "v4"]);
    }
    api
}
