//! Files docsync reads whole are read within a stated limit: a path naming
//! a device or an outsized file is bad input (exit 2) naming the flag or
//! variable, found without reading the file. Each run is capped at 1 GiB of
//! address space (`prlimit`), so that a regression fails the test instead
//! of taking the machine's memory (`--config /dev/zero` once grew to 24 GB).

use crate::common;

use std::path::Path;

use common::{Pipeline, Run, TestRepo, ci_env, run_to_end, with};

/// `docsync <args>` in `repo` with `env` (and `PATH`, `HOME`, `NO_COLOR`
/// only, as [`TestRepo::docsync`] runs it), its address space capped.
fn capped(repo: &TestRepo, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = assert_cmd::Command::new("prlimit");
    command
        .arg("--as=1073741824")
        .arg("--")
        .arg(assert_cmd::cargo::cargo_bin("docsync"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", repo.outside_dir("home"))
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .current_dir(&repo.path);
    run_to_end(command)
}

fn docs_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("docs/README.md", "# Docs\n");
    repo.commit("Docs");
    repo
}

fn assert_bad_input(run: &Run, source: &str, words: &[&str]) {
    run.assert_code(2);
    assert!(run.stderr.contains(&format!("error: {source} = ")), "names {source}:\n{}", run.context());
    for word in words {
        assert!(run.stderr.contains(word), "says {word:?}:\n{}", run.context());
    }
    assert!(run.stderr.contains("fix:"), "{}", run.context());
}

#[test]
fn a_config_that_is_a_device_a_directory_or_over_1_mib_is_refused() {
    let repo = docs_repo();
    let run = capped(&repo, &["plan", "--config", "/dev/zero"], &[]);
    assert_bad_input(&run, "--config", &["/dev/zero", "a character device, not a regular file"]);

    let directory = repo.outside_dir("config-dir");
    let run = capped(&repo, &["plan"], &[("DOCSYNC_CONFIG", &directory.display().to_string())]);
    assert_bad_input(&run, "DOCSYNC_CONFIG", &["a directory, not a regular file"]);

    // Valid TOML, padded with comments past 1 MiB: refused for its size.
    let large = repo.outside_dir("config").join("docsync.toml");
    let padding = "# padding padding padding padding padding padding padding padding padding\n".repeat(15_000);
    std::fs::write(&large, format!("[defaults]\nproject_directory = \"docs\"\n{padding}")).expect("write");
    assert!(std::fs::metadata(&large).expect("size").len() > 1024 * 1024);
    let run = capped(&repo, &["plan"], &[("DOCSYNC_CONFIG", &large.display().to_string())]);
    assert_bad_input(&run, "DOCSYNC_CONFIG", &["1.1 MiB, more than the 1 MiB docsync reads"]);

    // docsync.toml in the working directory, found rather than named.
    std::fs::create_dir(repo.path.join("docsync.toml")).expect("mkdir");
    let run = capped(&repo, &["plan"], &[]);
    assert_bad_input(&run, "docsync.toml", &["a directory, not a regular file"]);
}

#[test]
fn a_config_of_exactly_1_mib_is_read() {
    let repo = docs_repo();
    let config = repo.outside_dir("config").join("docsync.toml");
    let head = "[defaults]\nproject_directory = \"docs\"\n";
    let comment = format!("#{}\n", "x".repeat(1024 * 1024 - head.len() - 2));
    std::fs::write(&config, format!("{head}{comment}")).expect("write");
    assert_eq!(std::fs::metadata(&config).expect("size").len(), 1024 * 1024);
    capped(&repo, &["plan"], &[("DOCSYNC_CONFIG", &config.display().to_string())]).assert_code(0);
}

#[test]
fn a_ca_file_that_is_a_device_or_over_10_mib_is_refused() {
    let repo = docs_repo();
    let head = repo.head();
    let env = with(
        ci_env(Pipeline::Push { branch: "main", before: common::ZERO_SHA, sha: &head }),
        &[("DOCSYNC_REPORT", "none"), ("DOCSYNC_REPORT_JSON", "none"), ("DOCSYNC_CODEQUALITY", "none")],
    );
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    let run = capped(&repo, &["sync"], &[&env[..], &[("SSL_CERT_FILE", "/dev/zero")]].concat());
    assert_bad_input(&run, "SSL_CERT_FILE", &["a character device, not a regular file", "at most 10 MiB"]);

    // A real CA certificate, repeated past 10 MiB.
    let ca = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls/ca.pem"))
        .expect("the test CA");
    let bundle = repo.outside_dir("certs").join("bundle.pem");
    std::fs::write(&bundle, ca.repeat(10 * 1024 * 1024 / ca.len() + 1)).expect("write");
    let bundle = bundle.display().to_string();
    let run = capped(&repo, &["sync"], &[&env[..], &[("CI_SERVER_TLS_CA_FILE", bundle.as_str())]].concat());
    assert_bad_input(&run, "CI_SERVER_TLS_CA_FILE", &["MiB, more than the 10 MiB docsync reads"]);
}
