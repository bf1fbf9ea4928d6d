//! Credentials go only where they were configured: a redirect is never
//! followed, over TLS or not, by any request that carries one (the GitBook
//! Bearer token and import body, Dot's `X-Gitlab-Token`, GitLab's
//! `PRIVATE-TOKEN` and `JOB-TOKEN`). The target ends with exit 1 naming the
//! `Location` and the fix, and nothing reaches the other host.
//!
//! The servers are real, on loopback: a TLS server (rustls, the test CA in
//! `tests/fixtures/tls/`, trusted through `SSL_CERT_FILE`) that answers
//! every request with a redirect, and a plain server (wiremock) standing for
//! the other host, which must never be called. An untrusted certificate is
//! bad configuration (exit 2) at once, not retries and "unreachable".

use crate::common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use wiremock::MockServer;

use common::{Env, Pipeline, Run, TestRepo, ci_env, manifest_dir, run_in_background, with};

const GITBOOK_TOKEN: &str = "gbtok-redirect-0001";
const GIT_TOKEN: &str = "gittok-redirect-0002";
const DOT_SECRET: &str = "dotsec-redirect-0003";
const GITLAB_TOKEN: &str = "glpat-redirect-0004";
const JOB_TOKEN: &str = "jobtok-redirect-0005";
const SECRETS: &[&str] = &[GITBOOK_TOKEN, GIT_TOKEN, DOT_SECRET, GITLAB_TOKEN, JOB_TOKEN];

fn tls_file(name: &str) -> PathBuf {
    manifest_dir().join("tests/fixtures/tls").join(name)
}

/// One request as the TLS server read it.
#[derive(Debug, Clone)]
struct Seen {
    head: String,
    body: String,
}

/// A TLS server on 127.0.0.1 answering every request with the same raw
/// HTTP response, counting connections and recording requests.
struct TlsServer {
    port: u16,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Seen>>>,
}

impl TlsServer {
    async fn start(response: String) -> TlsServer {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(tls_file("server.pem"))
            .expect("read the server certificate")
            .collect::<Result<_, _>>()
            .expect("parse the server certificate");
        let key = PrivateKeyDer::from_pem_file(tls_file("server.key")).expect("read the server key");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("the server certificate and key match");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("local address").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (counted, recorded) = (Arc::clone(&connections), Arc::clone(&requests));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let (acceptor, recorded, response) = (acceptor.clone(), Arc::clone(&recorded), response.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else { return };
                    if let Some(seen) = read_request(&mut tls).await {
                        recorded.lock().expect("requests").push(seen);
                        let _ = tls.write_all(response.as_bytes()).await;
                        let _ = tls.shutdown().await;
                    }
                });
            }
        });
        TlsServer { port, connections, requests }
    }

    /// A server redirecting every request to `location`.
    async fn redirecting(status: u16, location: &str) -> TlsServer {
        TlsServer::start(format!(
            "HTTP/1.1 {status} Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ))
        .await
    }

    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self) -> Vec<Seen> {
        self.requests.lock().expect("requests").clone()
    }
}

async fn read_request(stream: &mut (impl AsyncReadExt + Unpin)) -> Option<Seen> {
    let mut data = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let read = stream.read(&mut buffer).await.ok()?;
        if read == 0 {
            return None;
        }
        data.extend_from_slice(&buffer[..read]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let length = head
        .lines()
        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        let read = stream.read(&mut buffer).await.ok()?;
        if read == 0 {
            break;
        }
        data.extend_from_slice(&buffer[..read]);
    }
    Some(Seen { head, body: String::from_utf8_lossy(&data[head_end..]).into_owned() })
}

/// The other host: any request reaching it is a leak.
async fn other_host() -> MockServer {
    MockServer::start().await
}

/// Where a redirect sends the client: plain http on another host name
/// (`localhost` is not `127.0.0.1`), or TLS on another host and port.
fn locations(other: &MockServer, other_tls: &TlsServer, path: &str) -> Vec<String> {
    vec![
        format!("http://localhost:{}{path}", other.address().port()),
        format!("https://localhost:{}{path}", other_tls.port),
    ]
}

