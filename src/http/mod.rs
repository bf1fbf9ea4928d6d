//! The one HTTP client of a run, and the retry policy every target shares.
//!
//! rustls with the platform's roots plus `CI_SERVER_TLS_CA_FILE` and
//! `SSL_CERT_FILE`; `HTTPS_PROXY`/`NO_PROXY` honoured (reqwest reads them);
//! connect and request timeouts; user agent `docsync/<version>`.
//!
//! Retries: connection errors, timeouts and 408, 429, 502, 503, 504, with
//! exponential backoff and equal jitter, honouring `Retry-After` and rate-limit
//! reset headers, bounded in count and in total time. Never another 4xx. A 429
//! also holds back every other request to the same host until the limit
//! resets, so many targets on one host slow down together.
//!
//! What is resent ([`Resend`]): reads always; a write only when it cannot
//! have been processed (connect or TLS handshake failure, 408, 429, 503) or
//! when the server deduplicates it. After a timeout, a dropped connection,
//! 502 or 504 a write ends [`HttpError::Ambiguous`]: its caller reads the
//! server's state before deciding.
//!
//! Redirects are never followed ([`HttpError::Redirect`]): every request
//! docsync sends carries a credential. Bodies are read up to [`MAX_BODY`].
//! A certificate no trusted CA signed is [`HttpError::UntrustedCertificate`],
//! bad configuration, never retried. What an answer says (the server's
//! error text, the wait it asks for) is read in [`answer`].

pub mod answer;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use url::Url;

use crate::bounded_file;
use crate::error::BadInput;
use crate::http::answer::{describe, retry_after, server_message_of, shown_location, untrusted_certificate};
use crate::secret::{Secret, redact, redact_url};

/// How hard to try.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts after the first one.
    pub retries: u32,
    /// The first backoff; doubled at each retry.
    pub base_delay: Duration,
    /// No single wait is longer than this.
    pub max_delay: Duration,
    /// Retrying stops when the next wait would end later than this after the
    /// first attempt.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            budget: Duration::from_secs(180),
        }
    }
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
    /// Extra CA bundles (PEM): `CI_SERVER_TLS_CA_FILE`, `SSL_CERT_FILE`.
    pub ca_files: Vec<(String, String)>,
    /// Requests in flight at once, across every target (`DOCSYNC_CONCURRENCY`).
    pub max_in_flight: usize,
    /// How long every git fetch of the run may take together
    /// (`DOCSYNC_FETCH_TIMEOUT`): deepening, a partial clone's blobs.
    pub fetch_budget: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            ca_files: Vec::new(),
            max_in_flight: 8,
            fetch_budget: Duration::from_secs(180),
        }
    }
}

/// At most this much of any response body is read; the rest is dropped.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// A failed exchange, with what the server said.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The server answered, and not with success. `message` is the server's
    /// own error text (GitBook's `error.message`, GitLab's `message`…).
    #[error("{method} {url} answered {status}: {message}")]
    Status { method: Method, url: String, status: StatusCode, message: String, body: String },
    /// No answer worth having after every retry: connection errors, timeouts,
    /// or 408/429/5xx to the end.
    #[error("{method} {url}: no success after {attempts} attempts ({last})")]
    Unreachable { method: Method, url: String, attempts: u32, last: String },
    /// A write that may have been processed (a timeout, a dropped
    /// connection, 502 or 504): not sent again; the caller looks first.
    #[error("{method} {url}: {last}; the request may have been processed, so it was not resent blindly")]
    Ambiguous { method: Method, url: String, attempts: u32, last: String },
    /// A 3xx: never followed. `location` is resolved against the request's
    /// URL and redacted.
    #[error(
        "{method} {url} answered {status}, redirecting to {location}; docsync does not follow redirects (they would carry credentials elsewhere): configure the final URL"
    )]
    Redirect { method: Method, url: String, status: StatusCode, location: String },
    /// The server's TLS certificate is not signed by any trusted CA.
    #[error(
        "{method} {url}: the server's TLS certificate is not trusted ({detail}); add its CA to CI_SERVER_TLS_CA_FILE or SSL_CERT_FILE (a PEM bundle)"
    )]
    UntrustedCertificate { method: Method, url: String, detail: String },
    /// A header whose value HTTP cannot carry (a line break, a control
    /// character, a character outside visible ASCII): nothing is sent,
    /// rather than the request without it. The value is not shown: it may
    /// be a secret.
    #[error(
        "{method} {url}: the value of the header {header} holds a line break, a control character or a character outside visible ASCII, which HTTP cannot carry; nothing was sent"
    )]
    UnsendableHeader { method: Method, url: String, header: String },
}

