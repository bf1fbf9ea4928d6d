//! Packaging: the static (musl) release binary and the Dockerfile.
//!
//! The binary is built once per run of this test file, with the README's
//! command (`cargo build --release --locked --target
//! x86_64-unknown-linux-musl`), into its own target directory
//! (`target/musl-test`) so that the inner cargo never waits on the lock the
//! outer `cargo test` holds. It must be at most 5 MiB, statically linked (no
//! ELF interpreter, no needed shared libraries), free of OpenSSL, and run
//! `docsync plan` in a bare root that holds nothing but busybox as `/bin/sh`,
//! the CA bundle, the binary and a repository: entered with `chroot` as root,
//! or in a user namespace (`unshare -r`) otherwise. There it deepens a shallow
//! clone over HTTPS through docsync's own transport: trusting the root's CA
//! bundle, through an `HTTPS_PROXY`, and giving up on a server that never
//! answers after `DOCSYNC_HTTP_TIMEOUT`.
//!
//! A test that lacks a tool or a privilege fails; the one test that cannot
//! run as an unprivileged user says so and passes only outside CI.
//!
//! No container engine runs on the test machines, so the Dockerfile is
//! checked by reading it: the runtime stage must be a base with a shell and
//! CA certificates, carry docsync on `PATH`, set no tool `ENTRYPOINT`, run as
//! a non-root user and carry OCI labels.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::git_server::{GitServer, Options, Tls};
use common::{TestRepo, describe, manifest_dir, read_project_file};

const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";
/// 5 MiB, the product's budget (docs/binary.md, "Size budget"; the goal
/// is to stay under 4.5 MiB, which the binary left at 4,723,328 bytes when
/// the guard against overwriting GitBook edits, the redaction type and the
/// working-tree status of `lint --worktree` landed).
const MAX_BINARY_BYTES: u64 = 5 * 1024 * 1024;
/// Where the image puts the binary, and the bare root too.
const BINARY_IN_ROOT: &str = "usr/local/bin/docsync";
/// Where Debian, Alpine and busybox-based images keep the CA bundle, and
/// where rustls' platform verifier (openssl-probe) looks for it.
const CA_BUNDLE: &str = "etc/ssl/certs/ca-certificates.crt";

// ---------------------------------------------------------------------------
// The static binary

/// Builds the musl release binary once for the whole test binary; every test
/// that needs it gets the same path, or the same build failure.
fn static_binary() -> &'static Path {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BINARY.get_or_init(build_static_binary) {
        Ok(path) => path,
        Err(message) => panic!("{message}"),
    }
}

fn build_static_binary() -> Result<PathBuf, String> {
    let target_dir = manifest_dir().join("target/musl-test");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = Instant::now();
    let mut command = Command::new(&cargo);
    command
        .current_dir(manifest_dir())
        .args(["build", "--release", "--locked", "--target", MUSL_TARGET])
        .env("CARGO_TARGET_DIR", &target_dir)
        // The variables cargo sets for the test process describe the outer
        // build; none of them may leak into the inner one.
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        // Users build on a stable toolchain; `RUSTC_BOOTSTRAP=1` (for
        // libtest's `--report-time`) would also rebuild every crate.
        .env_remove("RUSTC_BOOTSTRAP");
    // Nor those that describe the test's package: ring's build script
    // reruns when CARGO_MANIFEST_DIR differs from the last build's, and
    // scripts/test builds this binary beforehand from a shell, where it is
    // unset; the build here must find that one current.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_MANIFEST_")
            || name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_")
            || ["CARGO_CRATE_NAME", "CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR"].contains(&&*name)
        {
            command.env_remove(&*name);
        }
    }
    let output =
        command.output().map_err(|e| format!("cannot run cargo ({}): {e}", PathBuf::from(&cargo).display()))?;
    if !output.status.success() {
        return Err(format!(
            "the static build failed; it needs the musl target and musl-tools \
             (rustup target add {MUSL_TARGET}; scripts/install-peers installs musl-tools):\n{}",
            describe(&output)
        ));
    }
    eprintln!(
        "static build: {:.1}s (cargo build --release --locked --target {MUSL_TARGET})",
        started.elapsed().as_secs_f64()
    );
    Ok(target_dir.join(MUSL_TARGET).join("release/docsync"))
}

