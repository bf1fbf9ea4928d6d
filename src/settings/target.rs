//! The targets: [`Target`] and its kinds, and how each is built, by kind,
//! from its own `[[target]]` keys over the run's settings, or from the
//! environment's shorthand (`DOCSYNC_GITBOOK_SPACE`,
//! `DOCSYNC_DOT_WEBHOOK_URL`). Apart from [`super::resolve`], which settles
//! the run's settings first and hands them down here.

use std::collections::BTreeMap;
use std::time::Duration;

use url::Url;

use crate::error::BadInput;
use crate::secret::Secret;
use crate::settings::Direction;
use crate::settings::credentials::refuse_plain_http;
use crate::settings::duration::parse_duration_setting;
use crate::settings::environment::Environment;
use crate::settings::file::{FileTarget, checked_target};
use crate::settings::flags::SettingFlags;
use crate::settings::lookup::Layers;
use crate::settings::paths::PathFilter;
use crate::settings::pipeline::{Pipeline, non_empty};
use crate::settings::target_id::TargetId;
use crate::settings::values::{
    normalize_directory, parse_bool, parse_direction, parse_gitbook_edits, parse_url, split_list,
};

pub const DEFAULT_GITBOOK_API_URL: &str = "https://api.gitbook.com/v1";
/// Files the Dot target looks at by default: Markdown and YAML.
pub const DOT_DEFAULT_PATHS: &[&str] = &["*.md", "*.markdown", "*.yaml", "*.yml"];
pub(super) const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(600);
pub(super) const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(120);

/// What an import does when the space holds work Git does not have
/// (`gitbook_edits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitBookEdits {
    /// Import nothing: the target ends `conflict`.
    Refuse,
    /// Import nothing, let GitBook export its content to a branch of its
    /// own and open a merge request for it: the target ends `conflict`.
    Export,
    /// Import anyway, naming what is replaced.
    Overwrite,
}

impl GitBookEdits {
    pub fn as_str(self) -> &'static str {
        match self {
            GitBookEdits::Refuse => "refuse",
            GitBookEdits::Export => "export",
            GitBookEdits::Overwrite => "overwrite",
        }
    }
}

#[derive(Debug, Clone)]
pub struct GitBookTarget {
    pub space: String,
    pub api_url: Url,
    pub token: Option<Secret>,
    /// The variable the token came from, for messages.
    pub token_source: String,
    pub git_token: Option<Secret>,
    pub git_token_source: String,
    pub export_branch: Option<String>,
    pub export_mr: bool,
    /// What an import does when GitBook holds edits Git does not have.
    pub gitbook_edits: GitBookEdits,
    /// Wait for GitBook's verdict, and for how long.
    pub wait: bool,
    pub wait_timeout: Duration,
    /// How long GitBook may take to start our operation before the target
    /// ends `not_started`.
    pub start_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct DotTarget {
    pub webhook_url: Url,
    pub secret: Option<Secret>,
    pub secret_source: String,
}

#[derive(Debug, Clone)]
pub enum TargetKind {
    GitBook(GitBookTarget),
    Dot(DotTarget),
}

impl TargetKind {
    pub fn name(&self) -> &'static str {
        match self {
            TargetKind::GitBook(_) => "gitbook",
            TargetKind::Dot(_) => "dot",
        }
    }
}

/// One docs platform endpoint to keep in sync.
#[derive(Debug, Clone)]
pub struct Target {
    /// What the plan, the run and the output join on.
    pub id: TargetId,
    pub name: String,
    /// Where the target was described, for messages: a file and line, or
    /// the variable of the environment's shorthand.
    pub defined_at: String,
    /// The branch whose pushes sync this target; `None` when neither the
    /// settings nor `CI_DEFAULT_BRANCH` name one (a local run).
    pub branch: Option<String>,
    pub paths: PathFilter,
    /// The files the docs pre-flight never reads (`ignore`), in the same
    /// directory; `None` when there are no globs.
    pub ignore: Option<PathFilter>,
    /// What a manual pipeline asks of this target.
    pub direction: Direction,
    /// Standalone imports of merge requests (GitBook only).
    pub previews: bool,
    /// Authors whose commits are the platform's own (the skip rules).
    pub platform_authors: Vec<String>,
    pub kind: TargetKind,
}

/// What every target is built from: the run's flags, environment, file
/// defaults and pipeline, and the run's values of the settings a
/// `[[target]]` may override.
pub(super) struct TargetContext<'a> {
    pub flags: &'a SettingFlags,
    pub env: &'a Environment,
    pub defaults: &'a FileTarget,
    pub file_name: &'a str,
    pub pipeline: &'a Pipeline,
    pub inherited: &'a Inherited,
}

/// The run's own values (flag, environment, `[defaults]`, built-in) of the
/// settings a `[[target]]` may override.
pub(super) struct Inherited {
    pub direction: Direction,
    pub previews: bool,
    pub wait: bool,
    pub wait_timeout: Duration,
    pub start_timeout: Duration,
    pub platform_authors: Vec<String>,
}

