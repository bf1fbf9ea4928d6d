//! One run of docsync: settings, then the command, then the exit code.
//!
//! `plan`, `sync`, `export`, `pipeline` and `lint` go through the same three
//! stages: [`facts::gather`] does the I/O (git, GitLab), [`crate::plan::decide`]
//! decides from those facts alone, and [`sync::run`] carries the decision
//! out (`plan` prints it instead, `pipeline` writes it as a child pipeline;
//! `lint` checks head's docs).

use anyhow::{Context, Result};

use tokio::runtime::Runtime;

use crate::error::{BadInput, Exit, exit_for};
use crate::gitlab::instance::locate_project;
use crate::http::HttpClient;
use crate::log::{self, Terminal};
use crate::output::report;
use crate::plan::facts::RequestedBy;
use crate::plan::{self, Plan};
use crate::settings::environment::Environment;
use crate::settings::file::LoadedFile;
use crate::settings::flags::{Cli, Command};
use crate::settings::{self, Direction, Settings, TargetKind};

pub(crate) mod check;
pub(crate) mod discovery;
pub(crate) mod facts;
pub(crate) mod lint;
pub(crate) mod pipeline;
pub(crate) mod review;
pub(crate) mod status;
pub(crate) mod sync;

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
    let file = settings::file::load_file(&cli.global, env)?;
    let mut settings = settings::resolve::resolve(&cli.global, env, file.as_ref())?;
    // Targets found in a GitBook site join the configured ones before any
    // command reads them; `check` reports a failure among its findings.
    let discovered = discovery::discover(&mut settings, runtime);
    let discovered = match (&cli.command, discovered) {
        (Command::Check, discovered) => Some(discovered),
        (_, Ok(_)) => None,
        (_, Err(discovery::DiscoveryFailed::Settings(error))) => return Err(error),
        (_, Err(failed)) => {
            log::error(&anyhow::Error::new(failed));
            return Ok(Exit::Unreachable);
        }
    };
    if settings.discovery.is_some() {
        settings::resolve::select_discovered(&mut settings, &cli.global.targets)?;
    }
    match cli.command {
        Command::Plan => {
            // Outside CI a plan reads nothing from GitLab: no client, and so
            // no certificate store to load.
            let http = match settings.pipeline.ci {
                Some(_) => Some(HttpClient::new(&settings.http)?),
                None => None,
            };
            let (_, plan) =
                gather_and_decide(&settings, terminal, None, runtime, http.as_ref(), facts::Spaces::Unread)?;
            log::result(&report::render(&plan, None, settings.format)?).context("while writing the result")?;
            Ok(Exit::Ok)
        }
        Command::Sync if settings.targets.is_empty() && settings.pipeline.ci.is_some() => {
            Err(match &settings.discovery {
                Some(site) => discovery::no_space_of_ours(site, &settings).into(),
                None => no_target(file.as_ref()).into(),
            })
        }
        Command::Sync => sync::run(&settings, terminal, runtime, None),
        // A generator with no target would write a pipeline that passes
        // having synced nothing, as a sync job would.
        Command::Pipeline(_) if settings.targets.is_empty() && settings.pipeline.ci.is_some() => {
            Err(no_target(file.as_ref()).into())
        }
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
            sync::run(&settings, terminal, runtime, Some(RequestedBy::Export))
        }
        Command::Check => {
            // A bad CA file is itself one of the checks' findings.
            let http = HttpClient::new(&settings.http).ok();
            let origin = facts::open_repo(&settings).ok().and_then(|repo| repo.origin_url());
            let (text, exit) = runtime.block_on(async {
                let located = match &http {
                    Some(http) => locate_project(&settings, http, origin.as_deref()).await,
                    None => Ok(None),
                };
                let (project, project_problem) = match located {
                    Ok(project) => (project, None),
                    Err(problem) => (None, Some(problem)),
                };
                let context = check::CheckContext { project, project_problem, today: check::today(), discovered };
                check::run(&settings, http.as_ref(), &context, settings.format).await
            })?;
            log::result(&report::shown(&text, settings.format)).context("while writing the result")?;
            Ok(exit)
        }
        Command::Lint(flags) => lint::run(&settings, flags, terminal, runtime),
        Command::Pipeline(ref flags) => pipeline::run(&settings, flags, terminal, runtime),
        Command::Status => {
            let http = HttpClient::new(&settings.http)?;
            // Whether a live revision's commit is in the checkout's history;
            // unknown without a repository.
            let repo = facts::open_repo(&settings).ok();
            let head = repo.as_ref().and_then(|repo| repo.resolve_commit("HEAD").ok().flatten());
            let in_branch = |commit: &str| -> Option<bool> {
                let (repo, head) = (repo.as_ref()?, head.as_deref()?);
                Some(matches!(
                    repo.ancestry(commit, head),
                    Ok(Some(crate::git::repo::Ancestry::Same | crate::git::repo::Ancestry::Older))
                ))
            };
            let (text, exit) = runtime.block_on(status::collect(&settings, &http, settings.format, &in_branch))?;
            log::result(&report::shown(&text, settings.format)).context("while writing the result")?;
            Ok(exit)
        }
    }
}

/// A sync job with no target would pass, and record a deployment, having
/// synced nothing: in CI that is a configuration to fix.
fn no_target(file: Option<&LoadedFile>) -> BadInput {
    let (source, file_says) = match file {
        Some(file) => (file.path.display().to_string(), format!("{} has no [[target]]", file.path.display())),
        None => ("DOCSYNC_GITBOOK_SPACE".to_owned(), "there is no docsync.toml".to_owned()),
    };
    BadInput::new(
        source,
        format!(
            "no target is configured: DOCSYNC_GITBOOK_SPACE and DOCSYNC_DOT_WEBHOOK_URL are unset and {file_says}, so the job would pass without syncing anything"
        ),
        "give the component's gitbook_space or dot_webhook_url input (or set DOCSYNC_GITBOOK_SPACE or DOCSYNC_DOT_WEBHOOK_URL), or describe the targets in docsync.toml ([[target]])",
    )
}

/// Facts, then the decision: everything up to what `sync` would send.
/// Nothing is sent; GitLab is only read.
fn gather_and_decide(
    settings: &Settings,
    terminal: Terminal,
    requested_by: Option<RequestedBy>,
    runtime: &Runtime,
    http: Option<&HttpClient>,
    spaces: facts::Spaces,
) -> Result<(facts::Gathered, Plan)> {
    plan::check_request(settings, requested_by)?;
    let gathered = facts::gather(settings, terminal, requested_by, runtime, http, spaces)?;
    // A push event lists each commit with its own changes: read only when
    // the decision has a target send one.
    let push = match plan::sends_push_events(&gathered.facts, settings) {
        true => Some(facts::push_facts(&gathered.repo, &gathered.facts, settings)?),
        false => None,
    };
    let plan = plan::decide(&gathered.facts, settings, push.as_ref());
    Ok((gathered, plan))
}
