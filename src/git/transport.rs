//! The HTTP(S) transport libgit2 fetches through when docsync deepens a
//! shallow clone: git's smart HTTP protocol (`info/refs`, `git-upload-pack`)
//! over reqwest.
//!
//! libgit2 is built without a TLS library of its own, so every fetch uses the
//! stack of every other request docsync makes: rustls, the platform's roots
//! plus `CI_SERVER_TLS_CA_FILE` and `SSL_CERT_FILE`, `HTTPS_PROXY`/`NO_PROXY`,
//! the connect timeout, and credentials that never reach a log. Each wait for
//! the server (the answer, then every piece of the body) is bounded by
//! `DOCSYNC_HTTP_TIMEOUT`, and all fetches of a run together by
//! `DOCSYNC_FETCH_TIMEOUT`, so a server that never answers ends the
//! deepening and the range falls back as the range rules say. Only fetching
//! is supported: docsync never pushes.
//!
//! The credentials of a URL (`CI_REPOSITORY_URL` holds the job token) go
//! only over https, or plain http to loopback: to any other plain-http
//! host the fetch goes without them, as for a public project. An untrusted
//! certificate is recorded for [`take_untrusted_certificate`]: bad
//! configuration, which libgit2's error alone cannot say.
//!
//! libgit2 calls the transport synchronously from inside a git2 call, on a
//! thread that holds no async runtime: the exchanges run on a small runtime
//! of the transport's own, made on the first fetch.

use std::io::{self, Read, Write};
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

use git2::transport::{Service, SmartSubtransport, SmartSubtransportStream, Transport};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use url::Url;

use crate::http::answer::{describe, shown_location, untrusted_certificate};
use crate::http::{HttpSettings, load_ca_file};
use crate::secret::redact_url;
use crate::settings::credentials::{is_loopback, shown_origin};

/// Git's own servers and forges recognise git clients by a `git/` agent.
const USER_AGENT: &str = concat!("git/2.0 (docsync/", env!("CARGO_PKG_VERSION"), ")");

/// The settings given to [`register`] (the defaults when a repository is
/// fetched into without them, as in the library's own tests).
static SETTINGS: OnceLock<HttpSettings> = OnceLock::new();
/// The client and runtime, made by the first fetch; `Err` when the client
/// cannot be built (a CA file that went away), said by every fetch.
static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();

/// Makes libgit2 fetch `http://` and `https://` URLs through docsync's HTTP
/// stack, configured by `settings` (the first call's settings win). Cheap:
/// nothing is built until a fetch needs it.
pub(crate) fn register(settings: &HttpSettings) {
    let _ = SETTINGS.set(settings.clone());
    register_transports();
}

/// The TLS stack's words about the last certificate no trusted CA signed,
/// until [`take_untrusted_certificate`] takes them.
static UNTRUSTED_CERTIFICATE: Mutex<Option<String>> = Mutex::new(None);

/// Why the last fetch failed, when it was a certificate no trusted CA
/// signed: bad configuration (exit 2), where libgit2 only says the fetch
/// failed.
pub(crate) fn take_untrusted_certificate() -> Option<String> {
    UNTRUSTED_CERTIFICATE.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take()
}

/// Registers the transports once per process; every fetch in `git::fetch`
/// (deepening, a partial clone's blobs) calls this first, so no fetch goes
/// through libgit2's own.
#[allow(unsafe_code, reason = "git2 registers a transport only through an unsafe function")]
pub(crate) fn register_transports() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        for scheme in ["https", "http"] {
            // SAFETY: git2 requires registration to be serialised with the
            // creation of transports: this runs once, before docsync's first
            // fetch, and only the calling thread ever fetches.
            let registered =
                unsafe { git2::transport::register(scheme, |remote| Transport::smart(remote, true, SmartHttp)) };
            if let Err(error) = registered {
                tracing::warn!("could not register docsync's {scheme} transport for git: {}", error.message());
            }
        }
    });
}

struct Shared {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    /// `DOCSYNC_HTTP_TIMEOUT`: the longest wait for any answer or piece of one.
    timeout: Duration,
    /// Every fetch of the run ends by then.
    deadline: Instant,
    budget: Duration,
}

fn shared() -> io::Result<&'static Shared> {
    let shared = SHARED.get_or_init(|| {
        let settings = SETTINGS.get_or_init(HttpSettings::default);
        build(settings).map_err(|error| format!("{error:#}"))
    });
    shared.as_ref().map_err(|message| io::Error::other(message.clone()))
}

fn build(settings: &HttpSettings) -> anyhow::Result<Shared> {
    use anyhow::Context;
    crate::tls::install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(settings.connect_timeout)
        // A server may move a repository within itself; credentials never
        // follow a redirect to another origin. A 301, 302 or 303 would turn
        // git-upload-pack's POST into a GET without its body: stopped, and
        // named as a redirect by `send`.
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            let same_origin = attempt.previous().first().is_some_and(|first| first.origin() == attempt.url().origin());
            let drops_body = matches!(attempt.status().as_u16(), 301..=303)
                && attempt.previous().last().is_some_and(|from| from.path().ends_with("/git-upload-pack"));
            if attempt.previous().len() > 5 || !same_origin || drops_body { attempt.stop() } else { attempt.follow() }
        }));
    for (variable, path) in &settings.ca_files {
        builder = builder.tls_certs_merge(load_ca_file(variable, path)?);
    }
    let client = builder.build().context("while setting up the HTTP client for git")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("while starting the runtime of git's HTTP transport")?;
    let budget = settings.fetch_budget;
    Ok(Shared { runtime, client, timeout: settings.timeout, deadline: Instant::now() + budget, budget })
}

