//! [`resolve`]: every input (flags, the captured environment, the read
//! file) turned into validated [`Settings`], or every problem found. Pure,
//! and in named steps, in the order their problems are reported: the run's
//! settings that targets inherit, HTTP and polling, the outputs, GitLab, the
//! commit range, then the targets (built in [`super::target`]).

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{BadInput, BadInputs};
use crate::http::{HttpSettings, RetryPolicy};
use crate::settings::credentials;
use crate::settings::duration::parse_duration_setting;
use crate::settings::environment::{DocsyncEnv, Environment};
use crate::settings::file::{FileConfig, FileTarget, LoadedFile, check_defaults_table, refuse_keys_rules_cannot_read};
use crate::settings::flags::{GlobalFlags, SettingFlags};
use crate::settings::lookup::Layers;
use crate::settings::pipeline::{Pipeline, non_empty};
use crate::settings::target::{
    DEFAULT_START_TIMEOUT, DEFAULT_WAIT_TIMEOUT, Inherited, Target, TargetContext, TargetKind, check_unique,
};
use crate::settings::values::{
    normalize_directory, parse_bool, parse_concurrency, parse_direction, parse_lint, parse_retries, parse_url,
    split_list,
};
use crate::settings::{Direction, GitLabSettings, LintMode, ProjectDirectory, ReportPath, Settings};

