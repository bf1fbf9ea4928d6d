//! The HTTP(S) transport libgit2 fetches through when docsync deepens a
//! shallow clone: git's smart HTTP protocol (`info/refs`, `git-upload-pack`)
//! over reqwest.
//!
//! libgit2 is built without a TLS library of its own, so every fetch uses the
//! stack of every other request docsync makes: rustls, the platform's roots
//! plus `CI_SERVER_TLS_CA_FILE` and `SSL_CERT_FILE`, `HTTPS_PROXY`/`NO_PROXY`,
//! the connect timeout, and credentials that never reach a log. Each wait for
//! the server (the answer, then every piece of the body) is bounded by
//! `DOCSYNC_HTTP_TIMEOUT`, and all fetches of a run together by the retry
//! budget, so a server that never answers ends the deepening and the range
//! falls back as the range rules say. Only fetching is supported: docsync
//! never pushes.
//!
//! libgit2 calls the transport synchronously from inside a git2 call, on a
//! thread that holds no async runtime: the exchanges run on a small runtime
//! of the transport's own, made on the first fetch.

use std::io::{self, Read, Write};
use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};

use git2::transport::{Service, SmartSubtransport, SmartSubtransportStream, Transport};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use url::Url;

use crate::http::answer::describe;
use crate::http::{HttpSettings, load_ca_file};
use crate::secret::redact_url;

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
pub fn register(settings: &HttpSettings) {
    let _ = SETTINGS.set(settings.clone());
    register_transports();
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
        // follow a redirect to another origin.
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            let same_origin = attempt.previous().first().is_some_and(|first| first.origin() == attempt.url().origin());
            if attempt.previous().len() > 5 || !same_origin { attempt.stop() } else { attempt.follow() }
        }));
    for (variable, path) in &settings.ca_files {
        builder = builder.tls_certs_merge(load_ca_file(variable, path)?);
    }
    let client = builder.build().context("while setting up the HTTP client for git")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("while starting the runtime of git's HTTP transport")?;
    let budget = settings.retry.budget;
    Ok(Shared { runtime, client, timeout: settings.timeout, deadline: Instant::now() + budget, budget })
}

impl Shared {
    /// Runs `future` to its end, or fails once the server has kept us
    /// waiting for `DOCSYNC_HTTP_TIMEOUT`, or the fetches' budget is spent.
    fn wait<T>(&self, url: &Url, future: impl Future<Output = reqwest::Result<T>>) -> io::Result<T> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        let (limit, why) = if left < self.timeout {
            (left, format!("the fetches' time budget ({}s) is spent", self.budget.as_secs()))
        } else {
            (self.timeout, format!("no answer within {}s (DOCSYNC_HTTP_TIMEOUT)", self.timeout.as_secs_f64()))
        };
        // The timer must be made inside the runtime, which drives it.
        match self.runtime.block_on(async { tokio::time::timeout(limit, future).await }) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(io::Error::other(format!("{}: {}", redact_url(url), describe(&error)))),
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
/// `gitlab-ci-token:<job token>`).
fn credentials(url: &Url) -> Option<(String, String)> {
    if url.username().is_empty() && url.password().is_none() {
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
        Ok(Exchange { method, url: endpoint, credentials, service, request: Vec::new(), response: None })
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
        if !status.is_success() {
            let hint = match status.as_u16() {
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
    fn pushing_is_refused() {
        let refused = Exchange::new("https://gitlab.example.com/g/p.git", Service::ReceivePack);
        assert!(refused.err().is_some_and(|e| e.message().contains("only fetches")));
    }
}
