//! Fetching what a clone lacks: history a shallow clone cut off
//! ([`Repo::deepen`], through docsync's own HTTP transport,
//! [`crate::git::transport`]), and the file contents a blob-less partial
//! clone leaves out, which rename detection compares.
//!
//! Separate from the repository's reads ([`crate::git::repo`]) because this
//! is the one part of the `git` folder that writes to the clone and talks to
//! a remote.

use std::collections::HashSet;

use anyhow::Result;
use git2::{Oid, Repository};

use crate::error::BadInput;
use crate::git::renames;
use crate::git::repo::Repo;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    /// The run's configuration is at fault, not the server: a certificate
    /// no trusted CA signed (exit 2, as for every other request).
    #[error("{0}")]
    Configuration(BadInput),
    /// libgit2's message, redacted; the range falls back as its rules say.
    #[error("{0}")]
    Failed(String),
    /// Blobs were missing, yet the clone names no promisor remote to ask.
    #[error("not a partial clone (no promisor remote)")]
    NoPromisor,
    /// The promisor remote is configured without a URL.
    #[error("the promisor remote {0} has no URL")]
    PromisorWithoutUrl(String),
}

impl FetchError {
    fn of(error: &git2::Error) -> FetchError {
        match crate::git::transport::take_untrusted_certificate() {
            Some(detail) => FetchError::Configuration(BadInput::new(
                "CI_SERVER_TLS_CA_FILE",
                format!("the git server's TLS certificate is not trusted ({detail})"),
                "add its CA to CI_SERVER_TLS_CA_FILE or SSL_CERT_FILE (a PEM bundle)",
            )),
            None => FetchError::Failed(crate::secret::redact(error.message())),
        }
    }
}

/// The rename candidates (indices into the sources and destinations) whose
/// content the clone lacked before rename detection.
pub(super) struct MissingBlobs {
    sources: Vec<usize>,
    destinations: Vec<usize>,
}

impl Repo {
    /// Fetches `refspecs` from `url`: `depth` commits deep into a shallow
    /// clone (`None`: the whole history). A full clone stays full: the
    /// depth applies to shallow clones only. HTTP(S) goes through docsync's
    /// own client ([`crate::git::transport`]), with its timeouts.
    pub(crate) fn deepen(&self, url: &str, refspecs: &[String], depth: Option<i32>) -> Result<(), FetchError> {
        crate::git::transport::register_transports();
        // A certificate refused by an earlier fetch is not this fetch's.
        let _ = crate::git::transport::take_untrusted_certificate();
        let fetched = (|| {
            let mut remote = self.repo.remote_anonymous(url)?;
            let mut options = git2::FetchOptions::new();
            options.download_tags(git2::AutotagOption::None);
            if self.is_shallow() {
                options.depth(depth.unwrap_or(i32::MAX));
            }
            remote.fetch(refspecs, Some(&mut options), None)
        })();
        fetched.map_err(|error| FetchError::of(&error))
    }

