//! A real git smart-HTTP server on 127.0.0.1: `git http-backend` behind
//! Python's HTTP server (`git_http_server.py` beside this file), plain or
//! over TLS, optionally requiring credentials or redirecting, with a log of
//! every request it received. The git transport tests and the static
//! binary's tests fetch from it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::{free_port, manifest_dir};

/// A certificate and its key, for a server over TLS.
pub struct Tls {
    pub certificate: PathBuf,
    pub key: PathBuf,
}

impl Tls {
    /// The test certificate of `tests/fixtures/tls` (its README says what it is).
    pub fn fixture() -> Tls {
        let dir = manifest_dir().join("tests/fixtures/tls");
        Tls { certificate: dir.join("server.pem"), key: dir.join("server.key") }
    }
}

/// How the server behaves.
#[derive(Default)]
pub struct Options {
    pub tls: Option<Tls>,
    /// `user:password` the server requires.
    pub auth: Option<&'static str>,
    /// git-upload-pack's POST answers 301 within the same origin.
    pub redirect: bool,
}

/// The server, stopped when dropped.
pub struct GitServer {
    child: Child,
    pub port: u16,
    log: PathBuf,
    scheme: &'static str,
}

/// One request the server received.
#[derive(Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub host: String,
    pub authorization: Option<String>,
}

impl GitServer {
    /// Serves the repositories under `root`; its request log goes there too.
    pub fn start(root: &Path, options: Options) -> GitServer {
        let log = root.join(format!("git-server-{}.log", free_port()));
        let tls = match &options.tls {
            Some(tls) => format!("{}:{}", tls.certificate.display(), tls.key.display()),
            None => "-".to_owned(),
        };
        let script = manifest_dir().join("tests/it/common/git_http_server.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(root)
            .arg(&log)
            .arg(tls)
            .arg(options.auth.unwrap_or("-"))
            .arg(if options.redirect { "redirect" } else { "-" })
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start python3 for the git server ({}): {e}", script.display()));
        let mut line = String::new();
        let stdout = child.stdout.take().expect("the server's stdout");
        BufReader::new(stdout).read_line(&mut line).expect("read the server's port");
        let port = line.trim().parse().unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("the git server did not start (printed {line:?})")
        });
        GitServer { child, port, log, scheme: if options.tls.is_some() { "https" } else { "http" } }
    }

    /// The URL of repository `name` on 127.0.0.1, with `userinfo` (`user:password@`).
    pub fn url(&self, userinfo: &str, name: &str) -> String {
        format!("{}://{userinfo}127.0.0.1:{}/{name}", self.scheme, self.port)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Seen> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .map(|line| {
                let json: Value = serde_json::from_str(line).expect("a JSON log line");
                let text = |key: &str| json[key].as_str().map(str::to_owned);
                Seen {
                    method: text("method").unwrap_or_default(),
                    path: text("path").unwrap_or_default(),
                    host: text("host").unwrap_or_default(),
                    authorization: text("authorization"),
                }
            })
            .collect()
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
