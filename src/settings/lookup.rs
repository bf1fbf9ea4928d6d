//! The one layered lookup of a setting: the most specific layer that sets
//! it wins, and the value comes with where it was found (a flag, a variable,
//! a file's key), which every message about a bad value names. The run's
//! settings and the targets' flag, variable and `[defaults]` layers go
//! through it; a `[[target]]`'s own keys are mostly laid over its answer
//! afterwards (`target.rs`, `overridden`), and secrets are looked up apart.

use crate::settings::pipeline::non_empty;

/// Where one setting is looked up: the file's `[defaults]` and, for a
/// `[[target]]`, the target's own keys first.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layers<'a> {
    /// The config file, to name its keys in messages.
    pub file_name: &'a str,
    /// The `[[target]]` whose own keys come first, by its label; `None` for
    /// the run's settings and the environment's targets.
    pub target: Option<&'a str>,
}

impl Layers<'_> {
    /// The first layer that sets the value, most specific first: the
    /// target's own key, the flag, the `DOCSYNC_` variable, the file's
    /// `[defaults]`; with where it came from. `None` leaves the built-in
    /// default to the caller, which knows its type.
    pub fn lookup(
        &self,
        own: Option<&str>,
        flag: &Option<String>,
        variable: &Option<String>,
        defaults: Option<String>,
        variable_name: &str,
        key: &str,
    ) -> Option<(String, String)> {
        if let (Some(label), Some(value)) = (self.target, own) {
            return Some((value.to_owned(), format!("{label}: key `{key}`")));
        }
        if let Some(value) = flag.as_deref() {
            return Some((value.to_owned(), format!("--{}", key.replace('_', "-"))));
        }
        if let Some(value) = non_empty(variable) {
            return Some((value.to_owned(), variable_name.to_owned()));
        }
        defaults.map(|value| (value, format!("{}: key `{key}`", self.file_name)))
    }
}
