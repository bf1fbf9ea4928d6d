//! Where credentials may go, and what they may look like: the rules checked
//! on the settings before anything is sent (exit 2 when broken).
//!
//! - Every secret value is long enough to mask and holds no whitespace or
//!   control character ([`crate::secret::check_value`]).
//! - No credential travels over plain `http://` except to loopback. GitLab is
//!   optional when only `CI_JOB_TOKEN` would be sent (the sync watermark):
//!   then GitLab is skipped with a warning instead. The git token GitBook
//!   clones with is refused on a plain-http `CI_PROJECT_URL`.
//! - An API URL with user info (`https://user:pass@host`) is refused: the
//!   HTTP client would turn it into Basic auth beside the configured token.
//!   A webhook URL may carry user info (receivers use it for Basic auth); it
//!   is never shown ([`shown_webhook_url`]).

use url::Url;

use crate::error::{BadInput, Source};
use crate::secret::{MASK, Secret, check_value};
use crate::settings::{Settings, TargetKind};

/// Every problem of the settings' credentials; may also turn GitLab calls
/// off (see the module docs), which is logged.
pub(crate) fn check(settings: &mut Settings) -> Vec<BadInput> {
    let mut problems = Vec::new();
    check_secret_values(settings, &mut problems);
    check_gitlab(settings, &mut problems);
    for target in &settings.targets {
        match &target.kind {
            TargetKind::GitBook(gitbook) => {
                refuse_userinfo(&gitbook.api_url, "DOCSYNC_GITBOOK_API_URL", &mut problems);
                if gitbook.git_token.is_some() {
                    refuse_plain_http_clone(settings, &gitbook.git_token_source, &mut problems);
                }
            }
            // Known to the redactor like every other secret, path and query included.
            TargetKind::Dot(dot) => crate::secret::register_hidden_url(&dot.webhook_url),
        }
    }
    problems
}

fn check_secret_values(settings: &Settings, problems: &mut Vec<BadInput>) {
    let mut secrets: Vec<(String, &Secret)> = Vec::new();
    if let Some(token) = &settings.gitlab.token {
        secrets.push((settings.gitlab.token_source.clone(), token));
    }
    if let Some(token) = &settings.pipeline.job_token {
        secrets.push(("CI_JOB_TOKEN".to_owned(), token));
    }
    for target in &settings.targets {
        match &target.kind {
            TargetKind::GitBook(gitbook) => {
                secrets.extend(gitbook.token.as_ref().map(|t| (gitbook.token_source.clone(), t)));
                secrets.extend(gitbook.git_token.as_ref().map(|t| (gitbook.git_token_source.clone(), t)));
            }
            TargetKind::Dot(dot) => secrets.extend(dot.secret.as_ref().map(|s| (dot.secret_source.clone(), s))),
        }
    }
    let mut seen = Vec::new();
    for (source, secret) in secrets {
        if seen.contains(&source) {
            continue;
        }
        if let Err(problem) = check_value(&source, secret) {
            problems.push(problem);
        }
        seen.push(source);
    }
}

/// The GitLab URLs a token would be sent to: the API of the pipeline
/// (`CI_API_V4_URL`, else `CI_SERVER_URL`) and the instance outside CI
/// (`gitlab_url` by the layer that set it, else `CI_SERVER_URL`).
fn gitlab_urls(settings: &Settings) -> Vec<(String, Url)> {
    let pipeline = &settings.pipeline;
    let parse = |raw: &Option<String>| raw.as_deref().and_then(|raw| Url::parse(raw).ok());
    let mut urls = Vec::new();
    if let Some(url) = parse(&pipeline.api_v4_url) {
        urls.push(("CI_API_V4_URL".to_owned(), url));
    }
    if let Some(url) = parse(&pipeline.server_url) {
        urls.push(("CI_SERVER_URL".to_owned(), url));
    }
    if let Some(url) = &settings.gitlab.url {
        if urls.iter().all(|(_, known)| known != url) {
            let source = settings.gitlab.url_source.as_ref().map(ToString::to_string);
            urls.push((source.unwrap_or_else(|| "DOCSYNC_GITLAB_URL".to_owned()), url.clone()));
        }
    }
    urls
}

