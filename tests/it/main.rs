//! docsync's integration tests, in one binary: cargo compiles the shared
//! fixture (`common`) once and links once, instead of once per file (the
//! layout of just's `tests/integration.rs` and cargo's `tests/testsuite`).
//! One file's tests: `cargo test --test it gitbook_prism::`.

#![allow(clippy::unwrap_used, reason = "a test unwraps what it built itself; a panic is its failure")]
#![allow(clippy::print_stdout, reason = "the test harness captures stdout; a test may print a summary there")]
#![allow(clippy::disallowed_methods, reason = "tests write their fixtures and read what docsync printed")]
#![allow(unreachable_pub, reason = "one test binary: its modules share helpers, it has no API")]

mod common;

mod ci_template;
mod differential;
mod discovery;
mod dot_webhook;
mod fanout;
mod git_transport;
mod gitbook_edits;
mod gitbook_faults;
mod gitbook_prism;
mod gitlab;
mod help;
mod input_limits;
mod layers;
mod lint;
mod lint_false_errors;
mod lint_fix;
mod lint_new_findings;
mod lint_rules;
mod monorepo;
mod outputs;
mod packaging;
mod plan_pipelines;
mod properties;
mod redirects;
mod review_discussions;
mod review_note;
mod secrets;
mod settings_symptoms;
mod space_base;