pub const DEFAULT_REPORT_IN_CI: &str = "docsync.env";
pub const DEFAULT_REPORT_JSON_IN_CI: &str = "docsync.json";
pub const DEFAULT_CODEQUALITY_IN_CI: &str = "gl-code-quality-report.json";
const DEFAULT_CONCURRENCY: usize = 8;
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Author names or e-mails of commits the platform made itself (GitBook's
/// export commits). Matched case-insensitively.
const DEFAULT_PLATFORM_AUTHORS: &[&str] = &["gitbook-bot", "ghost@gitbook.com"];

/// Turns every input into validated settings, or every problem found.
/// Pure: the file is already read, the environment already captured.
pub fn resolve(flags: &GlobalFlags, env: &Environment, file: Option<&LoadedFile>) -> Result<Settings, BadInputs> {
    let mut problems = Vec::new();
    let pipeline = Pipeline::from_env(&env.ci).unwrap_or_else(|found| {
        problems.extend(found);
        Pipeline::default()
    });
    let empty = FileConfig::default();
    let file_config = file.map_or(&empty, |f| &f.config);
    let file_name = file.map(|f| f.path.display().to_string()).unwrap_or_default();
    let file_text = file.map(|f| f.text.as_str()).unwrap_or("");
    let defaults = &file_config.defaults;
    if file.is_some() {
        check_defaults_table(&file_name, file_text, defaults, &mut problems);
    }
    if non_empty(&env.docsync.component).is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        refuse_keys_rules_cannot_read(&file_name, file_text, file_config, &mut problems);
    }

    let run =
        RunLayers { flags: &flags.settings, env, defaults, layers: Layers { file_name: &file_name, target: None } };
    let inherited = run.inherited(&mut problems);
    let project_directory = run.project_directory(&mut problems);
    let (http, poll_interval) = run.http(&pipeline, &mut problems);
    let outputs = run.outputs(pipeline.ci.is_some(), &mut problems);
    let gitlab = run.gitlab(&pipeline, &mut problems);
    let (from, to) = revisions(flags, &env.docsync, &mut problems);
    let context = TargetContext {
        flags: &flags.settings,
        env,
        defaults,
        file_name: &file_name,
        pipeline: &pipeline,
        inherited: &inherited,
    };
    let targets = run.targets(&context, &file_config.target, file_text, &mut problems);
    let targets = select_targets(&flags.targets, targets, &mut problems);

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
        project_directory,
        git_dir: env.git_dir.as_ref().map(PathBuf::from),
        git_work_tree: env.git_work_tree.as_ref().map(PathBuf::from),
    };
    problems.extend(credentials::check(&mut settings));
    // The run and each target of the environment read the same layers for
    // some settings (the project directory): one bad value, one problem.
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
    flags: &'a SettingFlags,
    env: &'a Environment,
    defaults: &'a FileTarget,
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
    fn layered(
        &self,
        flag: &Option<String>,
        var: &Option<String>,
        file_value: Option<String>,
        var_name: &str,
        key: &str,
    ) -> Option<(String, String)> {
        self.layers.lookup(None, flag, var, file_value, var_name, key)
    }

    /// The run's values of the settings a `[[target]]` may override.
    fn inherited(&self, problems: &mut Vec<BadInput>) -> Inherited {
        let (s, d, defaults) = (self.flags, &self.env.docsync, self.defaults);
        let direction = self
            .layered(
                &s.direction,
                &d.direction,
                defaults.direction.as_ref().map(|d| d.get_ref().clone()),
                "DOCSYNC_DIRECTION",
                "direction",
            )
            .map_or(Some(Direction::Import), |(value, source)| parse_direction(&value, &source, problems));
        let previews = self
            .layered(&s.previews, &d.previews, defaults.previews.map(|b| b.to_string()), "DOCSYNC_PREVIEWS", "previews")
            .map_or(Some(true), |(value, source)| parse_bool(&value, &source, problems));
        let wait = self
            .layered(&s.wait, &d.wait, defaults.wait.map(|b| b.to_string()), "DOCSYNC_WAIT", "wait")
            .map_or(Some(true), |(value, source)| parse_bool(&value, &source, problems));
        let wait_timeout = duration_or(
            self.layered(
                &s.wait_timeout,
                &d.wait_timeout,
                defaults.wait_timeout.clone(),
                "DOCSYNC_WAIT_TIMEOUT",
                "wait_timeout",
            ),
            DEFAULT_WAIT_TIMEOUT,
            problems,
        );
        let start_timeout = duration_or(
            self.layered(
                &s.start_timeout,
                &d.start_timeout,
                defaults.start_timeout.clone(),
                "DOCSYNC_START_TIMEOUT",
                "start_timeout",
            ),
            DEFAULT_START_TIMEOUT,
            problems,
        );
        let platform_authors =
            match (s.platform_authors.as_deref().or(non_empty(&d.platform_authors)), &defaults.platform_authors) {
                (Some(list), _) => split_list(list),
                (None, Some(list)) => list.clone(),
                (None, None) => DEFAULT_PLATFORM_AUTHORS.iter().map(|s| (*s).to_owned()).collect(),
            };
        Inherited {
            direction: direction.unwrap_or(Direction::Import),
            previews: previews.unwrap_or(true),
            wait: wait.unwrap_or(true),
            wait_timeout: wait_timeout.unwrap_or(DEFAULT_WAIT_TIMEOUT),
            start_timeout: start_timeout.unwrap_or(DEFAULT_START_TIMEOUT),
            platform_authors,
        }
    }

    /// The run's project directory, refused like a target's when it leaves
    /// the repository: `lint` without a target checks it.
    fn project_directory(&self, problems: &mut Vec<BadInput>) -> ProjectDirectory {
        let (s, d, defaults) = (self.flags, &self.env.docsync, self.defaults);
        let ignore = self.layered(
            &s.ignore,
            &d.ignore,
            defaults.ignore.as_ref().map(|globs| globs.join(",")),
            "DOCSYNC_IGNORE",
            "ignore",
        );
        let ignore = match ignore.map(|(list, source)| (split_list(&list), source)) {
            Some((globs, source)) => {
                match crate::settings::PathFilter::checked(String::new(), globs, source, ".github/** or drafts/*.md") {
                    Ok(filter) => filter.globs,
                    Err(problem) => {
                        problems.push(problem);
                        Vec::new()
                    }
                }
            }
            None => Vec::new(),
        };
        let mut directory = match self.layered(
            &s.project_directory,
            &d.project_directory,
            defaults.project_directory.clone(),
            "DOCSYNC_PROJECT_DIRECTORY",
            "project_directory",
        ) {
            Some((value, source)) => ProjectDirectory {
                path: normalize_directory(&value, &source, problems).unwrap_or_default(),
                source: Some(source),
                ignore: Vec::new(),
            },
            None => ProjectDirectory::default(),
        };
        directory.ignore = ignore;
        directory
    }

    /// The one HTTP client's settings (request budget, timeout, retries, CA
    /// files), and how often GitBook's operation state is read.
    fn http(&self, pipeline: &Pipeline, problems: &mut Vec<BadInput>) -> (HttpSettings, Duration) {
        let (s, d, defaults) = (self.flags, &self.env.docsync, self.defaults);
        let concurrency = self
            .layered(
                &s.concurrency,
                &d.concurrency,
                defaults.concurrency.as_ref().map(|n| n.get_ref().to_string()),
                "DOCSYNC_CONCURRENCY",
                "concurrency",
            )
            .map_or(Some(DEFAULT_CONCURRENCY), |(value, source)| parse_concurrency(&value, &source, problems));
        let http_defaults = HttpSettings::default();
        let spanned_text = |value: &Option<toml::Spanned<String>>| value.as_ref().map(|v| v.get_ref().clone());
        let poll_interval = duration_or(
            self.layered(
                &s.poll_interval,
                &d.poll_interval,
                spanned_text(&defaults.poll_interval),
                "DOCSYNC_POLL_INTERVAL",
                "poll_interval",
            ),
            DEFAULT_POLL_INTERVAL,
            problems,
        );
        let http_timeout = duration_or(
            self.layered(
                &s.http_timeout,
                &d.http_timeout,
                spanned_text(&defaults.http_timeout),
                "DOCSYNC_HTTP_TIMEOUT",
                "http_timeout",
            ),
            http_defaults.timeout,
            problems,
        );
        let retry_delay = duration_or(
            self.layered(
                &s.retry_delay,
                &d.retry_delay,
                spanned_text(&defaults.retry_delay),
                "DOCSYNC_RETRY_DELAY",
                "retry_delay",
            ),
            http_defaults.retry.base_delay,
            problems,
        );
        let fetch_timeout = duration_or(
            self.layered(
                &s.fetch_timeout,
                &d.fetch_timeout,
                spanned_text(&defaults.fetch_timeout),
                "DOCSYNC_FETCH_TIMEOUT",
                "fetch_timeout",
            ),
            http_defaults.fetch_budget,
            problems,
        );
        let file_retries = defaults.retries.as_ref().map(|n| n.get_ref().to_string());
        let retries = self
            .layered(&s.retries, &d.retries, file_retries, "DOCSYNC_RETRIES", "retries")
            .map_or(Some(http_defaults.retry.retries), |(value, source)| parse_retries(&value, &source, problems));
        let http = HttpSettings {
            timeout: http_timeout.unwrap_or(http_defaults.timeout),
            connect_timeout: http_defaults.connect_timeout,
            retry: RetryPolicy {
                retries: retries.unwrap_or(http_defaults.retry.retries),
                base_delay: retry_delay.unwrap_or(http_defaults.retry.base_delay),
                ..http_defaults.retry
            },
            ca_files: self.ca_files(pipeline),
            max_in_flight: concurrency.unwrap_or(DEFAULT_CONCURRENCY),
            fetch_budget: fetch_timeout.unwrap_or(http_defaults.fetch_budget),
        };
        (http, poll_interval.unwrap_or(DEFAULT_POLL_INTERVAL))
    }

    /// The CA certificates to trust besides the system's, with the variable
    /// that names each.
    fn ca_files(&self, pipeline: &Pipeline) -> Vec<(String, String)> {
        let mut ca_files = Vec::new();
        if let Some(path) = &pipeline.tls_ca_file {
            ca_files.push(("CI_SERVER_TLS_CA_FILE".to_owned(), path.clone()));
        }
        if let Some(path) = &self.env.ssl_cert_file {
            ca_files.push(("SSL_CERT_FILE".to_owned(), path.clone()));
        }
        ca_files
    }

    /// The reports (written by default in CI) and the pre-flight's mode.
    fn outputs(&self, in_ci: bool, problems: &mut Vec<BadInput>) -> Outputs {
        let (s, d, defaults) = (self.flags, &self.env.docsync, self.defaults);
        let report = report_path(
            self.layered(
                &s.report,
                &d.report,
                defaults.report.as_ref().map(|r| r.get_ref().clone()),
                "DOCSYNC_REPORT",
                "report",
            ),
            "DOCSYNC_REPORT",
            DEFAULT_REPORT_IN_CI,
            in_ci,
        );
        let report_json = report_path(
            self.layered(
                &s.report_json,
                &d.report_json,
                defaults.report_json.as_ref().map(|r| r.get_ref().clone()),
                "DOCSYNC_REPORT_JSON",
                "report_json",
            ),
            "DOCSYNC_REPORT_JSON",
            DEFAULT_REPORT_JSON_IN_CI,
            in_ci,
        );
        let lint = self
            .layered(&s.lint, &d.lint, defaults.lint.as_ref().map(|v| v.get_ref().clone()), "DOCSYNC_LINT", "lint")
            .map_or(Some(LintMode::Error), |(value, source)| parse_lint(&value, &source, problems));
        let codequality = report_path(
            self.layered(
                &s.codequality,
                &d.codequality,
                defaults.codequality.as_ref().map(|v| v.get_ref().clone()),
                "DOCSYNC_CODEQUALITY",
                "codequality",
            ),
            "DOCSYNC_CODEQUALITY",
            DEFAULT_CODEQUALITY_IN_CI,
            in_ci,
        );
        Outputs { report, report_json, lint: lint.unwrap_or_default(), codequality }
    }

    /// The GitLab instance and its API token.
    fn gitlab(&self, pipeline: &Pipeline, problems: &mut Vec<BadInput>) -> GitLabSettings {
        let (s, d, defaults) = (self.flags, &self.env.docsync, self.defaults);
        let file_gitlab_url = defaults.gitlab_url.as_ref().map(|u| u.get_ref().clone());
        let url = self
            .layered(&s.gitlab_url, &d.gitlab_url, file_gitlab_url, "DOCSYNC_GITLAB_URL", "gitlab_url")
            .or_else(|| pipeline.server_url.clone().map(|url| (url, "CI_SERVER_URL".to_owned())))
            .and_then(|(value, source)| parse_url(&value, &source, problems));
        // The environment beats [defaults]; a variable the file names must be set.
        let direct_token = d.gitlab_token.clone().filter(|t| !t.expose().is_empty());
        let token_source = match (&direct_token, &defaults.gitlab_token_env) {
            (None, Some(name)) => name.get_ref().clone(),
            _ => "DOCSYNC_GITLAB_TOKEN".to_owned(),
        };
        let token = match direct_token {
            Some(token) => Some(token),
            None => defaults.gitlab_token_env.as_ref().and_then(|name| {
                let source = format!("{}: [defaults] key `gitlab_token_env`", self.layers.file_name);
                self.env.required_secret(name.get_ref(), &source, problems)
            }),
        };
        let file_review_comments = defaults.review_comments.as_ref().map(|v| v.get_ref().to_string());
        let review_comments = self
            .layered(
                &s.review_comments,
                &d.review_comments,
                file_review_comments,
                "DOCSYNC_REVIEW_COMMENTS",
                "review_comments",
            )
            .map_or(Some(token.is_some()), |(value, source)| parse_bool(&value, &source, problems))
            .unwrap_or_default();
        GitLabSettings { url, token, token_source, plain_http: false, review_comments }
    }

    /// Every target, from the file then the environment, each space and
    /// name once.
    fn targets(
        &self,
        context: &TargetContext<'_>,
        tables: &[FileTarget],
        text: &str,
        problems: &mut Vec<BadInput>,
    ) -> Vec<Target> {
        let (s, d) = (self.flags, &self.env.docsync);
        let mut targets = context.file_targets(tables, text, problems);
        targets.extend(context.env_targets(problems));
        // A bad API URL is an error even while no GitBook target uses it: it
        // would silently break the day a space is added.
        if !targets.iter().any(|t| matches!(t.kind, TargetKind::GitBook(_))) {
            let api = s.gitbook_api_url.as_deref().map(|v| (v, "--gitbook-api-url"));
            if let Some((value, source)) = api.or(non_empty(&d.gitbook_api_url).map(|v| (v, "DOCSYNC_GITBOOK_API_URL")))
            {
                parse_url(value, source, problems);
            }
        }
        check_unique(&targets, problems);
        targets
    }
}

