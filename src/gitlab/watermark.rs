//! The watermark: the commit of an environment's last successful
//! deployment, where the next sync's commit range starts.

use serde::Deserialize;

use crate::gitlab::client::{GitLabClient, GitLabError};

/// One entry of `GET /projects/:id/deployments`.
#[derive(Debug, Clone, Deserialize)]
pub struct Deployment {
    pub sha: String,
    #[serde(default)]
    pub status: Option<String>,
}

impl GitLabClient<'_> {
    /// The commit of the environment's last successful deployment. The
    /// `status` of each answer is checked too: a server or proxy that drops
    /// the `status=success` filter must not make a failed sync the base.
    pub async fn last_deployment(&self, project: &str, environment: &str) -> Result<Option<Deployment>, GitLabError> {
        self.find_in_pages(
            &["projects", project, "deployments"],
            &[("environment", environment), ("status", "success"), ("order_by", "finished_at"), ("sort", "desc")],
            |deployment: &Deployment| deployment.status.as_deref() == Some("success"),
        )
        .await
    }
}
