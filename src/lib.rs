//! docsync: keeps docs platforms in sync with a GitLab repository, from CI.
//!
//! ```text
//!  CI environment, flags, docsync.toml ─▶ settings   (validated Settings)
//!  repository, pipeline range          ─▶ git        (range, change set)
//!  the checkout's docs                 ─▶ lint       (the pre-flight)
//!  GitLab API                          ─▶ gitlab     (watermark, compare)
//!                 facts ─▶ plan (pure: which target gets which request)
//!                 plan  ─▶ targets (GitBook, Dot: send, wait for a verdict)
//!             outcomes  ─▶ output  (report, dotenv, JSON, MR notes)
//! ```
//!
//! A sync runs in three stages: `commands::facts` gathers every fact (all
//! the I/O: range, change set, commits, watermark, compare) into a
//! [`plan::facts::Facts`]; [`plan::decide`] turns facts and settings into a
//! [`plan::Plan`] without I/O (when [`plan::sends_push_events`], the commits
//! a push event lists are read first and handed to it), which nothing
//! writes to afterwards; `commands::sync` executes it and records what it
//! did beside it, in a [`plan::run::Run`] of each target's
//! [`plan::outcome::Outcome`]; [`output`] writes both. [`commands`] ties the stages
//! together; `main` only parses flags and hands over the process
//! environment. Modules are layered: one may use
//! those listed above it, never one below —
//! ground floor ([`error`], [`bounded_file`], [`secret`], [`tls`], [`http`],
//! [`log`]) →
//! [`settings`] → [`git`] → [`lint`] → [`gitlab`] → [`targets`] → [`plan`]
//! → [`output`] → [`commands`].

// Unit tests write their fixtures; the library itself writes output only
// through `log`, which clippy.toml's disallowed-methods holds in every
// other build of it.
#![cfg_attr(test, allow(clippy::disallowed_methods, reason = "unit tests write their own fixtures"))]

pub(crate) mod bounded_file;
pub mod commands;
pub mod error;
pub(crate) mod git;
pub mod gitlab;
pub mod http;
pub(crate) mod lint;
pub(crate) mod log;
pub(crate) mod output;
pub(crate) mod plan;
pub mod secret;
pub mod settings;
pub(crate) mod targets;
pub(crate) mod tls;
