//! Targets found in a GitBook site (`gitbook_site` with
//! `gitbook_organization`): each of the site's Git Sync space installations
//! of this GitLab project and this branch becomes a GitBook target, added
//! to the configured ones before the facts are gathered. Listing the
//! installations and reading head's site file is the I/O ([`discover`]);
//! which installations become which targets is decided by [`kept_targets`],
//! a pure function.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use tokio::runtime::Runtime;

use crate::error::BadInput;
use crate::git::remote::Project;
use crate::git::repo::Repo;
use crate::http::HttpClient;
use crate::lint::gitbook_config::{SITE_FILES, site_spaces};
use crate::settings::target_id::TargetId;
use crate::settings::{Discovery, Settings, Target, TargetKind};
use crate::targets::gitbook::installations::{self, Installation, InstallationsError, Listing};

/// The largest site file read for its space keys.
const MAX_SITE_FILE: u64 = 1024 * 1024;

/// What discovery found, as `docsync check` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// The site's space installations.
    pub found: usize,
    /// Those of this project and branch.
    pub kept: usize,
    /// Those of other projects or branches.
    pub ignored: usize,
    /// Kept ones a `[[target]]` already names (it wins).
    pub configured: usize,
    /// Kept ones whose directory is not in the repository (not synced).
    pub missing: usize,
}

/// The targets found, and what was said about the others.
#[derive(Debug, Default)]
pub(crate) struct Discovered {
    pub targets: Vec<Target>,
    pub counts: Counts,
    pub warnings: Vec<String>,
}

/// Why discovery found nothing to go on.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DiscoveryFailed {
    /// The settings, the repository or docsync itself are at fault: the
    /// error's own exit code (2 for a bad input).
    #[error(transparent)]
    Settings(anyhow::Error),
    /// GitBook could not be asked, or its answer not read (exit 3): which
    /// targets the site holds is unknown.
    #[error("cannot list the spaces of GitBook site {site}: {cause}\n  fix: {fix}")]
    Unknown { site: String, fix: String, cause: Box<InstallationsError> },
}

/// This GitLab project, as an installation names it.
#[derive(Debug, Default)]
pub(crate) struct ThisProject {
    /// `CI_PROJECT_ID`.
    pub id: Option<u64>,
    /// The project's web URL (`CI_PROJECT_URL`, else the origin remote's).
    pub web_url: Option<String>,
}

impl ThisProject {
    fn of(settings: &Settings, repo: &Repo) -> ThisProject {
        let ci = settings.pipeline.ci.as_ref();
        let url = ci.and_then(|ci| ci.project_url.clone()).or_else(|| repo.origin_url());
        ThisProject {
            id: ci.and_then(|ci| ci.project_id),
            web_url: url.as_deref().and_then(Project::from_url).map(|p| comparable(p.web_url.as_str())),
        }
    }

    fn owns(&self, installation: &Installation) -> bool {
        if installation.provider != "gitlab" {
            return false;
        }
        let by_id = self.id.is_some() && installation.project_id == self.id;
        let by_url = self.web_url.is_some()
            && installation
                .repository_url
                .as_deref()
                .and_then(Project::from_url)
                .is_some_and(|p| Some(comparable(p.web_url.as_str())) == self.web_url);
        by_id || by_url
    }
}

/// GitLab's project paths are case-insensitive.
fn comparable(url: &str) -> String {
    url.to_ascii_lowercase()
}

