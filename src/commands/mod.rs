//! One run of docsync: settings, then the command, then the exit code.

use std::collections::BTreeMap;

use anyhow::{Context, Result};

use tokio::runtime::Runtime;

use crate::error::{BadInput, Exit, exit_for};
use crate::git::range::{self, CommitRange, HistorySource, RangeMode};
use crate::git::remote::Project;
use crate::git::repo::{CommitChanges, CommitInfo, Repo};
use crate::gitlab;
use crate::http::HttpClient;
use crate::lint::{self, LintKind, LintReport, LintTarget};
use crate::log::{self, Section, Terminal};
use crate::output::merge_request_note as merge_requests;
use crate::output::report;
use crate::plan::{self, PlanInput, PushInput, SyncPlan};
use crate::settings::flags::{Cli, Command, Format, LintFlags};
use crate::settings::{self, Direction, Environment, LintMode, PathFilter, ReportPath, Settings, TargetKind};
use crate::targets::dot::{self, PushHistory};

pub mod check;
pub mod status;
pub mod sync;

/// How many commits of a range the skip rules read at most.
const COMMITS_READ: usize = 10_000;

pub fn run(cli: Cli, vars: impl IntoIterator<Item = (String, String)>, runtime: &Runtime) -> Exit {
    let env = match Environment::from_vars(vars) {
        Ok(env) => env,
        Err(problems) => {
            log::error(&anyhow::Error::new(problems));
            return Exit::BadInput;
        }
    };
    let gitlab_ci = env.ci.gitlab_ci.as_deref().is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let terminal = Terminal::detect(gitlab_ci, env.no_color);
    log::init(log::level(cli.global.verbose, cli.global.quiet), terminal);

    match execute(&cli, &env, terminal, runtime) {
        Ok(exit) => exit,
        Err(error) => {
            log::error(&error);
            exit_for(&error)
        }
    }
}

fn execute(cli: &Cli, env: &Environment, terminal: Terminal, runtime: &Runtime) -> Result<Exit> {
    let file = settings::load_file(&cli.global, env)?;
    let mut settings = settings::resolve(&cli.global, env, file.as_ref())?;
    match cli.command {
        Command::Plan => {
            // Outside CI a plan reads nothing from GitLab: no client, and so
            // no certificate store to load.
            let http = match settings.pipeline.ci {
                Some(_) => Some(HttpClient::new(&settings.http)?),
                None => None,
            };
            let plan = build_plan(&settings, terminal, None, runtime, http.as_ref())?;
            log::result(&report::render(&plan, settings.format)?).context("while writing the result")?;
            Ok(Exit::Ok)
        }
        Command::Sync => run_sync(&settings, terminal, runtime, None),
        Command::Export => {
            settings.targets.retain(|t| matches!(t.kind, TargetKind::GitBook(_)));
            if settings.targets.is_empty() {
                return Err(BadInput::new(
                    "DOCSYNC_GITBOOK_SPACE",
                    "export needs a GitBook target",
                    "set DOCSYNC_GITBOOK_SPACE (or a gitbook target in docsync.toml)",
                )
                .into());
            }
            for target in &mut settings.targets {
                target.direction = Direction::Export;
            }
            run_sync(&settings, terminal, runtime, Some("docsync export"))
        }
        Command::Check => {
            // A bad CA file is itself one of the checks' findings.
            let http = HttpClient::new(&settings.http).ok();
            let origin = open_repo(&settings).ok().and_then(|repo| repo.origin_url());
            let (text, exit) = runtime.block_on(async {
                let located = match &http {
                    Some(http) => gitlab::locate_project(&settings, http, origin.as_deref()).await,
                    None => Ok(None),
                };
                let (project, project_problem) = match located {
                    Ok(project) => (project, None),
                    Err(problem) => (None, Some(problem)),
                };
                let context = check::CheckContext { project, project_problem, today: check::today() };
                check::run(&settings, http.as_ref(), &context, settings.format).await
            })?;
            log::result(&text).context("while writing the result")?;
            Ok(exit)
        }
        Command::Lint(flags) => run_lint(cli, env, &settings, flags, terminal, runtime),
        Command::Status => {
            let http = HttpClient::new(&settings.http)?;
            let (text, exit) = runtime.block_on(status::collect(&settings, &http, settings.format))?;
            log::result(&text).context("while writing the result")?;
            Ok(exit)
        }
    }
}

