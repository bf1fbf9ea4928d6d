//! The platforms docsync syncs: each one's requests, its client, and how its
//! answer is read.

pub(crate) mod dot;
pub(crate) mod gitbook;
