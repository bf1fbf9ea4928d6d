//! What a run leaves behind: the report on stdout and in files, and the
//! notes and merge requests it writes to GitLab.

pub mod merge_request_note;
pub mod report;
