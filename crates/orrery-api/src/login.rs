//! Password sign-in: a local user's name and password buy a short-lived personal
//! token (a session); signing out revokes it. Every failure answers the same 401, and
//! an unknown user costs the same hashing as a wrong password, so neither the answer
//! nor its timing tells which users exist.

use crate::auth::{Actor, CallerToken};
use crate::error::ApiError;
use crate::run_control::json_body;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use orrery_client::types::{LoginRequest, LoginSession};
use orrery_store::NewToken;
use std::sync::OnceLock;

/// How long a session lasts.
pub(crate) const SESSION_HOURS: i64 = 12;

/// Longest password checked (argon2 takes any length; this bounds the work).
const MAX_PASSWORD_BYTES: usize = 4096;

/// Longest username looked up (and remembered by the guard); no user has a longer one.
const MAX_USERNAME_BYTES: usize = 256;

/// Signs a user in with a password; answers a personal token that expires.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginRequest, security(()),
    responses((status = 200, body = LoginSession), (status = 400, body = orrery_client::types::Problem),
        (status = 401, body = orrery_client::types::Problem, description = "wrong username or password"),
        (status = 429, body = orrery_client::types::Problem, description = "too many failed sign-ins for this username; see Retry-After")))]
pub(crate) async fn login(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<LoginSession>, ApiError> {
    let request: LoginRequest = json_body(&state, body)?
        .ok_or_else(|| ApiError::invalid_field("username", "required, with password"))?;
    if request.password.len() > MAX_PASSWORD_BYTES || request.username.len() > MAX_USERNAME_BYTES {
        return Err(ApiError::Unauthorized);
    }
    let now = state.clock.now();
    let failures = state.reads.login_failures(&request.username).await?;
    if let Some(wait) =
        failures.and_then(|(count, last)| crate::login_guard::wait(count, last, now))
    {
        return Err(ApiError::TooManyRequests {
            detail: format!(
                "too many failed sign-ins for {:?}; try again in {} s",
                request.username,
                wait.num_seconds().max(1)
            ),
            retry_after_secs: u64::try_from(wait.num_seconds().max(1)).unwrap_or(1),
        });
    }
    let found = state.reads.user_with_hash(&request.username).await?;
    let (user, hash) = match found {
        Some((user, Some(hash))) if user.disabled_at.is_none() => (Some(user), hash),
        _ => (None, dummy_hash().to_owned()),
    };
    let password = request.password;
    let matches =
        tokio::task::spawn_blocking(move || orrery_access::verify_password(&password, &hash))
            .await
            .map_err(|e| ApiError::Internal(format!("password check stopped: {e}")))?;
    let Some(user) = user.filter(|_| matches) else {
        tracing::info!(username = %request.username, "sign-in refused");
        let forget_before = now - chrono::Duration::seconds(crate::login_guard::MAX_WAIT_SECS);
        state
            .intents
            .record_login_failure(&request.username, now, forget_before)
            .await?;
        return Err(ApiError::Unauthorized);
    };
    if failures.is_some() {
        state.intents.clear_login_failures(&user.name).await?;
    }
    let (token, expires_at) = start_session(&state, user.id, &user.name, now).await?;
    Ok(Json(LoginSession {
        user: user.name,
        token,
        expires_at,
    }))
}

/// A new session of a user: a personal token that expires in [`SESSION_HOURS`].
pub(crate) async fn start_session(
    state: &AppState,
    user_id: i64,
    user_name: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(String, chrono::DateTime<chrono::Utc>), ApiError> {
    let expires_at = now + chrono::Duration::hours(SESSION_HOURS);
    let secret = crate::tokens::new_secret()?;
    let actor = format!("user:{user_name}");
    state
        .intents
        .create_token(
            &NewToken {
                name: "session",
                kind: "api",
                secret: &secret,
                user_id: Some(user_id),
                project: None,
                role: None,
                expires_at: Some(expires_at),
            },
            &actor,
            now,
        )
        .await?;
    Ok((secret, expires_at))
}

/// Signs out: the user's token of this request stops working at once. Other tokens
/// (the bootstrap token, service tokens) are revoked with `token revoke`, never by
/// signing out, so a stray logout cannot lock a cluster out.
#[utoipa::path(post, path = "/api/v1/auth/logout", responses((status = 204),
    (status = 400, body = orrery_client::types::Problem, description = "the token is not a user's")))]
pub(crate) async fn logout(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(token): Extension<CallerToken>,
    Extension(principal): Extension<orrery_access::Principal>,
) -> Result<axum::response::Response, ApiError> {
    if !matches!(principal.kind, orrery_access::PrincipalKind::User { .. }) {
        return Err(ApiError::BadRequest {
            code: "not_a_session",
            detail: "only a user's token signs out; revoke other tokens with `orrery token revoke`"
                .to_owned(),
            errors: Vec::new(),
        });
    }
    state
        .intents
        .revoke_token(token.0, &actor.0, state.clock.now())
        .await?;
    // A browser signed in through SSO also drops its session cookie.
    let clear = crate::cookies::clear_cookie(crate::cookies::SESSION_COOKIE, "/");
    Ok((
        StatusCode::NO_CONTENT,
        [(axum::http::header::SET_COOKIE, clear)],
    )
        .into_response())
}

/// A hash of a random password, checked against when the user is unknown, disabled
/// or has no password, so such a sign-in takes as long as a wrong password.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        orrery_access::hash_password("orrery: no such user; never a real password")
            .unwrap_or_default()
    })
}
