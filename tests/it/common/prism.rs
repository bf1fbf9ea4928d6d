//! Prism, the mock server generated from GitBook's published OpenAPI
//! description: the real peer the GitBook conformance and CI template tests
//! run docsync against.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{free_port, peer};

/// How long Prism may take to load the spec and listen.
const PRISM_START_TIMEOUT: Duration = Duration::from_secs(60);

/// The part of GitBook's OpenAPI description that `scripts/install-peers`
/// derives from the pinned `@gitbook/api` npm package: the Git endpoints
/// and the live revision (`GET /spaces/{spaceId}/content`).
pub fn gitbook_spec() -> PathBuf {
    peer("gitbook-api/openapi.subset.json")
}

/// A Prism mock server on 127.0.0.1. It runs under a small `sh` watchdog
/// that kills it as soon as this process closes the watchdog's stdin: on
/// drop, and also when the test binary dies without running destructors
/// (the shared instance is a `static`, which is never dropped).
pub struct Prism {
    watchdog: Child,
    stdin: Option<ChildStdin>,
    pub port: u16,
    dir: TempDir,
}

/// `"$@"` is Prism's command line. Prism's own stdin is /dev/null; the
/// watcher subshell reads the test's pipe on fd 3 and kills Prism at EOF.
const WATCHDOG: &str = r#"
exec 3<&0
"$@" </dev/null 3<&- &
prism=$!
( read -r _ <&3; kill -KILL "$prism" 2>/dev/null ) &
watcher=$!
exec 3<&-
wait "$prism"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
"#;

impl Prism {
    pub fn start(spec: &Path) -> Prism {
        Prism::start_with(spec, &[])
    }

    /// Prism answering from the spec's schemas, not its examples
    /// (`--dynamic`), the same answers on every run for one `seed`.
    pub fn start_generating(spec: &Path, seed: &str) -> Prism {
        Prism::start_with(spec, &["--dynamic", "--seed", seed])
    }

    fn start_with(spec: &Path, extra: &[&str]) -> Prism {
        let prism = peer("npm/node_modules/.bin/prism");
        let dir = tempfile::tempdir().expect("create a temporary directory for Prism's log");
        let log = std::fs::File::create(dir.path().join("prism.log")).expect("create Prism's log");
        let port = free_port();
        let mut watchdog = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("prism-watchdog")
            .arg(&prism)
            .args(["mock", "--host", "127.0.0.1", "--port", &port.to_string(), "--errors"])
            .args(extra)
            .arg(spec)
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("share Prism's log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start Prism ({}): {e}; run scripts/install-peers", prism.display()));
        let stdin = watchdog.stdin.take();
        let mut server = Prism { watchdog, stdin, port, dir };
        server.wait_until_listening();
        server
    }

    fn wait_until_listening(&mut self) {
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let started = Instant::now();
        loop {
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.watchdog.try_wait() {
                panic!(
                    "Prism exited ({status}) before listening on port {} (is `node` on PATH? run scripts/install-peers):\n{}",
                    self.port,
                    self.log()
                );
            }
            if started.elapsed() > PRISM_START_TIMEOUT {
                panic!("Prism did not listen on port {} within {PRISM_START_TIMEOUT:?}:\n{}", self.port, self.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Prism's whole HTTP answer to `GET path` with `token`, read by the
    /// test itself rather than docsync (what Prism serves).
    pub fn get(&self, path: &str, token: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to Prism");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("set a read timeout");
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        );
        std::io::Write::write_all(&mut stream, request.as_bytes()).expect("send to Prism");
        let mut answer = String::new();
        let _ = std::io::Read::read_to_string(&mut stream, &mut answer);
        answer
    }

    /// What `DOCSYNC_GITBOOK_API_URL` must be (see the module docs).
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Everything Prism printed so far (for failure messages).
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(self.dir.path().join("prism.log")) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    /// Prism's log lines about one space's requests (tests use their own
    /// space ids, so lines of parallel tests do not mix).
    pub fn log_for_space(&self, space: &str) -> String {
        let needle = format!("/spaces/{space}/");
        self.log().lines().filter(|line| line.contains(&needle)).collect::<Vec<_>>().join("\n")
    }

    /// Whether a line about `space` containing `text` appears in Prism's log
    /// within a few seconds: Prism writes some lines (such as "Request
    /// terminated with error") only after it has answered.
    pub fn logs_for_space(&self, space: &str, text: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if self.log_for_space(space).contains(text) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        // Closing the pipe makes the watchdog kill Prism and exit.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.watchdog.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
    }
}

/// One Prism on [`gitbook_spec`] for the whole test binary, started by the
/// first test that asks: each start costs seconds of CPU. A failed start is
/// not cached, so every test that needs it reports the failure itself.
pub fn shared() -> &'static Prism {
    static PRISM: std::sync::OnceLock<Prism> = std::sync::OnceLock::new();
    static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    if let Some(prism) = PRISM.get() {
        return prism;
    }
    let _guard = STARTING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    PRISM.get_or_init(|| Prism::start(&gitbook_spec()))
}