/// The settings a `[[target]]` may override, for one target: its own value,
/// else the run's. `None` where its own value is bad.
struct Overridden {
    direction: Option<Direction>,
    previews: bool,
    wait: bool,
    wait_timeout: Option<Duration>,
    start_timeout: Option<Duration>,
    platform_authors: Vec<String>,
}

/// One target being built: its own keys, where it was described, and the
/// run it belongs to.
struct TargetBuilder<'a> {
    context: &'a TargetContext<'a>,
    raw: &'a FileTarget,
    label: &'a str,
    /// Set for the environment's shorthand targets (the flag or variable
    /// that described it), whose every setting follows flag > environment >
    /// file defaults; `None` for a `[[target]]`.
    env_source: Option<&'a str>,
    layers: Layers<'a>,
}

impl TargetContext<'_> {
    /// The targets the run's settings describe, `gitbook` and `dot`: a
    /// space or webhook URL given as a flag, a variable or in `[defaults]`
    /// (first that is set) names a target, as it does nowhere else.
    pub(super) fn env_targets(&self, problems: &mut Vec<BadInput>) -> Vec<Target> {
        let (s, d, defaults) = (self.flags, &self.env.docsync, self.defaults);
        let layers = Layers { file_name: self.file_name, target: None };
        let mut targets = Vec::new();
        let space = layers.lookup(
            None,
            &s.gitbook_space,
            &d.gitbook_space,
            defaults.gitbook_space.clone(),
            "DOCSYNC_GITBOOK_SPACE",
            "gitbook_space",
        );
        if let Some((space, source)) = space {
            let raw = FileTarget { kind: Some("gitbook".into()), gitbook_space: Some(space), ..FileTarget::default() };
            if let Some(target) =
                self.build(TargetId::GitBookShorthand, "gitbook", &source, &raw, Some(&source), problems)
            {
                targets.push(target);
            }
        }
        let webhook = layers.lookup(
            None,
            &s.dot_webhook_url,
            &d.dot_webhook_url,
            defaults.dot_webhook_url.clone(),
            "DOCSYNC_DOT_WEBHOOK_URL",
            "dot_webhook_url",
        );
        if let Some((url, source)) = webhook {
            let raw = FileTarget { kind: Some("dot".into()), dot_webhook_url: Some(url), ..FileTarget::default() };
            if let Some(target) = self.build(TargetId::DotShorthand, "dot", &source, &raw, Some(&source), problems) {
                targets.push(target);
            }
        }
        targets
    }

    /// The targets the file's `[[target]]` tables describe, each once its
    /// keys pass the file's rules.
    pub(super) fn file_targets(&self, tables: &[FileTarget], text: &str, problems: &mut Vec<BadInput>) -> Vec<Target> {
        let mut targets = Vec::new();
        for (index, raw) in tables.iter().enumerate() {
            if let Some((name, label)) = checked_target(self.file_name, index, raw, text, problems) {
                if let Some(target) = self.build(TargetId::Table(index), &name, &label, raw, None, problems) {
                    targets.push(target);
                }
            }
        }
        targets
    }

    /// Builds one target from its own keys over the defaults. `env_source`
    /// is set for the environment's shorthand targets, whose every setting
    /// follows flag > environment > file defaults.
    fn build(
        &self,
        id: TargetId,
        name: &str,
        label: &str,
        raw: &FileTarget,
        env_source: Option<&str>,
        problems: &mut Vec<BadInput>,
    ) -> Option<Target> {
        let layers = Layers { file_name: self.file_name, target: env_source.is_none().then_some(label) };
        let target = TargetBuilder { context: self, raw, label, env_source, layers };
        let before = problems.len();
        let kind = target.kind(problems)?;
        let directory = target.directory(problems);
        let globs = target.globs(kind);
        let branch = target.branch();
        let overridden = target.overridden(problems);
        let kind = if kind == "gitbook" {
            TargetKind::GitBook(target.gitbook(&overridden, problems)?)
        } else {
            TargetKind::Dot(target.dot(problems)?)
        };
        let ignore = target.ignore_filter(directory.as_deref(), problems);
        let paths = target.path_filter(directory, globs, problems);
        if problems.len() > before {
            return None;
        }
        Some(Target {
            id,
            name: name.to_owned(),
            defined_at: label.to_owned(),
            branch,
            paths: paths?,
            ignore,
            direction: overridden.direction?,
            previews: overridden.previews,
            platform_authors: overridden.platform_authors,
            kind,
        })
    }

    /// A target's secret, by the settings' precedence: the variable its own
    /// `*_env` key names, else the `DOCSYNC_` variable, else the one
    /// `[defaults]` names. A variable the file names must be set: a missing
    /// secret is never replaced by another one, nor silently absent.
    fn secret(
        &self,
        own: Option<(&String, String)>,
        default: Option<&String>,
        key: &str,
        direct: &Option<Secret>,
        direct_name: &str,
        problems: &mut Vec<BadInput>,
    ) -> (Option<Secret>, String) {
        if let Some((name, source)) = own {
            return (self.env.required_secret(name, &source, problems), name.clone());
        }
        if let Some(secret) = direct.clone().filter(|s| !s.expose().is_empty()) {
            return (Some(secret), direct_name.to_owned());
        }
        match default {
            Some(name) => {
                let source = format!("{}: [defaults] key `{key}`", self.file_name);
                (self.env.required_secret(name, &source, problems), name.clone())
            }
            None => (None, direct_name.to_owned()),
        }
    }
}

