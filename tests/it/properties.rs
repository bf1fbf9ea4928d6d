//! Never a panic, never the wrong exit code: the real binary, given hostile
//! settings, durations, timestamps, URLs, revisions and commit dates, ends
//! with exit 0 or 2 (bad input, naming the variable), never a crash.
//!
//! The property test runs a bounded number of cases (a few seconds); the
//! values that once crashed docsync are pinned as their own tests.

use crate::common;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use serde_json::Value;

use common::{Env, Pipeline, Run, TestRepo, ci_env, run_to_end, with};

fn docs_repo() -> (TestRepo, String, String) {
    let repo = TestRepo::new();
    repo.write("docs/README.md", "# Docs\n");
    let first = repo.commit("Initial commit");
    repo.write("docs/guide.md", "# Guide\n");
    let second = repo.commit("Add the guide");
    (repo, first, second)
}

fn plan(repo: &TestRepo, env: &Env, extra: &[&str]) -> Run {
    let mut args = vec!["plan", "--format", "json"];
    args.extend_from_slice(extra);
    let mut command = repo.docsync(&args);
    command.envs(env);
    run_to_end(command)
}

fn push(first: &str, second: &str) -> Env {
    with(
        ci_env(Pipeline::Push { branch: "main", before: first, sha: second }),
        &[("DOCSYNC_GITBOOK_SPACE", "spcProps"), ("DOCSYNC_DOT_WEBHOOK_URL", "https://hooks.example.invalid/h")],
    )
}

/// Exit 2 naming `variable`, and no crash.
fn assert_bad_input(run: &Run, variable: &str) {
    run.assert_code(2);
    assert!(run.stderr.contains(variable), "the error names {variable}\n{}", run.context());
    assert!(run.stderr.contains("fix:"), "the error says what to do\n{}", run.context());
}

/// Every planned GitBook body has a real ordering timestamp or none.
fn assert_no_empty_timestamp(run: &Run) {
    let plan = run.json();
    for target in plan["targets"].as_array().into_iter().flatten() {
        let timestamp = &target["request"]["body"]["timestamp"];
        assert!(timestamp.is_null() || timestamp.as_str().is_some_and(|t| t.len() >= 20), "{plan:#}");
    }
}

// ---------------------------------------------------------------------------
// Values that crashed docsync

#[test]
fn huge_durations_are_bad_input() {
    let (repo, first, second) = docs_repo();
    for variable in [
        "DOCSYNC_WAIT_TIMEOUT",
        "DOCSYNC_POLL_INTERVAL",
        "DOCSYNC_HTTP_TIMEOUT",
        "DOCSYNC_RETRY_DELAY",
        "DOCSYNC_FETCH_TIMEOUT",
    ] {
        for value in ["18446744073709551615s", "18446744073709551615ms", "9999999999h", "25h"] {
            let run = plan(&repo, &with(push(&first, &second), &[(variable, value)]), &[]);
            assert_bad_input(&run, variable);
        }
    }
    // The longest accepted duration still plans.
    let run = plan(&repo, &with(push(&first, &second), &[("DOCSYNC_WAIT_TIMEOUT", "24h")]), &[]);
    run.assert_code(0);
}

#[test]
fn pipeline_times_rfc3339_cannot_write_in_utc_are_bad_input() {
    let (repo, first, second) = docs_repo();
    for created_at in ["9999-12-31T23:00:00-01:00", "0000-01-01T00:00:00+01:00"] {
        let run = plan(&repo, &with(push(&first, &second), &[("CI_PIPELINE_CREATED_AT", created_at)]), &[]);
        assert_bad_input(&run, "CI_PIPELINE_CREATED_AT");
    }
    // The edges that can be written are kept.
    for (created_at, utc) in
        [("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"), ("0000-01-01T00:00:00-01:00", "0000-01-01T01:00:00Z")]
    {
        let run = plan(&repo, &with(push(&first, &second), &[("CI_PIPELINE_CREATED_AT", created_at)]), &[]);
        run.assert_code(0);
        let plan = run.json();
        let gitbook = plan["targets"].as_array().and_then(|t| t.iter().find(|t| t["kind"] == "gitbook")).cloned();
        assert_eq!(gitbook.map(|t| t["request"]["body"]["timestamp"].clone()), Some(Value::from(utc)), "{plan:#}");
    }
}