/// Adds the site's targets to the settings when discovery is on; `None`
/// when it is off. Logs what was found and each warning.
pub(crate) fn discover(settings: &mut Settings, runtime: &Runtime) -> Result<Option<Counts>, DiscoveryFailed> {
    let Some(discovery) = settings.discovery.clone() else { return Ok(None) };
    let TargetKind::GitBook(template) = &discovery.template.kind else { return Ok(None) };
    let Some(token) = template.token.clone() else {
        return Err(DiscoveryFailed::Settings(
            BadInput::new(
                "DOCSYNC_GITBOOK_TOKEN",
                format!("listing the spaces of GitBook site {} needs a GitBook API token", discovery.site),
                "set DOCSYNC_GITBOOK_TOKEN (a masked variable) to a token of a member of the organization",
            )
            .into(),
        ));
    };
    let http = HttpClient::new(&settings.http).map_err(DiscoveryFailed::Settings)?;
    let listed = runtime.block_on(installations::list(
        &http,
        &template.api_url,
        &token,
        &template.token_source,
        &discovery.organization,
        &discovery.site,
    ));
    let listing = match listed {
        Ok(listing) => listing,
        Err(error) if error.is_configuration() => {
            let fix = error.fix();
            let source = match &error {
                InstallationsError::Unauthorized { variable, .. } => variable.clone(),
                InstallationsError::SiteNotFound { .. } => "DOCSYNC_GITBOOK_SITE".to_owned(),
                // An untrusted certificate: the API's address is where to look.
                _ => "DOCSYNC_GITBOOK_API_URL".to_owned(),
            };
            return Err(DiscoveryFailed::Settings(BadInput::new(source, error.to_string(), fix).into()));
        }
        Err(error) => {
            return Err(DiscoveryFailed::Unknown {
                site: discovery.site.clone(),
                fix: error.fix(),
                cause: Box::new(error),
            });
        }
    };
    let repo = super::facts::open_repo(settings).map_err(DiscoveryFailed::Settings)?;
    let head = head_commit(settings, &repo).map_err(DiscoveryFailed::Settings)?;
    let names = site_names(&repo, &head, &listing).map_err(DiscoveryFailed::Settings)?;
    let this = ThisProject::of(settings, &repo);
    let exists = |directory: &str| directory.is_empty() || repo.has_directory(&head, directory).unwrap_or(false);
    let found = kept_targets(&listing, &discovery, &settings.targets, &this, &names, &exists);
    for warning in &found.warnings {
        tracing::warn!("{warning}");
    }
    let counts = &found.counts;
    tracing::info!(
        "GitBook site {}: {} space installations, {} of this project and branch ({} configured by a [[target]], {} without their directory), {} of other projects or branches ignored",
        discovery.site,
        counts.found,
        counts.kept,
        counts.configured,
        counts.missing,
        counts.ignored
    );
    settings.targets.extend(found.targets);
    Ok(Some(found.counts))
}

/// A sync job whose site holds no space of this project and branch, and
/// that has no other target, would pass having synced nothing: in CI that
/// is a configuration to fix (the counts are in the log line before).
pub(crate) fn no_space_of_ours(discovery: &Discovery, settings: &Settings) -> BadInput {
    let branch = discovery.template.branch.as_deref().unwrap_or("any branch");
    let project = settings
        .pipeline
        .ci
        .as_ref()
        .and_then(|ci| ci.project_id)
        .map_or_else(|| "this project".to_owned(), |id| format!("project {id}"));
    BadInput::new(
        "DOCSYNC_GITBOOK_SITE",
        format!(
            "GitBook site {} syncs no space from {project} on branch {branch}, and no other target is configured, so the job would pass without syncing anything",
            discovery.site
        ),
        "set up Git Sync for the site's spaces from this project and branch in GitBook, or check DOCSYNC_GITBOOK_SITE and DOCSYNC_BRANCH",
    )
}

/// The commit the run reads the repository at: `--to`, else the checkout's.
fn head_commit(settings: &Settings, repo: &Repo) -> Result<String> {
    let revision = settings.to.as_deref().unwrap_or("HEAD");
    repo.resolve_commit(revision)?
        .with_context(|| format!("the repository has no commit {revision} to read the site file at"))
}