impl Shared {
    /// Runs `future` to its end, or fails once the server has kept us
    /// waiting for `DOCSYNC_HTTP_TIMEOUT`, or the fetches' budget is spent.
    fn wait<T>(&self, url: &Url, future: impl Future<Output = reqwest::Result<T>>) -> io::Result<T> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        let (limit, why) = if left < self.timeout {
            (
                left,
                format!(
                    "the git fetches' time budget ({}s, DOCSYNC_FETCH_TIMEOUT) is spent",
                    self.budget.as_secs_f64()
                ),
            )
        } else {
            (self.timeout, format!("no answer within {}s (DOCSYNC_HTTP_TIMEOUT)", self.timeout.as_secs_f64()))
        };
        // The timer must be made inside the runtime, which drives it.
        match self.runtime.block_on(async { tokio::time::timeout(limit, future).await }) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                if let Some(detail) = untrusted_certificate(&error) {
                    *UNTRUSTED_CERTIFICATE.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(detail);
                }
                Err(io::Error::other(format!("{}: {}", redact_url(url), describe(&error))))
            }
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, format!("{}: {why}", redact_url(url)))),
        }
    }
}

/// The subtransport libgit2's smart protocol drives: one [`Exchange`] per
/// request (git's smart HTTP is stateless).
struct SmartHttp;

impl SmartSubtransport for SmartHttp {
    fn action(&self, url: &str, action: Service) -> Result<Box<dyn SmartSubtransportStream>, git2::Error> {
        Ok(Box::new(Exchange::new(url, action)?))
    }

    fn close(&self) -> Result<(), git2::Error> {
        Ok(())
    }
}

/// The user name and password of a URL, decoded (`CI_REPOSITORY_URL` holds
/// `gitlab-ci-token:<job token>`). None over plain http to a host other than
/// loopback, where they would travel unencrypted: said once per run.
fn credentials(url: &Url) -> Option<(String, String)> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    if url.scheme() == "http" && !is_loopback(url) {
        static SAID: Once = Once::new();
        SAID.call_once(|| {
            tracing::warn!(
                "{} is plain http to another host: docsync fetches from it without the URL's credentials (the job token would travel unencrypted), which works for public projects only; serve GitLab over https",
                shown_origin(url)
            );
        });
        return None;
    }
    let decode = |text: &str| percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned();
    Some((decode(url.username()), decode(url.password().unwrap_or_default())))
}

/// One request and its answer. libgit2 writes the whole request body first,
/// then reads: the request goes out at the first read.
struct Exchange {
    method: reqwest::Method,
    url: Url,
    credentials: Option<(String, String)>,
    /// The URL held credentials that plain http kept back.
    withheld: bool,
    service: &'static str,
    request: Vec<u8>,
    response: Option<Answer>,
}

struct Answer {
    body: reqwest::Response,
    /// The piece of the body read but not yet handed to libgit2.
    pending: Vec<u8>,
    at: usize,
}

impl Exchange {
    /// The request for one step of a fetch from the repository at `url`.
    fn new(url: &str, action: Service) -> Result<Exchange, git2::Error> {
        let (method, segments, query, service) = match action {
            Service::UploadPackLs => {
                (reqwest::Method::GET, &["info", "refs"][..], Some("service=git-upload-pack"), "upload-pack")
            }
            Service::UploadPack => (reqwest::Method::POST, &["git-upload-pack"][..], None, "upload-pack"),
            Service::ReceivePackLs | Service::ReceivePack => {
                return Err(git2::Error::from_str("docsync only fetches: pushing over HTTP is not supported"));
            }
        };
        let mut endpoint = Url::parse(url).map_err(|error| git2::Error::from_str(&format!("bad URL: {error}")))?;
        let credentials = credentials(&endpoint);
        let withheld = credentials.is_none() && (!endpoint.username().is_empty() || endpoint.password().is_some());
        // The credentials travel in a header marked sensitive, never in the
        // URL that errors and logs show.
        let _ = endpoint.set_username("");
        let _ = endpoint.set_password(None);
        endpoint
            .path_segments_mut()
            .map_err(|()| git2::Error::from_str("the repository URL cannot have a path"))?
            .pop_if_empty()
            .extend(segments);
        endpoint.set_query(query);
        Ok(Exchange { method, url: endpoint, credentials, withheld, service, request: Vec::new(), response: None })
    }

