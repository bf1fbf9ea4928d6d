//! docsync: keeps docs platforms in sync with a GitLab repository, from CI.
//!
//! Data flow: CI environment + flags → [`config`] (validated settings) and
//! [`repo`]/[`range`] (commit range → change set) → [`plan`] (which target
//! gets which request, or why nothing) → [`report`] and the exit code.
//! [`run`] ties them together; `main` only parses flags and hands over the
//! process environment.

pub mod check;
pub mod cli;
pub mod config;
pub mod credentials;
pub mod dot;
pub mod error;
pub mod git_http;
pub mod gitbook;
pub mod gitlab;
pub mod http;
pub mod lint;
pub mod log;
pub mod merge_requests;
pub mod pipeline;
pub mod plan;
pub mod range;
pub mod renames;
pub mod repo;
pub mod report;
pub mod run;
pub mod secret;
pub mod status;
pub mod sync;
pub mod tls;
