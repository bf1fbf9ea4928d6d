//! [`resolve`]: every input (flags, the captured environment, the read
//! file) turned into validated [`Settings`], or every problem found. Pure,
//! and in named steps, in the order their problems are reported: the run's
//! settings that targets read too, HTTP and polling, the outputs, GitLab,
//! the commit range, then the targets (built in [`super::target`]). Every
//! value goes through the one layered lookup (`lookup.rs`) by its
//! declaration (`declarations.rs`).

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{BadInput, BadInputs, Source};
use crate::http::{HttpSettings, RetryPolicy};
use crate::settings::credentials;
use crate::settings::declarations::{
    CODEQUALITY, CONCURRENCY, FETCH_TIMEOUT, FROM, GITBOOK_API_URL, GITBOOK_ORGANIZATION, GITBOOK_SITE, GITLAB_TOKEN,
    GITLAB_URL, HTTP_TIMEOUT, IGNORE, LINT, POLL_INTERVAL, PROJECT_DIRECTORY, REPORT, REPORT_JSON, RETRIES,
    RETRY_DELAY, REVIEW_COMMENTS, Setting, TO,
};
use crate::settings::duration::parse_duration_setting;
use crate::settings::environment::Environment;
use crate::settings::file::{FileConfig, LoadedFile, check_defaults_table, refuse_keys_rules_cannot_read};
use crate::settings::flags::GlobalFlags;
use crate::settings::lookup::{Found, Layers};
use crate::settings::pipeline::{Pipeline, non_empty};
use crate::settings::target::{Target, TargetContext, TargetKind, check_unique, valid_space};
use crate::settings::values::{
    normalize_directory, parse_bool, parse_concurrency, parse_lint, parse_retries, parse_url,
};
use crate::settings::{Discovery, GitLabSettings, LintMode, ProjectDirectory, ReportPath, Settings};

pub(crate) const DEFAULT_REPORT_IN_CI: &str = "docsync.env";
pub(crate) const DEFAULT_REPORT_JSON_IN_CI: &str = "docsync.json";
pub(crate) const DEFAULT_CODEQUALITY_IN_CI: &str = "gl-code-quality-report.json";
const DEFAULT_CONCURRENCY: usize = 8;
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Turns every input into validated settings, or every problem found.
/// Pure: the file is already read, the environment already captured.
pub(crate) fn resolve(
    flags: &GlobalFlags,
    env: &Environment,
    file: Option<&LoadedFile>,
) -> Result<Settings, BadInputs> {
    let mut problems = Vec::new();
    let pipeline = Pipeline::from_env(&env.ci).unwrap_or_else(|found| {
        problems.extend(found);
        Pipeline::default()
    });
    let empty = FileConfig::default();
    let file_config = file.map_or(&empty, |f| &f.config);
    let file_name = file.map(|f| f.path.display().to_string()).unwrap_or_default();
    if file.is_some() {
        check_defaults_table(&file_name, &file_config.defaults, &mut problems);
    }
    if non_empty(&env.docsync.component).is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        refuse_keys_rules_cannot_read(&file_name, file_config, &mut problems);
    }

    let layers = Layers { flags: &flags.settings, env, defaults: &file_config.defaults, file_name: &file_name };
    let run = RunLayers { layers };
    let context = TargetContext { layers, pipeline: &pipeline };
    context.check_run_values(&mut problems);
    let project_directory = run.project_directory(&mut problems);
    let (http, poll_interval) = run.http(&pipeline, &mut problems);
    let outputs = run.outputs(pipeline.ci.is_some(), &mut problems);
    let gitlab = run.gitlab(&pipeline, &mut problems);
    let (from, to) = run.revisions(&mut problems);
    let targets = run.targets(&context, file_config, &mut problems);
    let discovery = run.discovery(&context, &mut problems);
    // With a GitBook site, `--target` may name a target found there: it is
    // applied once discovery has added them (`select_discovered`).
    let targets = match discovery {
        Some(_) => targets,
        None => select_targets(&flags.targets, targets, &mut problems),
    };
    for warning in env.unknown_variable_warnings().into_iter().chain(run.gitlab_url_in_ci(&pipeline)) {
        tracing::warn!("{warning}");
    }

    let mut settings = Settings {
        format: flags.format.unwrap_or_default(),
        dry_run: flags.dry_run,
        force: flags.force,
        from,
        to,
        pipeline,
        poll_interval,
        http,
        report: outputs.report,
        lint: outputs.lint,
        codequality: outputs.codequality,
        report_json: outputs.report_json,
        gitlab,
        targets,
        discovery,
        project_directory,
        git_dir: env.git_dir.as_ref().map(PathBuf::from),
        git_work_tree: env.git_work_tree.as_ref().map(PathBuf::from),
    };
    problems.extend(credentials::check(&mut settings));
    // The run and each target read the same layers for some settings (the
    // project directory, the wait timeout): one bad value, one problem.
    let mut said = std::collections::HashSet::new();
    problems.retain(|problem| said.insert(problem.to_string()));
    if !problems.is_empty() {
        return Err(BadInputs(problems));
    }
    Ok(settings)
}