impl HttpError {
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            HttpError::Status { status, .. } | HttpError::Redirect { status, .. } => Some(*status),
            HttpError::Unreachable { .. }
            | HttpError::Ambiguous { .. }
            | HttpError::UntrustedCertificate { .. }
            | HttpError::UnsendableHeader { .. } => None,
        }
    }

    /// The server's own error text, when it answered with one.
    pub fn server_message(&self) -> Option<&str> {
        match self {
            HttpError::Status { message, .. } => Some(message),
            _ => None,
        }
    }

    /// Whether this is the run's configuration at fault (exit 2), not the
    /// target: an untrusted certificate, or a header value from a setting
    /// that HTTP cannot carry.
    pub fn is_configuration(&self) -> bool {
        matches!(self, HttpError::UntrustedCertificate { .. } | HttpError::UnsendableHeader { .. })
    }
}

/// When a request may be sent again after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resend {
    /// Reads, and writes the server deduplicates: under the retry policy.
    Always,
    /// Writes: only after a failure that proves the server never processed
    /// it (connect or TLS handshake failure, 408, 429, 503).
    IfUnprocessed,
}

/// A request to send, rebuilt for every attempt.
pub struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(HeaderName, String, bool)>,
    pub body: Option<Vec<u8>>,
    pub resend: Resend,
    /// How the URL is shown in messages, when the redacted URL says too much
    /// (a webhook's path).
    pub shown_url: Option<String>,
}

impl Request {
    /// GET and HEAD are resent freely; every other method only when it
    /// cannot have been processed.
    pub fn new(method: Method, url: Url) -> Request {
        let resend = if matches!(method, Method::GET | Method::HEAD) { Resend::Always } else { Resend::IfUnprocessed };
        Request { method, url, headers: Vec::new(), body: None, resend, shown_url: None }
    }

    /// A write the server deduplicates (a push event with its
    /// `Idempotency-Key`): resending it is harmless.
    pub fn deduplicated_by_server(mut self) -> Request {
        self.resend = Resend::Always;
        self
    }

    /// Shows the URL as `shown` in every message.
    pub fn shown_as(mut self, shown: String) -> Request {
        self.shown_url = Some(shown);
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Request {
        self.headers.push((HeaderName::from_static(name), value.into(), false));
        self
    }

    /// A header carrying a secret: marked sensitive, never logged.
    pub fn secret_header(mut self, name: &'static str, prefix: &str, secret: &Secret) -> Request {
        self.headers.push((HeaderName::from_static(name), format!("{prefix}{}", secret.expose()), true));
        self
    }

    /// A JSON body. A `Value` always serializes (its keys are strings), so
    /// there is no failure to drop: `to_string` cannot fail.
    pub fn json(mut self, body: &serde_json::Value) -> Request {
        self.body = Some(body.to_string().into_bytes());
        self.headers.push((reqwest::header::CONTENT_TYPE, "application/json".into(), false));
        self
    }
}

/// A successful response.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// At most [`MAX_BODY`] bytes.
    pub body: Vec<u8>,
    /// The body was longer than [`MAX_BODY`] and was cut.
    pub truncated: bool,
    /// How many attempts it took.
    pub attempts: u32,
}

/// An answer that is not the JSON expected: the field that failed and why,
/// or, for a body cut at [`MAX_BODY`], that it was cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecodable {
    pub field: String,
    pub detail: String,
}

impl Response {
    /// The body decoded as `T`. A surprise names the failing field; a body
    /// cut at [`MAX_BODY`] says so, rather than the parse error at the cut.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Undecodable> {
        if self.truncated {
            return Err(Undecodable {
                field: "the whole answer".to_owned(),
                detail: format!(
                    "it is longer than {} MiB, where docsync stops reading an answer, so it was cut",
                    MAX_BODY / (1024 * 1024)
                ),
            });
        }
        let mut decoder = serde_json::Deserializer::from_slice(&self.body);
        serde_path_to_error::deserialize(&mut decoder)
            .map_err(|error| Undecodable { field: error.path().to_string(), detail: error.inner().to_string() })
    }
}

pub struct HttpClient {
    client: reqwest::Client,
    retry: RetryPolicy,
    /// Per host: no request before this instant (set by 429s).
    held_until: Mutex<HashMap<String, Instant>>,
    /// Bounds the requests in flight; a target waiting between polls holds
    /// no permit, so waits run concurrently however many targets there are.
    in_flight: tokio::sync::Semaphore,
}