/// The facts of an ELF file that say whether it is static: an interpreter
/// (`PT_INTERP`) or needed shared libraries (`DT_NEEDED`) make it dynamic. A
/// static-pie binary has a `PT_DYNAMIC` segment for its own relocations, but
/// no `DT_NEEDED` in it.
#[derive(Debug, PartialEq, Eq)]
struct Linkage {
    interpreter: bool,
    needed_libraries: usize,
}

fn elf_linkage(bytes: &[u8]) -> Result<Linkage, String> {
    const PT_DYNAMIC: u32 = 2;
    const PT_INTERP: u32 = 3;
    const DT_NULL: u64 = 0;
    const DT_NEEDED: u64 = 1;
    let u16_at = |at: usize| bytes.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |at: usize| bytes.get(at..at + 4).map(|b| u32::from_le_bytes(b.try_into().unwrap_or_default()));
    let u64_at = |at: usize| bytes.get(at..at + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()));
    if bytes.get(..4) != Some(b"\x7fELF") || bytes.get(4) != Some(&2) || bytes.get(5) != Some(&1) {
        return Err("not a 64-bit little-endian ELF file".into());
    }
    let truncated = || "truncated ELF header".to_owned();
    let phoff = u64_at(0x20).ok_or_else(truncated)? as usize;
    let phentsize = u16_at(0x36).ok_or_else(truncated)? as usize;
    let phnum = u16_at(0x38).ok_or_else(truncated)? as usize;
    let mut linkage = Linkage { interpreter: false, needed_libraries: 0 };
    for index in 0..phnum {
        let header = phoff + index * phentsize;
        let kind = u32_at(header).ok_or("truncated program header")?;
        if kind == PT_INTERP {
            linkage.interpreter = true;
        }
        if kind == PT_DYNAMIC {
            let offset = u64_at(header + 8).ok_or("truncated program header")? as usize;
            let size = u64_at(header + 0x20).ok_or("truncated program header")? as usize;
            for entry in (offset..offset + size).step_by(16) {
                match u64_at(entry).ok_or("truncated dynamic section")? {
                    DT_NULL => break,
                    DT_NEEDED => linkage.needed_libraries += 1,
                    _ => {}
                }
            }
        }
    }
    Ok(linkage)
}

#[test]
fn elf_linkage_tells_static_from_dynamic() {
    // The reader must be able to fail: the test process itself is a
    // dynamically linked glibc program.
    let me = std::fs::read(std::env::current_exe().expect("the test binary's path")).expect("read the test binary");
    let linkage = elf_linkage(&me).expect("the test binary is ELF");
    assert!(linkage.interpreter && linkage.needed_libraries > 0, "{linkage:?}");
    assert!(elf_linkage(b"#!/bin/sh\n").is_err());
}

#[test]
fn static_binary_is_small_and_statically_linked() {
    let binary = static_binary();
    let size = std::fs::metadata(binary).expect("the static binary exists").len();
    eprintln!("static binary: {size} bytes ({:.2} MiB), {}", size as f64 / 1048576.0, binary.display());
    assert!(size <= MAX_BINARY_BYTES, "the static binary is {size} bytes, more than 5 MiB ({MAX_BINARY_BYTES})");

    let bytes = std::fs::read(binary).expect("read the static binary");
    // libgit2 fetches through docsync's rustls client: no second TLS stack.
    let openssl = bytes.windows(b"OpenSSL".len()).position(|window| window == b"OpenSSL");
    assert_eq!(openssl, None, "the static binary holds `OpenSSL` strings: OpenSSL is linked in");
    let linkage = elf_linkage(&bytes).unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
    assert_eq!(linkage, Linkage { interpreter: false, needed_libraries: 0 }, "the binary is not static");

    // `file` says the same in words, when it is installed.
    if let Ok(output) = Command::new("file").arg("--brief").arg(binary).output() {
        let words = String::from_utf8_lossy(&output.stdout);
        assert!(words.contains("statically linked") || words.contains("static-pie linked"), "file says: {words}");
    } else {
        eprintln!("note: `file` is not installed; the ELF headers alone were checked");
    }
}