/// The run-wide layers of every setting: flags, `DOCSYNC_` variables and
/// the file's `[defaults]`.
struct RunLayers<'a> {
    layers: Layers<'a>,
}

/// Where the run's results go, and what the pre-flight does.
struct Outputs {
    report: Option<ReportPath>,
    report_json: Option<ReportPath>,
    lint: LintMode,
    codequality: Option<ReportPath>,
}

impl RunLayers<'_> {
    /// Flag, environment, file defaults (the built-in default is the caller's).
    fn layered(&self, setting: &Setting) -> Option<Found> {
        self.layers.lookup(setting, None)
    }

    /// The run's project directory, refused like a target's when it leaves
    /// the repository: `lint` without a target checks it.
    fn project_directory(&self, problems: &mut Vec<BadInput>) -> ProjectDirectory {
        let ignore = match self.layered(&IGNORE) {
            Some(found) => {
                match crate::settings::PathFilter::checked(
                    String::new(),
                    found.list(),
                    found.source,
                    ".github/** or drafts/*.md",
                ) {
                    Ok(filter) => filter.globs,
                    Err(problem) => {
                        problems.push(problem);
                        Vec::new()
                    }
                }
            }
            None => Vec::new(),
        };
        let mut directory = match self.layered(&PROJECT_DIRECTORY) {
            Some(found) => ProjectDirectory {
                path: normalize_directory(&found.text(), &found.source, problems).unwrap_or_default(),
                source: Some(found.source.to_string()),
                ignore: Vec::new(),
            },
            None => ProjectDirectory::default(),
        };
        directory.ignore = ignore;
        directory
    }

    /// A duration setting's value, or the built-in default when no layer sets it.
    fn duration(&self, setting: &Setting, default: Duration, problems: &mut Vec<BadInput>) -> Duration {
        self.layered(setting)
            .map_or(Some(default), |found| parse_duration_setting(&found.text(), &found.source, problems))
            .unwrap_or(default)
    }

    /// The one HTTP client's settings (request budget, timeout, retries, CA
    /// files), and how often GitBook's operation state is read.
    fn http(&self, pipeline: &Pipeline, problems: &mut Vec<BadInput>) -> (HttpSettings, Duration) {
        let concurrency = self
            .layered(&CONCURRENCY)
            .map_or(Some(DEFAULT_CONCURRENCY), |found| parse_concurrency(&found.text(), &found.source, problems));
        let http_defaults = HttpSettings::default();
        let poll_interval = self.duration(&POLL_INTERVAL, DEFAULT_POLL_INTERVAL, problems);
        let http_timeout = self.duration(&HTTP_TIMEOUT, http_defaults.timeout, problems);
        let retry_delay = self.duration(&RETRY_DELAY, http_defaults.retry.base_delay, problems);
        let fetch_timeout = self.duration(&FETCH_TIMEOUT, http_defaults.fetch_budget, problems);
        let retries = self
            .layered(&RETRIES)
            .map_or(Some(http_defaults.retry.retries), |found| parse_retries(&found.text(), &found.source, problems));
        let http = HttpSettings {
            timeout: http_timeout,
            connect_timeout: http_defaults.connect_timeout,
            retry: RetryPolicy {
                retries: retries.unwrap_or(http_defaults.retry.retries),
                base_delay: retry_delay,
                ..http_defaults.retry
            },
            ca_files: self.ca_files(pipeline),
            max_in_flight: concurrency.unwrap_or(DEFAULT_CONCURRENCY),
            fetch_budget: fetch_timeout,
        };
        (http, poll_interval)
    }

    /// The CA certificates to trust besides the system's, with the variable
    /// that names each.
    fn ca_files(&self, pipeline: &Pipeline) -> Vec<(String, String)> {
        let mut ca_files = Vec::new();
        if let Some(path) = &pipeline.tls_ca_file {
            ca_files.push(("CI_SERVER_TLS_CA_FILE".to_owned(), path.clone()));
        }
        if let Some(path) = &self.layers.env.ssl_cert_file {
            ca_files.push(("SSL_CERT_FILE".to_owned(), path.clone()));
        }
        ca_files
    }

    /// A report's path: `none`/`false` turn it off; unset, it is written by
    /// default in CI only.
    fn report_path(&self, setting: &Setting, default_in_ci: &str, in_ci: bool) -> Option<ReportPath> {
        match self.layered(setting) {
            Some(found) if found.text().eq_ignore_ascii_case("none") || found.text().eq_ignore_ascii_case("false") => {
                None
            }
            Some(found) => Some(ReportPath { path: PathBuf::from(found.text()), source: found.source }),
            None if in_ci => Some(ReportPath {
                path: PathBuf::from(default_in_ci),
                source: Source::Default { variable: setting.variable },
            }),
            None => None,
        }
    }

    /// The reports (written by default in CI) and the pre-flight's mode.
    fn outputs(&self, in_ci: bool, problems: &mut Vec<BadInput>) -> Outputs {
        let lint = self
            .layered(&LINT)
            .map_or(Some(LintMode::Error), |found| parse_lint(&found.text(), &found.source, problems));
        Outputs {
            report: self.report_path(&REPORT, DEFAULT_REPORT_IN_CI, in_ci),
            report_json: self.report_path(&REPORT_JSON, DEFAULT_REPORT_JSON_IN_CI, in_ci),
            lint: lint.unwrap_or_default(),
            codequality: self.report_path(&CODEQUALITY, DEFAULT_CODEQUALITY_IN_CI, in_ci),
        }
    }

    /// The GitLab instance and its API token.
    fn gitlab(&self, pipeline: &Pipeline, problems: &mut Vec<BadInput>) -> GitLabSettings {
        let (value, url_source) = match self.layered(&GITLAB_URL) {
            Some(found) => (Some(found.text()), found.source),
            None => (pipeline.server_url.clone(), Source::Variable("CI_SERVER_URL".to_owned())),
        };
        let url = value.and_then(|value| parse_url(&value, &url_source, problems));
        let (token, token_source) = self.layers.secret(&GITLAB_TOKEN, None, problems);
        let url_source = url.is_some().then_some(url_source);
        // Threads need a token to be written with: on by default when one is set.
        let review_comments = self
            .layered(&REVIEW_COMMENTS)
            .map_or(Some(token.is_some()), |found| parse_bool(&found.text(), &found.source, problems))
            .unwrap_or_default();
        GitLabSettings { url, url_source, token, token_source, plain_http: false, review_comments }
    }

    /// In CI the job's own instance (`CI_SERVER_URL`) is the one docsync
    /// talks to: a `gitlab_url` of another instance is a warning, not an
    /// error, as a `[defaults] gitlab_url` for local runs is shared with CI.
    fn gitlab_url_in_ci(&self, pipeline: &Pipeline) -> Option<String> {
        pipeline.ci.as_ref()?;
        let found = self.layered(&GITLAB_URL)?;
        let given = url::Url::parse(&found.text()).ok()?;
        let server = pipeline.server_url.as_deref().and_then(|url| url::Url::parse(url).ok());
        if server.as_ref().is_some_and(|server| server.origin() == given.origin()) {
            return None;
        }
        Some(format!(
            "{} ({}) is ignored in CI: the job talks to its own instance, CI_SERVER_URL{}",
            found.source,
            crate::secret::redact_url(&given),
            server.map(|server| format!(" ({})", crate::secret::redact_url(&server))).unwrap_or_default()
        ))
    }

    /// `--from` and `--to` (or `DOCSYNC_FROM`, `DOCSYNC_TO`), which must look
    /// like revisions.
    fn revisions(&self, problems: &mut Vec<BadInput>) -> (Option<String>, Option<String>) {
        let mut revision = |setting: &Setting| {
            let found = self.layered(setting)?;
            let value = found.text();
            if value.trim().is_empty() || value.starts_with('-') {
                problems.push(
                    BadInput::new(
                        found.source,
                        "not a revision",
                        "give a commit SHA, branch, tag or expression like HEAD~3",
                    )
                    .with_value(value.clone()),
                );
            }
            Some(value)
        };
        (revision(&FROM), revision(&TO))
    }

    /// Every target, from the file then the environment, each space and
    /// name once.
    fn targets(&self, context: &TargetContext<'_>, file: &FileConfig, problems: &mut Vec<BadInput>) -> Vec<Target> {
        let mut targets = context.file_targets(&file.target, problems);
        targets.extend(context.env_targets(&file.target, problems));
        // A bad API URL is an error even while no GitBook target uses it: it
        // would silently break the day a space is added.
        if !targets.iter().any(|t| matches!(t.kind, TargetKind::GitBook(_))) {
            if let Some(found) = self.layered(&GITBOOK_API_URL) {
                if !matches!(found.source, Source::FileDefaults { .. }) {
                    parse_url(&found.text(), found.source, problems);
                }
            }
        }
        check_unique(&targets, problems);
        targets
    }
}

