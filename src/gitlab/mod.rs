//! GitLab's REST API, as docsync needs it: the instance behind a pasted URL,
//! what a token is and may do (for `docsync check`), the last synced commit
//! (the deployment watermark), the compare fallback for shallow clones, merge
//! requests, merge request notes and threads on a merge request's diff. The
//! client and its error are shared; each subject of the API is its own
//! module.

pub mod client;
pub(crate) mod compare;
pub(crate) mod discussions;
pub(crate) mod instance;
pub(crate) mod merge_requests;
pub(crate) mod token;
pub(crate) mod watermark;
