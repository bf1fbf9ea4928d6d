//! The targets: [`Target`] and its kinds, and how each is built, by kind,
//! from its own `[[target]]` keys over the run's settings, or from the
//! environment's shorthand (`DOCSYNC_GITBOOK_SPACE`,
//! `DOCSYNC_DOT_WEBHOOK_URL`). Apart from [`super::resolve`], which settles
//! the run's settings first and hands them down here.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;

use url::Url;

use crate::error::{BadInput, Source};
use crate::secret::Secret;
use crate::settings::Direction;
use crate::settings::credentials::{refuse_plain_http, shown_webhook_url};
use crate::settings::declarations::{
    BRANCH, DIRECTION, DOT_WEBHOOK_SECRET, DOT_WEBHOOK_URL, EXPORT_BRANCH, EXPORT_MR, GIT_TOKEN, GITBOOK_API_URL,
    GITBOOK_EDITS, GITBOOK_SPACE, GITBOOK_TOKEN, IGNORE, PATHS, PLATFORM_AUTHORS, PREVIEWS, PROJECT_DIRECTORY,
    START_TIMEOUT, Setting, WAIT, WAIT_TIMEOUT,
};
use crate::settings::duration::parse_duration_setting;
use crate::settings::file::{FileTable, checked_target, target_label};
use crate::settings::lookup::{Found, Layers, Own};
use crate::settings::paths::PathFilter;
use crate::settings::pipeline::Pipeline;
use crate::settings::target_id::TargetId;
use crate::settings::values::{normalize_directory, parse_bool, parse_direction, parse_gitbook_edits, parse_url};

pub(crate) const DEFAULT_GITBOOK_API_URL: &str = "https://api.gitbook.com/v1";
/// [`DEFAULT_GITBOOK_API_URL`] parsed once: hundreds of targets use it.
static DEFAULT_GITBOOK_API: LazyLock<Option<Url>> = LazyLock::new(|| Url::parse(DEFAULT_GITBOOK_API_URL).ok());
/// Files the Dot target looks at by default: Markdown and YAML.
pub(crate) const DOT_DEFAULT_PATHS: &[&str] = &["*.md", "*.markdown", "*.yaml", "*.yml"];
pub(super) const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(600);
pub(super) const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(120);
/// Author names or e-mails of commits the platform made itself (GitBook's
/// export commits). Matched case-insensitively.
const DEFAULT_PLATFORM_AUTHORS: &[&str] = &["gitbook-bot", "ghost@gitbook.com"];

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
    /// Where `wait_timeout` came from, for the message when it runs out.
    pub wait_timeout_source: Source,
    /// How long GitBook may take to start our operation before the target
    /// ends `not_started`.
    pub start_timeout: Duration,
    pub start_timeout_source: Source,
}

#[derive(Debug, Clone)]
pub struct DotTarget {
    pub webhook_url: Url,
    /// Where the URL came from, for messages.
    pub webhook_url_source: Source,
    pub secret: Option<Secret>,
    pub secret_source: String,
}

#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant, reason = "one per target, built once per run")]
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
    /// Where a target found in a GitBook site came from (`site …, space
    /// …, directory …`); `None` for a configured one.
    pub discovered_in: Option<String>,
}

/// What every target is built from: the run's layers (flags, environment,
/// file defaults) and the pipeline.
pub(super) struct TargetContext<'a> {
    pub layers: Layers<'a>,
    pub pipeline: &'a Pipeline,
}

/// One target being built: its kind, its own keys (`None` for the run's
/// `gitbook` and `dot` targets, which the run's layers describe alone), and
/// where it was described.
struct TargetBuilder<'a> {
    context: &'a TargetContext<'a>,
    id: TargetId,
    kind: &'static str,
    own: Option<Own<'a>>,
    label: &'a str,
    /// The template of a site's discovered targets: the space comes from
    /// each installation, not from the settings.
    space_from_site: bool,
}

