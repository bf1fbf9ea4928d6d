//! What a token is and may do, for `docsync check`: its user and kind, its
//! scopes and expiry, its role in the project and its rights on a branch.

use serde::Deserialize;

use crate::gitlab::client::{Auth, GitLabClient, GitLabError};

/// `GET /user`.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: u64,
    pub username: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub bot: bool,
}

/// What kind of token authenticated as a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Personal,
    ProjectAccess,
    GroupAccess,
    OAuth,
}

impl TokenKind {
    pub fn describe(self) -> &'static str {
        match self {
            TokenKind::Personal => "personal access token",
            TokenKind::ProjectAccess => "project access token",
            TokenKind::GroupAccess => "group access token",
            TokenKind::OAuth => "OAuth token",
        }
    }
}

impl User {
    /// Project and group access tokens authenticate as bot users named
    /// `project_<id>_bot…` and `group_<id>_bot…`.
    pub fn token_kind(&self, auth: &Auth) -> TokenKind {
        if matches!(auth, Auth::OAuth(_)) {
            return TokenKind::OAuth;
        }
        let numbered_bot = |prefix: &str| {
            self.username
                .strip_prefix(prefix)
                .and_then(|rest| rest.split_once("_bot"))
                .is_some_and(|(id, _)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        };
        match () {
            _ if self.bot && numbered_bot("project_") => TokenKind::ProjectAccess,
            _ if self.bot && numbered_bot("group_") => TokenKind::GroupAccess,
            _ => TokenKind::Personal,
        }
    }
}

/// `GET /personal_access_tokens/self` (also answers for project and group
/// access tokens).
/// Fields GitLab leaves out stay unknown (`None`): a missing `active` is
/// not a revoked token.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenInfo {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub revoked: Option<bool>,
    /// `YYYY-MM-DD`, or none for tokens that never expire.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// The token's user: known even when `GET /user` is out of its scopes.
    #[serde(default)]
    pub user_id: Option<u64>,
}

/// `GET /projects/:id`.
#[derive(Debug, Clone, Deserialize)]
pub struct ProjectInfo {
    pub id: u64,
    #[serde(default)]
    pub path_with_namespace: String,
    pub web_url: String,
    /// `null` in an empty project.
    #[serde(default)]
    pub default_branch: Option<String>,
}

/// `GET /projects/:id/members/all/:user_id`.
#[derive(Debug, Clone, Deserialize)]
pub struct Member {
    pub access_level: u32,
}

pub(crate) fn role_name(access_level: u32) -> &'static str {
    match access_level {
        0..=9 => "no access",
        10..=14 => "Guest",
        15..=19 => "Planner",
        20..=29 => "Reporter",
        30..=39 => "Developer",
        40..=49 => "Maintainer",
        _ => "Owner",
    }
}

/// `GET /projects/:id/repository/branches/:branch`.
#[derive(Debug, Clone, Deserialize)]
pub struct Branch {
    pub name: String,
    #[serde(default)]
    pub protected: bool,
    #[serde(default)]
    pub can_push: bool,
    #[serde(default)]
    pub default: bool,
}

impl GitLabClient<'_> {
    pub async fn user(&self) -> Result<User, GitLabError> {
        self.get(&["user"], &[]).await
    }

    pub async fn token_info(&self) -> Result<TokenInfo, GitLabError> {
        self.get(&["personal_access_tokens", "self"], &[]).await
    }

    pub async fn project(&self, project: &str) -> Result<ProjectInfo, GitLabError> {
        self.get(&["projects", project], &[]).await
    }

    pub async fn member(&self, project: &str, user_id: u64) -> Result<Member, GitLabError> {
        self.get(&["projects", project, "members", "all", &user_id.to_string()], &[]).await
    }

    /// `None` when the branch does not exist.
    pub async fn branch(&self, project: &str, branch: &str) -> Result<Option<Branch>, GitLabError> {
        match self.get(&["projects", project, "repository", "branches", branch], &[]).await {
            Ok(branch) => Ok(Some(branch)),
            Err(GitLabError::NotFound(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::secret::Secret;

    use super::*;

    fn user(username: &str, bot: bool) -> User {
        User { id: 1, username: username.into(), name: String::new(), bot }
    }

    #[test]
    fn token_kinds_from_bot_users() {
        let pat = Auth::Private(Secret::new("glpat-kind-test-token"));
        assert_eq!(user("jane", false).token_kind(&pat), TokenKind::Personal);
        assert_eq!(user("project_42_bot_3f2a", true).token_kind(&pat), TokenKind::ProjectAccess);
        assert_eq!(user("group_7_bot_9c1d", true).token_kind(&pat), TokenKind::GroupAccess);
        assert_eq!(user("project_x_bot", true).token_kind(&pat), TokenKind::Personal);
        let oauth = Auth::for_token(&Secret::new("a".repeat(64)));
        assert!(matches!(oauth, Auth::OAuth(_)));
        assert_eq!(user("jane", false).token_kind(&oauth), TokenKind::OAuth);
    }
}