/// Anyone who can push can date a commit at the end of year 9999 in a
/// positive offset (`git fsck` accepts it): beyond the year 9999 locally.
#[test]
fn a_commit_dated_at_the_end_of_time_is_planned() {
    let repo = TestRepo::new();
    repo.write("docs/README.md", "# Docs\n");
    let first = repo.commit("Initial commit");
    repo.write("docs/guide.md", "# Guide\n");
    repo.git(&["add", "-A"]);
    let output = repo
        .git_command()
        .env("GIT_COMMITTER_DATE", "@253402300799 +0100")
        .env("GIT_AUTHOR_DATE", "@253402300799 +0100")
        .args(["commit", "-q", "-m", "From the far future"])
        .output()
        .expect("run git commit");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let second = repo.head();
    assert!(repo.git_output(&["fsck"]).status.success(), "git accepts the date");

    // Outside CI the head commit's time is the ordering timestamp.
    repo.git(&["remote", "add", "origin", "https://gitlab.example.com/group/project.git"]);
    let local = with(Env::new(), &[("DOCSYNC_GITBOOK_SPACE", "spcProps")]);
    let run = plan(&repo, &local, &[]);
    run.assert_code(0);
    assert_no_empty_timestamp(&run);
    assert!(run.stdout.contains("9999-12-31T23:59:59Z"), "{}", run.context());

    // In CI without CI_PIPELINE_CREATED_AT, with a push event listing it.
    let mut env = push(&first, &second);
    env.remove("CI_PIPELINE_CREATED_AT");
    let run = plan(&repo, &env, &[]);
    run.assert_code(0);
    assert_no_empty_timestamp(&run);
    let mut text = repo.docsync(&["plan"]);
    text.envs(&env);
    run_to_end(text).assert_code(0);
}

// ---------------------------------------------------------------------------
// Revisions

#[test]
fn revisions_that_name_no_commit_are_bad_input() {
    let (repo, first, second) = docs_repo();
    let local = Env::new();
    let run = plan(&repo, &local, &["--from", "HEAD^{tree}"]);
    assert_bad_input(&run, "--from");
    assert!(run.stderr.contains("names a tree, not a commit"), "{}", run.context());
    let run = plan(&repo, &local, &["--to", "["]);
    assert_bad_input(&run, "--to");
    let run = plan(&repo, &with(local.clone(), &[("DOCSYNC_FROM", "HEAD:docs/README.md")]), &[]);
    assert_bad_input(&run, "DOCSYNC_FROM");
    assert!(run.stderr.contains("names a blob"), "{}", run.context());

    let tree = repo.git(&["rev-parse", "HEAD^{tree}"]);
    let run = plan(&repo, &with(push(&first, &second), &[("CI_COMMIT_SHA", &tree)]), &[]);
    assert_bad_input(&run, "CI_COMMIT_SHA");
    let blob = repo.git(&["rev-parse", "HEAD:docs/guide.md"]);
    let run = plan(&repo, &with(push(&first, &second), &[("CI_COMMIT_BEFORE_SHA", &blob)]), &[]);
    assert_bad_input(&run, "CI_COMMIT_BEFORE_SHA");
}

#[test]
fn long_values_are_cut_and_control_characters_escaped_in_errors() {
    let (repo, _, _) = docs_repo();
    let hostile = format!("\u{1b}[31mred\u{7}{}", "x".repeat(5000));
    let run = plan(&repo, &with(Env::new(), &[("DOCSYNC_WAIT_TIMEOUT", &hostile)]), &[]);
    assert_bad_input(&run, "DOCSYNC_WAIT_TIMEOUT");
    assert!(!run.stderr.contains('\u{1b}') && !run.stderr.contains('\u{7}'), "{}", run.context());
    assert!(run.stderr.contains("\\u{1b}[31mred"), "{}", run.context());
    assert!(run.stderr.len() < 1000, "the value is cut:\n{}", run.context());
}

// ---------------------------------------------------------------------------
// Local failures: exit 4

#[test]
fn an_unreadable_repository_is_a_local_failure() {
    let (repo, _, second) = docs_repo();
    // The head commit is there; its tree is gone.
    let tree = repo.git(&["rev-parse", &format!("{second}^{{tree}}")]);
    let object = repo.path.join(".git/objects").join(&tree[..2]).join(&tree[2..]);
    std::fs::remove_file(&object).expect("remove the head's tree object");
    let run = plan(&repo, &Env::new(), &[]);
    run.assert_code(4);
    assert!(run.stderr.contains("error:"), "{}", run.context());
}

// ---------------------------------------------------------------------------
// The property

fn duration() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,22}(ms|s|m|h)",
        "[0-9]{1,12}h[0-9]{1,12}m[0-9]{1,12}s",
        Just("18446744073709551615s".to_owned()),
        Just("0s".to_owned()),
        "\\PC{0,12}",
    ]
}

/// RFC 3339 times, most near the ends of what RFC 3339 can write, where
/// converting to UTC leaves the years 0 to 9999.
fn timestamp() -> impl Strategy<Value = String> {
    let offset = (any::<bool>(), 0u32..=23, 0u32..=59)
        .prop_map(|(west, hours, minutes)| format!("{}{hours:02}:{minutes:02}", if west { '-' } else { '+' }));
    let clock = (0u32..=23, 0u32..=59, 0u32..=59);
    let at = |date: &'static str| {
        (clock.clone(), offset.clone())
            .prop_map(move |((h, m, s), offset)| format!("{date}T{h:02}:{m:02}:{s:02}{offset}"))
    };
    prop_oneof![
        3 => at("9999-12-31"),
        3 => at("0000-01-01"),
        2 => (0u32..=9999, 1u32..=12, 1u32..=28, clock.clone(), offset.clone()).prop_map(
            |(year, month, day, (h, m, s), offset)| format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}{offset}")
        ),
        1 => "\\PC{0,30}",
    ]
}