impl TargetContext<'_> {
    /// The targets the run's settings describe, `gitbook` and `dot`: a
    /// space or webhook URL given as a flag, a variable or in `[defaults]`
    /// (first that is set) names a target, unless it fills a `[[target]]`
    /// of that kind that names none (then it is that target's).
    pub(super) fn env_targets(&self, tables: &[FileTable], problems: &mut Vec<BadInput>) -> Vec<Target> {
        let mut targets = Vec::new();
        for (kind, setting) in [("gitbook", &GITBOOK_SPACE), ("dot", &DOT_WEBHOOK_URL)] {
            let Some(found) = self.layers.lookup(setting, None) else { continue };
            let fills_a_target = tables
                .iter()
                .any(|table| table.kind.as_ref().is_some_and(|(k, _)| k == kind) && table.get(setting).is_none());
            if fills_a_target {
                continue;
            }
            let label = found.source.to_string();
            let id = if kind == "gitbook" { TargetId::GitBookShorthand } else { TargetId::DotShorthand };
            let builder = TargetBuilder { context: self, id, kind, own: None, label: &label, space_from_site: false };
            if let Some(target) = builder.build(kind, problems) {
                targets.push(target);
            }
        }
        targets
    }

    /// The targets the file's `[[target]]` tables describe, each once its
    /// keys pass the file's rules.
    pub(super) fn file_targets(&self, tables: &[FileTable], problems: &mut Vec<BadInput>) -> Vec<Target> {
        // A target is large: growing the list would copy hundreds of them.
        let mut targets = Vec::with_capacity(tables.len());
        for (index, table) in tables.iter().enumerate() {
            let Some((name, label)) = checked_target(self.layers.file_name, index, table, problems) else { continue };
            let Some(kind) = target_kind(table, &label, problems) else { continue };
            let own = Own { table, target: target_label(index, table) };
            let builder = TargetBuilder {
                context: self,
                id: TargetId::Table(index),
                kind,
                own: Some(own),
                label: &label,
                space_from_site: false,
            };
            if let Some(target) = builder.build(&name, problems) {
                targets.push(target);
            }
        }
        targets
    }

    /// What a site's discovered GitBook targets are built from: the run's
    /// layers alone (a `[[target]]` for a discovered space replaces it
    /// whole), with the space left empty. `None` when a setting is refused.
    pub(super) fn discovery_template(&self, label: &str, problems: &mut Vec<BadInput>) -> Option<Target> {
        // Each discovered target gets its own id when it is made from this.
        let id = TargetId::Discovered(0);
        let builder = TargetBuilder { context: self, id, kind: "gitbook", own: None, label, space_from_site: true };
        builder.build("", problems)
    }

    /// The run's values of the settings every target reads, checked once
    /// even while no target uses them: they would break the day one does.
    pub(super) fn check_run_values(&self, problems: &mut Vec<BadInput>) {
        let builder = TargetBuilder {
            context: self,
            id: TargetId::GitBookShorthand,
            kind: "gitbook",
            own: None,
            label: "",
            space_from_site: false,
        };
        builder.direction(problems);
        builder.flag(&PREVIEWS, true, problems);
        builder.flag(&WAIT, true, problems);
        builder.duration(&WAIT_TIMEOUT, DEFAULT_WAIT_TIMEOUT, problems);
        builder.duration(&START_TIMEOUT, DEFAULT_START_TIMEOUT, problems);
    }
}

/// `gitbook` or `dot`, from the `kind` key.
fn target_kind(table: &FileTable, label: &str, problems: &mut Vec<BadInput>) -> Option<&'static str> {
    match table.kind.as_ref().map(|(kind, _)| kind.as_str()) {
        Some("gitbook") => Some("gitbook"),
        Some("dot") => Some("dot"),
        Some(other) => {
            problems.push(
                BadInput::new(
                    format!("{label}: key `kind`"),
                    "unknown target kind",
                    "use kind = \"gitbook\" or kind = \"dot\"",
                )
                .with_value(other),
            );
            None
        }
        None => {
            problems.push(BadInput::new(
                format!("{label}: key `kind`"),
                "every target needs a kind",
                "add kind = \"gitbook\" or kind = \"dot\"",
            ));
            None
        }
    }
}