fn docs_history() -> (TestRepo, String, String) {
    let repo = TestRepo::new();
    repo.write("docs/README.md", "# Docs\n");
    let first = repo.commit("Initial commit");
    repo.write("docs/guide.md", "# Guide\n");
    let second = repo.commit("Add the guide");
    (repo, first, second)
}

fn quick(env: Env) -> Env {
    with(
        env,
        &[
            ("SSL_CERT_FILE", &tls_file("ca.pem").display().to_string()),
            ("DOCSYNC_RETRIES", "2"),
            ("DOCSYNC_RETRY_DELAY", "50ms"),
            ("DOCSYNC_HTTP_TIMEOUT", "5s"),
            ("DOCSYNC_WAIT_TIMEOUT", "2s"),
            ("DOCSYNC_POLL_INTERVAL", "50ms"),
            ("CI_PROJECT_ID", "42"),
        ],
    )
}

async fn docsync(repo: &TestRepo, env: &Env, args: &[&str]) -> Run {
    let mut command = repo.docsync(args);
    command.envs(env);
    run_in_background(command, Duration::from_secs(60)).await
}

fn everything(run: &Run) -> String {
    format!("{}\n{}", run.stdout, run.stderr)
}

/// Exit 1, the Location and the fix named, no secret shown, nothing sent
/// to the other hosts.
async fn assert_refused_redirect(run: &Run, location: &str, fix_names: &str, others: (&MockServer, &TlsServer)) {
    run.assert_code(1);
    let all = everything(run);
    assert!(all.contains(location), "the Location {location} is named\n{}", run.context());
    assert!(all.contains(fix_names), "the fix names {fix_names}\n{}", run.context());
    assert!(all.contains("final URL"), "the fix says to configure the final URL\n{}", run.context());
    for secret in SECRETS {
        assert!(!all.contains(secret), "{secret} was shown\n{}", run.context());
    }
    let plain = others.0.received_requests().await.unwrap_or_default();
    assert!(plain.is_empty(), "the plain-http host was called: {plain:?}\n{}", run.context());
    assert_eq!(others.1.connections.load(Ordering::SeqCst), 0, "the other TLS host was called\n{}", run.context());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitbook_redirects_are_never_followed() {
    let (repo, first, second) = docs_history();
    let other = other_host().await;
    let other_tls = TlsServer::start(String::new()).await;
    for location in locations(&other, &other_tls, "/v1/spaces/spcRedirect/git/import") {
        // 302: the guard's read of the space before the import is redirected,
        // so nothing is imported; 307 and 308, with gitbook_edits = overwrite
        // (an unread space does not hold the import back): the import is.
        for (status, wait, edits) in [(302, "false", "refuse"), (307, "false", "overwrite"), (308, "true", "overwrite")]
        {
            let server = TlsServer::redirecting(status, &location).await;
            let env = quick(with(
                ci_env(Pipeline::Push { branch: "main", before: &first, sha: &second }),
                &[
                    ("DOCSYNC_GITBOOK_SPACE", "spcRedirect"),
                    ("DOCSYNC_GITBOOK_TOKEN", GITBOOK_TOKEN),
                    ("DOCSYNC_GIT_TOKEN", GIT_TOKEN),
                    ("DOCSYNC_GITBOOK_API_URL", &server.url("/v1")),
                    ("DOCSYNC_WAIT", wait),
                    ("DOCSYNC_GITBOOK_EDITS", edits),
                ],
            ));
            let run = docsync(&repo, &env, &["sync"]).await;
            assert_refused_redirect(&run, &location, "DOCSYNC_GITBOOK_API_URL", (&other, &other_tls)).await;
            let requests = server.requests();
            let imports: Vec<&Seen> = requests.iter().filter(|r| r.head.starts_with("POST ")).collect();
            if edits == "refuse" {
                assert!(imports.is_empty(), "the space's content was not read: nothing imported: {requests:#?}");
                continue;
            }
            assert_eq!(imports.len(), 1, "one import, never resent after a redirect: {requests:#?}");
            assert!(imports[0].head.contains(&format!("Bearer {GITBOOK_TOKEN}")), "{imports:#?}");
            assert!(imports[0].body.contains(GIT_TOKEN), "the import body carried the git token: {imports:#?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_on_the_webhook_is_never_a_delivery() {
    let (repo, first, second) = docs_history();
    let other = other_host().await;
    let other_tls = TlsServer::start(String::new()).await;
    for location in locations(&other, &other_tls, "/hooks/moved") {
        for status in [301, 302, 303, 307, 308] {
            let server = TlsServer::redirecting(status, &location).await;
            let env = quick(with(
                ci_env(Pipeline::Push { branch: "main", before: &first, sha: &second }),
                &[
                    ("DOCSYNC_DOT_WEBHOOK_URL", &server.url("/hooks/in-path-secret")),
                    ("DOCSYNC_DOT_WEBHOOK_SECRET", DOT_SECRET),
                ],
            ));
            let run = docsync(&repo, &env, &["sync", "--format", "json"]).await;
            assert_refused_redirect(&run, &location, "DOCSYNC_DOT_WEBHOOK_URL", (&other, &other_tls)).await;
            let result = run.json();
            assert_eq!(result["targets"][0]["outcome"]["status"], "failed", "{result:#}");
            assert!(!everything(&run).contains("in-path-secret"), "the webhook path is masked\n{}", run.context());
            let requests = server.requests();
            assert_eq!(requests.len(), 1, "one push event, never resent: {requests:#?}");
            assert!(requests[0].head.to_ascii_lowercase().contains(&format!("x-gitlab-token: {DOT_SECRET}")));
        }
    }
}

fn gitlab_env(first: &str, second: &str, server: &TlsServer) -> Env {
    quick(with(
        ci_env(Pipeline::Push { branch: "main", before: first, sha: second }),
        &[
            ("CI_SERVER_URL", &server.url("")),
            ("CI_API_V4_URL", &server.url("/api/v4")),
            ("CI_PROJECT_PATH", "group/project"),
            ("CI_ENVIRONMENT_NAME", "docs/gitbook"),
        ],
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_tokens_never_follow_a_redirect() {
    let (repo, first, second) = docs_history();
    let other = other_host().await;
    let other_tls = TlsServer::start(String::new()).await;
    for location in locations(&other, &other_tls, "/api/v4/moved") {
        // PRIVATE-TOKEN: `check` reads the token's user.
        let server = TlsServer::redirecting(302, &location).await;
        let env = with(gitlab_env(&first, &second, &server), &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]);
        let run = docsync(&repo, &env, &["check"]).await;
        assert_refused_redirect(&run, &location, "CI_API_V4_URL", (&other, &other_tls)).await;
        let requests = server.requests();
        assert!(!requests.is_empty(), "check called GitLab");
        assert!(requests.iter().all(|r| r.head.to_ascii_lowercase().contains("private-token: ")), "{requests:#?}");

        // JOB-TOKEN: the sync watermark, read by `sync`. A redirect means
        // no watermark (the range falls back), not a failed run without
        // reports.
        let server = TlsServer::redirecting(307, &location).await;
        let report = repo.outside_dir("reports").join("docsync.env");
        let env = with(
            gitlab_env(&first, &second, &server),
            &[
                ("CI_JOB_TOKEN", JOB_TOKEN),
                ("DOCSYNC_REPORT", &report.display().to_string()),
                // A target the range leaves nothing to do for: `sync` in CI
                // needs one (exit 2 without), and this one sends nothing.
                ("DOCSYNC_DOT_WEBHOOK_URL", "https://receiver.invalid/hooks/gitlab"),
                ("DOCSYNC_PATHS", "nothing/**"),
            ],
        );
        let run = docsync(&repo, &env, &["sync", "--format", "json"]).await;
        run.assert_code(0);
        let all = everything(&run);
        assert!(all.contains(&location) && all.contains("CI_API_V4_URL"), "{}", run.context());
        assert!(all.contains("no sync watermark") && all.contains("final URL"), "{}", run.context());
        assert!(!SECRETS.iter().any(|secret| all.contains(secret)), "{}", run.context());
        assert_eq!(run.json()["range"]["mode"], "push", "the range falls back to the push\n{}", run.context());
        assert!(common::read_dotenv(&report).contains_key("DOCSYNC_RANGE_MODE"), "{}", run.context());
        let plain = other.received_requests().await.unwrap_or_default();
        assert!(plain.is_empty(), "the plain-http host was called: {plain:?}");
        assert_eq!(other_tls.connections.load(Ordering::SeqCst), 0, "the other TLS host was called");
        let requests = server.requests();
        assert_eq!(requests.len(), 1, "{requests:#?}");
        assert!(requests[0].head.to_ascii_lowercase().contains(&format!("job-token: {JOB_TOKEN}")), "{requests:#?}");
    }
}

/// A certificate no configured CA signed: bad configuration, named at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_bad_configuration_not_unreachable() {
    let (repo, first, second) = docs_history();
    let server = TlsServer::start(String::new()).await;
    let mut env = quick(with(
        ci_env(Pipeline::Push { branch: "main", before: &first, sha: &second }),
        &[
            ("DOCSYNC_GITBOOK_SPACE", "spcRedirect"),
            ("DOCSYNC_GITBOOK_TOKEN", GITBOOK_TOKEN),
            ("DOCSYNC_GITBOOK_API_URL", &server.url("/v1")),
        ],
    ));
    env.remove("SSL_CERT_FILE");
    for command in ["status", "sync"] {
        let before = server.connections.load(Ordering::SeqCst);
        let run = docsync(&repo, &env, &[command]).await;
        run.assert_code(2);
        let all = everything(&run);
        assert!(all.contains("CI_SERVER_TLS_CA_FILE") && all.contains("SSL_CERT_FILE"), "{}", run.context());
        assert!(!all.contains("unreachable"), "{}", run.context());
        let tries = server.connections.load(Ordering::SeqCst) - before;
        assert_eq!(tries, 1, "a certificate problem is not retried\n{}", run.context());
        assert!(server.requests().is_empty(), "no request went through");
    }
}

// ---------------------------------------------------------------------------
// The HTTP layer: what is resent, and how much of a body is read

mod http_layer {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use docsync::http::{HttpClient, HttpError, HttpSettings, MAX_BODY, Request, RetryPolicy};
    use reqwest::Method;
    use url::Url;
    use wiremock::matchers::any;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::common::{Pipeline, TestRepo, ci_env, free_port, run_in_background, with};

    fn client(timeout: Duration) -> HttpClient {
        HttpClient::new(&HttpSettings {
            timeout,
            retry: RetryPolicy { retries: 3, base_delay: Duration::from_millis(10), ..RetryPolicy::default() },
            ..HttpSettings::default()
        })
        .expect("the client")
    }

    fn post(url: &str) -> Request {
        Request::new(Method::POST, Url::parse(url).expect("a URL"))
    }

    async fn answering(template: ResponseTemplate) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(any()).respond_with(template).mount(&server).await;
        server
    }

    async fn received(server: &MockServer) -> usize {
        server.received_requests().await.unwrap_or_default().len()
    }

    /// A server on 127.0.0.1 that reads each request, then closes the
    /// connection without a word; counts the connections.
    fn dropping_server() -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/write", listener.local_addr().expect("address"));
        let count = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&count);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counted.fetch_add(1, Ordering::SeqCst);
                let mut stream = stream;
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer);
                drop(stream);
            }
        });
        (url, count)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_is_not_resent_after_504_a_timeout_or_a_dropped_connection() {
        let http = client(Duration::from_millis(400));

        let gateway = answering(ResponseTemplate::new(504)).await;
        let error = http.send(post(&format!("{}/write", gateway.uri()))).await.expect_err("504");
        assert!(matches!(error, HttpError::Ambiguous { attempts: 1, .. }), "{error:?}");
        assert_eq!(received(&gateway).await, 1, "one POST, not resent blindly");
        let error = http.send(Request::new(Method::GET, Url::parse(&gateway.uri()).unwrap())).await.expect_err("504");
        assert!(matches!(error, HttpError::Unreachable { attempts: 4, .. }), "a read is retried: {error:?}");

        let bad_gateway = answering(ResponseTemplate::new(502)).await;
        let error = http.send(post(&bad_gateway.uri())).await.expect_err("502");
        assert!(matches!(error, HttpError::Ambiguous { .. }), "{error:?}");
        assert_eq!(received(&bad_gateway).await, 1);

        let slow = answering(ResponseTemplate::new(200).set_delay(Duration::from_secs(3))).await;
        let error = http.send(post(&slow.uri())).await.expect_err("timeout");
        assert!(matches!(error, HttpError::Ambiguous { .. }), "{error:?}");
        assert!(error.to_string().contains("not resent blindly"), "{error}");
        assert_eq!(received(&slow).await, 1, "one POST after a timeout");

        let (url, connections) = dropping_server();
        let error = http.send(post(&url)).await.expect_err("dropped");
        assert!(matches!(error, HttpError::Ambiguous { .. }), "{error:?}");
        assert_eq!(connections.load(Ordering::SeqCst), 1, "one POST after a dropped connection");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_is_resent_when_it_cannot_have_been_processed() {
        let http = client(Duration::from_secs(5));
        for status in [408, 429, 503] {
            let server = MockServer::start().await;
            Mock::given(any()).respond_with(ResponseTemplate::new(status)).up_to_n_times(1).mount(&server).await;
            Mock::given(any()).respond_with(ResponseTemplate::new(204)).mount(&server).await;
            let response = http.send(post(&server.uri())).await.expect("resent, then accepted");
            assert_eq!(response.attempts, 2, "{status}");
            assert_eq!(received(&server).await, 2, "{status}: resent once");
        }
        let refused = format!("http://127.0.0.1:{}/write", free_port());
        let error = http.send(post(&refused)).await.expect_err("refused");
        assert!(matches!(error, HttpError::Unreachable { attempts: 4, .. }), "resent after refusals: {error:?}");
    }

    /// The receiver deduplicates by `Idempotency-Key`: after a 504 the push
    /// event is sent again, with the same key.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_push_event_is_resent_after_504_with_the_same_idempotency_key() {
        let receiver = MockServer::start().await;
        Mock::given(any()).respond_with(ResponseTemplate::new(504)).up_to_n_times(1).mount(&receiver).await;
        Mock::given(any()).respond_with(ResponseTemplate::new(200)).mount(&receiver).await;
        let repo = TestRepo::new();
        repo.write("docs/README.md", "# Docs\n");
        let first = repo.commit("Initial commit");
        repo.write("docs/guide.md", "# Guide\n");
        let second = repo.commit("Add the guide");
        let env = with(
            ci_env(Pipeline::Push { branch: "main", before: &first, sha: &second }),
            &[
                ("DOCSYNC_DOT_WEBHOOK_URL", &format!("{}/hook", receiver.uri())),
                ("DOCSYNC_DOT_WEBHOOK_SECRET", super::DOT_SECRET),
                ("DOCSYNC_RETRY_DELAY", "50ms"),
            ],
        );
        let mut command = repo.docsync(&["sync"]);
        command.envs(&env);
        let run = run_in_background(command, Duration::from_secs(60)).await;
        run.assert_code(0);
        let requests = receiver.received_requests().await.unwrap_or_default();
        assert_eq!(requests.len(), 2, "sent, then resent after the 504\n{}", run.context());
        let keys: Vec<_> = requests.iter().map(|r| r.headers.get("idempotency-key").cloned()).collect();
        assert!(keys[0].is_some() && keys[0] == keys[1], "the same Idempotency-Key: {keys:?}");
    }

    /// A JSON answer longer than 4 MiB is cut: the error says so, not that
    /// the JSON ended early at the cut.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_json_answer_cut_at_4_mib_says_so() {
        use docsync::gitlab::client::{Auth, GitLabClient};
        use docsync::secret::Secret;

        let entry = format!(r#"{{"sha":"{}","status":"failed"}}"#, "a".repeat(40));
        let entries = vec![entry; MAX_BODY / 50 + 1000];
        let body = format!("[{}]", entries.join(","));
        assert!(body.len() > MAX_BODY);
        let server = answering(ResponseTemplate::new(200).set_body_string(body)).await;
        let http = client(Duration::from_secs(10));
        let gitlab = GitLabClient {
            http: &http,
            api: Url::parse(&format!("{}/api/v4", server.uri())).unwrap(),
            auth: Auth::Job(Secret::new("job-token-cut-0001")),
        };

        let error = gitlab.last_deployment("42", "docs/gitbook").await.expect_err("a cut answer");

        let message = error.to_string();
        assert!(message.contains("longer than 4 MiB") && message.contains("cut"), "{message}");
        assert!(!message.contains("EOF"), "not a JSON error at the cut: {message}");
        assert_eq!(received(&server).await, 1, "read once");
    }

    /// Peak resident memory of this process, from /proc (Linux).
    fn peak_rss_kib() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Streams a 64 MiB body with `status`; counts the bytes it got out.
    fn streaming_server(status: u16) -> (String, Arc<AtomicUsize>) {
        const SIZE: usize = 64 * 1024 * 1024;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/huge", listener.local_addr().expect("address"));
        let sent = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&sent);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut stream = stream;
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer);
                let head = format!("HTTP/1.1 {status} Huge\r\nContent-Length: {SIZE}\r\nConnection: close\r\n\r\n");
                if stream.write_all(head.as_bytes()).is_err() {
                    continue;
                }
                let chunk = vec![b'x'; 64 * 1024];
                for _ in 0..SIZE / chunk.len() {
                    if stream.write_all(&chunk).is_err() {
                        break;
                    }
                    counted.fetch_add(chunk.len(), Ordering::SeqCst);
                }
            }
        });
        (url, sent)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_huge_body_is_cut_and_memory_stays_bounded() {
        let http = client(Duration::from_secs(30));
        let before = peak_rss_kib();

        let (url, _) = streaming_server(200);
        let response = http.send(Request::new(Method::GET, Url::parse(&url).unwrap())).await.expect("200");
        assert!(response.truncated, "the body was cut");
        assert_eq!(response.body.len(), MAX_BODY);

        let (url, sent) = streaming_server(500);
        let error = http.send(Request::new(Method::GET, Url::parse(&url).unwrap())).await.expect_err("500");
        let message = error.server_message().unwrap_or_default().to_owned();
        assert!(message.contains("the answer was cut at 4 MiB"), "{message}");
        assert!(message.len() < 1000, "the message is short: {} bytes", message.len());
        assert!(sent.load(Ordering::SeqCst) < 64 * 1024 * 1024, "the rest of the body was never read");

        if let (Some(before), Some(after)) = (before, peak_rss_kib()) {
            let grown_mib = after.saturating_sub(before) / 1024;
            assert!(grown_mib < 40, "peak memory grew by {grown_mib} MiB reading two 64 MiB bodies");
        }
    }
}