/// A program's full path, from this process's `PATH` and the sbin
/// directories (`chroot` lives in `/usr/sbin`): the commands that enter the
/// root run with the root's own `PATH`.
fn program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("`{name}` is not installed (coreutils: chroot; util-linux: unshare)"))
}

fn running_as_root() -> bool {
    let uid = Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    uid.is_ok_and(|uid| uid == "0")
}

/// The command that enters a root directory, before `chroot`'s own options:
/// `chroot` needs root (or `CAP_SYS_CHROOT`); without it, a user namespace
/// where this user is root (`unshare -r`) can chroot too. Neither: a failure
/// that says so.
fn chroot_command() -> Command {
    let chroot = program("chroot");
    if running_as_root() {
        return Command::new(chroot);
    }
    let unshare = program("unshare");
    let probe = Command::new(&unshare).arg("-r").arg(&chroot).args(["/", "true"]).output();
    match probe {
        Ok(output) if output.status.success() => {
            let mut command = Command::new(unshare);
            command.arg("-r").arg(chroot);
            command
        }
        other => panic!(
            "cannot enter a bare root: not root, and `unshare -r chroot` failed ({}). Run the tests as root, or \
             allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)",
            match other {
                Ok(output) => describe(&output),
                Err(error) => error.to_string(),
            }
        ),
    }
}

fn copy_into(root: &Path, from: &Path, to: &str) {
    let destination = root.join(to);
    std::fs::create_dir_all(destination.parent().expect("a path inside the root")).expect("create directories");
    std::fs::copy(from, &destination)
        .unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), destination.display()));
}

fn busybox_static() -> PathBuf {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"].iter().map(PathBuf::from).find(|p| p.is_file());
    let busybox =
        busybox.unwrap_or_else(|| panic!("busybox is not installed: run scripts/install-peers (busybox-static)"));
    let bytes = std::fs::read(&busybox).expect("read busybox");
    let linkage = elf_linkage(&bytes).unwrap_or_else(|e| panic!("{}: {e}", busybox.display()));
    assert!(
        !linkage.interpreter && linkage.needed_libraries == 0,
        "{} is dynamically linked (Debian's `busybox`); the bare root needs `busybox-static` (scripts/install-peers)",
        busybox.display()
    );
    busybox
}

/// `/` with `bin/sh` (busybox), the CA bundle, docsync and a repository at
/// `/repo`: nothing else, no libc, no git. The fixture's temporary directory
/// is the root, so the repository built with the git CLI is already in it.
fn bare_root() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("docs/README.md", "# Handbook\n");
    repo.write("src/lib.rs", "");
    repo.commit("initial");
    repo.write("docs/guide.md", "# Guide\n");
    repo.commit("add a guide");
    // Outside CI the project's URL (for the request) comes from origin.
    repo.git(&["remote", "add", "origin", "https://gitlab.example.com/group/project.git"]);
    let host_bundle = std::fs::read(host_ca_bundle()).expect("read the CA bundle");
    furnish_root(repo.root(), &host_bundle);
    repo
}

fn host_ca_bundle() -> PathBuf {
    let ca_bundle = Path::new("/").join(CA_BUNDLE);
    assert!(ca_bundle.is_file(), "no CA bundle at {}: install ca-certificates", ca_bundle.display());
    ca_bundle
}

/// Puts busybox as `/bin/sh`, the CA bundle and docsync into `root`.
fn furnish_root(root: &Path, ca_bundle: &[u8]) {
    copy_into(root, &busybox_static(), "bin/busybox");
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).expect("link /bin/sh to busybox");
    std::fs::create_dir_all(root.join(CA_BUNDLE).parent().expect("a directory")).expect("create etc/ssl/certs");
    std::fs::write(root.join(CA_BUNDLE), ca_bundle).expect("write the CA bundle");
    copy_into(root, static_binary(), BINARY_IN_ROOT);
    // tempfile makes the directory private; the unprivileged run below must
    // be able to walk into it.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).expect("open the root directory");
}