impl TargetBuilder<'_> {
    /// The setting through the one layered lookup: the target's own key
    /// first, then the run's layers.
    fn lookup(&self, setting: &Setting) -> Option<Found> {
        self.context.layers.lookup(setting, self.own.as_ref())
    }

    /// A key the target lacks, for messages.
    fn missing_key(&self, setting: &Setting) -> Source {
        match &self.own {
            Some(_) => Source::Input(format!("{}: key `{}`", self.label, setting.key.unwrap_or(setting.name))),
            None => Source::Input(self.label.to_owned()),
        }
    }

    /// Builds the target; `None` when any of its settings is refused (the
    /// problems say why).
    fn build(&self, name: &str, problems: &mut Vec<BadInput>) -> Option<Target> {
        let before = problems.len();
        let directory = self.directory(problems);
        let branch = self
            .lookup(&BRANCH)
            .map(|found| found.text())
            .or_else(|| self.context.pipeline.ci.as_ref().and_then(|ci| ci.default_branch.clone()));
        let platform_authors = match self.lookup(&PLATFORM_AUTHORS) {
            Some(found) => found.list(),
            None => DEFAULT_PLATFORM_AUTHORS.iter().map(|s| (*s).to_owned()).collect(),
        };
        // A Dot target takes the run's direction and previews (its own
        // keys for them are refused): the plan says what a Dot target
        // does with them.
        let direction = self.direction(problems);
        let previews = self.flag(&PREVIEWS, true, problems);
        let kind = if self.kind == "gitbook" {
            TargetKind::GitBook(self.gitbook(problems)?)
        } else {
            TargetKind::Dot(self.dot(problems)?)
        };
        let ignore = self.ignore_filter(directory.as_deref(), problems);
        let paths = self.path_filter(directory, problems);
        if problems.len() > before {
            return None;
        }
        Some(Target {
            id: self.id,
            name: name.to_owned(),
            defined_at: self.label.to_owned(),
            branch,
            paths: paths?,
            ignore,
            direction: direction?,
            previews: previews?,
            platform_authors,
            kind,
            discovered_in: None,
        })
    }

    fn direction(&self, problems: &mut Vec<BadInput>) -> Option<Direction> {
        match self.lookup(&DIRECTION) {
            Some(found) => parse_direction(&found.text(), &found.source, problems),
            None => Some(Direction::Import),
        }
    }

    fn flag(&self, setting: &Setting, default: bool, problems: &mut Vec<BadInput>) -> Option<bool> {
        match self.lookup(setting) {
            Some(found) => parse_bool(&found.text(), &found.source, problems),
            None => Some(default),
        }
    }

    /// A duration and where it came from (the variable that would change
    /// it, for the built-in default).
    fn duration(
        &self,
        setting: &Setting,
        default: Duration,
        problems: &mut Vec<BadInput>,
    ) -> Option<(Duration, Source)> {
        match self.lookup(setting) {
            Some(found) => parse_duration_setting(&found.text(), &found.source, problems).map(|d| (d, found.source)),
            None => Some((default, Source::Default { variable: setting.variable })),
        }
    }

    /// The docs root, normalised; `None` when it is refused.
    fn directory(&self, problems: &mut Vec<BadInput>) -> Option<String> {
        match self.lookup(&PROJECT_DIRECTORY) {
            Some(found) => normalize_directory(&found.text(), &found.source, problems),
            None => Some(String::new()),
        }
    }

    /// The `ignore` globs as a filter over the target's directory; `None`
    /// when there are none, or they or the directory are refused.
    fn ignore_filter(&self, directory: Option<&str>, problems: &mut Vec<BadInput>) -> Option<PathFilter> {
        let found = self.lookup(&IGNORE)?;
        let globs = found.list();
        if globs.is_empty() {
            return None;
        }
        PathFilter::checked(directory?.to_owned(), globs, found.source, ".github/** or drafts/*.md")
            .map_err(|problem| problems.push(problem))
            .ok()
    }

    /// The directory and the `paths` globs as one filter (Markdown and YAML
    /// for a Dot target by default, every file for a GitBook target); an
    /// empty list is refused: it would match no file, or read as "every
    /// file". `None` when either is refused.
    fn path_filter(&self, directory: Option<String>, problems: &mut Vec<BadInput>) -> Option<PathFilter> {
        let (globs, source) = match self.lookup(&PATHS) {
            Some(found) => (found.list(), found.source),
            None if self.kind == "dot" => (
                DOT_DEFAULT_PATHS.iter().map(|s| (*s).to_owned()).collect(),
                Source::Default { variable: PATHS.variable },
            ),
            None => (Vec::new(), Source::Default { variable: PATHS.variable }),
        };
        if globs.is_empty() && !matches!(source, Source::Default { .. }) {
            problems.push(BadInput::new(
                source,
                "an empty list of globs matches no file",
                "list the globs of the docs files, like [\"*.md\"], or remove the setting to use the default",
            ));
            return None;
        }
        PathFilter::checked(directory?, globs, source, "*.md or guides/**/*.md")
            .map_err(|problem| problems.push(problem))
            .ok()
    }

    /// A GitBook target's own settings; `None` when its space or API URL is
    /// unusable (the problems say why).
    fn gitbook(&self, problems: &mut Vec<BadInput>) -> Option<GitBookTarget> {
        let own = self.own.as_ref();
        let layers = &self.context.layers;
        let space = if self.space_from_site { Some(String::new()) } else { self.gitbook_space(problems) };
        let (api_url, api_url_source) = match self.lookup(&GITBOOK_API_URL) {
            Some(found) => (parse_url(&found.text(), &found.source, problems), found.source),
            None => (DEFAULT_GITBOOK_API.clone(), Source::Default { variable: GITBOOK_API_URL.variable }),
        };
        let (token, token_source) = layers.secret(&GITBOOK_TOKEN, own, problems);
        let (git_token, git_token_source) = layers.secret(&GIT_TOKEN, own, problems);
        if let (Some(url), Some(_)) = (&api_url, &token) {
            refuse_plain_http(url, crate::secret::redact_url, &api_url_source, &token_source, problems);
        }
        let export_branch = self.lookup(&EXPORT_BRANCH).map(|found| found.text());
        let export_mr = self.flag(&EXPORT_MR, false, problems);
        let gitbook_edits = match self.lookup(&GITBOOK_EDITS) {
            Some(found) => parse_gitbook_edits(&found.text(), &found.source, problems),
            None => Some(GitBookEdits::Refuse),
        };
        let wait = self.flag(&WAIT, true, problems);
        let wait_timeout = self.duration(&WAIT_TIMEOUT, DEFAULT_WAIT_TIMEOUT, problems);
        let start_timeout = self.duration(&START_TIMEOUT, DEFAULT_START_TIMEOUT, problems);
        let (wait_timeout, wait_timeout_source) = wait_timeout?;
        let (start_timeout, start_timeout_source) = start_timeout?;
        Some(GitBookTarget {
            space: space?,
            api_url: api_url?,
            token,
            token_source,
            git_token,
            git_token_source,
            export_branch,
            export_mr: export_mr?,
            gitbook_edits: gitbook_edits?,
            wait: wait?,
            wait_timeout,
            wait_timeout_source,
            start_timeout,
            start_timeout_source,
        })
    }

    /// The GitBook space id: the target's own, else the run's (flag,
    /// variable, `[defaults]`).
    fn gitbook_space(&self, problems: &mut Vec<BadInput>) -> Option<String> {
        match self.lookup(&GITBOOK_SPACE) {
            Some(found) if valid_space(&found.text()) => Some(found.text()),
            Some(found) => {
                problems.push(
                    BadInput::new(
                        &found.source,
                        "not a GitBook space id",
                        "copy the id from the space's URL: app.gitbook.com/o/…/s/<space id>",
                    )
                    .with_value(found.text()),
                );
                None
            }
            None => {
                problems.push(BadInput::new(
                    self.missing_key(&GITBOOK_SPACE),
                    "a GitBook target needs a space",
                    "set gitbook_space = \"<space id>\"",
                ));
                None
            }
        }
    }

    /// A Dot target's own settings; `None` when it has no usable webhook URL.
    fn dot(&self, problems: &mut Vec<BadInput>) -> Option<DotTarget> {
        let Some(found) = self.lookup(&DOT_WEBHOOK_URL) else {
            problems.push(BadInput::new(
                self.missing_key(&DOT_WEBHOOK_URL),
                "a dot target needs a webhook URL",
                "set dot_webhook_url = \"https://…\"",
            ));
            return None;
        };
        let url = parse_url(&found.text(), &found.source, problems);
        let (secret, secret_source) = self.context.layers.secret(&DOT_WEBHOOK_SECRET, self.own.as_ref(), problems);
        if let (Some(url), Some(_)) = (&url, &secret) {
            refuse_plain_http(url, shown_webhook_url, &found.source, &secret_source, problems);
        }
        Some(DotTarget { webhook_url: url?, webhook_url_source: found.source, secret, secret_source })
    }
}