fn url() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![Just("https"), Just("http"), Just("ftp"), Just("")];
    let userinfo = prop_oneof![Just(""), Just("user@"), Just("user:pass-word-123@"), Just(":@")];
    let host = prop_oneof![
        Just("127.0.0.1"),
        Just("localhost"),
        Just("[::1]"),
        Just("example.invalid"),
        Just(""),
        Just("xn--"),
        Just("%00")
    ];
    let port = prop_oneof![Just(String::new()), (0u32..=70000).prop_map(|p| format!(":{p}")), Just(":x".to_owned())];
    prop_oneof![
        (scheme, userinfo, host, port, "[a-z/%?#.]{0,16}")
            .prop_map(|(scheme, userinfo, host, port, path)| format!("{scheme}://{userinfo}{host}{port}/{path}")),
        "\\PC{0,24}",
    ]
}

fn secret() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z0-9_-]{0,40}", "[ \\t\\na-z]{0,12}", "\\PC{0,16}"]
}

/// Set in a quarter of the cases: most cases then get past the settings to
/// the planning, where the range, the times and the bodies are computed.
fn maybe<S: Strategy<Value = String>>(strategy: S) -> impl Strategy<Value = Option<String>> {
    proptest::option::weighted(0.25, strategy)
}

#[test]
fn hostile_settings_exit_0_or_2_never_a_panic() {
    let (repo, first, second) = docs_repo();
    let base = push(&first, &second);
    let variables: Vec<(&str, BoxedStrategy<Option<String>>)> = vec![
        ("DOCSYNC_WAIT_TIMEOUT", maybe(duration()).boxed()),
        ("DOCSYNC_POLL_INTERVAL", maybe(duration()).boxed()),
        ("DOCSYNC_HTTP_TIMEOUT", maybe(duration()).boxed()),
        ("DOCSYNC_RETRY_DELAY", maybe(duration()).boxed()),
        ("DOCSYNC_RETRIES", maybe("[0-9]{1,22}|\\PC{0,4}").boxed()),
        ("DOCSYNC_CONCURRENCY", maybe("[0-9]{1,22}|-1|\\PC{0,4}").boxed()),
        ("CI_PIPELINE_CREATED_AT", proptest::option::weighted(0.9, timestamp()).boxed()),
        ("DOCSYNC_GITBOOK_API_URL", maybe(url()).boxed()),
        ("DOCSYNC_DOT_WEBHOOK_URL", maybe(url()).boxed()),
        ("CI_SERVER_URL", maybe(url()).boxed()),
        ("CI_API_V4_URL", maybe(url()).boxed()),
        ("DOCSYNC_GITLAB_URL", maybe(url()).boxed()),
        ("DOCSYNC_GITBOOK_TOKEN", maybe(secret()).boxed()),
        ("DOCSYNC_DOT_WEBHOOK_SECRET", maybe(secret()).boxed()),
        ("CI_JOB_TOKEN", maybe(secret()).boxed()),
    ];
    let names: Vec<&str> = variables.iter().map(|(name, _)| *name).collect();
    let values: Vec<BoxedStrategy<Option<String>>> = variables.into_iter().map(|(_, s)| s).collect();

    // Bounded: each case runs the binary once (tens of milliseconds).
    let config = Config {
        cases: 48,
        max_shrink_iters: 32,
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&values, |chosen| {
        let mut env = base.clone();
        for (name, value) in names.iter().zip(&chosen) {
            if let Some(value) = value {
                // A value the OS cannot pass (a NUL) is not one docsync can be given.
                env.insert((*name).to_owned(), value.replace('\0', ""));
            }
        }
        let run = plan(&repo, &env, &[]);
        prop_assert!(matches!(run.code(), Some(0 | 2)), "{}", run.context());
        prop_assert!(!run.stderr.contains("panicked"), "{}", run.context());
        if run.code() == Some(0) {
            assert_no_empty_timestamp(&run);
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// The pipeline's time alone, every other setting valid: each case reaches
/// the GitBook body and its ordering timestamp.
#[test]
fn any_pipeline_time_plans_or_is_bad_input() {
    let (repo, first, second) = docs_repo();
    let base = push(&first, &second);
    let config = Config {
        cases: 48,
        max_shrink_iters: 32,
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..Config::default()
    };
    let result = TestRunner::new(config).run(&timestamp(), |created_at| {
        let run = plan(&repo, &with(base.clone(), &[("CI_PIPELINE_CREATED_AT", &created_at.replace('\0', ""))]), &[]);
        prop_assert!(matches!(run.code(), Some(0 | 2)), "{}", run.context());
        if run.code() == Some(0) {
            assert_no_empty_timestamp(&run);
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