/// The key of each directory the site file syncs (`docs.yaml` or
/// `gitbook-docs.yaml`, in the site's project directory), when head has one.
fn site_names(repo: &Repo, head: &str, listing: &Listing) -> Result<Vec<(String, String)>> {
    let directory = listing.site_directory.as_deref().unwrap_or_default();
    for name in SITE_FILES {
        let path = if directory.is_empty() { name.to_owned() } else { format!("{directory}/{name}") };
        let file = repo.file_at(head, &path, |_, size| size <= MAX_SITE_FILE)?;
        if let Some(content) = file.and_then(|file| file.content) {
            return Ok(site_spaces(&String::from_utf8_lossy(&content), directory));
        }
    }
    Ok(Vec::new())
}

/// The targets the site's installations make: those of this project on
/// the sync branch (any branch when none is known), except the spaces a
/// configured target already syncs (it wins, keys and all) and those whose
/// directory is not in the repository (a warning naming it). `names` maps
/// the site file's keys to their directories.
pub(crate) fn kept_targets(
    listing: &Listing,
    discovery: &Discovery,
    configured: &[Target],
    this: &ThisProject,
    names: &[(String, String)],
    directory_exists: &dyn Fn(&str) -> bool,
) -> Discovered {
    let mut discovered = Discovered::default();
    let template = &discovery.template;
    let mut taken: BTreeSet<String> = configured.iter().map(|t| t.name.clone()).collect();
    let configured_spaces: BTreeSet<&str> = configured
        .iter()
        .filter_map(|t| match &t.kind {
            TargetKind::GitBook(gitbook) => Some(gitbook.space.as_str()),
            TargetKind::Dot(_) => None,
        })
        .collect();
    for installation in &listing.spaces {
        discovered.counts.found += 1;
        let on_branch = match (&template.branch, &installation.branch) {
            (Some(wanted), Some(branch)) => wanted == branch,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        if !this.owns(installation) || !on_branch {
            discovered.counts.ignored += 1;
            continue;
        }
        discovered.counts.kept += 1;
        if configured_spaces.contains(installation.space.as_str()) {
            discovered.counts.configured += 1;
            continue;
        }
        let directory = &installation.directory;
        let shown = if directory.is_empty() { "the repository root" } else { directory.as_str() };
        let climbs = directory.split('/').any(|part| part == "..");
        if climbs || !directory_exists(directory) {
            discovered.counts.missing += 1;
            discovered.warnings.push(format!(
                "space {} of GitBook site {}: its directory {shown} is not in the repository: not synced; fix: create the directory, or correct the space's project directory in GitBook's Git Sync settings",
                installation.space, discovery.site
            ));
            continue;
        }
        if installation.status != "active" {
            discovered.warnings.push(format!(
                "space {} of GitBook site {}: its Git Sync installation is {}, not active: GitBook may refuse the import",
                installation.space, discovery.site, installation.status
            ));
        }
        let named = names.iter().find(|(_, dir)| dir == directory).map(|(key, _)| key.clone());
        let mut name =
            named.unwrap_or_else(|| if directory.is_empty() { installation.space.clone() } else { directory.clone() });
        if taken.contains(&name) {
            name = format!("{name}-{}", installation.space);
        }
        taken.insert(name.clone());
        let mut target = template.clone();
        target.id = TargetId::Discovered(discovered.targets.len());
        target.name = name;
        target.defined_at = format!("GitBook site {}, space {}", discovery.site, installation.space);
        target.discovered_in =
            Some(format!("discovered in site {}: space {}, directory {shown}", discovery.site, installation.space));
        target.branch = template.branch.clone().or_else(|| installation.branch.clone());
        target.paths.directory = directory.clone();
        if let Some(ignore) = &mut target.ignore {
            ignore.directory = directory.clone();
        }
        if let TargetKind::GitBook(gitbook) = &mut target.kind {
            gitbook.space = installation.space.clone();
        }
        discovered.targets.push(target);
    }
    discovered
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::environment::Environment;
    use crate::settings::flags::GlobalFlags;

    fn settings(vars: &[(&str, &str)]) -> Settings {
        let base = [("DOCSYNC_GITBOOK_SITE", "site1"), ("DOCSYNC_GITBOOK_ORGANIZATION", "org1")];
        let env =
            Environment::from_vars(base.iter().chain(vars).map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))).unwrap();
        crate::settings::resolve::resolve(&GlobalFlags::default(), &env, None).unwrap()
    }

    fn installation(space: &str, directory: &str, project_id: Option<u64>, url: Option<&str>) -> Installation {
        Installation {
            space: space.into(),
            directory: directory.into(),
            provider: "gitlab".into(),
            project_id,
            repository_url: url.map(str::to_owned),
            branch: Some("main".into()),
            status: "active".into(),
        }
    }

    fn names(discovered: &Discovered) -> Vec<&str> {
        discovered.targets.iter().map(|t| t.name.as_str()).collect()
    }

    #[test]
    fn this_project_is_known_by_its_id_or_its_repository_url() {
        let settings = settings(&[("DOCSYNC_BRANCH", "main")]);
        let discovery = settings.discovery.as_ref().unwrap();
        let this = ThisProject { id: Some(7), web_url: Some(comparable("https://gitlab.example.com/group/project")) };
        let listing = Listing {
            spaces: vec![
                installation("spcId", "by-id", Some(7), None),
                installation("spcUrl", "by-url", None, Some("https://oauth2:x@GitLab.example.com/Group/Project.git")),
                installation("spcOther", "other", Some(8), Some("https://gitlab.example.com/group/other")),
                Installation { provider: "github".into(), ..installation("spcHub", "hub", Some(7), None) },
                Installation { branch: Some("next".into()), ..installation("spcNext", "next", Some(7), None) },
                Installation { branch: None, ..installation("spcNone", "none", Some(7), None) },
            ],
            site_directory: None,
        };
        let found = kept_targets(&listing, discovery, &[], &this, &[], &|_| true);
        assert_eq!(names(&found), ["by-id", "by-url"]);
        assert_eq!(found.counts, Counts { found: 6, kept: 2, ignored: 4, configured: 0, missing: 0 });
        assert!(found.targets.iter().all(|t| t.branch.as_deref() == Some("main")));
    }

    #[test]
    fn names_come_from_the_site_file_else_the_directory_and_never_repeat() {
        let settings = settings(&[("DOCSYNC_BRANCH", "main"), ("DOCSYNC_IGNORE", "drafts/**")]);
        let discovery = settings.discovery.as_ref().unwrap();
        let this = ThisProject { id: Some(7), web_url: None };
        let listing = Listing {
            spaces: vec![
                installation("spcA", "docs/en", Some(7), None),
                installation("spcB", "docs/fr", Some(7), None),
                installation("spcRoot", "", Some(7), None),
                Installation { status: "pending".into(), ..installation("spcC", "docs/de", Some(7), None) },
            ],
            site_directory: None,
        };
        let site = [("english".to_owned(), "docs/en".to_owned())];
        let mut configured = settings.clone();
        configured.targets = vec![discovery.template.clone()];
        configured.targets[0].name = "docs/fr".into();
        if let TargetKind::GitBook(gitbook) = &mut configured.targets[0].kind {
            gitbook.space = "spcElsewhere".into();
        }
        let found = kept_targets(&listing, discovery, &configured.targets, &this, &site, &|_| true);
        assert_eq!(names(&found), ["english", "docs/fr-spcB", "spcRoot", "docs/de"]);
        let english = &found.targets[0];
        assert_eq!(english.paths.directory, "docs/en");
        assert_eq!(english.ignore.as_ref().map(|i| i.directory.as_str()), Some("docs/en"));
        assert_eq!(english.discovered_in.as_deref(), Some("discovered in site site1: space spcA, directory docs/en"));
        assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
        assert!(found.warnings[0].contains("space spcC of GitBook site site1: its Git Sync installation is pending"));
    }
}