fn run_sync(
    settings: &Settings,
    terminal: Terminal,
    runtime: &Runtime,
    requested_by: Option<&'static str>,
) -> Result<Exit> {
    // A report that cannot be written fails the job after the targets were
    // called; find out before calling any.
    for (report, what) in reports(settings) {
        if let Err(error) = report::check_writable(&report.path) {
            log::error(&anyhow::anyhow!(report_problem(report, what, &error)));
            return Ok(Exit::LocalFailure);
        }
    }
    let http = HttpClient::new(&settings.http)?;
    let mut plan = build_plan(settings, terminal, requested_by, runtime, Some(&http))?;
    sync::preflight(&plan, settings)?;
    let origin = open_repo(settings).ok().and_then(|repo| repo.origin_url());
    let lint_report = match settings.lint {
        LintMode::Off => None,
        LintMode::Error | LintMode::Warn => {
            let targets: Vec<LintTarget<'_>> = sync::linted_targets(&plan, settings).map(LintTarget::of).collect();
            if targets.is_empty() {
                None
            } else {
                let _section = Section::start(terminal, "docsync_lint", "Docs pre-flight");
                let report = lint_head(settings, &plan, &targets, false)?;
                write_code_quality(settings, &report)?;
                sync::apply_lint(&mut plan, settings, &report);
                Some(report)
            }
        }
    };
    let exit = {
        let _section = Section::start(terminal, "docsync_sync", "Syncing targets");
        runtime.block_on(async {
            let exit = sync::execute(&mut plan, settings, &http).await;
            let located = match merge_requests::reports_to_gitlab(&plan, settings) {
                true => gitlab::locate_project(settings, &http, origin.as_deref()).await,
                false => Ok(None),
            };
            if let Some(report) = &lint_report {
                sync::attach_findings(&mut plan, report);
            }
            exit.worst(merge_requests::report(&mut plan, settings, &http, located.as_ref().map(Option::as_ref)).await)
        })
    };
    plan.status = Some(match exit {
        Exit::Ok if plan.targets.iter().all(|t| t.action == plan::Action::Skip) => "nothing_to_do",
        Exit::Ok => "synced",
        Exit::Unreachable => "unreachable",
        Exit::TargetFailed | Exit::BadInput | Exit::LocalFailure => "failed",
    });
    // The result first: a report that fails to write must not hide it.
    log::result(&report::render(&plan, settings.format)?).context("while writing the result")?;
    let mut exit = exit;
    for (report, what) in reports(settings) {
        let written = match what {
            ReportKind::Dotenv => report::write_dotenv(&plan, &report.path),
            ReportKind::Json => report::write_json(&plan, &report.path),
        };
        if let Err(error) = written {
            log::error(&anyhow::anyhow!(report_problem(report, what, &error)));
            exit = exit.worst(Exit::LocalFailure);
        }
    }
    Ok(exit)
}

#[derive(Clone, Copy)]
enum ReportKind {
    Dotenv,
    Json,
}

fn reports(settings: &Settings) -> impl Iterator<Item = (&ReportPath, ReportKind)> {
    let dotenv = settings.report.iter().map(|r| (r, ReportKind::Dotenv));
    dotenv.chain(settings.report_json.iter().map(|r| (r, ReportKind::Json)))
}

/// Exit 4's message: docsync's own failure, naming where the path came from.
fn report_problem(report: &ReportPath, kind: ReportKind, error: &std::io::Error) -> String {
    let what = match kind {
        ReportKind::Dotenv => "dotenv report",
        ReportKind::Json => "JSON report",
    };
    format!(
        "docsync could not finish locally: cannot write the {what} {} = {:?}: {error}\n  fix: point {} at a file in a writable directory, or set it to none",
        report.source,
        report.path.display().to_string(),
        report.source
    )
}

