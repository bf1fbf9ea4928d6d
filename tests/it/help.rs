//! What people read first: `docsync --help` and each command's help. Snapshots
//! make every wording change a reviewed change.

use assert_cmd::Command;

fn help(args: &[&str]) -> String {
    let output = Command::cargo_bin("docsync")
        .expect("the docsync binary is built")
        .env_clear()
        .env("COLUMNS", "100")
        .args(args)
        .output()
        .expect("docsync runs");
    assert!(output.status.success(), "{args:?} exits 0");
    String::from_utf8(output.stdout).expect("help is UTF-8")
}

#[test]
fn top_level_help() {
    let text = help(&["--help"]);
    for command in ["sync", "plan", "check", "status", "export"] {
        assert!(text.contains(&format!("  {command}")), "--help lists {command}:\n{text}");
    }
    assert!(text.contains("Exit codes: 0 synced"), "--help explains the exit codes:\n{text}");
    insta::assert_snapshot!("top_level_help", text);
}

#[test]
fn plan_help() {
    insta::assert_snapshot!("plan_help", help(&["plan", "--help"]));
}

#[test]
fn secrets_are_not_flags() {
    let text = help(&["sync", "--help"]);
    for secret in ["--gitbook-token", "--git-token", "--dot-webhook-secret", "--gitlab-token"] {
        assert!(!text.contains(secret), "secrets must come from the environment only, not {secret}");
    }
}