fn plan_in_root(root: &Path, user: Option<&str>) -> Output {
    let mut command = chroot_command();
    if let Some(user) = user {
        command.arg(format!("--userspec={user}"));
    }
    command
        .arg(root)
        .args(["/bin/sh", "-c", "cd /repo && docsync plan --format json"])
        .env_clear()
        .env("PATH", "/usr/local/bin:/bin")
        .env("HOME", "/")
        .env("NO_COLOR", "1")
        .env("DOCSYNC_GITBOOK_SPACE", "spcBareRoot")
        .env("DOCSYNC_PROJECT_DIRECTORY", "docs");
    command.output().expect("enter the bare root")
}

fn assert_plan(output: &Output, repo: &TestRepo) {
    assert!(output.status.success(), "docsync plan failed in the bare root: {}", describe(output));
    let plan: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("docsync plan printed no JSON ({e}): {}", describe(output)));
    assert_eq!(plan["range"]["mode"], "local", "{plan:#}");
    assert_eq!(plan["range"]["head"], repo.head().as_str(), "{plan:#}");
    assert_eq!(plan["changes"], serde_json::json!([{"status": "added", "path": "docs/guide.md"}]), "{plan:#}");
    let target = &plan["targets"][0];
    assert_eq!(target["kind"], "gitbook", "{plan:#}");
    assert_eq!(target["action"], "import", "{plan:#}");
    assert_eq!(target["request"]["body"]["repoProjectDirectory"], "docs", "{plan:#}");
}

#[test]
fn static_binary_plans_in_a_bare_root() {
    let repo = bare_root();
    let root = repo.root();
    assert!(!root.join("usr/bin/git").exists() && !root.join("lib").exists(), "the root must stay bare");

    let output = plan_in_root(root, None);
    assert_plan(&output, &repo);
}

/// The image runs as user 10001 on a checkout the runner made as root:
/// docsync must read a repository it does not own.
#[test]
fn static_binary_plans_as_another_user_than_the_checkout_owner() {
    let repo = bare_root();
    if !running_as_root() {
        // In a user namespace only this user is mapped: there is no other
        // user to run as.
        assert!(std::env::var_os("CI").is_none(), "CI must run this test as root: it needs a second user");
        eprintln!("SKIPPED: not root, so docsync cannot run as another user than the checkout's owner");
        return;
    }
    let owner = std::fs::metadata(repo.path.join(".git")).map(|m| std::os::unix::fs::MetadataExt::uid(&m));
    assert_eq!(owner.ok(), Some(0), "the checkout must be root's");
    let output = plan_in_root(repo.root(), Some("10001:10001"));
    assert_plan(&output, &repo);
}

/// A test CA and a server certificate for 127.0.0.1 that it signed:
/// `(CA certificate, server certificate, server key)`. rustls, like browsers,
/// refuses a CA certificate presented as a server's own.
fn test_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (ca, ca_key) = (dir.join("ca.pem"), dir.join("ca-key.pem"));
    let (certificate, key, request) = (dir.join("cert.pem"), dir.join("key.pem"), dir.join("cert.csr"));
    let extensions = dir.join("server.ext");
    std::fs::write(
        &extensions,
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write the certificate extensions");
    let openssl = |args: &[&str], paths: &[(&str, &Path)]| {
        let mut command = Command::new("openssl");
        command.args(args);
        for (flag, path) in paths {
            command.arg(flag).arg(path);
        }
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("cannot run openssl to make test certificates (install openssl): {e}"));
        assert!(output.status.success(), "openssl {args:?} failed: {}", describe(&output));
    };
    let new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(
        &[&["req", "-x509"], &new_key[..], &["-days", "2", "-subj", "/CN=docsync test CA"]].concat(),
        &[("-addext", Path::new("basicConstraints=critical,CA:TRUE")), ("-keyout", &ca_key), ("-out", &ca)],
    );
    openssl(&[&["req"], &new_key[..], &["-subj", "/CN=127.0.0.1"]].concat(), &[("-keyout", &key), ("-out", &request)]);
    openssl(
        &["x509", "-req", "-days", "2", "-CAcreateserial"],
        &[("-in", &request), ("-CA", &ca), ("-CAkey", &ca_key), ("-extfile", &extensions), ("-out", &certificate)],
    );
    (ca, certificate, key)
}

