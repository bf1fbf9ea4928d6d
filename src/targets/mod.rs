//! The platforms docsync syncs: each one's requests, its client, and how its
//! answer is read.

pub mod dot;
pub mod gitbook;
