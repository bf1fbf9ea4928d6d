//! Prism, the mock server generated from GitBook's published OpenAPI
//! description: the real peer the GitBook conformance and CI template tests
//! run docsync against.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{free_port, manifest_dir, peer};

/// How long Prism may take to load the spec and listen.
const PRISM_START_TIMEOUT: Duration = Duration::from_secs(60);

/// The spec lives outside the repository: CI clones the repository with
/// `shared/` beside it.
pub fn gitbook_spec() -> PathBuf {
    let path = manifest_dir().join("../shared/reference/gitbook-git.openapi.json");
    assert!(
        path.is_file(),
        "GitBook's OpenAPI subset is missing at {}: clone the shared reference data next to the repository \
         (../shared/reference/gitbook-git.openapi.json)",
        path.display()
    );
    path
}

/// The published spec of the pinned `@gitbook/api`, as `scripts/install-peers`
/// installs it.
const GITBOOK_API_SPEC: &str = "gitbook-api/node_modules/@gitbook/api/spec/openapi.json";
/// The operation the Git subset lacks: the live revision docsync verifies
/// an import against.
const CONTENT_PATH: &str = "/spaces/{spaceId}/content";

/// The components of the live revision kept as published: what tells the
/// revision's kind, commit and page. The page tree, files and change
/// requests it also references (recursive document blocks, over 160
/// schemas) take Prism minutes to resolve and docsync never reads them:
/// they become `{}`, any value.
const CONTENT_COMPONENTS_KEPT: &[&str] = &[
    "Revision",
    "RevisionTypeEdits",
    "RevisionTypeMerge",
    "RevisionTypeRollback",
    "RevisionTypeUpdate",
    "RevisionTypeComputed",
    "RevisionBase",
    "GitSyncCommit",
    "Timestamp",
];

/// The Git subset plus `GET /spaces/{spaceId}/content` and the components
/// it references, taken from the published spec (see
/// [`CONTENT_COMPONENTS_KEPT`]); written once per test binary.
// Stands in until the project derives its whole subset from the package.
pub fn gitbook_spec_with_content() -> PathBuf {
    static DERIVED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DERIVED
        .get_or_init(|| {
            let read = |path: &Path| -> serde_json::Value {
                let text = std::fs::read_to_string(path)
                    .unwrap_or_else(|e| panic!("read {}: {e}; run scripts/install-peers", path.display()));
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
            };
            let mut subset = read(&gitbook_spec());
            let published = read(&peer(GITBOOK_API_SPEC));
            let content = published["paths"][CONTENT_PATH].clone();
            assert!(content.is_object(), "the published spec has no {CONTENT_PATH}");
            let mut pending = Vec::new();
            collect_refs(&content, &mut pending);
            subset["paths"][CONTENT_PATH] = content;
            while let Some(reference) = pending.pop() {
                let Some(rest) = reference.strip_prefix("#/components/") else { continue };
                let Some((kind, name)) = rest.split_once('/') else { continue };
                if !subset["components"][kind][name].is_null() {
                    continue;
                }
                let component = published["components"][kind][name].clone();
                assert!(!component.is_null(), "dangling reference {reference}");
                if kind == "schemas" && !CONTENT_COMPONENTS_KEPT.contains(&name) {
                    subset["components"][kind][name] = serde_json::json!({});
                    continue;
                }
                collect_refs(&component, &mut pending);
                subset["components"][kind][name] = component;
            }
            let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("gitbook-git-content.{}.openapi.json", std::process::id()));
            std::fs::write(&path, serde_json::to_vec_pretty(&subset).expect("serialise the spec"))
                .expect("write the derived spec");
            path
        })
        .clone()
}

/// Every `$ref` and discriminator mapping under `node`.
fn collect_refs(node: &serde_json::Value, found: &mut Vec<String>) {
    match node {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", serde_json::Value::String(reference)) => found.push(reference.clone()),
                    ("mapping", serde_json::Value::Object(mapping)) => {
                        found.extend(mapping.values().filter_map(|v| v.as_str().map(str::to_owned)));
                    }
                    _ => collect_refs(value, found),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| collect_refs(item, found)),
        _ => {}
    }
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