    /// Fetches the contents rename detection will compare that a partial
    /// clone lacks, and says which were missing.
    pub(super) fn fetch_missing_blobs(
        &self,
        odb: &git2::Odb<'_>,
        sources: &[renames::Candidate],
        destinations: &[renames::Candidate],
    ) -> MissingBlobs {
        let missing = |candidates: &[renames::Candidate]| -> Vec<usize> {
            (0..candidates.len())
                .filter(|&i| renames::is_regular(candidates[i].mode))
                .filter(|&i| Oid::from_bytes(&candidates[i].id).is_ok_and(|id| !odb.exists(id)))
                .collect()
        };
        // Renames pair a deleted with an added file: without both, nothing to compare.
        let (missing_sources, missing_destinations) = if sources.is_empty() || destinations.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            (missing(sources), missing(destinations))
        };
        if !missing_sources.is_empty() || !missing_destinations.is_empty() {
            let ids: Vec<Oid> = missing_sources
                .iter()
                .map(|&i| &sources[i])
                .chain(missing_destinations.iter().map(|&i| &destinations[i]))
                .filter_map(|c| Oid::from_bytes(&c.id).ok())
                .collect();
            match self.fetch_blobs(&ids) {
                Ok(fetched) => tracing::info!(
                    "fetched {fetched} of {} file contents this partial clone lacks, for rename detection",
                    ids.len()
                ),
                Err(why) => tracing::warn!(
                    "could not fetch the {} file contents this partial clone lacks, for rename detection: {why}",
                    ids.len()
                ),
            }
        }
        MissingBlobs { sources: missing_sources, destinations: missing_destinations }
    }

    /// Fetches blobs a blob-less partial clone lacks (git fetches them
    /// lazily; libgit2 cannot), returning how many arrived. They come from
    /// where deepening fetches, with the same credentials
    /// ([`Repo::fetch_from`]: `CI_REPOSITORY_URL`), else from the promisor
    /// remote, whose URL a runner may have stripped of its token. The fetch goes into an empty scratch repository, so that the
    /// clone's own commits are not offered as "haves" (the server would
    /// leave out every blob they reach); the blobs are then copied into the
    /// clone's object database.
    fn fetch_blobs(&self, ids: &[Oid]) -> Result<usize, FetchError> {
        let url = match self.fetch_url.get() {
            Some(url) => url.clone(),
            None => self.promisor_url()?,
        };
        let scratch = self.repo.path().join(format!("docsync-blobs-{}", std::process::id()));
        crate::git::transport::register_transports();
        let _ = crate::git::transport::take_untrusted_certificate();
        let fetched = (|| -> Result<usize, git2::Error> {
            let scratch_repo = Repository::init_bare(&scratch)?;
            let mut remote = scratch_repo.remote_anonymous(&url)?;
            let mut options = git2::FetchOptions::new();
            options.download_tags(git2::AutotagOption::None);
            options.update_fetchhead(false);
            let wanted: Vec<String> = ids.iter().map(Oid::to_string).collect();
            remote.fetch(&wanted, Some(&mut options), None)?;
            let (from, to) = (scratch_repo.odb()?, self.repo.odb()?);
            let mut copied = 0;
            for id in ids {
                if let Ok(object) = from.read(*id) {
                    to.write(object.kind(), object.data())?;
                    copied += 1;
                }
            }
            Ok(copied)
        })();
        let _ = std::fs::remove_dir_all(&scratch);
        fetched.map_err(|error| FetchError::of(&error))
    }

    /// The URL of the partial clone's promisor remote.
    fn promisor_url(&self) -> Result<String, FetchError> {
        // The promisor remote: `extensions.partialclone` (older git) or the
        // remote marked `promisor = true`.
        let config = self.repo.config().map_err(|e| FetchError::of(&e))?;
        let names = self.repo.remotes().map_err(|e| FetchError::of(&e))?;
        let marked = |name: &&str| config.get_bool(&format!("remote.{name}.promisor")).unwrap_or(false);
        let promisor = config
            .get_string("extensions.partialclone")
            .ok()
            .or_else(|| names.iter().filter_map(|name| name.ok().flatten()).find(marked).map(str::to_owned));
        let promisor = promisor.ok_or(FetchError::NoPromisor)?;
        let remote = self.repo.find_remote(&promisor).map_err(|e| FetchError::of(&e))?;
        match remote.url() {
            Ok(url) => Ok(url.to_owned()),
            Err(_) => Err(FetchError::PromisorWithoutUrl(promisor)),
        }
    }
}

impl MissingBlobs {
    /// Files whose content is still missing were never compared: say so,
    /// where git (which fetches lazily) may have paired them.
    pub(super) fn warn_uncompared(
        &self,
        odb: &git2::Odb<'_>,
        sources: &[renames::Candidate],
        destinations: &[renames::Candidate],
        pairs: &[(usize, usize)],
    ) {
        let (paired_sources, paired_destinations): (HashSet<usize>, HashSet<usize>) = pairs.iter().copied().unzip();
        let still_missing = |candidates: &[renames::Candidate], indices: &[usize], paired: &HashSet<usize>| {
            indices
                .iter()
                .filter(|i| !paired.contains(i))
                .filter(|&&i| Oid::from_bytes(&candidates[i].id).is_ok_and(|id| !odb.exists(id)))
                .map(|&i| candidates[i].path.clone())
                .collect::<Vec<_>>()
        };
        let mut uncompared = still_missing(sources, &self.sources, &paired_sources);
        uncompared.extend(still_missing(destinations, &self.destinations, &paired_destinations));
        if !uncompared.is_empty() {
            let shown: Vec<&str> = uncompared.iter().map(String::as_str).take(10).collect();
            let more = uncompared.len().saturating_sub(shown.len());
            tracing::warn!(
                "rename detection could not compare {} file(s) whose content is not in this partial clone ({}{}): they are listed as added or deleted, where git may find renames; clone without --filter (or fetch the blobs) to compare them",
                uncompared.len(),
                shown.join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            );
        }
    }
}