/// A duration setting's value, or the built-in default when no layer sets it.
fn duration_or(layer: Option<(String, String)>, default: Duration, problems: &mut Vec<BadInput>) -> Option<Duration> {
    layer.map_or(Some(default), |(value, source)| parse_duration_setting(&value, &source, problems))
}

/// A report's path: `none`/`false` turn it off; unset, it is written by
/// default in CI only.
fn report_path(
    layer: Option<(String, String)>,
    variable: &str,
    default_in_ci: &str,
    in_ci: bool,
) -> Option<ReportPath> {
    match layer {
        Some((value, _)) if value.eq_ignore_ascii_case("none") || value.eq_ignore_ascii_case("false") => None,
        Some((value, source)) => Some(ReportPath { path: PathBuf::from(value), source }),
        None if in_ci => Some(ReportPath { path: PathBuf::from(default_in_ci), source: variable.to_owned() }),
        None => None,
    }
}

/// `--from` and `--to` (or `DOCSYNC_FROM`, `DOCSYNC_TO`), which must look
/// like revisions.
fn revisions(flags: &GlobalFlags, d: &DocsyncEnv, problems: &mut Vec<BadInput>) -> (Option<String>, Option<String>) {
    let from = flags.from.clone().or_else(|| non_empty(&d.from).map(str::to_owned));
    let to = flags.to.clone().or_else(|| non_empty(&d.to).map(str::to_owned));
    for (value, source) in [(&from, "--from / DOCSYNC_FROM"), (&to, "--to / DOCSYNC_TO")] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty() || v.starts_with('-')) {
            problems.push(
                BadInput::new(source, "not a revision", "give a commit SHA, branch, tag or expression like HEAD~3")
                    .with_value(value.clone().unwrap_or_default()),
            );
        }
    }
    (from, to)
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
        flags.settings.start_timeout = Some("30s".into());
        let settings =
            resolve(&flags, &env(&[("DOCSYNC_START_TIMEOUT", "1m"), ("DOCSYNC_REPORT_JSON", "env.json")]), Some(&file))
                .unwrap();
        assert_eq!(gitbook(&settings.targets[0]).start_timeout, Duration::from_secs(30));
        let report_json = settings.report_json.unwrap();
        assert_eq!((report_json.path, report_json.source.as_str()), (PathBuf::from("env.json"), "DOCSYNC_REPORT_JSON"));
        let problems = resolve_env(&[("DOCSYNC_START_TIMEOUT", "soon")]).unwrap_err().to_string();
        assert!(problems.contains("DOCSYNC_START_TIMEOUT = \"soon\": not a duration"), "{problems}");
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
        flags.settings.review_comments = Some("true".into());
        assert!(resolve(&flags, &env(&[space, token, off]), Some(&file)).unwrap().gitlab.review_comments);
        let problems = resolve_env(&[space, ("DOCSYNC_REVIEW_COMMENTS", "sometimes")]).unwrap_err().to_string();
        assert!(problems.contains("DOCSYNC_REVIEW_COMMENTS = \"sometimes\": not a boolean"), "{problems}");
    }

    #[test]
    fn flag_beats_environment_beats_file() {
        let file = loaded("[defaults]\nwait_timeout = \"5m\"\ndirection = \"export\"\nbranch = \"docs\"\n");
        let mut flags = GlobalFlags::default();
        flags.settings.wait_timeout = Some("30s".into());
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
        flags.settings.http_timeout = Some("9s".into());
        flags.settings.retries = Some("1".into());
        let settings =
            resolve(&flags, &env(&[("DOCSYNC_HTTP_TIMEOUT", "8s"), ("DOCSYNC_RETRY_DELAY", "5s")]), Some(&file))
                .unwrap();
        assert_eq!(settings.http.timeout, Duration::from_secs(9));
        assert_eq!(settings.http.retry.retries, 1);
        assert_eq!(settings.http.retry.base_delay, Duration::from_secs(5));
        let problems = resolve(&GlobalFlags::default(), &env(&[]), Some(&loaded("[defaults]\nretries = 99\n")))
            .unwrap_err()
            .to_string();
        assert!(problems.contains("docsync.toml: key `retries`") && problems.contains("0 to 20"), "{problems}");
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
