//! Token handlers: personal tokens of a user, service tokens of a project with a role,
//! worker tokens; listing and revoking them. A secret is shown once, at creation.

use crate::access::{authorize, authorize_cluster, project_not_found};
use crate::auth::Actor;
use crate::error::ApiError;
use crate::run_control::json_body;
use crate::state::AppState;
use crate::validate::{field_error, name_problem};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use orrery_access::{Action, Principal, PrincipalKind, Role};
use orrery_client::types::{CreateTokenRequest, CreatedToken, TokenInfo};
use orrery_core::duration::HumanDuration;
use orrery_core::spec::DEFAULT_PROJECT;
use orrery_store::NewToken;
use orrery_store::records::TokenRecord;
use serde::Deserialize;

/// Random bytes in a secret (hex-encoded, so twice as many characters).
const SECRET_BYTES: usize = 32;

/// What a token request asks for, once checked.
enum Target {
    Personal { user_id: i64 },
    Service { project: String, role: Role },
    Worker,
}

/// Creates a token. A personal token (`user`) is made by a cluster admin or by the
/// user itself; a service token (`project`, `role`) by an admin of the project; a
/// worker token by a cluster admin. The secret is in this answer and nowhere else.
#[utoipa::path(post, path = "/api/v1/tokens", request_body = CreateTokenRequest,
    responses((status = 201, body = CreatedToken),
        (status = 400, body = orrery_client::types::Problem, description = "a bad name, kind, role or expiry, each with its field"),
        (status = 403, body = orrery_client::types::Problem, description = "the caller may not create this token")))]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let request: CreateTokenRequest = json_body(&state, body)?.unwrap_or_default();
    let now = state.clock.now();
    let (target, expires_at) = check_request(&state, &principal, &request, now).await?;
    let secret = new_secret()?;
    let (kind, user_id, project, role) = match &target {
        Target::Personal { user_id } => ("api", Some(*user_id), None, None),
        Target::Service { project, role } => {
            ("api", None, Some(project.as_str()), Some(role.as_str()))
        }
        Target::Worker => ("worker", None, None, None),
    };
    let token = state
        .intents
        .create_token(
            &NewToken {
                name: &request.name,
                kind,
                secret: &secret,
                user_id,
                project,
                role,
                expires_at,
            },
            &actor.0,
            now,
        )
        .await?;
    tracing::info!(actor = %actor.0, token = %token.name, kind = %token.kind, "token created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            id: token.id,
            name: token.name,
            kind: token.kind,
            user: token.user.map(|u| u.name),
            project: token.project,
            role: token.role,
            expires_at: token.expires_at,
            secret,
        }),
    ))
}

/// The token to make, or every problem with the request at once; refuses a caller
/// who may not make it.
async fn check_request(
    state: &AppState,
    principal: &Principal,
    request: &CreateTokenRequest,
    now: DateTime<Utc>,
) -> Result<(Target, Option<DateTime<Utc>>), ApiError> {
    let mut errors = Vec::new();
    if let Some(message) = name_problem(&request.name) {
        errors.push(field_error("name", message));
    }
    let expires_at = match request
        .expires_in
        .as_deref()
        .map(str::parse::<HumanDuration>)
    {
        None => None,
        Some(Ok(duration)) if duration.is_zero() => {
            errors.push(field_error(
                "expires_in",
                "must be longer than 0".to_owned(),
            ));
            None
        }
        Some(Ok(duration)) => chrono::Duration::from_std(duration.as_std())
            .ok()
            .and_then(|d| now.checked_add_signed(d)),
        Some(Err(error)) => {
            errors.push(field_error("expires_in", error.to_string()));
            None
        }
    };
    let kind = request.kind.as_str();
    let api_kind = matches!(kind, "" | "api");
    let target = match (&request.user, &request.project) {
        (Some(_), Some(_)) => {
            errors.push(field_error(
                "project",
                "give user (a personal token) or project (a service token), not both".to_owned(),
            ));
            None
        }
        (Some(user), None) if api_kind => {
            if request.role.is_some() {
                errors.push(field_error(
                    "role",
                    "a personal token carries its user's roles; leave role out".to_owned(),
                ));
            }
            let own = matches!(&principal.kind, PrincipalKind::User { .. })
                && principal.actor == format!("user:{user}");
            if !own {
                authorize_cluster(principal, Action::UserTokenManage)?;
            }
            match state.reads.find_user(user).await? {
                Some(found) if found.disabled_at.is_none() => {
                    Some(Target::Personal { user_id: found.id })
                }
                Some(_) => {
                    errors.push(field_error("user", format!("user {user:?} is disabled")));
                    None
                }
                None => {
                    errors.push(field_error("user", format!("no user {user:?}")));
                    None
                }
            }
        }
        (None, Some(project)) if api_kind => {
            service_target(
                state,
                principal,
                project,
                request.role.as_deref(),
                &mut errors,
            )
            .await?
        }
        (None, None) if kind == "api" => {
            // The shortcut kept from before projects had members.
            let role = request.role.as_deref().or(Some("editor"));
            service_target(state, principal, DEFAULT_PROJECT, role, &mut errors).await?
        }
        (None, None) if kind == "worker" => {
            authorize_cluster(principal, Action::WorkerTokenManage)?;
            Some(Target::Worker)
        }
        _ => {
            errors.push(field_error("kind", kind_problem(kind, request)));
            None
        }
    };
    match target {
        Some(target) if errors.is_empty() => Ok((target, expires_at)),
        _ => Err(ApiError::invalid_fields(errors)),
    }
}