impl RunLayers<'_> {
    /// The GitBook site whose spaces become targets: its id and its
    /// organization's, both or neither.
    fn discovery(&self, context: &TargetContext<'_>, problems: &mut Vec<BadInput>) -> Option<Discovery> {
        let id = |setting: &Setting, problems: &mut Vec<BadInput>| {
            let found = self.layered(setting)?;
            let text = found.text();
            if valid_space(&text) {
                return Some((text, found.source));
            }
            problems.push(
                BadInput::new(
                    &found.source,
                    format!("not a GitBook {} id", setting.name.trim_start_matches("gitbook_")),
                    "copy the id from the site's URL in GitBook: app.gitbook.com/o/<organization id>/sites/<site id>",
                )
                .with_value(text),
            );
            None
        };
        let site = id(&GITBOOK_SITE, problems);
        let organization = id(&GITBOOK_ORGANIZATION, problems);
        let ((site, source), (organization, _)) = match (site, organization) {
            (Some(site), Some(organization)) => (site, organization),
            (None, None) => return None,
            (given, missing) => {
                // A refused value already said so; only a missing one is new.
                let (given_source, wanted) = match (&given, &missing) {
                    (Some((_, source)), None) => (source, &GITBOOK_ORGANIZATION),
                    (None, Some((_, source))) => (source, &GITBOOK_SITE),
                    _ => return None,
                };
                if self.layered(wanted).is_none() {
                    problems.push(BadInput::new(
                        wanted.variable,
                        format!("{given_source} is set but {} is not: discovery needs both", wanted.variable),
                        format!(
                            "set {} (or --{}, or `{}` in [defaults]) too, or unset {given_source}",
                            wanted.variable,
                            wanted.flag.unwrap_or_default(),
                            wanted.key.unwrap_or_default()
                        ),
                    ));
                }
                return None;
            }
        };
        let label = format!("discovered in site {site} ({source})");
        let template = context.discovery_template(&label, problems)?;
        Some(Discovery { organization, site, template })
    }
}

