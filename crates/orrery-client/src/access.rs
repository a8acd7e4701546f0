//! The client's calls for tenancy and access: projects, users, members and tokens.

use crate::client::{Client, encode};
use crate::error::ClientError;
use crate::types::{
    CreateProjectRequest, CreateTokenRequest, CreateUserRequest, CreatedToken, Member, Project,
    SetMemberRequest, TokenInfo, UpdateProjectRequest, User,
};
use reqwest::Method;

impl Client {
    /// Creates a token; its secret is only in this answer.
    pub async fn create_token_with(
        &self,
        request: &CreateTokenRequest,
    ) -> Result<CreatedToken, ClientError> {
        let path = "/api/v1/tokens";
        self.send_json(self.request(Method::POST, path).json(request), path)
            .await
    }

    /// Creates a cluster-wide token of `kind` (`worker`, or `api` for a service token
    /// of project `default` with role `editor`).
    pub async fn create_token(&self, name: &str, kind: &str) -> Result<CreatedToken, ClientError> {
        self.create_token_with(&CreateTokenRequest {
            name: name.to_owned(),
            kind: kind.to_owned(),
            ..Default::default()
        })
        .await
    }

    /// Tokens the caller may manage, newest first; with `project`, that project's
    /// service tokens.
    pub async fn list_tokens(&self, project: Option<&str>) -> Result<Vec<TokenInfo>, ClientError> {
        let path = match project {
            Some(project) => format!("/api/v1/tokens?project={}", encode(project)),
            None => "/api/v1/tokens".to_owned(),
        };
        self.get_json(&path).await
    }

    /// Revokes a token at once.
    pub async fn revoke_token(&self, id: i64) -> Result<(), ClientError> {
        let path = format!("/api/v1/tokens/{id}");
        drop(
            self.send(self.request(Method::DELETE, &path), &path)
                .await?,
        );
        Ok(())
    }

    /// Creates a project.
    pub async fn create_project(
        &self,
        name: &str,
        description: &str,
    ) -> Result<Project, ClientError> {
        let path = "/api/v1/projects";
        let request = CreateProjectRequest {
            name: name.to_owned(),
            description: description.to_owned(),
        };
        self.send_json(self.request(Method::POST, path).json(&request), path)
            .await
    }

    /// The projects the caller can see.
    pub async fn list_projects(&self) -> Result<Vec<Project>, ClientError> {
        self.get_json("/api/v1/projects").await
    }

    /// One project.
    pub async fn get_project(&self, name: &str) -> Result<Project, ClientError> {
        self.get_json(&format!("/api/v1/projects/{}", encode(name)))
            .await
    }

    /// Changes a project's settings.
    pub async fn update_project(
        &self,
        name: &str,
        request: &UpdateProjectRequest,
    ) -> Result<Project, ClientError> {
        let path = format!("/api/v1/projects/{}", encode(name));
        self.send_json(self.request(Method::PATCH, &path).json(request), &path)
            .await
    }

    /// Deletes a project (refused while it has jobs).
    pub async fn delete_project(&self, name: &str) -> Result<(), ClientError> {
        let path = format!("/api/v1/projects/{}", encode(name));
        drop(
            self.send(self.request(Method::DELETE, &path), &path)
                .await?,
        );
        Ok(())
    }

    /// Creates a local user.
    pub async fn create_user(&self, request: &CreateUserRequest) -> Result<User, ClientError> {
        let path = "/api/v1/users";
        self.send_json(self.request(Method::POST, path).json(request), path)
            .await
    }

    /// Every user.
    pub async fn list_users(&self) -> Result<Vec<User>, ClientError> {
        self.get_json("/api/v1/users").await
    }

    /// Disables a user: its tokens stop working at once.
    pub async fn disable_user(&self, name: &str) -> Result<User, ClientError> {
        let path = format!("/api/v1/users/{}/disable", encode(name));
        self.send_json(self.request(Method::POST, &path), &path)
            .await
    }

    /// Gives a user or an SSO group a role in a project.
    pub async fn set_member(
        &self,
        project: &str,
        request: &SetMemberRequest,
    ) -> Result<Member, ClientError> {
        let path = format!("/api/v1/projects/{}/members", encode(project));
        self.send_json(self.request(Method::POST, &path).json(request), &path)
            .await
    }

    /// A project's members.
    pub async fn list_members(&self, project: &str) -> Result<Vec<Member>, ClientError> {
        self.get_json(&format!("/api/v1/projects/{}/members", encode(project)))
            .await
    }