/// `docsync lint`: the docs pre-flight of every target, on the range's head
/// commit (or the working tree). Without a configured target, the project
/// directory is checked as a GitBook space.
fn run_lint(
    cli: &Cli,
    env: &Environment,
    settings: &Settings,
    flags: LintFlags,
    terminal: Terminal,
    runtime: &Runtime,
) -> Result<Exit> {
    let http = match settings.pipeline.ci {
        Some(_) => Some(HttpClient::new(&settings.http)?),
        None => None,
    };
    let plan = build_plan(settings, terminal, None, runtime, http.as_ref())?;
    let fallback;
    let mut targets: Vec<LintTarget<'_>> = settings.targets.iter().map(LintTarget::of).collect();
    if targets.is_empty() {
        let directory = cli
            .global
            .settings
            .project_directory
            .as_deref()
            .or(config_value(&env.docsync.project_directory))
            .unwrap_or("")
            .trim_start_matches("./")
            .trim_matches('/')
            .to_owned();
        tracing::info!(
            "no target configured: checking {} as a GitBook space",
            if directory.is_empty() { "the repository root" } else { directory.as_str() }
        );
        fallback = PathFilter::new(directory, Vec::new()).context("while reading the project directory")?;
        targets.push(LintTarget { name: "gitbook", kind: LintKind::GitBook, paths: &fallback });
    }
    let report = lint_head(settings, &plan, &targets, flags.worktree)?;
    write_code_quality(settings, &report)?;
    let text = match settings.format {
        Format::Text => lint::report::text(&report),
        Format::Json => lint::report::json(&report).context("while writing the result")?,
    };
    log::result(&text).context("while writing the result")?;
    let failing = if flags.strict { report.errors } else { report.new_errors().count() };
    Ok(if failing > 0 { Exit::TargetFailed } else { Exit::Ok })
}