/// `--target` over the configured and the discovered targets, once the
/// site's targets are known.
pub(crate) fn select_discovered(settings: &mut Settings, wanted: &[String]) -> Result<(), BadInputs> {
    let mut problems = Vec::new();
    settings.targets = select_targets(wanted, std::mem::take(&mut settings.targets), &mut problems);
    match problems.is_empty() {
        true => Ok(()),
        false => Err(BadInputs(problems)),
    }
}

/// The targets `--target` names (all when it names none); a name no target
/// has is a problem listing the known ones.
fn select_targets(wanted: &[String], mut targets: Vec<Target>, problems: &mut Vec<BadInput>) -> Vec<Target> {
    for name in wanted {
        if !targets.iter().any(|t| &t.name == name) {
            let known: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
            problems.push(
                BadInput::new(
                    "--target",
                    "no target has this name",
                    if known.is_empty() {
                        "configure a target first (DOCSYNC_GITBOOK_SPACE, DOCSYNC_DOT_WEBHOOK_URL or docsync.toml)"
                            .to_owned()
                    } else {
                        format!("use one of: {}", known.join(", "))
                    },
                )
                .with_value(name.clone()),
            );
        }
    }
    if !wanted.is_empty() {
        targets.retain(|t| wanted.contains(&t.name));
    }
    targets
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use crate::settings::Direction;
    use crate::settings::declarations;
    use crate::settings::flags::GlobalFlags;
    use crate::settings::resolve::resolve;
    use crate::settings::test_inputs::{env, gitbook, loaded, resolve_env};
    use crate::settings::values::split_list;

    #[test]
    fn defaults_without_any_configuration() {
        let settings = resolve_env(&[]).unwrap();
        assert!(settings.targets.is_empty());
        assert_eq!(settings.http.max_in_flight, 8);
        assert_eq!(settings.report, None);
        let settings = resolve_env(&[("DOCSYNC_GITBOOK_SPACE", "spc1")]).unwrap();
        let target = &settings.targets[0];
        assert_eq!(target.direction, Direction::Import);
        assert!(target.previews && gitbook(target).wait);
        assert_eq!(gitbook(target).wait_timeout, Duration::from_secs(600));
        assert_eq!(gitbook(target).start_timeout, Duration::from_secs(120));
        assert_eq!(settings.report_json, None);
    }

    #[test]
    fn start_timeout_and_json_report_layer_like_every_setting() {
        let file = loaded(
            "[defaults]\nstart_timeout = \"5m\"\nreport_json = \"from-file.json\"\n\n[[target]]\nname = \"docs\"\nkind = \"gitbook\"\ngitbook_space = \"spc1\"\n",
        );
        let settings = resolve(&GlobalFlags::default(), &env(&[]), Some(&file)).unwrap();
        assert_eq!(gitbook(&settings.targets[0]).start_timeout, Duration::from_secs(300));
        assert_eq!(settings.report_json.map(|r| r.path), Some(PathBuf::from("from-file.json")));
        let mut flags = GlobalFlags::default();
        flags.settings.set(&declarations::START_TIMEOUT, "30s");
        let settings =
            resolve(&flags, &env(&[("DOCSYNC_START_TIMEOUT", "1m"), ("DOCSYNC_REPORT_JSON", "env.json")]), Some(&file))
                .unwrap();
        assert_eq!(gitbook(&settings.targets[0]).start_timeout, Duration::from_secs(30));
        let report_json = settings.report_json.unwrap();
        assert_eq!(
            (report_json.path, report_json.source.to_string().as_str()),
            (PathBuf::from("env.json"), "DOCSYNC_REPORT_JSON")
        );
        let problems = resolve_env(&[("DOCSYNC_START_TIMEOUT", "soon")]).unwrap_err().to_string();
        assert!(problems.contains("DOCSYNC_START_TIMEOUT = \"soon\": not a duration"), "{problems}");
    }

    #[test]
    fn a_site_is_discovered_with_its_organization_or_refused_naming_the_missing_one() {
        assert!(resolve_env(&[]).unwrap().discovery.is_none());
        let settings =
            resolve_env(&[("DOCSYNC_GITBOOK_SITE", "site_1"), ("DOCSYNC_GITBOOK_ORGANIZATION", "org1")]).unwrap();
        let discovery = settings.discovery.unwrap();
        assert_eq!((discovery.site.as_str(), discovery.organization.as_str()), ("site_1", "org1"));
        assert!(settings.targets.is_empty(), "found while gathering facts, not from the settings");
        let problems = resolve_env(&[("DOCSYNC_GITBOOK_SITE", "site_1")]).unwrap_err().to_string();
        assert!(
            problems.contains(
                "DOCSYNC_GITBOOK_ORGANIZATION: DOCSYNC_GITBOOK_SITE is set but DOCSYNC_GITBOOK_ORGANIZATION is not"
            ),
            "{problems}"
        );
        let file = loaded("[defaults]\ngitbook_organization = \"org1\"\n");
        let problems = resolve(&GlobalFlags::default(), &env(&[]), Some(&file)).unwrap_err().to_string();
        assert!(problems.contains("but DOCSYNC_GITBOOK_SITE is not"), "{problems}");
        assert!(problems.contains("docsync.toml"), "names the key that is set: {problems}");
        let problems = resolve_env(&[("DOCSYNC_GITBOOK_SITE", "a/b"), ("DOCSYNC_GITBOOK_ORGANIZATION", "org1")])
            .unwrap_err()
            .to_string();
        assert!(problems.contains("DOCSYNC_GITBOOK_SITE = \"a/b\": not a GitBook site id"), "{problems}");
    }

    #[test]
    fn bad_values_name_variable_value_and_fix() {
        let problems = resolve_env(&[
            ("DOCSYNC_WAIT_TIMEOUT", "10 minutes"),
            ("DOCSYNC_DIRECTION", "sideways"),
            ("DOCSYNC_GITBOOK_SPACE", "spc1"),
            ("DOCSYNC_GITBOOK_API_URL", "api.gitbook.com"),
        ])
        .unwrap_err()
        .to_string();
        assert!(problems.contains("DOCSYNC_WAIT_TIMEOUT = \"10 minutes\": not a duration"), "{problems}");
        assert!(problems.contains("fix: write a number with a unit, like 90s, 10m"), "{problems}");
        assert!(problems.contains("DOCSYNC_DIRECTION = \"sideways\": unknown direction"), "{problems}");
        assert!(problems.contains("DOCSYNC_GITBOOK_API_URL = \"api.gitbook.com\": not a URL"), "{problems}");
    }

    /// `review_comments`: on when a GitLab token is set, off without one;
    /// the flag, the variable and the file's `[defaults]` layer as every
    /// setting does, and a bad value names its source.
    #[test]
    fn review_comments_follow_the_token_unless_set() {
        let token = ("DOCSYNC_GITLAB_TOKEN", "glpat-review-comments-test");
        let space = ("DOCSYNC_GITBOOK_SPACE", "spc1");
        assert!(resolve_env(&[space, token]).unwrap().gitlab.review_comments);
        assert!(!resolve_env(&[space]).unwrap().gitlab.review_comments);
        let off = ("DOCSYNC_REVIEW_COMMENTS", "false");
        assert!(!resolve_env(&[space, token, off]).unwrap().gitlab.review_comments);
        let file = loaded("[defaults]\nreview_comments = false\n");
        assert!(!resolve(&GlobalFlags::default(), &env(&[space, token]), Some(&file)).unwrap().gitlab.review_comments);
        let mut flags = GlobalFlags::default();
        flags.settings.set(&declarations::REVIEW_COMMENTS, "true");
        assert!(resolve(&flags, &env(&[space, token, off]), Some(&file)).unwrap().gitlab.review_comments);
        let problems = resolve_env(&[space, ("DOCSYNC_REVIEW_COMMENTS", "sometimes")]).unwrap_err().to_string();
        assert!(problems.contains("DOCSYNC_REVIEW_COMMENTS = \"sometimes\": not a boolean"), "{problems}");
    }

    #[test]
    fn flag_beats_environment_beats_file() {
        let file = loaded("[defaults]\nwait_timeout = \"5m\"\ndirection = \"export\"\nbranch = \"docs\"\n");
        let mut flags = GlobalFlags::default();
        flags.settings.set(&declarations::WAIT_TIMEOUT, "30s");
        let vars = [("DOCSYNC_GITBOOK_SPACE", "spc1"), ("DOCSYNC_WAIT_TIMEOUT", "2m"), ("DOCSYNC_DIRECTION", "import")];
        let settings = resolve(&flags, &env(&vars), Some(&file)).unwrap();
        assert_eq!(gitbook(&settings.targets[0]).wait_timeout, Duration::from_secs(30));
        assert_eq!(settings.targets[0].direction, Direction::Import);
        let settings = resolve(&GlobalFlags::default(), &env(&vars[..1]), Some(&file)).unwrap();
        assert_eq!(gitbook(&settings.targets[0]).wait_timeout, Duration::from_secs(300));
        assert_eq!(settings.targets[0].direction, Direction::Export);
    }

    /// The HTTP and polling settings layer like every other: flag, then
    /// environment, then [defaults].
    #[test]
    fn http_and_polling_settings_are_flags_and_file_keys() {
        let file = loaded(
            "[defaults]\nhttp_timeout = \"7s\"\nretries = 2\nretry_delay = \"3s\"\npoll_interval = \"4s\"\nplatform_authors = [\"bot\"]\n",
        );
        let settings = resolve(&GlobalFlags::default(), &env(&[]), Some(&file)).unwrap();
        assert_eq!(settings.http.timeout, Duration::from_secs(7));
        assert_eq!(settings.http.retry.retries, 2);
        assert_eq!(settings.http.retry.base_delay, Duration::from_secs(3));
        assert_eq!(settings.poll_interval, Duration::from_secs(4));
        let mut flags = GlobalFlags::default();
        flags.settings.set(&declarations::HTTP_TIMEOUT, "9s");
        flags.settings.set(&declarations::RETRIES, "1");
        let settings =
            resolve(&flags, &env(&[("DOCSYNC_HTTP_TIMEOUT", "8s"), ("DOCSYNC_RETRY_DELAY", "5s")]), Some(&file))
                .unwrap();
        assert_eq!(settings.http.timeout, Duration::from_secs(9));
        assert_eq!(settings.http.retry.retries, 1);
        assert_eq!(settings.http.retry.base_delay, Duration::from_secs(5));
        let problems = resolve(&GlobalFlags::default(), &env(&[]), Some(&loaded("[defaults]\nretries = 99\n")))
            .unwrap_err()
            .to_string();
        assert!(problems.contains("docsync.toml: line 2, key `retries`") && problems.contains("0 to 20"), "{problems}");
    }

    #[test]
    fn a_comma_inside_braces_is_part_of_the_glob() {
        assert_eq!(split_list("*.{md,yml}, guides/*.txt"), ["*.{md,yml}", "guides/*.txt"]);
        let settings = resolve_env(&[("DOCSYNC_GITBOOK_SPACE", "spc1"), ("DOCSYNC_PATHS", "*.{md,yml}")]).unwrap();
        let paths = &settings.targets[0].paths;
        assert_eq!(paths.globs, ["*.{md,yml}"]);
        assert!(paths.matches("a/b.md") && paths.matches("c.yml") && !paths.matches("d.txt"));
    }
}