// ---------------------------------------------------------------------------
// Plain http, user info and secret values: refused before anything is sent

mod settings_rules {
    use std::time::Duration;

    use wiremock::MockServer;

    use super::common::{Env, Pipeline, Run, TestRepo, ci_env, run_in_background, with};
    use super::{GITBOOK_TOKEN, GITLAB_TOKEN, JOB_TOKEN, docs_history};

    async fn docsync(repo: &TestRepo, env: &Env, args: &[&str]) -> Run {
        let mut command = repo.docsync(args);
        command.envs(env);
        run_in_background(command, Duration::from_secs(60)).await
    }

    fn bad_input(run: &Run, variable: &str, says: &str) {
        run.assert_code(2);
        assert!(run.stderr.contains(variable), "names {variable}\n{}", run.context());
        assert!(run.stderr.contains(says), "says {says}\n{}", run.context());
        assert!(run.stderr.contains("fix:"), "{}", run.context());
    }

    /// Any request to the plain-http GitLab would go through this proxy,
    /// where it is counted: none may.
    async fn proxied(env: Env, proxy: &MockServer) -> Env {
        with(env, &[("HTTP_PROXY", &proxy.uri()), ("http_proxy", &proxy.uri())])
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn gitlab_over_plain_http_to_another_host_gets_no_token() {
        let (repo, first, second) = docs_history();
        let proxy = MockServer::start().await;
        let gitlab = "http://gitlab.example.invalid";
        let base = with(
            ci_env(Pipeline::Push { branch: "main", before: &first, sha: &second }),
            &[
                ("CI_SERVER_URL", gitlab),
                ("CI_API_V4_URL", &format!("{gitlab}/api/v4")),
                ("CI_PROJECT_ID", "42"),
                ("CI_ENVIRONMENT_NAME", "docs/gitbook"),
                ("DOCSYNC_RETRIES", "0"),
            ],
        );
        // A token the user gave for GitLab: exit 2, for every command.
        let env = proxied(with(base.clone(), &[("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]), &proxy).await;
        for command in ["plan", "check", "sync"] {
            let run = docsync(&repo, &env, &[command]).await;
            bad_input(&run, "CI_API_V4_URL", "plain http would send DOCSYNC_GITLAB_TOKEN unencrypted");
        }
        let env = proxied(
            with(base.clone(), &[("DOCSYNC_GITLAB_URL", gitlab), ("DOCSYNC_GITLAB_TOKEN", GITLAB_TOKEN)]),
            &proxy,
        )
        .await;
        let mut outside = env.clone();
        outside.retain(|k, _| !k.starts_with("CI_") && k != "GITLAB_CI");
        let run = docsync(&repo, &outside, &["check"]).await;
        bad_input(&run, "DOCSYNC_GITLAB_URL", "unencrypted");

        // Only the job token: GitLab is skipped with a warning.
        let env = proxied(with(base, &[("CI_JOB_TOKEN", JOB_TOKEN)]), &proxy).await;
        let run = docsync(&repo, &env, &["plan"]).await;
        run.assert_code(0);
        assert!(run.stderr.contains("plain http") && run.stderr.contains("CI_JOB_TOKEN"), "{}", run.context());
        let sent = proxy.received_requests().await.unwrap_or_default();
        assert!(sent.is_empty(), "nothing went to the plain-http GitLab: {sent:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn api_urls_with_user_info_are_refused_and_never_shown() {
        let (repo, first, second) = docs_history();
        let password = "pw-in-the-url-4242";
        let push = ci_env(Pipeline::Push { branch: "main", before: &first, sha: &second });
        let cases = [
            (
                "DOCSYNC_GITBOOK_API_URL",
                with(
                    push.clone(),
                    &[
                        ("DOCSYNC_GITBOOK_SPACE", "spcUserInfo"),
                        ("DOCSYNC_GITBOOK_TOKEN", GITBOOK_TOKEN),
                        ("DOCSYNC_GITBOOK_API_URL", &format!("https://user:{password}@api.gitbook.example/v1")),
                    ],
                ),
            ),
            (
                "CI_SERVER_URL",
                with(
                    push.clone(),
                    &[
                        ("DOCSYNC_DOT_WEBHOOK_URL", "https://hooks.example.invalid/h"),
                        ("CI_SERVER_URL", &format!("https://ci:{password}@gitlab.example.com")),
                    ],
                ),
            ),
        ];
        for (variable, env) in cases {
            for command in ["plan", "sync", "status"] {
                let run = docsync(&repo, &env, &[command, "--format", "json"]).await;
                bad_input(&run, variable, "user name or password");
                assert!(!format!("{}{}", run.stdout, run.stderr).contains(password), "{}", run.context());
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn short_or_broken_secrets_are_refused_by_name() {
        let (repo, first, second) = docs_history();
        let push = with(
            ci_env(Pipeline::Push { branch: "main", before: &first, sha: &second }),
            &[("DOCSYNC_GITBOOK_SPACE", "spcValues"), ("DOCSYNC_DOT_WEBHOOK_URL", "https://hooks.example.invalid/h")],
        );
        for (variable, value, says) in [
            ("DOCSYNC_GITBOOK_TOKEN", "abc1234", "7 characters long"),
            ("DOCSYNC_DOT_WEBHOOK_SECRET", "dot secret value", "whitespace or a control character inside"),
            ("DOCSYNC_GIT_TOKEN", "glpat-line\nbreak", "whitespace or a control character inside"),
            ("DOCSYNC_GITLAB_TOKEN", "glpat-\u{7}bell", "control character"),
            ("CI_JOB_TOKEN", "short", "5 characters long"),
        ] {
            for command in ["plan", "sync", "check"] {
                let run = docsync(&repo, &with(push.clone(), &[(variable, value)]), &[command]).await;
                bad_input(&run, variable, says);
                if value.len() > 5 {
                    assert!(!run.stderr.contains(value), "the value is never shown\n{}", run.context());
                }
            }
        }
        // Surrounding whitespace is trimmed, not refused.
        let run =
            docsync(&repo, &with(push, &[("DOCSYNC_GITBOOK_TOKEN", "\n  gbtok-trimmed-value \n")]), &["plan"]).await;
        run.assert_code(0);
    }
}