    /// Takes a user's (`group: false`) or group's role in a project away.
    pub async fn remove_member(
        &self,
        project: &str,
        subject: &str,
        group: bool,
    ) -> Result<(), ClientError> {
        let kind = if group { "groups" } else { "users" };
        let path = format!(
            "/api/v1/projects/{}/members/{kind}/{}",
            encode(project),
            encode(subject)
        );
        drop(
            self.send(self.request(Method::DELETE, &path), &path)
                .await?,
        );
        Ok(())
    }
}

/// Filters for reading the audit log.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub project: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// RFC 3339, or a duration back from now (`7d`).
    pub since: Option<String>,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl Client {
    /// A page of audit rows.
    pub async fn audit(&self, query: &AuditQuery) -> Result<crate::types::AuditPage, ClientError> {
        let mut params: Vec<(&str, String)> = Vec::new();
        for (key, value) in [
            ("project", &query.project),
            ("actor", &query.actor),
            ("action", &query.action),
            ("since", &query.since),
            ("cursor", &query.cursor),
        ] {
            if let Some(value) = value {
                params.push((key, value.clone()));
            }
        }
        if query.oldest_first {
            params.push(("order", "asc".to_owned()));
        }
        if let Some(limit) = query.limit {
            params.push(("limit", limit.to_string()));
        }
        let query: Vec<String> = params
            .iter()
            .map(|(key, value)| format!("{key}={}", encode(value)))
            .collect();
        let path = if query.is_empty() {
            "/api/v1/audit".to_owned()
        } else {
            format!("/api/v1/audit?{}", query.join("&"))
        };
        self.get_json(&path).await
    }

    /// Checks the audit log's hash chain.
    pub async fn verify_audit(&self) -> Result<crate::types::AuditVerification, ClientError> {
        self.get_json("/api/v1/audit/verify").await
    }
}

impl Client {
    /// Signs in with a username and password (no token needed).
    pub async fn login(
        &self,
        request: &crate::types::LoginRequest,
    ) -> Result<crate::types::LoginSession, ClientError> {
        let path = "/api/v1/auth/login";
        self.send_json(self.request(Method::POST, path).json(request), path)
            .await
    }

    /// Finishes a command-line SSO sign-in: trades the one-time code for a session.
    pub async fn oidc_exchange(
        &self,
        request: &crate::types::OidcExchange,
    ) -> Result<crate::types::LoginSession, ClientError> {
        let path = "/api/v1/auth/oidc/exchange";
        self.send_json(self.request(Method::POST, path).json(request), path)
            .await
    }

    /// Revokes the token this client signs its requests with.
    pub async fn logout(&self) -> Result<(), ClientError> {
        let path = "/api/v1/auth/logout";
        drop(self.send(self.request(Method::POST, path), path).await?);
        Ok(())
    }
}

impl Client {
    /// Sets a secret of `project` (a new version when it exists).
    pub async fn set_secret(
        &self,
        project: &str,
        name: &str,
        value: &str,
    ) -> Result<crate::types::SecretInfo, ClientError> {
        let path = format!(
            "/api/v1/projects/{}/secrets/{}",
            encode(project),
            encode(name)
        );
        let request = crate::types::SetSecretRequest {
            value: value.to_owned(),
        };
        self.send_json(self.request(Method::PUT, &path).json(&request), &path)
            .await
    }

    /// A project's secrets (names and versions, never values).
    pub async fn list_secrets(
        &self,
        project: &str,
    ) -> Result<Vec<crate::types::SecretInfo>, ClientError> {
        self.get_json(&format!("/api/v1/projects/{}/secrets", encode(project)))
            .await
    }

    /// Deletes a secret.
    pub async fn delete_secret(&self, project: &str, name: &str) -> Result<(), ClientError> {
        let path = format!(
            "/api/v1/projects/{}/secrets/{}",
            encode(project),
            encode(name)
        );
        drop(
            self.send(self.request(Method::DELETE, &path), &path)
                .await?,
        );
        Ok(())
    }
}

impl Client {
    /// Re-seals every secret under the servers' current key.
    pub async fn rotate_secret_key(&self) -> Result<crate::types::SecretRotation, ClientError> {
        let path = "/api/v1/secrets/rotate-key";
        self.send_json(self.request(Method::POST, path), path).await
    }
}

impl Client {
    /// Who this client's token stands for, and its roles.
    pub async fn whoami(&self) -> Result<crate::types::WhoAmI, ClientError> {
        self.get_json("/api/v1/auth/whoami").await
    }
}