fn check_gitlab(settings: &mut Settings, problems: &mut Vec<BadInput>) {
    let urls = gitlab_urls(settings);
    for (source, url) in &urls {
        refuse_userinfo(url, source, problems);
    }
    let Some((source, url)) = urls.iter().find(|(_, url)| url.scheme() == "http" && !is_loopback(url)) else {
        return;
    };
    if settings.gitlab.token.is_some() {
        problems.push(
            BadInput::new(
                source.as_str(),
                format!("plain http would send {} unencrypted to {}", settings.gitlab.token_source, shown_origin(url)),
                format!("set {source} to the instance's https:// URL, or unset {}", settings.gitlab.token_source),
            )
            .with_value(crate::secret::redact_url(url)),
        );
    } else if settings.pipeline.job_token.is_some() {
        tracing::warn!(
            "{source} ({}) is plain http to another host: docsync sends CI_JOB_TOKEN no GitLab request (no sync watermark is read); serve GitLab over https to use it",
            shown_origin(url)
        );
        settings.gitlab.plain_http = true;
    }
}

/// GitBook clones `CI_PROJECT_URL` + `.git` with the git token in the URL:
/// over plain http the token would cross the network in cleartext.
fn refuse_plain_http_clone(settings: &Settings, token_source: &str, problems: &mut Vec<BadInput>) {
    let project_url = settings.pipeline.ci.as_ref().and_then(|ci| ci.project_url.as_deref());
    let Some(url) = project_url.and_then(|raw| Url::parse(raw).ok()) else { return };
    if url.scheme() == "http" && !is_loopback(&url) && problems.iter().all(|p| p.source.to_string() != "CI_PROJECT_URL")
    {
        problems.push(
            BadInput::new(
                "CI_PROJECT_URL",
                format!("plain http: GitBook would clone the project with {token_source} in cleartext"),
                format!("serve GitLab over https (its external_url), or unset {token_source} for a public project"),
            )
            .with_value(crate::secret::redact_url(&url)),
        );
    }
}

fn refuse_userinfo(url: &Url, source: &str, problems: &mut Vec<BadInput>) {
    if !url.username().is_empty() || url.password().is_some() {
        problems.push(
            BadInput::new(
                source,
                "the URL holds a user name or password: docsync would send them as Basic auth beside the token",
                format!(
                    "remove the user info from {source} (keep https://host/path); tokens come from their own variables"
                ),
            )
            .with_value(crate::secret::redact_url(url)),
        );
    }
}

/// Tokens never travel over plain `http://`, except to this machine.
/// `shown` writes the URL as its kind is shown (a webhook's path may be its
/// secret: [`shown_webhook_url`]); it and the source are written out only
/// for a refused URL, as every target is checked.
pub(super) fn refuse_plain_http(
    url: &Url,
    shown: fn(&Url) -> String,
    url_source: &Source,
    secret_source: &str,
    problems: &mut Vec<BadInput>,
) {
    if url.scheme() == "http" && !is_loopback(url) {
        problems.push(
            BadInput::new(
                url_source.to_string(),
                format!("plain http would send {secret_source} unencrypted"),
                "use an https:// URL",
            )
            .with_value(shown(url)),
        );
    }
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `scheme://host[:port]`, nothing that can carry a secret.
pub(crate) fn shown_origin(url: &Url) -> String {
    match url.host_str() {
        Some(host) => match url.port() {
            Some(port) => format!("{}://{host}:{port}", url.scheme()),
            None => format!("{}://{host}", url.scheme()),
        },
        None => url.scheme().to_owned() + "://" + MASK,
    }
}

/// A webhook URL as shown anywhere: `scheme://host/…`. Receivers often carry
/// their secret in the path or query; user info is never shown either.
pub(crate) fn shown_webhook_url(url: &Url) -> String {
    format!("{}/…", shown_origin(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_show_only_scheme_and_host() {
        let url = Url::parse("https://user:pw-secret-1@hooks.example.com:8443/t/abc123secret?token=x").unwrap();
        assert_eq!(shown_webhook_url(&url), "https://hooks.example.com:8443/…");
        let url = Url::parse("https://hooks.example.com/t/abc").unwrap();
        assert_eq!(shown_webhook_url(&url), "https://hooks.example.com/…");
    }
}