pub(super) fn check_unique(targets: &[Target], problems: &mut Vec<BadInput>) {
    // File targets are named by file, line and key; the run's `gitbook` and
    // `dot` by the flag, variable or `[defaults]` key that made them.
    let source = |target: &Target, key: &str| {
        if target.defined_at.starts_with("DOCSYNC_")
            || target.defined_at.starts_with("--")
            || target.defined_at.contains(", key `")
        {
            target.defined_at.clone()
        } else {
            format!("{}, key `{key}`", target.defined_at)
        }
    };
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    // Keys borrowed from the targets, the space first (it tells hundreds
    // of targets on one API apart at once).
    let mut spaces: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    let mut webhooks: BTreeMap<&str, &str> = BTreeMap::new();
    for target in targets {
        if let Some(first) = names.insert(target.name.as_str(), target.defined_at.as_str()) {
            problems.push(BadInput::new(
                source(target, "name"),
                format!("two targets are named \"{}\" (the first at {first})", target.name),
                "give every target its own name (the environment's targets are named `gitbook` and `dot`)",
            ));
        }
        match &target.kind {
            TargetKind::GitBook(gitbook) => {
                // `…/v1` and `…/v1/` are one API (the url crate already folds
                // the host's case and a default port).
                let key = (gitbook.space.as_str(), gitbook.api_url.as_str().trim_end_matches('/'));
                if let Some(first) = spaces.insert(key, target.defined_at.as_str()) {
                    problems.push(BadInput::new(
                        source(target, "gitbook_space"),
                        format!("GitBook space {} is also the space of {first}", gitbook.space),
                        "a space syncs from one directory: remove one of the two targets",
                    ));
                }
            }
            TargetKind::Dot(dot) => {
                // One receiver given one push twice would act on it twice.
                let key = dot.webhook_url.as_str().trim_end_matches('/');
                if let Some(first) = webhooks.insert(key, target.defined_at.as_str()) {
                    problems.push(
                        BadInput::new(
                            source(target, "dot_webhook_url"),
                            format!("the webhook URL is also the URL of {first}"),
                            "a receiver takes each push once: remove one of the two targets, or give it its own URL",
                        )
                        .with_value(shown_webhook_url(&dot.webhook_url)),
                    );
                }
            }
        }
    }
}