fn config_value(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// The pre-flight on the plan's head commit, or on the working tree.
fn lint_head(settings: &Settings, plan: &SyncPlan, targets: &[LintTarget<'_>], worktree: bool) -> Result<LintReport> {
    let repo = open_repo(settings)?;
    let source = if worktree { lint::Source::Worktree } else { lint::Source::Commit(&plan.range.head) };
    let directories: Vec<&str> = targets.iter().map(|t| t.paths.directory.as_str()).collect();
    let snapshot = lint::read_files(&repo, source, &directories).context("while reading the docs")?;
    let report = lint::check(targets, &snapshot, &lint::RangeChanges::new(&plan.changes));
    tracing::info!(
        "docs pre-flight: {} error(s), {} warning(s), {} new error(s)",
        report.errors,
        report.warnings,
        report.new_errors().count()
    );
    Ok(report)
}

fn write_code_quality(settings: &Settings, report: &LintReport) -> Result<()> {
    if let Some(path) = &settings.codequality {
        lint::report::write_code_quality(report, path)
            .with_context(|| format!("while writing the Code Quality report {}", path.display()))?;
    }
    Ok(())
}

/// Everything up to the decision: range, change set, plan. GitLab is only
/// read (the sync watermark, the compare fallback); no target is called.
fn build_plan(
    settings: &Settings,
    terminal: Terminal,
    requested_by: Option<&'static str>,
    runtime: &Runtime,
    http: Option<&HttpClient>,
) -> Result<SyncPlan> {
    plan::check_request(settings, requested_by)?;
    let repo = open_repo(settings)?;
    crate::git::transport::register(&settings.http);
    let ci = settings.pipeline.ci.as_ref();

    let (range, changes) = {
        let _section = Section::start(terminal, "docsync_range", "Finding the commit range and its changes");
        let project_api = ci
            .zip(http)
            .and_then(|(_, http)| runtime.block_on(gitlab::locate_project(settings, http, None)).ok().flatten());
        let watermark = match project_api.as_ref().zip(http) {
            Some((api, http)) => runtime.block_on(read_watermark(settings, http, api))?,
            None => None,
        };
        let choice = range::choose(settings, watermark);
        let compare = |from: &str, to: &str| match http {
            Some(http) => compare_changes(settings, http, runtime, project_api.as_ref(), from, to),
            None => Err("outside CI docsync does not ask GitLab".to_owned()),
        };
        let history = HistorySource {
            url: settings
                .pipeline
                .repository_url
                .as_ref()
                .map(|url| url.expose().to_owned())
                .or_else(|| repo.origin_url()),
            refspecs: history_refspecs(settings),
            compare: Some(&compare),
        };
        let range = range::resolve(&repo, &choice, &history)?;
        let changes = range::changes(&repo, &range).context("while computing the change set")?;
        tracing::info!(
            "range {}..{} ({}): {} changed files",
            range.base.as_deref().map_or("(none)", range::short),
            range::short(&range.head),
            range.mode,
            changes.len()
        );
        (range, changes)
    };

    // A full sync has no range of commits; its head stands for it. So does
    // a range whose base is not in the clone (changes from the compare API).
    //
    // The skip rules read the head commit and whether every commit is the
    // platform's own, so the walk stops at the first commit that is no
    // target's platform's own.
    let range_base = range.base.as_deref().filter(|base| range.mode != RangeMode::Full && repo.has_commit(base));
    let commits = match range_base {
        Some(base) => repo.commits_until(base, &range.head, COMMITS_READ, |commit| {
            settings.targets.iter().all(|target| !plan::is_platform_commit(commit, &target.platform_authors))
        })?,
        None => repo.commits(None, &range.head, 1)?,
    };
    let head_time = repo.commit_time(&range.head)?;
    let project = ci
        .and_then(|ci| ci.project_url.as_deref())
        .and_then(Project::from_url)
        .or_else(|| repo.origin_url().as_deref().and_then(Project::from_url));
    let checkout_branch = repo.current_branch();
    let absent_directories = absent_directories(&repo, settings, &range.head)?;

    let mut plan = plan::decide(PlanInput {
        settings,
        range: &range,
        changes,
        commits: &commits,
        absent_directories: &absent_directories,
        head_time,
        project: project.as_ref(),
        checkout_branch: checkout_branch.as_deref(),
        requested_by,
    });
    if plan::sends_push_events(&plan) {
        let requested = plan::is_request(settings, requested_by);
        let history =
            push_history(&repo, &range, commits, requested).context("while reading the commits of the push event")?;
        let tree =
            if requested { Some(repo.all_files(&range.head).context("while listing head's files")?) } else { None };
        match (&range.base, history.is_squashed()) {
            _ if requested => tracing::info!(
                "push event: full sync, as a manual pipeline acts on every target: before is all zeros and one commit entry (the head) lists every relevant file as added"
            ),
            (None, _) => tracing::info!(
                "push event: full sync: before is all zeros and one commit entry (the head) lists every relevant file as added"
            ),
            (Some(_), true) => tracing::info!(
                "push event: the base is not in the clone: one commit entry (the head) lists the range's relevant changes"
            ),
            (Some(_), false) => {}
        }
        plan::attach_push_events(
            &mut plan,
            &PushInput {
                settings,
                range: &range,
                history: &history,
                project: project.as_ref(),
                checkout_branch: checkout_branch.as_deref(),
                tree: tree.as_deref(),
            },
        );
    }
    Ok(plan)
}

fn open_repo(settings: &Settings) -> Result<Repo> {
    let cwd = std::env::current_dir().context("while reading the working directory")?;
    Repo::open(&cwd, settings.git_dir.as_deref(), settings.git_work_tree.as_deref())
}

/// The targets' project directories that do not exist at head (a typo, or
/// `Docs` for `docs`: paths are case-sensitive), each with the nearest that
/// does. Such a target would be skipped forever, saying only that nothing
/// changed.
fn absent_directories(repo: &Repo, settings: &Settings, head: &str) -> Result<BTreeMap<String, Option<String>>> {
    let mut absent = BTreeMap::new();
    for target in &settings.targets {
        let directory = &target.paths.directory;
        if directory.is_empty() || absent.contains_key(directory) || repo.has_directory(head, directory)? {
            continue;
        }
        let nearest = repo.nearest_directory(head, directory)?;
        match &nearest {
            Some(nearest) => tracing::warn!(
                "target {}: the project directory {directory} does not exist at {}; did you mean {nearest}?",
                target.name,
                range::short(head)
            ),
            None => tracing::warn!(
                "target {}: the project directory {directory} does not exist at {}",
                target.name,
                range::short(head)
            ),
        }
        absent.insert(directory.clone(), nearest);
    }
    Ok(absent)
}

/// The commits a push event lists, each with its own changes: the newest
/// [`dot::COMMITS_LISTED`] of the range, oldest first. `commits` is the
/// range's commits, newest first, as read for the skip rules. Without a base
/// in the clone (a full sync, or changes from the compare API) the head
/// stands for the range, as it does for a manual pipeline (`requested`).
fn push_history(repo: &Repo, range: &CommitRange, commits: Vec<CommitInfo>, requested: bool) -> Result<PushHistory> {
    let base = match &range.base {
        Some(base) if !requested && range.mode != RangeMode::Full && repo.has_commit(base) => base,
        _ => {
            let head = match commits.into_iter().find(|c| c.id == range.head) {
                Some(head) => head,
                None => repo.commits(None, &range.head, 1)?.into_iter().next().context("the head commit is missing")?,
            };
            return Ok(PushHistory::Squashed { head });
        }
    };
    // The skip rules read only the newest commits; the event lists the
    // newest 20 in topological order and counts them all.
    let mut commits = repo.commits(Some(base), &range.head, COMMITS_READ)?;
    let total = if commits.len() < COMMITS_READ { commits.len() } else { repo.count_commits(base, &range.head)? };
    commits.truncate(dot::COMMITS_LISTED);
    let listed = commits
        .into_iter()
        .rev()
        .map(|commit| Ok(CommitChanges { changes: repo.commit_changes(&commit.id)?, commit }))
        .collect::<Result<Vec<_>>>()?;
    Ok(PushHistory::Range { commits: listed, total })
}

/// The last successfully synced commit: the SHA of the last successful
/// deployment of the job's environment (the component gives each target
/// one). Read with `DOCSYNC_GITLAB_TOKEN`, else `CI_JOB_TOKEN`. Anything
/// unreadable means "no watermark", said in a log line; but a redirect is
/// an error: the configured GitLab URL is not the final one, and the
/// token was not sent after it.
async fn read_watermark(
    settings: &Settings,
    http: &HttpClient,
    project: &gitlab::ProjectApi,
) -> Result<Option<String>> {
    let Some(ci) = settings.pipeline.ci.as_ref() else { return Ok(None) };
    let Some(environment) = ci.environment_name.as_deref() else { return Ok(None) };
    if settings.gitlab.plain_http {
        // Warned about with the settings: no token goes there.
        return Ok(None);
    }
    let auth = match (&settings.gitlab.token, &settings.pipeline.job_token) {
        (Some(token), _) => gitlab::Auth::for_token(token),
        (None, Some(job_token)) => gitlab::Auth::Job(job_token.clone()),
        (None, None) => {
            tracing::info!("no token to read environment {environment}'s deployments: no sync watermark");
            return Ok(None);
        }
    };
    let client = gitlab::GitLabClient { http, api: project.api.clone(), auth };
    match client.last_deployment(&project.project, environment).await {
        Ok(Some(deployment)) if crate::settings::pipeline::is_sha(&deployment.sha) => {
            tracing::info!("last successful sync of {environment}: {}", range::short(&deployment.sha));
            Ok(Some(deployment.sha.to_ascii_lowercase()))
        }
        Ok(_) => {
            tracing::info!("environment {environment} has no successful deployment yet: no sync watermark");
            Ok(None)
        }
        Err(error @ gitlab::GitLabError::Redirected(_)) => {
            let fix = error.fix().unwrap_or_default();
            Err(anyhow::anyhow!("{error}\n  fix: {fix}")
                .context(format!("while reading environment {environment}'s deployments (the sync watermark)")))
        }
        Err(error) => {
            tracing::info!("cannot read environment {environment}'s deployments ({error}): no sync watermark");
            Ok(None)
        }
    }
}

/// The change set from GitLab's compare API, for a base the clone lacks.
fn compare_changes(
    settings: &Settings,
    http: &HttpClient,
    runtime: &Runtime,
    project: Option<&gitlab::ProjectApi>,
    from: &str,
    to: &str,
) -> Result<Vec<crate::git::diff::Change>, String> {
    let Some(token) = &settings.gitlab.token else {
        return Err("DOCSYNC_GITLAB_TOKEN is not set".into());
    };
    let Some(project) = project else {
        return Err("the GitLab project is unknown".into());
    };
    let client = gitlab::GitLabClient { http, api: project.api.clone(), auth: gitlab::Auth::for_token(token) };
    let compare = runtime.block_on(client.compare(&project.project, from, to)).map_err(|error| error.to_string())?;
    compare.changes()
}

/// The refs a shallow clone is deepened along: the pipeline's own ref, which
/// is all a GitLab job fetches.
fn history_refspecs(settings: &Settings) -> Vec<String> {
    match settings.pipeline.ci.as_ref() {
        Some(ci) => match (&ci.merge_request, &ci.branch) {
            (Some(mr), _) => {
                vec![format!("+refs/merge-requests/{0}/head:refs/remotes/origin/merge-requests/{0}/head", mr.iid)]
            }
            (None, Some(branch)) => vec![format!("+refs/heads/{branch}:refs/remotes/origin/{branch}")],
            (None, None) => Vec::new(),
        },
        None => vec!["HEAD".to_owned()],
    }
}