    fn send(&mut self) -> io::Result<Answer> {
        let shared = shared()?;
        let mut request = shared.client.request(self.method.clone(), self.url.clone());
        if self.method == reqwest::Method::POST {
            let kind = |what: &str| format!("application/x-git-{}-{what}", self.service);
            request = request
                .header(CONTENT_TYPE, kind("request"))
                .header(ACCEPT, kind("result"))
                .body(std::mem::take(&mut self.request));
        }
        if let Some((user, password)) = &self.credentials {
            request = request.basic_auth(user, Some(password));
        }
        let response = shared.wait(&self.url, request.send())?;
        let status = response.status();
        if status.is_redirection() {
            let location = response.headers().get(reqwest::header::LOCATION).map_or_else(
                || "(no Location header)".to_owned(),
                |value| shown_location(&self.url, &String::from_utf8_lossy(value.as_bytes())),
            );
            return Err(io::Error::other(format!(
                "{} answered {status}, redirecting to {location}; docsync follows a git server's redirect only within its origin and never for git-upload-pack's POST: set CI_REPOSITORY_URL (or the origin remote) to the final URL",
                redact_url(&self.url)
            )));
        }
        if !status.is_success() {
            let hint = match status.as_u16() {
                401 | 403 if self.withheld => {
                    ": the URL's credentials were not sent over plain http; serve GitLab over https"
                }
                401 | 403 => ": the server refused the credentials (a job token needs read access to the project)",
                404 => ": no repository at this URL, or no access to it",
                _ => "",
            };
            return Err(io::Error::other(format!("{} answered {status}{hint}", redact_url(&self.url))));
        }
        // A dumb-HTTP server or a login page answers 200 with something else.
        let expected = if self.method == reqwest::Method::GET { "advertisement" } else { "result" };
        let expected = format!("application/x-git-{}-{expected}", self.service);
        let content_type = response.headers().get(CONTENT_TYPE).and_then(|v: &HeaderValue| v.to_str().ok());
        if content_type.is_none_or(|found| !found.starts_with(&expected)) {
            return Err(io::Error::other(format!(
                "{} is not a smart git HTTP server (answered {} instead of {expected})",
                redact_url(&self.url),
                content_type.unwrap_or("no content type")
            )));
        }
        Ok(Answer { body: response, pending: Vec::new(), at: 0 })
    }
}

impl Read for Exchange {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.response.is_none() {
            self.response = Some(self.send()?);
        }
        let Some(answer) = self.response.as_mut() else { return Ok(0) };
        while answer.at == answer.pending.len() {
            match shared()?.wait(&self.url, answer.body.chunk())? {
                Some(chunk) => {
                    answer.pending = chunk.into();
                    answer.at = 0;
                }
                None => return Ok(0),
            }
        }
        let count = buf.len().min(answer.pending.len() - answer.at);
        buf[..count].copy_from_slice(&answer.pending[answer.at..answer.at + count]);
        answer.at += count;
        Ok(count)
    }
}

impl Write for Exchange {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.response.is_some() {
            return Err(io::Error::other("git wrote to a request already sent"));
        }
        self.request.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_go_to_the_smart_http_endpoints_with_credentials_out_of_the_url() {
        let url = "https://gitlab-ci-token:s3cr%40t@gitlab.example.com/g/p.git";
        let listing = Exchange::new(url, Service::UploadPackLs).expect("a request");
        assert_eq!(listing.method, reqwest::Method::GET);
        assert_eq!(listing.url.as_str(), "https://gitlab.example.com/g/p.git/info/refs?service=git-upload-pack");
        assert_eq!(listing.credentials, Some(("gitlab-ci-token".into(), "s3cr@t".into())));

        let fetch = Exchange::new("http://127.0.0.1:8080/p.git/", Service::UploadPack).expect("a request");
        assert_eq!(fetch.method, reqwest::Method::POST);
        assert_eq!(fetch.url.as_str(), "http://127.0.0.1:8080/p.git/git-upload-pack");
        assert_eq!(fetch.credentials, None);
    }

    #[test]
    fn credentials_go_over_https_or_to_loopback_only() {
        let sent = |url: &str| Exchange::new(url, Service::UploadPackLs).expect("a request").credentials.is_some();
        assert!(sent("https://gitlab-ci-token:job-token-1@gitlab.example.com/g/p.git"));
        assert!(sent("http://gitlab-ci-token:job-token-1@127.0.0.1:8080/g/p.git"));
        assert!(sent("http://gitlab-ci-token:job-token-1@localhost/g/p.git"));
        assert!(sent("http://gitlab-ci-token:job-token-1@[::1]/g/p.git"));
        let withheld =
            Exchange::new("http://gitlab-ci-token:job-token-1@gitlab.example.com/g/p.git", Service::UploadPack)
                .expect("a request");
        assert_eq!(withheld.credentials, None);
        assert!(withheld.withheld);
        // A name that merely starts like loopback is another host.
        assert!(!sent("http://gitlab-ci-token:job-token-1@127.0.0.1.example.com/g/p.git"));
    }

    #[test]
    fn pushing_is_refused() {
        let refused = Exchange::new("https://gitlab.example.com/g/p.git", Service::ReceivePack);
        assert!(refused.err().is_some_and(|e| e.message().contains("only fetches")));
    }
}