pub(super) fn valid_space(space: &str) -> bool {
    !space.is_empty()
        && space.len() <= 128
        && space.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::secret::Secret;
    use crate::settings::GitBookEdits;
    use crate::settings::flags::GlobalFlags;
    use crate::settings::resolve::resolve;
    use crate::settings::target::DOT_DEFAULT_PATHS;
    use crate::settings::test_inputs::{env, gitbook, loaded, resolve_env};
    use crate::settings::{Direction, Target, TargetKind};

    /// Every key a [[target]] accepts either works for that target or is
    /// refused with its line: nothing is accepted and then ignored.
    #[test]
    fn every_target_key_works_for_its_target_or_is_refused() {
        // The keys the file reader accepts in a [[target]]: the declared
        // ones, a target's identity, and inline secrets (to refuse them).
        let keys: Vec<&str> = crate::settings::declarations::ALL
            .iter()
            .filter_map(|setting| setting.key)
            .chain(["name", "kind", "gitbook_token", "git_token", "dot_webhook_secret", "gitlab_token"])
            .collect();
        assert!(keys.len() > 20, "{keys:?}");

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
                "gitbook_site" => ("= \"site1\"", Box::new(|t| refused(t, "gitbook_site"))),
                "gitbook_organization" => ("= \"org1\"", Box::new(|t| refused(t, "gitbook_organization"))),
                "report" => ("= \"x.env\"", Box::new(|t| refused(t, "report"))),
                "report_json" => ("= \"x.json\"", Box::new(|t| refused(t, "report_json"))),
                "lint" => ("= \"warn\"", Box::new(|t| refused(t, "lint"))),
                "codequality" => ("= \"cq.json\"", Box::new(|t| refused(t, "codequality"))),
                "review_comments" => ("= false", Box::new(|t| refused(t, "review_comments"))),
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
        assert!(problems.contains("docsync.toml: line 8, target \"own\", key `gitbook_token_env` = \"OWN_GB\": the variable OWN_GB it names is not set"), "{problems}");
        assert!(problems.contains("docsync.toml: line 2, key `gitbook_token_env` = \"SHARED_GB\""), "{problems}");
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
        assert_eq!(settings.targets[0].defined_at, "docsync.toml: line 2, key `gitbook_space`");

        let settings =
            resolve(&GlobalFlags::default(), &env(&[("DOCSYNC_GITBOOK_SPACE", "spcEnv")]), Some(&file)).unwrap();
        assert_eq!(settings.targets.len(), 2, "one gitbook target, the variable's");
        assert_eq!(gitbook(&settings.targets[0]).space, "spcEnv");

        // A GitBook [[target]] without a space takes the run's: it is that
        // target's, and makes no `gitbook` target besides.
        let file = loaded(
            "[defaults]\ngitbook_space = \"spcDefaults\"\n\n[[target]]\nname = \"handbook\"\nkind = \"gitbook\"\n",
        );
        let settings = resolve(&GlobalFlags::default(), &env(&[]), Some(&file)).unwrap();
        let spaces: Vec<(&str, &str)> =
            settings.targets.iter().map(|t| (t.name.as_str(), gitbook(t).space.as_str())).collect();
        assert_eq!(spaces, [("handbook", "spcDefaults")]);
        let settings =
            resolve(&GlobalFlags::default(), &env(&[("DOCSYNC_GITBOOK_SPACE", "spcEnv")]), Some(&file)).unwrap();
        let spaces: Vec<(&str, &str)> =
            settings.targets.iter().map(|t| (t.name.as_str(), gitbook(t).space.as_str())).collect();
        assert_eq!(spaces, [("handbook", "spcEnv")]);
        let file = loaded("[[target]]\nname = \"handbook\"\nkind = \"gitbook\"\n");
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