/// A push pipeline whose `CI_COMMIT_BEFORE_SHA` is not in the shallow clone
/// at `/<clone>` of the root: docsync must deepen it from
/// `CI_REPOSITORY_URL` over HTTPS, through the static binary's own HTTP
/// client, trusting only the root's CA bundle.
fn plan_push_in_root(
    root: &Path,
    clone: &str,
    before: &str,
    head: &str,
    repository_url: &str,
    extra: &[(&str, &str)],
) -> Output {
    let mut command = chroot_command();
    command
        .arg(root)
        .args(["/bin/sh", "-c", &format!("cd /{clone} && docsync plan --format json")])
        .env_clear()
        .env("PATH", "/usr/local/bin:/bin")
        .env("HOME", "/")
        .env("NO_COLOR", "1")
        .envs([
            ("GITLAB_CI", "true"),
            ("CI_PIPELINE_SOURCE", "push"),
            ("CI_COMMIT_SHA", head),
            ("CI_COMMIT_BEFORE_SHA", before),
            ("CI_COMMIT_BRANCH", "main"),
            ("CI_COMMIT_REF_NAME", "main"),
            ("CI_DEFAULT_BRANCH", "main"),
            ("CI_PROJECT_URL", "https://gitlab.example.com/group/project"),
            ("CI_REPOSITORY_URL", repository_url),
            ("DOCSYNC_GITBOOK_SPACE", "spcBareRoot"),
            ("DOCSYNC_REPORT", "none"),
        ])
        .envs(extra.iter().copied());
    // A fetch that hangs must fail the test, not hang it.
    let (stdout, stderr) = (tempfile::tempfile().expect("a file"), tempfile::tempfile().expect("a file"));
    let mut child = command
        .stdout(stdout.try_clone().expect("a file"))
        .stderr(stderr.try_clone().expect("a file"))
        .spawn()
        .expect("enter the bare root");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for docsync") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("docsync plan did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |mut file: std::fs::File| {
        use std::io::{Read, Seek};
        let mut bytes = Vec::new();
        file.rewind().and_then(|()| file.read_to_end(&mut bytes)).expect("read the output");
        bytes
    };
    Output { status, stdout: read(stdout), stderr: read(stderr) }
}

/// An origin of three commits served over HTTPS by a server whose certificate
/// the test CA signed, and shallow clones (depth 1) of it in the root.
struct ShallowOverHttps {
    origin: TestRepo,
    before: String,
    head: String,
    url: String,
    ca: PathBuf,
    _server: GitServer,
}

impl ShallowOverHttps {
    fn new(clones: &[&str]) -> ShallowOverHttps {
        let origin = TestRepo::new();
        origin.write("docs/a.md", "a\n");
        let before = origin.commit("one");
        origin.write("docs/b.md", "b\n");
        origin.commit("two");
        origin.write("docs/c.md", "c\n");
        let head = origin.commit("three");
        let served = origin.outside_dir("served");
        origin.git(&["clone", "-q", "--bare", ".", &served.join("project.git").display().to_string()]);
        for clone in clones {
            origin.clone_shallow(clone, 1);
        }
        let (ca, certificate, key) = test_certificates(&origin.outside_dir("tls"));
        let server = GitServer::start(&served, Options { tls: Some(Tls { certificate, key }), ..Default::default() });
        let url = server.url("", "project.git");
        ShallowOverHttps { origin, before, head, url, ca, _server: server }
    }

    /// Furnishes the root, with the test CA in its bundle.
    fn furnish_root(&self, trusted: bool) {
        furnish_root(self.origin.root(), &[]);
        self.furnish_root_bundle(trusted);
    }

    /// The root's bundle: the host's CAs, plus the test CA when `trusted`.
    fn furnish_root_bundle(&self, trusted: bool) {
        let mut bundle = std::fs::read(host_ca_bundle()).expect("read the CA bundle");
        if trusted {
            bundle.extend(std::fs::read(&self.ca).expect("read the test CA"));
        }
        std::fs::write(self.origin.root().join(CA_BUNDLE), bundle).expect("write the CA bundle");
    }

