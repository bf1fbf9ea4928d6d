//! One run of docsync: settings, then the command, then the exit code.

use anyhow::{Context, Result};

use tokio::runtime::Runtime;

use crate::cli::{Cli, Command};
use crate::config::{self, Direction, Environment, Settings, TargetKind};
use crate::error::{BadInput, Exit, exit_for};
use crate::gitbook::Project;
use crate::http::HttpClient;
use crate::log::{self, Section, Terminal};
use crate::plan::{self, PlanInput, SyncPlan};
use crate::range::{self, HistorySource, RangeMode};
use crate::repo::Repo;
use crate::report;
use crate::{status, sync};

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
    let file = config::load_file(&cli.global, env)?;
    let mut settings = config::resolve(&cli.global, env, file.as_ref())?;
    match cli.command {
        Command::Plan => {
            let plan = build_plan(&settings, terminal, None)?;
            log::result(&report::render(&plan, settings.format)?).context("while writing the result")?;
            Ok(Exit::Ok)
        }
        Command::Sync => run_sync(&settings, terminal, runtime, None),
        Command::Export => {
            settings.direction = Direction::Export;
            settings.targets.retain(|t| matches!(t.kind, TargetKind::GitBook(_)));
            if settings.targets.is_empty() {
                return Err(BadInput::new(
                    "DOCSYNC_GITBOOK_SPACE",
                    "export needs a GitBook target",
                    "set DOCSYNC_GITBOOK_SPACE (or a gitbook target in docsync.toml)",
                )
                .into());
            }
            run_sync(&settings, terminal, runtime, Some("docsync export"))
        }
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
    let mut plan = build_plan(settings, terminal, requested_by)?;
    sync::preflight(&plan, settings)?;
    let http = HttpClient::new(&settings.http)?;
    let exit = {
        let _section = Section::start(terminal, "docsync_sync", "Syncing targets");
        runtime.block_on(sync::execute(&mut plan, settings, &http))
    };
    plan.status = Some(match exit {
        Exit::Ok if plan.targets.iter().all(|t| t.action == plan::Action::Skip) => "nothing_to_do",
        Exit::Ok => "synced",
        Exit::Unreachable => "unreachable",
        Exit::TargetFailed | Exit::BadInput => "failed",
    });
    if let Some(path) = &settings.report {
        report::write_dotenv(&plan, path).with_context(|| format!("while writing the report {}", path.display()))?;
    }
    log::result(&report::render(&plan, settings.format)?).context("while writing the result")?;
    Ok(exit)
}

/// Everything up to the decision: range, change set, plan.
fn build_plan(settings: &Settings, terminal: Terminal, requested_by: Option<&'static str>) -> Result<SyncPlan> {
    let cwd = std::env::current_dir().context("while reading the working directory")?;
    let repo = Repo::discover(&cwd)?;
    if let Some(ca_file) = &settings.pipeline.tls_ca_file {
        Repo::use_ca_file(std::path::Path::new(ca_file))?;
    }
    let ci = settings.pipeline.ci.as_ref();

    let (range, changes) = {
        let _section = Section::start(terminal, "docsync_range", "Finding the commit range and its changes");
        // Seam: the deployment watermark (the last synced commit) is read here.
        let choice = range::choose(settings, None);
        let history = HistorySource {
            url: settings
                .pipeline
                .repository_url
                .as_ref()
                .map(|url| url.expose().to_owned())
                .or_else(|| repo.origin_url()),
            refspecs: history_refspecs(settings),
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

    // A full sync has no range of commits; its head stands for it.
    let commits = match (&range.base, range.mode) {
        (None, _) | (_, RangeMode::Full) => repo.commits(None, &range.head, 1)?,
        (Some(base), _) => repo.commits(Some(base), &range.head, COMMITS_READ)?,
    };
    let head_time = repo.commit_time(&range.head)?;
    let project = ci
        .and_then(|ci| ci.project_url.as_deref())
        .and_then(Project::from_url)
        .or_else(|| repo.origin_url().as_deref().and_then(Project::from_url));
    let checkout_branch = repo.current_branch();

    Ok(plan::decide(PlanInput {
        settings,
        range: &range,
        changes,
        commits: &commits,
        head_time,
        project: project.as_ref(),
        checkout_branch: checkout_branch.as_deref(),
        requested_by,
    }))
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