impl TargetBuilder<'_> {
    fn is_file_target(&self) -> bool {
        self.env_source.is_none()
    }

    /// The name of one of the target's own keys, for messages.
    fn own_key(&self, key: &str) -> String {
        format!("{}: key `{key}`", self.label)
    }

    /// `gitbook` or `dot`, from the `kind` key.
    fn kind(&self, problems: &mut Vec<BadInput>) -> Option<&'static str> {
        match self.raw.kind.as_deref() {
            Some("gitbook") => Some("gitbook"),
            Some("dot") => Some("dot"),
            Some(other) => {
                problems.push(
                    BadInput::new(
                        self.own_key("kind"),
                        "unknown target kind",
                        "use kind = \"gitbook\" or kind = \"dot\"",
                    )
                    .with_value(other),
                );
                None
            }
            None => {
                problems.push(BadInput::new(
                    self.own_key("kind"),
                    "every target needs a kind",
                    "add kind = \"gitbook\" or kind = \"dot\"",
                ));
                None
            }
        }
    }

    /// The docs root, normalised; `None` when it is refused.
    fn directory(&self, problems: &mut Vec<BadInput>) -> Option<String> {
        let (s, d, defaults) = (self.context.flags, &self.context.env.docsync, self.context.defaults);
        self.layers
            .lookup(
                self.raw.project_directory.as_deref(),
                &s.project_directory,
                &d.project_directory,
                defaults.project_directory.clone(),
                "DOCSYNC_PROJECT_DIRECTORY",
                "project_directory",
            )
            .map_or(Some(String::new()), |(value, source)| normalize_directory(&value, &source, problems))
    }

    /// The globs as written: a list in the file, a comma-separated list in a
    /// flag or variable; Markdown and YAML for a Dot target by default.
    fn globs(&self, kind: &str) -> Vec<String> {
        let (s, d, defaults) = (self.context.flags, &self.context.env.docsync, self.context.defaults);
        if self.is_file_target() && self.raw.paths.is_some() {
            self.raw.paths.clone().unwrap_or_default()
        } else if let Some(list) = s.paths.as_deref().or(non_empty(&d.paths)) {
            split_list(list)
        } else if let Some(list) = &defaults.paths {
            list.clone()
        } else if kind == "dot" {
            DOT_DEFAULT_PATHS.iter().map(|s| (*s).to_owned()).collect()
        } else {
            Vec::new()
        }
    }

    /// The `ignore` globs as written, like `paths`: the target's own list,
    /// else the flag or variable, else `[defaults]`; none by default.
    fn ignore_globs(&self) -> (Vec<String>, String) {
        let (s, d, defaults) = (self.context.flags, &self.context.env.docsync, self.context.defaults);
        if self.is_file_target() && self.raw.ignore.is_some() {
            (self.raw.ignore.clone().unwrap_or_default(), self.own_key("ignore"))
        } else if let Some(list) = s.ignore.as_deref() {
            (split_list(list), "--ignore".to_owned())
        } else if let Some(list) = non_empty(&d.ignore) {
            (split_list(list), "DOCSYNC_IGNORE".to_owned())
        } else if let Some(list) = &defaults.ignore {
            (list.clone(), format!("{}: [defaults] key `ignore`", self.context.file_name))
        } else {
            (Vec::new(), String::new())
        }
    }

    /// The `ignore` globs as a filter over the target's directory; `None`
    /// when there are none, or they or the directory are refused.
    fn ignore_filter(&self, directory: Option<&str>, problems: &mut Vec<BadInput>) -> Option<PathFilter> {
        let (globs, source) = self.ignore_globs();
        if globs.is_empty() {
            return None;
        }
        PathFilter::checked(directory?.to_owned(), globs, source, ".github/** or drafts/*.md")
            .map_err(|problem| problems.push(problem))
            .ok()
    }

    /// The branch whose pushes sync the target, else the project's default.
    fn branch(&self) -> Option<String> {
        let (s, d, defaults) = (self.context.flags, &self.context.env.docsync, self.context.defaults);
        self.layers
            .lookup(
                self.raw.branch.as_ref().map(|b| b.get_ref().as_str()),
                &s.branch,
                &d.branch,
                defaults.branch.as_ref().map(|b| b.get_ref().clone()),
                "DOCSYNC_BRANCH",
                "branch",
            )
            .map(|(value, _)| value)
            .or_else(|| self.context.pipeline.ci.as_ref().and_then(|ci| ci.default_branch.clone()))
    }

    /// A [[target]]'s own key beats the run's value (flag, environment,
    /// [defaults]); the environment's targets take the run's.
    fn overridden(&self, problems: &mut Vec<BadInput>) -> Overridden {
        let raw = self.raw;
        let from_file = self.is_file_target();
        let inherited = self.context.inherited;
        Overridden {
            direction: match raw.direction.as_ref().filter(|_| from_file) {
                Some(value) => parse_direction(value.get_ref(), &self.own_key("direction"), problems),
                None => Some(inherited.direction),
            },
            previews: raw.previews.filter(|_| from_file).unwrap_or(inherited.previews),
            wait: raw.wait.filter(|_| from_file).unwrap_or(inherited.wait),
            wait_timeout: match raw.wait_timeout.as_ref().filter(|_| from_file) {
                Some(value) => parse_duration_setting(value, &self.own_key("wait_timeout"), problems),
                None => Some(inherited.wait_timeout),
            },
            start_timeout: match raw.start_timeout.as_ref().filter(|_| from_file) {
                Some(value) => parse_duration_setting(value, &self.own_key("start_timeout"), problems),
                None => Some(inherited.start_timeout),
            },
            platform_authors: match raw.platform_authors.as_ref().filter(|_| from_file) {
                Some(list) => list.clone(),
                None => inherited.platform_authors.clone(),
            },
        }
    }

    /// A GitBook target's own settings; `None` when its space or API URL is
    /// unusable (the problems say why).
    fn gitbook(&self, overridden: &Overridden, problems: &mut Vec<BadInput>) -> Option<GitBookTarget> {
        let (raw, from_file) = (self.raw, self.is_file_target());
        let (s, d, defaults) = (self.context.flags, &self.context.env.docsync, self.context.defaults);
        let space = self.gitbook_space(problems);
        let api_url = self
            .layers
            .lookup(
                raw.gitbook_api_url.as_deref(),
                &s.gitbook_api_url,
                &d.gitbook_api_url,
                defaults.gitbook_api_url.clone(),
                "DOCSYNC_GITBOOK_API_URL",
                "gitbook_api_url",
            )
            .map_or_else(
                || Url::parse(DEFAULT_GITBOOK_API_URL).ok(),
                |(value, source)| parse_url(&value, &source, problems),
            );
        let (token, token_source) = self.context.secret(
            raw.gitbook_token_env.as_ref().filter(|_| from_file).map(|name| (name, self.own_key("gitbook_token_env"))),
            defaults.gitbook_token_env.as_ref(),
            "gitbook_token_env",
            &d.gitbook_token,
            "DOCSYNC_GITBOOK_TOKEN",
            problems,
        );
        let (git_token, git_token_source) = self.context.secret(
            raw.git_token_env.as_ref().filter(|_| from_file).map(|name| (name, self.own_key("git_token_env"))),
            defaults.git_token_env.as_ref(),
            "git_token_env",
            &d.git_token,
            "DOCSYNC_GIT_TOKEN",
            problems,
        );
        if let (Some(url), Some(_)) = (&api_url, &token) {
            refuse_plain_http(url, "DOCSYNC_GITBOOK_API_URL", &token_source, problems);
        }
        let export_branch = self
            .layers
            .lookup(
                raw.export_branch.as_deref(),
                &s.export_branch,
                &d.export_branch,
                defaults.export_branch.clone(),
                "DOCSYNC_EXPORT_BRANCH",
                "export_branch",
            )
            .map(|(v, _)| v);
        let export_mr = self
            .layers
            .lookup(
                raw.export_mr.map(|b| b.to_string()).as_deref(),
                &s.export_mr,
                &d.export_mr,
                defaults.export_mr.map(|b| b.to_string()),
                "DOCSYNC_EXPORT_MR",
                "export_mr",
            )
            .map_or(Some(false), |(value, source)| parse_bool(&value, &source, problems));
        let gitbook_edits = self
            .layers
            .lookup(
                raw.gitbook_edits.as_deref(),
                &s.gitbook_edits,
                &d.gitbook_edits,
                defaults.gitbook_edits.clone(),
                "DOCSYNC_GITBOOK_EDITS",
                "gitbook_edits",
            )
            .map_or(Some(GitBookEdits::Refuse), |(value, source)| parse_gitbook_edits(&value, &source, problems));
        Some(GitBookTarget {
            space: space?,
            api_url: api_url?,
            token,
            token_source,
            git_token,
            git_token_source,
            export_branch,
            export_mr: export_mr.unwrap_or(false),
            gitbook_edits: gitbook_edits?,
            wait: overridden.wait,
            wait_timeout: overridden.wait_timeout.unwrap_or(DEFAULT_WAIT_TIMEOUT),
            start_timeout: overridden.start_timeout.unwrap_or(DEFAULT_START_TIMEOUT),
        })
    }

    /// The GitBook space id: the target's own (`[defaults]`' names the
    /// run's `gitbook` target, see [`TargetContext::env_targets`]).
    fn gitbook_space(&self, problems: &mut Vec<BadInput>) -> Option<String> {
        let space_key = match self.env_source {
            None => self.own_key("gitbook_space"),
            Some(source) => source.to_owned(),
        };
        match self.raw.gitbook_space.clone() {
            Some(space) if valid_space(&space) => Some(space),
            Some(space) => {
                problems.push(
                    BadInput::new(
                        space_key,
                        "not a GitBook space id",
                        "copy the id from the space's URL: app.gitbook.com/o/…/s/<space id>",
                    )
                    .with_value(space),
                );
                None
            }
            None => {
                problems.push(BadInput::new(
                    space_key,
                    "a GitBook target needs a space",
                    "set gitbook_space = \"<space id>\"",
                ));
                None
            }
        }
    }

    /// A Dot target's own settings; `None` when it has no usable webhook URL.
    fn dot(&self, problems: &mut Vec<BadInput>) -> Option<DotTarget> {
        let (raw, defaults) = (self.raw, self.context.defaults);
        let url_key = match self.env_source {
            None => self.own_key("dot_webhook_url"),
            Some(source) => source.to_owned(),
        };
        let url = match raw.dot_webhook_url.clone() {
            Some(url) => parse_url(&url, &url_key, problems),
            None => {
                problems.push(BadInput::new(
                    url_key,
                    "a dot target needs a webhook URL",
                    "set dot_webhook_url = \"https://…\"",
                ));
                None
            }
        };
        let (secret, secret_source) = self.context.secret(
            raw.dot_webhook_secret_env
                .as_ref()
                .filter(|_| self.is_file_target())
                .map(|name| (name, self.own_key("dot_webhook_secret_env"))),
            defaults.dot_webhook_secret_env.as_ref(),
            "dot_webhook_secret_env",
            &self.context.env.docsync.dot_webhook_secret,
            "DOCSYNC_DOT_WEBHOOK_SECRET",
            problems,
        );
        if let (Some(url), Some(_)) = (&url, &secret) {
            refuse_plain_http(url, "DOCSYNC_DOT_WEBHOOK_URL", &secret_source, problems);
        }
        Some(DotTarget { webhook_url: url?, secret, secret_source })
    }

    /// The directory and globs as one filter; `None` when either is refused.
    fn path_filter(
        &self,
        directory: Option<String>,
        globs: Vec<String>,
        problems: &mut Vec<BadInput>,
    ) -> Option<PathFilter> {
        let globs_source = if self.is_file_target() && self.raw.paths.is_some() {
            self.own_key("paths")
        } else {
            "DOCSYNC_PATHS".to_owned()
        };
        PathFilter::checked(directory?, globs, globs_source, "*.md or guides/**/*.md")
            .map_err(|problem| problems.push(problem))
            .ok()
    }
}