    fn plan(&self, clone: &str, extra: &[(&str, &str)]) -> (Output, Value) {
        let output = plan_push_in_root(self.origin.root(), clone, &self.before, &self.head, &self.url, extra);
        assert!(output.status.success(), "{}", describe(&output));
        let plan: Value =
            serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&output)));
        (output, plan)
    }

    /// The plan of a clone that was deepened: the push's own range.
    fn assert_deepened(&self, output: &Output, plan: &Value) {
        assert_eq!(plan["range"]["mode"], "push", "the clone was not deepened over HTTPS: {}", describe(output));
        assert_eq!(plan["range"]["base"], self.before.as_str(), "{plan:#}");
        let paths: Vec<&str> =
            plan["changes"].as_array().into_iter().flatten().filter_map(|c| c["path"].as_str()).collect();
        assert_eq!(paths, ["docs/b.md", "docs/c.md"], "{plan:#}");
    }
}

#[test]
fn static_binary_deepens_a_shallow_clone_over_https_in_a_bare_root() {
    let served = ShallowOverHttps::new(&["trusted", "untrusted"]);
    served.furnish_root(true);
    let (output, plan) = served.plan("trusted", &[]);
    served.assert_deepened(&output, &plan);

    // Without the test CA in the bundle, the same fetch must fail
    // verification: bad configuration (exit 2) naming the CA variables, as
    // for the API, never a quiet fall back to another range.
    served.furnish_root_bundle(false);
    let output = plan_push_in_root(served.origin.root(), "untrusted", &served.before, &served.head, &served.url, &[]);
    assert_eq!(output.status.code(), Some(2), "an untrusted certificate was accepted: {}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not trusted") && stderr.contains("CI_SERVER_TLS_CA_FILE") && stderr.contains("SSL_CERT_FILE"),
        "no TLS reason or fix given: {stderr}"
    );
}

/// `HTTPS_PROXY` applies to git's fetches as to every other request: the
/// deepening goes through a CONNECT proxy.
#[test]
fn static_binary_deepens_through_an_https_proxy() {
    let served = ShallowOverHttps::new(&["proxied"]);
    served.furnish_root(true);
    let proxy = ConnectProxy::start();
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let (output, plan) = served.plan("proxied", &[("HTTPS_PROXY", &proxy_url)]);
    served.assert_deepened(&output, &plan);
    let server = served.url.trim_start_matches("https://").trim_end_matches("/project.git").to_owned();
    let tunnels = proxy.targets.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
    assert!(tunnels.contains(&server), "the fetch did not go through the proxy (tunnels: {tunnels:?})");
}

/// A server that accepts connections and never answers: each fetch is
/// abandoned after `DOCSYNC_HTTP_TIMEOUT`, and the plan falls back to a full
/// sync, naming the timeout.
#[test]
fn static_binary_abandons_a_fetch_from_a_server_that_never_answers() {
    let origin = TestRepo::new();
    origin.write("docs/a.md", "a\n");
    let before = origin.commit("one");
    origin.write("docs/b.md", "b\n");
    let head = origin.commit("two");
    origin.clone_shallow("silent", 1);
    furnish_root(origin.root(), &std::fs::read(host_ca_bundle()).expect("read the CA bundle"));
    let silent = SilentServer::start();
    let url = format!("https://127.0.0.1:{}/project.git", silent.port);

    let started = Instant::now();
    let output = plan_push_in_root(origin.root(), "silent", &before, &head, &url, &[("DOCSYNC_HTTP_TIMEOUT", "2s")]);
    let elapsed = started.elapsed();
    assert!(output.status.success(), "{}", describe(&output));
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&output)));
    assert_eq!(plan["range"]["mode"], "full", "{plan:#}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DOCSYNC_HTTP_TIMEOUT"), "the timeout is not named: {stderr}");
    // Two fetches (deepening, then the commit by its SHA), 2 s each.
    assert!(elapsed < Duration::from_secs(20), "the fetches took {elapsed:?}: {stderr}");
    assert!(silent.accepted() >= 1, "docsync never connected to the silent server");
}

/// An HTTP proxy on 127.0.0.1 that tunnels `CONNECT host:port` and records
/// each target.
struct ConnectProxy {
    port: u16,
    targets: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    fn start() -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("the proxy's address").port();
        let targets = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&targets);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || {
                    let _ = tunnel(client, &seen);
                });
            }
        });
        ConnectProxy { port, targets }
    }
}

