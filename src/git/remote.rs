//! The project's addresses: its web URL on GitLab (from `CI_PROJECT_URL` or
//! the `origin` remote) and the clone URL a platform fetches it from.

use serde::Serialize;
use url::Url;

use crate::secret::{MASK, Secret};

/// The project on GitLab, as platforms address it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Project {
    /// `https://gitlab.example.com/group/project`, no trailing slash, no credentials.
    pub web_url: Url,
}

impl Project {
    /// From `CI_PROJECT_URL`, or from a remote URL (HTTPS or scp-like SSH)
    /// outside CI.
    pub(crate) fn from_url(raw: &str) -> Option<Project> {
        let raw = raw.trim();
        // The web URL of an SSH remote: the same host and path over HTTPS.
        let over_https = |host: &str, path: &str| -> Option<Url> {
            let mut url = Url::parse("https://localhost").ok()?;
            url.set_host(Some(host)).ok()?;
            url.set_path(path);
            Some(url)
        };
        let mut url = if let Some(rest) = raw.strip_prefix("git@") {
            // git@host:group/project.git
            let (host, path) = rest.split_once(':')?;
            over_https(host, path)?
        } else if raw.starts_with("ssh://") {
            let ssh = Url::parse(raw).ok()?;
            over_https(ssh.host_str()?, ssh.path())?
        } else {
            Url::parse(raw).ok()?
        };
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let path = url.path().trim_end_matches('/').trim_end_matches(".git").to_owned();
        url.set_path(&path);
        url.set_query(None);
        url.set_fragment(None);
        Some(Project { web_url: url })
    }

    /// A page of the project: `segments` appended to its path, each one
    /// percent-encoded, so a branch name can never alter the URL's shape.
    pub(crate) fn at<'a>(&self, segments: impl IntoIterator<Item = &'a str>) -> Url {
        let mut url = self.web_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }
}

/// Everything but RFC 3986's unreserved characters is escaped in user info.
const USERINFO: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

fn encode_userinfo(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, USERINFO).to_string()
}

/// The HTTPS clone URL GitBook fetches from, with its credentials.
#[derive(Debug, Clone)]
pub(crate) struct CloneUrl {
    url: Url,
    credentials: Option<(String, Secret)>,
}

impl CloneUrl {
    pub(crate) fn new(project: &Project, credentials: Option<(String, Secret)>) -> CloneUrl {
        let mut url = project.web_url.clone();
        let path = url.path().trim_end_matches('/').to_owned() + ".git";
        url.set_path(&path);
        if let Some((_, secret)) = &credentials {
            // The token travels percent-encoded; a server that echoes the URL
            // back must find that form masked in our output too.
            Secret::new(encode_userinfo(secret.expose()));
        }
        CloneUrl { url, credentials }
    }

    /// The URL as shown: credentials masked.
    pub(crate) fn shown(&self) -> String {
        match &self.credentials {
            None => self.url.to_string(),
            // `Url` percent-encodes the brackets of the mask; show them as written.
            Some((user, _)) => self.with_credentials(user, MASK).to_string().replace("%5BMASKED%5D", MASK),
        }
    }

    /// The URL as sent to GitBook.
    pub(crate) fn exposed(&self) -> String {
        match &self.credentials {
            None => self.url.to_string(),
            Some((user, secret)) => self.with_credentials(user, secret.expose()).to_string(),
        }
    }

    fn with_credentials(&self, user: &str, password: &str) -> Url {
        let mut url = self.url.clone();
        // Encoded beforehand with the stricter set: `Url` leaves `%` alone,
        // so the form sent is exactly the form registered for redaction.
        // Both fail only for URLs without a host, which a project URL has.
        let _ = url.set_username(&encode_userinfo(user));
        let _ = url.set_password(Some(&encode_userinfo(password)));
        url
    }
}

impl Serialize for CloneUrl {
    /// Serialises as shown: a body is only ever printed masked. The client
    /// swaps the real URL in when it sends the request.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.shown())
    }
}