async fn service_target(
    state: &AppState,
    principal: &Principal,
    project: &str,
    role: Option<&str>,
    errors: &mut Vec<orrery_client::types::FieldError>,
) -> Result<Option<Target>, ApiError> {
    authorize(principal, Action::ProjectTokenManage, Some(project), || {
        project_not_found(project)
    })?;
    crate::access::require_project(state, project).await?;
    match role.map(|r| (r, Role::parse(r))) {
        Some((_, Some(role))) => Ok(Some(Target::Service {
            project: project.to_owned(),
            role,
        })),
        Some((text, None)) => {
            errors.push(field_error(
                "role",
                format!("{text:?} is not a role; use viewer, operator, editor or admin"),
            ));
            Ok(None)
        }
        None => {
            errors.push(field_error(
                "role",
                "required for a service token: viewer, operator, editor or admin".to_owned(),
            ));
            Ok(None)
        }
    }
}

fn kind_problem(kind: &str, request: &CreateTokenRequest) -> String {
    match kind {
        "" => "required: worker or api, or give user or project".to_owned(),
        "admin" => "admin tokens cannot be created through the API; use worker or api".to_owned(),
        "worker" if request.user.is_some() || request.project.is_some() => {
            "worker tokens belong to no user or project".to_owned()
        }
        other => format!("{other:?} is not a token kind; use worker or api"),
    }
}

/// `GET /tokens` options.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TokenQuery {
    /// Only this project's service tokens (needs admin of the project).
    project: Option<String>,
}

/// Tokens the caller may manage: a project's service tokens with `?project=`, else
/// every token for a cluster admin and a user's own personal tokens for a user.
#[utoipa::path(get, path = "/api/v1/tokens", params(TokenQuery),
    responses((status = 200, body = [TokenInfo]), (status = 403, body = orrery_client::types::Problem)))]
pub(crate) async fn list_tokens(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(query): Query<TokenQuery>,
) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    let tokens = match &query.project {
        Some(project) => {
            authorize(
                &principal,
                Action::ProjectTokenManage,
                Some(project),
                || project_not_found(project),
            )?;
            state.reads.list_tokens(Some(project)).await?
        }
        None if principal.is_cluster_admin() => state.reads.list_tokens(None).await?,
        None => match &principal.kind {
            PrincipalKind::User { user_id, .. } => state
                .reads
                .list_tokens(None)
                .await?
                .into_iter()
                .filter(|t| t.user.as_ref().is_some_and(|u| u.id == *user_id))
                .collect(),
            _ => {
                authorize_cluster(&principal, Action::UserTokenManage)?;
                Vec::new()
            }
        },
    };
    Ok(Json(tokens.into_iter().map(token_info).collect()))
}

/// Revokes a token at once: its next request is refused.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = orrery_client::types::Problem),
        (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::NotFound {
        what: format!("token {id:?}"),
    };
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let token = state.reads.get_token(id).await?.ok_or_else(not_found)?;
    match (&token.project, &token.user, &principal.kind) {
        (Some(project), _, _) => {
            authorize(
                &principal,
                Action::ProjectTokenManage,
                Some(project),
                not_found,
            )?;
        }
        (None, Some(user), PrincipalKind::User { user_id, .. }) if user.id == *user_id => {}
        (None, _, _) => authorize_cluster(&principal, Action::UserTokenManage)?,
    }
    if !state
        .intents
        .revoke_token(id, &actor.0, state.clock.now())
        .await?
    {
        return Err(ApiError::Conflict(format!("token {id} is already revoked")));
    }
    Ok(StatusCode::NO_CONTENT)
}

fn token_info(token: TokenRecord) -> TokenInfo {
    TokenInfo {
        id: token.id,
        name: token.name,
        kind: token.kind,
        user: token.user.map(|u| u.name),
        project: token.project,
        role: token.role,
        created_at: token.created_at,
        created_by: token.created_by,
        expires_at: token.expires_at,
        revoked_at: token.revoked_at,
        last_used_at: token.last_used_at,
    }
}

/// 32 random bytes, hex-encoded.
pub(crate) fn new_secret() -> Result<String, ApiError> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::Internal(format!("generate a token secret: {e}")))?;
    Ok(orrery_core::hex::encode(&bytes))
}