fn tunnel(client: TcpStream, seen: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" {
            break;
        }
    }
    let mut writer = client.try_clone()?;
    let Some(target) = request.strip_prefix("CONNECT ").and_then(|rest| rest.split_whitespace().next()) else {
        return writer.write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n");
    };
    seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(target.to_owned());
    let upstream = TcpStream::connect(target)?;
    writer.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    let (mut up_writer, mut up_reader) = (upstream.try_clone()?, upstream);
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut reader, &mut up_writer);
        let _ = up_writer.shutdown(std::net::Shutdown::Write);
    });
    std::io::copy(&mut up_reader, &mut writer)?;
    writer.shutdown(std::net::Shutdown::Write)
}

/// Accepts connections on 127.0.0.1 and never says a word.
struct SilentServer {
    port: u16,
    accepted: Arc<Mutex<Vec<TcpStream>>>,
}

impl SilentServer {
    fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the silent server");
        let port = listener.local_addr().expect("the server's address").port();
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let held = Arc::clone(&accepted);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                held.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(stream);
            }
        });
        SilentServer { port, accepted }
    }

    fn accepted(&self) -> usize {
        self.accepted.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }
}

// ---------------------------------------------------------------------------
// The Dockerfile, read (no container engine here)

/// One instruction: keyword in upper case, arguments with continuations
/// joined.
#[derive(Debug, Clone)]
struct Instruction {
    keyword: String,
    args: String,
}

#[derive(Debug)]
struct Stage {
    base: String,
    name: Option<String>,
    instructions: Vec<Instruction>,
}

impl Stage {
    fn all(&self, keyword: &str) -> impl Iterator<Item = &Instruction> {
        self.instructions.iter().filter(move |i| i.keyword == keyword)
    }
}

fn parse_dockerfile(text: &str) -> Vec<Stage> {
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if !current.is_empty() && trimmed.starts_with('#') {
            continue; // comment lines inside a continued instruction
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                logical.push(std::mem::take(&mut current));
            }
        }
    }
    let mut stages: Vec<Stage> = Vec::new();
    for line in logical {
        let (keyword, args) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let instruction = Instruction { keyword: keyword.to_ascii_uppercase(), args: args.trim().to_owned() };
        if instruction.keyword == "FROM" {
            let words: Vec<&str> = instruction.args.split_whitespace().filter(|w| !w.starts_with("--")).collect();
            let name = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some((*name).to_owned()),
                _ => None,
            };
            stages.push(Stage {
                base: words.first().copied().unwrap_or_default().to_owned(),
                name,
                instructions: vec![],
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push(instruction);
        }
    }
    stages
}

#[test]
fn dockerfile_builds_the_static_binary_with_locked_dependencies() {
    let stages = parse_dockerfile(&read_project_file("Dockerfile"));
    assert!(stages.len() >= 2, "the Dockerfile must be multi-stage: {stages:#?}");
    let build = &stages[0];
    assert!(build.base.starts_with("rust:"), "the build stage must start from the official rust image: {}", build.base);
    assert!(build.name.is_some(), "the build stage needs a name for COPY --from");
    let cargo_build = build
        .all("RUN")
        .find(|run| run.args.contains("cargo build"))
        .unwrap_or_else(|| panic!("the build stage never runs cargo build: {build:#?}"));
    for flag in ["--locked", "--release", &format!("--target {MUSL_TARGET}")] {
        assert!(cargo_build.args.contains(flag), "cargo build without {flag}: {}", cargo_build.args);
    }
    assert!(build.all("COPY").any(|c| c.args.contains("Cargo.lock")), "the build stage must copy Cargo.lock");
    assert!(
        build.all("COPY").any(|c| c.args.split_whitespace().next() == Some(".cargo")),
        "the build stage must copy .cargo/ (the musl build's size tuning), or the image's binary is not the tested one"
    );

    let ignore = read_project_file(".dockerignore");
    let ignored: Vec<&str> = ignore.lines().map(|l| l.trim().trim_start_matches('/').trim_end_matches('/')).collect();
    for dir in ["target", ".cache"] {
        assert!(ignored.contains(&dir), ".dockerignore must keep {dir}/ out of the build context:\n{ignore}");
    }
}