pub(super) fn check_unique(targets: &[Target], problems: &mut Vec<BadInput>) {
    // File targets are named by file, line and key; the run's `gitbook` and
    // `dot` by the flag, variable or `[defaults]` key that made them.
    let source = |target: &Target, key: &str| {
        if target.defined_at.starts_with("DOCSYNC_")
            || target.defined_at.starts_with("--")
            || target.defined_at.contains(": key `")
        {
            target.defined_at.clone()
        } else {
            format!("{}, key `{key}`", target.defined_at)
        }
    };
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    let mut spaces: BTreeMap<(String, String), &str> = BTreeMap::new();
    for target in targets {
        if let Some(first) = names.insert(target.name.as_str(), target.defined_at.as_str()) {
            problems.push(BadInput::new(
                source(target, "name"),
                format!("two targets are named \"{}\" (the first at {first})", target.name),
                "give every target its own name (the environment's targets are named `gitbook` and `dot`)",
            ));
        }
        if let TargetKind::GitBook(gitbook) = &target.kind {
            // `…/v1` and `…/v1/` are one API (the url crate already folds
            // the host's case and a default port).
            let key = (gitbook.api_url.as_str().trim_end_matches('/').to_owned(), gitbook.space.clone());
            if let Some(first) = spaces.insert(key, target.defined_at.as_str()) {
                problems.push(BadInput::new(
                    source(target, "gitbook_space"),
                    format!("GitBook space {} is also the space of {first}", gitbook.space),
                    "a space syncs from one directory: remove one of the two targets",
                ));
            }
        }
    }
}

