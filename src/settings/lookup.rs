//! The one layered lookup of a setting, by its declaration: the most
//! specific layer that sets it wins (a `[[target]]`'s own key, the flag,
//! the `DOCSYNC_` variable, the file's `[defaults]`), and the value comes
//! with its [`Source`], which every message about it names. Empty flags and
//! variables count as unset. Secrets go through the same layers; the file's
//! layers name the variable that holds them.

use crate::error::{BadInput, Source};
use crate::secret::Secret;
use crate::settings::declarations::Setting;
use crate::settings::environment::Environment;
use crate::settings::file::{FileTable, RawValue, defaults_source};
use crate::settings::flags::SettingFlags;
use crate::settings::values::split_list;

/// The run's layers: flags, the environment, the file's `[defaults]`.
#[derive(Clone, Copy)]
pub(super) struct Layers<'a> {
    pub flags: &'a SettingFlags,
    pub env: &'a Environment,
    pub defaults: &'a FileTable,
    /// The config file, to name its keys in messages.
    pub file_name: &'a str,
}

/// A `[[target]]`'s own keys, the layer above the run's.
pub(super) struct Own<'a> {
    pub table: &'a FileTable,
    /// Its name, or `#2` for the second table when it has none.
    pub target: String,
}

/// A setting's value as found, and where.
#[derive(Debug, Clone)]
pub(super) struct Found {
    pub value: RawValue,
    pub source: Source,
}

impl Found {
    /// The value as text: a list is written back comma-separated.
    pub(super) fn text(&self) -> String {
        match &self.value {
            RawValue::Text(text) => text.clone(),
            RawValue::List(items) => items.join(","),
        }
    }

    /// The value as a list: text is split at commas outside `{…}`.
    pub(super) fn list(&self) -> Vec<String> {
        match &self.value {
            RawValue::Text(text) => split_list(text),
            RawValue::List(items) => items.clone(),
        }
    }
}

impl Layers<'_> {
    /// The first layer that sets the value, most specific first. `None`
    /// leaves the built-in default to the caller, which knows its type.
    pub(super) fn lookup(&self, setting: &Setting, own: Option<&Own<'_>>) -> Option<Found> {
        if let Some(own) = own {
            if let Some(found) = own.table.get(setting) {
                return Some(Found {
                    value: found.value.clone(),
                    source: self.target_source(setting, own, found.line),
                });
            }
        }
        if let (Some(value), Some(flag)) = (self.flags.get(setting), setting.flag) {
            return Some(Found { value: RawValue::Text(value.to_owned()), source: Source::Flag(format!("--{flag}")) });
        }
        if let Some(value) = self.env.docsync.get(setting) {
            return Some(Found {
                value: RawValue::Text(value.to_owned()),
                source: Source::Variable(setting.variable.to_owned()),
            });
        }
        self.defaults
            .get(setting)
            .map(|found| Found { value: found.value.clone(), source: defaults_source(self.file_name, setting, found) })
    }

    fn target_source(&self, setting: &Setting, own: &Own<'_>, line: usize) -> Source {
        Source::TargetKey {
            file: self.file_name.to_owned(),
            target: own.target.clone(),
            key: setting.key.unwrap_or(setting.name).to_owned(),
            line,
        }
    }

    /// A secret, through the same layers: a file key names the variable
    /// that holds it, which must then be set (a missing secret is never
    /// replaced by another one, nor silently absent). With the name of the
    /// variable it is (or would be) in, for messages.
    pub(super) fn secret(
        &self,
        setting: &Setting,
        own: Option<&Own<'_>>,
        problems: &mut Vec<BadInput>,
    ) -> (Option<Secret>, String) {
        let named = |table: &FileTable| match table.get(setting) {
            Some(found) => match &found.value {
                RawValue::Text(name) => Some((name.clone(), found.line)),
                RawValue::List(_) => None,
            },
            None => None,
        };
        if let Some(own) = own {
            if let Some((name, line)) = named(own.table) {
                let source = || self.target_source(setting, own, line);
                return (self.env.required_secret(&name, source, problems), name);
            }
        }
        if let Some(secret) = self.env.docsync.secret(setting) {
            return (Some(secret.clone()), setting.variable.to_owned());
        }
        match named(self.defaults) {
            Some((name, line)) => {
                // Named in a message only when the variable is not set: every
                // target reads the same `[defaults]` key.
                let source = || Source::FileDefaults {
                    file: self.file_name.to_owned(),
                    key: setting.key.unwrap_or(setting.name).to_owned(),
                    line,
                };
                (self.env.required_secret(&name, source, problems), name)
            }
            None => (None, setting.variable.to_owned()),
        }
    }
}
