//! User handlers: a cluster admin creates, lists and disables local users. Passwords
//! are hashed with argon2id off the async threads and never read back.

use crate::access::authorize_cluster;
use crate::auth::Actor;
use crate::error::ApiError;
use crate::run_control::json_body;
use crate::state::AppState;
use crate::validate::{field_error, user_name_problem};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use orrery_access::{Action, Principal};
use orrery_client::types::{CreateUserRequest, User};
use orrery_store::records::UserRecord;
use orrery_store::{NewUser, StoreError};

/// Shortest accepted password.
const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted password (argon2 takes any length; this bounds the work).
const MAX_PASSWORD_CHARS: usize = 1024;

/// Every user (a cluster admin only).
#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = [User]),
    (status = 403, body = orrery_client::types::Problem)))]
pub(crate) async fn list_users(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Vec<User>>, ApiError> {
    authorize_cluster(&principal, Action::UserManage)?;
    let users = state.reads.list_users().await?;
    Ok(Json(users.into_iter().map(user).collect()))
}

/// Creates a local user (a cluster admin only).
#[utoipa::path(post, path = "/api/v1/users", request_body = CreateUserRequest,
    responses((status = 201, body = User), (status = 400, body = orrery_client::types::Problem),
        (status = 403, body = orrery_client::types::Problem), (status = 409, body = orrery_client::types::Problem)))]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    authorize_cluster(&principal, Action::UserManage)?;
    let request: CreateUserRequest = json_body(&state, body)?.unwrap_or_default();
    let mut errors = Vec::new();
    if let Some(problem) = user_name_problem(&request.name) {
        errors.push(field_error("name", problem));
    }
    if let Some(password) = &request.password {
        let n_chars = password.chars().count();
        if n_chars < MIN_PASSWORD_CHARS {
            errors.push(field_error(
                "password",
                format!("at least {MIN_PASSWORD_CHARS} characters"),
            ));
        } else if n_chars > MAX_PASSWORD_CHARS {
            errors.push(field_error(
                "password",
                format!("at most {MAX_PASSWORD_CHARS} characters"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    let hash = match request.password.clone() {
        Some(password) => Some(
            tokio::task::spawn_blocking(move || orrery_access::hash_password(&password))
                .await
                .map_err(|e| ApiError::Internal(format!("password hashing stopped: {e}")))?
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        ),
        None => None,
    };
    let created = state
        .intents
        .create_user(
            &NewUser {
                name: &request.name,
                password_hash: hash.as_deref(),
                cluster_admin: request.cluster_admin,
            },
            &actor.0,
            state.clock.now(),
        )
        .await
        .map_err(|error| match error {
            StoreError::Conflict { .. } => {
                ApiError::Conflict(format!("user {:?} already exists", request.name))
            }
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(user(created))))
}

/// Disables a user: its tokens and sessions stop working at once.
#[utoipa::path(post, path = "/api/v1/users/{name}/disable", params(("name" = String, Path)),
    responses((status = 200, body = User), (status = 403, body = orrery_client::types::Problem),
        (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn disable_user(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<Json<User>, ApiError> {
    authorize_cluster(&principal, Action::UserManage)?;
    let not_found = || ApiError::NotFound {
        what: format!("user {name:?}"),
    };
    state
        .intents
        .disable_user(&name, &actor.0, state.clock.now())
        .await?;
    let found = state.reads.find_user(&name).await?.ok_or_else(not_found)?;
    Ok(Json(user(found)))
}

pub(crate) fn user(record: UserRecord) -> User {
    User {
        name: record.name,
        cluster_admin: record.cluster_admin,
        has_password: record.has_password,
        disabled_at: record.disabled_at,
        created_at: record.created_at,
    }
}