impl HttpClient {
    pub fn new(settings: &HttpSettings) -> Result<HttpClient> {
        crate::tls::install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("docsync/", env!("CARGO_PKG_VERSION")))
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            // Every request carries a credential: a redirect would take it
            // (or the import body's git token) to another host or scheme.
            .redirect(reqwest::redirect::Policy::none());
        for (variable, path) in &settings.ca_files {
            builder = builder.tls_certs_merge(load_ca_file(variable, path)?);
        }
        let client = builder.build().context("while setting up the HTTP client")?;
        Ok(HttpClient {
            client,
            retry: settings.retry.clone(),
            held_until: Mutex::new(HashMap::new()),
            in_flight: tokio::sync::Semaphore::new(settings.max_in_flight.max(1)),
        })
    }

    /// Sends a request, retrying as the policy says. Success is any 2xx.
    pub async fn send(&self, request: Request) -> Result<Response, HttpError> {
        let started = Instant::now();
        let shown_url = request.shown_url.clone().unwrap_or_else(|| redact_url(&request.url));
        let host = rate_limit_key(&request.url);
        let headers = sendable_headers(&request, &shown_url)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.attempt_in_turn(&request, &headers, &host).await;
            let judged = match outcome {
                Ok(response) => self.judge_response(response, &request, &shown_url, &host, attempt),
                Err(error) => judge_failure(&error, &request, &shown_url, attempt),
            };
            let (retry_after, last) = match judged {
                Attempted::Done(result) => return result,
                Attempted::Retry { retry_after, last } => (retry_after, last),
            };
            let delay = retry_after.unwrap_or_else(|| self.backoff(attempt)).min(self.retry.max_delay);
            if attempt > self.retry.retries || started.elapsed() + delay > self.retry.budget {
                return Err(HttpError::Unreachable {
                    method: request.method.clone(),
                    url: shown_url,
                    attempts: attempt,
                    last: redact(&last),
                });
            }
            tracing::warn!(
                "{} {shown_url}: {last}; retry {attempt}/{} in {:.1}s",
                request.method,
                self.retry.retries,
                delay.as_secs_f64()
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One attempt, once the host's rate limit and a slot in flight allow it.
    async fn attempt_in_turn(
        &self,
        request: &Request,
        headers: &HeaderMap,
        host: &str,
    ) -> Result<Response, reqwest::Error> {
        loop {
            self.wait_for_host(host).await;
            // Never closed, so acquiring cannot fail.
            let permit = self.in_flight.acquire().await.ok();
            // A 429 may have arrived while this request queued for its
            // slot: it must wait like every later one.
            if self.held_until(host).is_some_and(|until| until > Instant::now()) {
                drop(permit);
                continue;
            }
            break self.attempt(request, headers).await;
        }
    }

    /// What an answer means: success, a redirect, an error to return, or
    /// one worth another attempt (a 429 also holds back the host).
    fn judge_response(
        &self,
        response: Response,
        request: &Request,
        shown_url: &str,
        host: &str,
        attempt: u32,
    ) -> Attempted {
        if response.status.is_success() {
            return Attempted::Done(Ok(Response { attempts: attempt, ..response }));
        }
        if response.status.is_redirection() {
            let location = response
                .headers
                .get(reqwest::header::LOCATION)
                .map(|value| shown_location(&request.url, &String::from_utf8_lossy(value.as_bytes())))
                .unwrap_or_else(|| "(no Location header)".to_owned());
            return Attempted::Done(Err(HttpError::Redirect {
                method: request.method.clone(),
                url: shown_url.to_owned(),
                status: response.status,
                location,
            }));
        }
        if !is_retryable(response.status) {
            return Attempted::Done(Err(HttpError::Status {
                method: request.method.clone(),
                url: shown_url.to_owned(),
                status: response.status,
                message: server_message_of(&response),
                body: redact(&String::from_utf8_lossy(&response.body)),
            }));
        }
        let message = server_message_of(&response);
        // A gateway's 502 or 504 says nothing of whether the server behind
        // it processed the write.
        if request.resend == Resend::IfUnprocessed && matches!(response.status.as_u16(), 502 | 504) {
            return Attempted::Done(Err(ambiguous(
                request,
                shown_url,
                attempt,
                format!("{} {message}", response.status),
            )));
        }
        let delay = retry_after(&response.headers, SystemTime::now());
        if response.status == StatusCode::TOO_MANY_REQUESTS {
            self.hold_host(host, delay.unwrap_or(self.retry.base_delay));
        }
        Attempted::Retry { retry_after: delay, last: format!("{} {message}", response.status) }
    }

    async fn attempt(&self, request: &Request, headers: &HeaderMap) -> Result<Response, reqwest::Error> {
        let mut builder = self.client.request(request.method.clone(), request.url.clone()).headers(headers.clone());
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let mut response = builder.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = response.chunk().await? {
            let room = MAX_BODY - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                truncated = true;
                // Dropping the response closes the connection: the rest is never read.
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response { status, headers, body, truncated, attempts: 0 })
    }

    /// Equal jitter: a random wait between half and all of the exponential
    /// step, so that a retry never comes sooner than half the step.
    fn backoff(&self, attempt: u32) -> Duration {
        let step = self.retry.base_delay.saturating_mul(1u32 << (attempt - 1).min(16));
        let step = step.min(self.retry.max_delay);
        step.mul_f64(0.5 + fastrand::f64() * 0.5)
    }

    fn hold_host(&self, host: &str, delay: Duration) {
        let until = Instant::now() + delay.min(self.retry.max_delay);
        let mut held = self.held_until.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = held.entry(host.to_owned()).or_insert(until);
        *entry = (*entry).max(until);
    }

    fn held_until(&self, host: &str) -> Option<Instant> {
        let held = self.held_until.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        held.get(host).copied()
    }

    async fn wait_for_host(&self, host: &str) {
        if let Some(until) = self.held_until(host) {
            let now = Instant::now();
            if until > now {
                tokio::time::sleep(until - now).await;
            }
        }
    }
}

/// What one attempt leaves a request with.
enum Attempted {
    /// The exchange is over: a success, or an error not to retry.
    Done(Result<Response, HttpError>),
    /// Worth another attempt: the wait the server asked for, and what went
    /// wrong.
    Retry { retry_after: Option<Duration>, last: String },
}

/// The request's headers as sent, sensitive ones marked; an error naming
/// the first header HTTP cannot carry, rather than a request without it.
fn sendable_headers(request: &Request, shown_url: &str) -> Result<HeaderMap, HttpError> {
    let mut headers = HeaderMap::new();
    for (name, value, sensitive) in &request.headers {
        let Ok(mut value) = HeaderValue::from_str(value) else {
            return Err(HttpError::UnsendableHeader {
                method: request.method.clone(),
                url: shown_url.to_owned(),
                header: name.to_string(),
            });
        };
        value.set_sensitive(*sensitive);
        headers.append(name.clone(), value);
    }
    Ok(headers)
}

/// Rate limits belong to a service: one host and port.
fn rate_limit_key(url: &Url) -> String {
    format!("{}:{}", url.host_str().unwrap_or_default(), url.port_or_known_default().unwrap_or_default())
}

/// What a failed exchange (no answer) means: an untrusted certificate, a
/// write that may have been processed, or one worth another attempt.
fn judge_failure(error: &reqwest::Error, request: &Request, shown_url: &str, attempt: u32) -> Attempted {
    if let Some(detail) = untrusted_certificate(error) {
        return Attempted::Done(Err(HttpError::UntrustedCertificate {
            method: request.method.clone(),
            url: shown_url.to_owned(),
            detail,
        }));
    }
    // Only a connection that was never made proves the request was never
    // processed.
    if request.resend == Resend::IfUnprocessed && !error.is_connect() {
        return Attempted::Done(Err(ambiguous(request, shown_url, attempt, describe(error))));
    }
    Attempted::Retry { retry_after: None, last: redact(&describe(error)) }
}

fn ambiguous(request: &Request, shown_url: &str, attempts: u32, last: String) -> HttpError {
    HttpError::Ambiguous { method: request.method.clone(), url: shown_url.to_owned(), attempts, last: redact(&last) }
}

/// The largest CA bundle read: Debian's whole bundle of public roots is
/// about 220 KiB, so this leaves room for any private CA chain.
pub const MAX_CA_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// Reads a CA bundle named by `variable`. A file that cannot be read or holds
/// no certificate is bad configuration: the TLS stack would otherwise fail
/// later with a message that names neither the variable nor the file.
pub fn load_ca_file(variable: &str, path: &str) -> Result<Vec<reqwest::Certificate>, BadInput> {
    let fix = format!(
        "point {variable} at a readable PEM bundle (-----BEGIN CERTIFICATE----- blocks, at most 10 MiB), or unset it"
    );
    let pem = bounded_file::read(Path::new(path), MAX_CA_FILE_BYTES).map_err(|refused| {
        BadInput::new(variable, format!("cannot read {path}: {refused}"), fix.clone()).with_value(path)
    })?;
    let has_pem_block = String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----");
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certs) if has_pem_block && !certs.is_empty() => Ok(certs),
        _ => Err(BadInput::new(variable, format!("{path} holds no PEM certificate"), fix).with_value(path)),
    }
}

fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 502 | 503 | 504)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_within_bounds() {
        let client = HttpClient::new(&HttpSettings {
            retry: RetryPolicy {
                base_delay: Duration::from_millis(100),
                max_delay: Duration::from_millis(350),
                ..RetryPolicy::default()
            },
            ..HttpSettings::default()
        })
        .expect("client");
        for _ in 0..50 {
            let first = client.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100), "{first:?}");
            let capped = client.backoff(10);
            assert!(capped >= Duration::from_millis(175) && capped <= Duration::from_millis(350), "{capped:?}");
        }
    }
}