fn valid_space(space: &str) -> bool {
    !space.is_empty()
        && space.len() <= 128
        && space.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::secret::Secret;
    use crate::settings::GitBookEdits;
    use crate::settings::file::FileTarget;
    use crate::settings::flags::GlobalFlags;
    use crate::settings::resolve::resolve;
    use crate::settings::target::DOT_DEFAULT_PATHS;
    use crate::settings::test_inputs::{env, gitbook, loaded, resolve_env};
    use crate::settings::{Direction, Target, TargetKind};

    /// Every key a [[target]] accepts either works for that target or is
    /// refused with its line: nothing is accepted and then ignored.
    #[test]
    fn every_target_key_works_for_its_target_or_is_refused() {
        // The keys serde accepts in a [[target]], from the struct itself.
        let accepted = match toml::from_str::<FileTarget>("unknown_key_probe = 1") {
            Err(error) => error.message().to_owned(),
            Ok(_) => panic!("FileTarget accepts unknown keys"),
        };
        let keys: Vec<&str> = accepted
            .split_once("expected one of ")
            .map(|(_, list)| list)
            .unwrap_or_default()
            .split(", ")
            .map(|key| key.trim().trim_matches('`'))
            .collect();
        assert!(keys.len() > 20, "{accepted}");

        let base = "name = \"t\"\nkind = \"gitbook\"\ngitbook_space = \"spcOwn\"\n";
        let vars = [
            ("OWN_GB", "own-gitbook-token"),
            ("OWN_GIT", "own-git-token"),
            ("OWN_DOT", "own-dot-secret"),
            ("GITLAB_TOKEN_VAR", "gitlab-token-value"),
            ("GITLAB_CI", "true"),
            ("CI_PIPELINE_SOURCE", "push"),
            ("CI_COMMIT_SHA", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            ("CI_DEFAULT_BRANCH", "main"),
        ];
        for key in keys {
            let (line, check): (&str, Check<'_>) = match key {
                "name" | "kind" | "gitbook_space" => continue,
                "gitbook_token" | "git_token" | "dot_webhook_secret" | "gitlab_token" => (
                    "= \"inline-secret-value\"",
                    Box::new(|t| assert!(t.unwrap_err().contains("line 5, key"), "{key}")),
                ),
                "concurrency" => ("= 2", Box::new(|t| refused(t, "concurrency"))),
                "report" => ("= \"x.env\"", Box::new(|t| refused(t, "report"))),
                "report_json" => ("= \"x.json\"", Box::new(|t| refused(t, "report_json"))),
                "lint" => ("= \"warn\"", Box::new(|t| refused(t, "lint"))),
                "codequality" => ("= \"cq.json\"", Box::new(|t| refused(t, "codequality"))),
                "poll_interval" => ("= \"2s\"", Box::new(|t| refused(t, "poll_interval"))),
                "http_timeout" => ("= \"10s\"", Box::new(|t| refused(t, "http_timeout"))),
                "retries" => ("= 2", Box::new(|t| refused(t, "retries"))),
                "retry_delay" => ("= \"2s\"", Box::new(|t| refused(t, "retry_delay"))),
                "fetch_timeout" => ("= \"2m\"", Box::new(|t| refused(t, "fetch_timeout"))),
                "gitlab_url" => ("= \"https://gitlab.example.com\"", Box::new(|t| refused(t, "gitlab_url"))),
                "gitlab_token_env" => ("= \"GITLAB_TOKEN_VAR\"", Box::new(|t| refused(t, "gitlab_token_env"))),
                "gitbook_api_url" => (
                    "= \"https://gitbook.example.com/v1\"",
                    Box::new(|t| assert_eq!(gitbook(t.unwrap()).api_url.as_str(), "https://gitbook.example.com/v1")),
                ),
                "gitbook_token_env" => (
                    "= \"OWN_GB\"",
                    Box::new(|t| {
                        assert_eq!(gitbook(t.unwrap()).token.as_ref().map(Secret::expose), Some("own-gitbook-token"))
                    }),
                ),
                "git_token_env" => (
                    "= \"OWN_GIT\"",
                    Box::new(|t| {
                        assert_eq!(gitbook(t.unwrap()).git_token.as_ref().map(Secret::expose), Some("own-git-token"))
                    }),
                ),
                "project_directory" => {
                    ("= \"handbook\"", Box::new(|t| assert_eq!(t.unwrap().paths.directory, "handbook")))
                }
                "paths" => ("= [\"*.md\"]", Box::new(|t| assert_eq!(t.unwrap().paths.globs, ["*.md"]))),
                "ignore" => (
                    "= [\"drafts/**\"]",
                    Box::new(|t| {
                        assert_eq!(
                            t.unwrap().ignore.as_ref().map(|i| i.globs.clone()),
                            Some(vec!["drafts/**".to_owned()])
                        )
                    }),
                ),
                "branch" => ("= \"live\"", Box::new(|t| assert_eq!(t.unwrap().branch.as_deref(), Some("live")))),
                "export_branch" => (
                    "= \"gitbook\"",
                    Box::new(|t| assert_eq!(gitbook(t.unwrap()).export_branch.as_deref(), Some("gitbook"))),
                ),
                "export_mr" => ("= true", Box::new(|t| assert!(gitbook(t.unwrap()).export_mr))),
                "gitbook_edits" => (
                    "= \"overwrite\"",
                    Box::new(|t| assert_eq!(gitbook(t.unwrap()).gitbook_edits, GitBookEdits::Overwrite)),
                ),
                "direction" => ("= \"export\"", Box::new(|t| assert_eq!(t.unwrap().direction, Direction::Export))),
                "previews" => ("= false", Box::new(|t| assert!(!t.unwrap().previews))),
                "wait" => ("= false", Box::new(|t| assert!(!gitbook(t.unwrap()).wait))),
                "wait_timeout" => {
                    ("= \"90s\"", Box::new(|t| assert_eq!(gitbook(t.unwrap()).wait_timeout, Duration::from_secs(90))))
                }
                "start_timeout" => {
                    ("= \"45s\"", Box::new(|t| assert_eq!(gitbook(t.unwrap()).start_timeout, Duration::from_secs(45))))
                }
                "platform_authors" => {
                    ("= [\"docs-bot\"]", Box::new(|t| assert_eq!(t.unwrap().platform_authors, ["docs-bot"])))
                }
                // Keys of the other kind are tried on a dot target below.
                "dot_webhook_url" | "dot_webhook_secret_env" => continue,
                other => panic!("the test does not know the [[target]] key `{other}`: make it work or refuse it"),
            };
            let text = format!("[[target]]\n{base}{key} {line}\n");
            let file = loaded(&text);
            let result = resolve(&GlobalFlags::default(), &env(&vars), Some(&file));
            check(result.as_ref().map(|s| &s.targets[0]).map_err(|e| e.to_string()));
        }
        let text = "[[target]]\nname = \"d\"\nkind = \"dot\"\ndot_webhook_url = \"https://dot.example.com/hook\"\ndot_webhook_secret_env = \"OWN_DOT\"\n";
        let settings = resolve(&GlobalFlags::default(), &env(&vars), Some(&loaded(text))).unwrap();
        match &settings.targets[0].kind {
            TargetKind::Dot(dot) => {
                assert_eq!(dot.webhook_url.as_str(), "https://dot.example.com/hook");
                assert_eq!(dot.secret.as_ref().map(Secret::expose), Some("own-dot-secret"));
            }
            other => panic!("{other:?}"),
        }
    }

    /// Checks what one key did to its target, or the problems it caused.
    type Check<'a> = Box<dyn Fn(Result<&Target, String>) + 'a>;

    fn refused(result: Result<&Target, String>, key: &str) {
        let problems = result.unwrap_err();
        assert!(
            problems.contains(&format!("docsync.toml: line 5, key `{key}`: this setting is one for the whole run")),
            "{problems}"
        );
        assert!(problems.contains("move it") || problems.contains("into [defaults]"), "{problems}");
    }

    /// PRODUCT.md "Several targets": a target's own `*_env`, then the
    /// environment, then [defaults]; a named variable that is unset is exit 2.
    #[test]
    fn secrets_follow_the_settings_precedence_and_named_ones_must_be_set() {
        let file = loaded(
            "[defaults]\ngitbook_token_env = \"SHARED_GB\"\n\n[[target]]\nname = \"own\"\nkind = \"gitbook\"\ngitbook_space = \"spcOwn\"\ngitbook_token_env = \"OWN_GB\"\n\n[[target]]\nname = \"shared\"\nkind = \"gitbook\"\ngitbook_space = \"spcShared\"\n",
        );
        let vars = [
            ("OWN_GB", "own-gitbook-token"),
            ("SHARED_GB", "shared-gitbook-token"),
            ("DOCSYNC_GITBOOK_TOKEN", "environment-token"),
            ("DOCSYNC_GITBOOK_SPACE", "spcEnv"),
        ];
        let settings = resolve(&GlobalFlags::default(), &env(&vars), Some(&file)).unwrap();
        let token = |name: &str| {
            let target = settings.targets.iter().find(|t| t.name == name).unwrap();
            gitbook(target).token.as_ref().map(|t| t.expose().to_owned())
        };
        assert_eq!(token("own").as_deref(), Some("own-gitbook-token"));
        // The environment beats [defaults], for the environment's own target too.
        assert_eq!(token("gitbook").as_deref(), Some("environment-token"));
        assert_eq!(token("shared").as_deref(), Some("environment-token"));
        let settings = resolve(&GlobalFlags::default(), &env(&[vars[0], vars[1]]), Some(&file)).unwrap();
        let target = settings.targets.iter().find(|t| t.name == "shared").unwrap();
        assert_eq!(gitbook(target).token.as_ref().map(Secret::expose), Some("shared-gitbook-token"));

        // Unset named variables: exit 2 naming the key and the variable.
        let problems = resolve(&GlobalFlags::default(), &env(&[]), Some(&file)).unwrap_err().to_string();
        assert!(problems.contains("docsync.toml: line 5, target \"own\": key `gitbook_token_env` = \"OWN_GB\": the variable OWN_GB it names is not set"), "{problems}");
        assert!(problems.contains("docsync.toml: [defaults] key `gitbook_token_env` = \"SHARED_GB\""), "{problems}");
        assert!(problems.contains("fix: set SHARED_GB as a masked CI/CD variable"), "{problems}");
    }

    /// `[defaults] gitbook_space` and `dot_webhook_url` make the `gitbook`
    /// and `dot` targets, as the variables do (which beat them); a
    /// `[[target]]` names its own.
    #[test]
    fn defaults_space_and_webhook_url_make_targets_as_the_variables_do() {
        let file = loaded(
            "[defaults]\ngitbook_space = \"spcDefaults\"\ndot_webhook_url = \"https://dot.example.com/hook\"\nproject_directory = \"docs\"\n",
        );
        let settings = resolve(&GlobalFlags::default(), &env(&[]), Some(&file)).unwrap();
        let names: Vec<&str> = settings.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["gitbook", "dot"]);
        assert_eq!(gitbook(&settings.targets[0]).space, "spcDefaults");
        assert_eq!(settings.targets[0].paths.directory, "docs");
        assert_eq!(settings.targets[0].defined_at, "docsync.toml: key `gitbook_space`");

        let settings =
            resolve(&GlobalFlags::default(), &env(&[("DOCSYNC_GITBOOK_SPACE", "spcEnv")]), Some(&file)).unwrap();
        assert_eq!(settings.targets.len(), 2, "one gitbook target, the variable's");
        assert_eq!(gitbook(&settings.targets[0]).space, "spcEnv");

        let file = loaded(
            "[defaults]\ngitbook_space = \"spcDefaults\"\n\n[[target]]\nname = \"handbook\"\nkind = \"gitbook\"\n",
        );
        let problems = resolve(&GlobalFlags::default(), &env(&[]), Some(&file)).unwrap_err().to_string();
        assert!(
            problems.contains("target \"handbook\": key `gitbook_space`: a GitBook target needs a space"),
            "{problems}"
        );
    }

    #[test]
    fn one_space_is_one_target_however_the_api_url_is_written() {
        let file = loaded(
            "[[target]]\nname = \"a\"\nkind = \"gitbook\"\ngitbook_space = \"s1\"\ngitbook_api_url = \"https://GitBook.example.com:443/v1\"\n\n[[target]]\nname = \"b\"\nkind = \"gitbook\"\ngitbook_space = \"s1\"\ngitbook_api_url = \"https://gitbook.example.com/v1/\"\n",
        );
        let problems = resolve(&GlobalFlags::default(), &env(&[]), Some(&file)).unwrap_err().to_string();
        assert!(problems.contains("GitBook space s1 is also the space of docsync.toml: line 2"), "{problems}");
    }

    #[test]
    fn environment_targets_and_file_targets_share_one_list() {
        let file = loaded(
            "[defaults]\ngitbook_token_env = \"GB_TOKEN\"\n\n[[target]]\nname = \"handbook\"\nkind = \"gitbook\"\ngitbook_space = \"spcA\"\nproject_directory = \"/handbook/\"\n\n[[target]]\nname = \"api\"\nkind = \"dot\"\ndot_webhook_url = \"https://example.invalid/hook\"\nproject_directory = \"api\"\n",
        );
        let settings = resolve(
            &GlobalFlags::default(),
            &env(&[("GB_TOKEN", "gb-token-from-named-var"), ("DOCSYNC_GITBOOK_SPACE", "spcB")]),
            Some(&file),
        )
        .unwrap();
        let names: Vec<&str> = settings.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["handbook", "api", "gitbook"]);
        assert_eq!(settings.targets[0].paths.directory, "handbook");
        match &settings.targets[0].kind {
            TargetKind::GitBook(gitbook) => {
                assert_eq!(gitbook.token.as_ref().map(Secret::expose), Some("gb-token-from-named-var"));
                assert_eq!(gitbook.token_source, "GB_TOKEN");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(settings.targets[1].paths.globs, DOT_DEFAULT_PATHS);
    }

    #[test]
    fn tokens_are_refused_over_plain_http_except_loopback() {
        let problems = resolve_env(&[
            ("DOCSYNC_GITBOOK_SPACE", "spc1"),
            ("DOCSYNC_GITBOOK_TOKEN", "gb-secret-token"),
            ("DOCSYNC_GITBOOK_API_URL", "http://gitbook.example.com/v1"),
        ])
        .unwrap_err()
        .to_string();
        assert!(problems.contains("plain http would send DOCSYNC_GITBOOK_TOKEN unencrypted"), "{problems}");
        assert!(
            resolve_env(&[
                ("DOCSYNC_GITBOOK_SPACE", "spc1"),
                ("DOCSYNC_GITBOOK_TOKEN", "gb-secret-token"),
                ("DOCSYNC_GITBOOK_API_URL", "http://127.0.0.1:4010/v1"),
            ])
            .is_ok()
        );
    }
}
