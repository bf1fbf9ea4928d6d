//! `docsync pipeline`: the decision `plan` shows, written as a GitLab child
//! pipeline with one `docsync sync --target NAME` job per target that `sync`
//! would call, and none for the others.

use anyhow::{Context, Result};
use tokio::runtime::Runtime;

use crate::error::{BadInput, Exit};
use crate::http::HttpClient;
use crate::log::{self, Terminal};
use crate::output::child_pipeline::{self, ActingTarget, ChildOptions, FanOut, Resource};
use crate::plan::{Action, Plan};
use crate::secret::Redacted;
use crate::settings::flags::PipelineFlags;
use crate::settings::{Settings, TargetKind};

/// The image of the release this binary is, where the child jobs run
/// unless `--image` names another.
const RELEASED_IMAGE: &str = "registry.gitlab.com/docsync/docsync";

pub(crate) fn run(settings: &Settings, flags: &PipelineFlags, terminal: Terminal, runtime: &Runtime) -> Result<Exit> {
    let options = options(flags, settings)?;
    // As `plan`: outside CI nothing is read from GitLab.
    let http = match settings.pipeline.ci {
        Some(_) => Some(HttpClient::new(&settings.http)?),
        None => None,
    };
    let (_, plan) =
        super::gather_and_decide(settings, terminal, None, runtime, http.as_ref(), super::facts::Spaces::Unread)?;
    let targets = acting_targets(&plan, settings);
    tracing::info!("{} of {} targets act in this pipeline", targets.len(), settings.targets.len());
    let text = child_pipeline::render(&child_pipeline::child_pipeline(&targets, &options))
        .context("while writing the child pipeline")?;
    let text = Redacted::new(&text);
    match &flags.output {
        Some(path) => log::write_report(path, &text).map_err(|error| {
            anyhow::Error::new(crate::error::LocalFailure::new(
                format!("writing the child pipeline to --output {}", path.display()),
                error,
            ))
        })?,
        None => log::result(&text).context("while writing the result")?,
    }
    Ok(Exit::Ok)
}

fn options(flags: &PipelineFlags, settings: &Settings) -> Result<ChildOptions, BadInput> {
    let fan_out = FanOut::parse(&flags.fan_out).ok_or_else(|| {
        BadInput::new("--fan-out", "not `always` or a number of targets", "give `always`, or a number such as 10")
            .with_value(flags.fan_out.clone())
    })?;
    let environment = flags.environment.trim();
    // GitLab's environment names: letters, digits, spaces and `-_/.${}`,
    // not starting or ending with `/`.
    let allowed = |c: char| c.is_ascii_alphanumeric() || " -_/.${}".contains(c);
    if environment.is_empty()
        || !environment.chars().all(allowed)
        || environment.starts_with('/')
        || environment.ends_with('/')
    {
        return Err(BadInput::new(
            "--environment",
            "not a GitLab environment name",
            "use letters, digits, spaces and - _ / . (not at either end: /), like docs",
        )
        .with_value(flags.environment.clone()));
    }
    let image = match &flags.image {
        Some(image) if image.trim().is_empty() || image.chars().any(char::is_whitespace) => {
            return Err(BadInput::new(
                "--image",
                "not an image reference",
                "give an image with its tag, like registry.example.com/docsync:1.2.3",
            )
            .with_value(image.clone()));
        }
        Some(image) => image.clone(),
        None => format!("{RELEASED_IMAGE}:{}", env!("CARGO_PKG_VERSION")),
    };
    Ok(ChildOptions {
        image,
        environment: environment.to_owned(),
        fan_out,
        allow_unreachable: flags.allow_unreachable,
        dry_run: settings.dry_run,
    })
}

/// The targets the plan calls, in the plan's order. A target list in,
/// jobs out: where the targets come from (the settings today, GitBook's
/// site later) is the plan's business.
fn acting_targets(plan: &Plan, settings: &Settings) -> Vec<ActingTarget> {
    plan.targets
        .iter()
        .filter(|decision| decision.action != Action::Skip)
        .filter_map(|decision| {
            let target = settings.targets.iter().find(|t| t.id == decision.target)?;
            let resource = match &target.kind {
                TargetKind::GitBook(gitbook) => Resource::GitBookSpace(gitbook.space.clone()),
                TargetKind::Dot(dot) => Resource::Receiver(dot.webhook_url.clone()),
            };
            Some(ActingTarget {
                name: target.name.clone(),
                resource,
                interruptible: decision.action == Action::Preview,
            })
        })
        .collect()
}