#[test]
fn dockerfile_runtime_stage_is_a_job_image() {
    let stages = parse_dockerfile(&read_project_file("Dockerfile"));
    let runtime = stages.last().expect("a stage");
    let build_names: Vec<&str> = stages[..stages.len() - 1].iter().filter_map(|s| s.name.as_deref()).collect();

    // GitLab starts job containers through `sh`: the base needs a shell.
    let base = runtime.base.as_str();
    let (image, tag) = base.rsplit_once(':').unwrap_or((base, ""));
    assert!(base != "scratch" && !base.contains("distroless"), "{base} has no shell; GitLab jobs start through sh");
    let image_name = image.rsplit('/').next().unwrap_or(image);
    assert!(
        ["busybox", "alpine", "debian", "ubuntu"].contains(&image_name),
        "{base} is not a base known to have a POSIX shell (busybox, alpine, debian, ubuntu)"
    );
    assert!(!tag.is_empty() && tag != "latest", "pin the runtime base to a tag, not latest: {base}");

    // No tool entrypoint: the template must not need `entrypoint: [""]`.
    for entrypoint in runtime.all("ENTRYPOINT") {
        assert!(!entrypoint.args.contains("docsync"), "ENTRYPOINT runs docsync: {}", entrypoint.args);
    }
    assert_eq!(runtime.all("ENTRYPOINT").count(), 0, "the runtime stage sets an ENTRYPOINT");

    // A non-root user, by name or number, set last.
    let user = runtime.all("USER").last().unwrap_or_else(|| panic!("the runtime stage runs as root (no USER)"));
    let who = user.args.split(':').next().unwrap_or_default();
    assert!(!["root", "0", ""].contains(&who), "the runtime stage runs as root: USER {}", user.args);

    // docsync on PATH, copied from a build stage.
    let copies_binary = runtime.all("COPY").any(|copy| {
        let from = copy.args.split_whitespace().find_map(|w| w.strip_prefix("--from="));
        let destination = copy.args.split_whitespace().last().unwrap_or_default();
        from.is_some_and(|f| build_names.contains(&f))
            && copy.args.contains("docsync")
            && ["/usr/local/bin/", "/usr/bin/", "/bin/"].iter().any(|dir| destination.starts_with(dir))
    });
    assert!(copies_binary, "the runtime stage must COPY --from=<build stage> docsync into a PATH directory");

    // CA certificates: copied in, or installed by the package manager.
    let has_ca = runtime.all("COPY").any(|c| c.args.contains("ca-certificates.crt"))
        || runtime.all("RUN").any(|r| r.args.contains("ca-certificates"));
    assert!(has_ca, "the runtime stage has no CA certificates");

    // OCI labels, with the version and source from build arguments.
    let labels: String = runtime.all("LABEL").map(|l| l.args.clone()).collect::<Vec<_>>().join(" ");
    for key in
        ["org.opencontainers.image.source", "org.opencontainers.image.version", "org.opencontainers.image.licenses"]
    {
        assert!(labels.contains(&format!("{key}=")), "no {key} label: {labels}");
    }
    let args: Vec<String> =
        runtime.all("ARG").map(|a| a.args.split('=').next().unwrap_or_default().to_owned()).collect();
    for arg in ["VERSION", "SOURCE"] {
        assert!(args.iter().any(|a| a == arg), "no ARG {arg} in the runtime stage: {args:?}");
        assert!(labels.contains(&format!("${{{arg}}}")), "the labels do not use ${{{arg}}}: {labels}");
    }
    let cargo_license = read_project_file("Cargo.toml")
        .lines()
        .find_map(|l| l.strip_prefix("license = ").map(|v| v.trim_matches('"').to_owned()))
        .expect("Cargo.toml has a license");
    assert!(labels.contains(&cargo_license), "the licence label must be Cargo.toml's {cargo_license}: {labels}");
}

#[test]
fn dockerfile_parser_sees_what_it_checks() {
    let stages = parse_dockerfile(
        "# comment\nFROM rust:1 AS build\nRUN cargo build \\\n  # inner comment\n  --locked\nFROM scratch\nENTRYPOINT [\"docsync\"]\n",
    );
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[0].name.as_deref(), Some("build"));
    assert_eq!(stages[0].instructions[0].args, "cargo build  --locked");
    assert_eq!(stages[1].base, "scratch");
    assert_eq!(stages[1].all("ENTRYPOINT").count(), 1);
}
