//! What the settings' unit tests build their inputs from: an environment
//! from pairs, a config file from text. Shared by the tests of
//! [`super::resolve`], [`super::target`] and [`super::file`].

use std::path::PathBuf;

use crate::error::BadInputs;
use crate::settings::environment::Environment;
use crate::settings::file::{LoadedFile, parse_file};
use crate::settings::flags::GlobalFlags;
use crate::settings::resolve::resolve;
use crate::settings::{GitBookTarget, Settings, Target, TargetKind};

pub(super) fn env(vars: &[(&str, &str)]) -> Environment {
    Environment::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string()))).unwrap()
}

pub(super) fn resolve_env(vars: &[(&str, &str)]) -> Result<Settings, BadInputs> {
    resolve(&GlobalFlags::default(), &env(vars), None)
}

pub(super) fn loaded(text: &str) -> LoadedFile {
    let path = PathBuf::from("docsync.toml");
    match parse_file(&path, text) {
        Ok(config) => LoadedFile { path, config },
        Err(error) => panic!("{error}"),
    }
}

pub(super) fn gitbook(target: &Target) -> &GitBookTarget {
    match &target.kind {
        TargetKind::GitBook(gitbook) => gitbook,
        other => panic!("not a GitBook target: {other:?}"),
    }
}
