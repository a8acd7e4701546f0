//! Bearer-token authentication: every API call but health and the OpenAPI document
//! carries a token (or, from a browser signed in through SSO, the session cookie), resolved here to a `Principal` (the bootstrap admin, a user's
//! personal token with the user's roles, a project's service token, or a cluster-wide
//! `api` token). What the principal may do is decided per route (see `access`).

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, HOST, ORIGIN};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use orrery_access::{Principal, PrincipalKind, Role};
use orrery_store::records::TokenRecord;
use std::collections::BTreeMap;

/// Who made the request, for the audit log.
#[derive(Clone, Debug)]
pub(crate) struct Actor(pub(crate) String);

/// The id of the token the request came with (to sign out).
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallerToken(pub(crate) i64);

pub(crate) async fn require_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let bearer = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|secret| !secret.is_empty())
        .map(str::to_owned);
    let secret = match bearer {
        Some(secret) => secret,
        None => match session_cookie(&request) {
            Ok(Some(secret)) => secret,
            Ok(None) => return ApiError::Unauthorized.into_response(),
            Err(error) => return error.into_response(),
        },
    };
    let (principal, token_id) = match resolve(&state, &secret).await {
        Ok(resolved) => resolved,
        Err(error) => return error.into_response(),
    };
    let extensions = request.extensions_mut();
    extensions.insert(Actor(principal.actor.clone()));
    extensions.insert(CallerToken(token_id));
    extensions.insert(principal);
    next.run(request).await
}

/// The session token a browser signed in through SSO sends as a cookie. A request
/// that changes something must come from this server's own pages (its `Origin` is this
/// server), so another site cannot make a signed-in browser act (SameSite=Lax already
/// keeps the cookie off other sites' POSTs; this also covers older browsers).
fn session_cookie(request: &Request) -> Result<Option<String>, ApiError> {
    let headers = request.headers();
    let Some(secret) = crate::cookies::cookie_value(headers, crate::cookies::SESSION_COOKIE) else {
        return Ok(None);
    };
    let method = request.method();
    if !(method.is_safe()) {
        let host = headers.get(HOST).and_then(|value| value.to_str().ok());
        let origin_host = headers
            .get(ORIGIN)
            .and_then(|value| value.to_str().ok())
            .and_then(|origin| origin.split_once("://"))
            .map(|(_, host)| host);
        if host.is_none() || origin_host != host {
            return Err(ApiError::Forbidden(
                "a request signed in by cookie that changes something must come from this \
                 server's pages (its Origin must be this server); scripts use a bearer token"
                    .to_owned(),
            ));
        }
    }
    Ok(Some(secret.to_owned()))
}

/// The principal a token secret stands for. Unknown, revoked and expired tokens and
/// tokens of disabled users are all answered alike, so the answer tells nothing about
/// which tokens or users exist.
async fn resolve(state: &AppState, secret: &str) -> Result<(Principal, i64), ApiError> {
    let now = state.clock.now();
    let token = match state.reads.find_token(secret).await? {
        Some(token) if token.is_live(now) => token,
        _ => return Err(ApiError::Unauthorized),
    };
    let kind = match token.kind.as_str() {
        "admin" => PrincipalKind::ClusterAdmin,
        "worker" => {
            return Err(ApiError::Forbidden(
                "worker tokens can only connect workers".to_owned(),
            ));
        }
        "api" => api_principal(state, &token).await?,
        // Fail closed: a kind written by a newer version grants nothing here.
        other => {
            return Err(ApiError::Forbidden(format!(
                "tokens of kind {other:?} cannot use the API"
            )));
        }
    };
    if let Err(error) = state.intents.touch_token(&token, now).await {
        // Only the "last used" column is late; the request goes on.
        tracing::warn!(%error, token = %token.name, "cannot note the token's use");
    }
    let actor = match &token.user {
        Some(user) => format!("user:{}", user.name),
        None => format!("token:{}", token.name),
    };
    Ok((Principal { actor, kind }, token.id))
}

/// An `api` token: a user's personal token, a project's service token, or (made
/// before projects had members) an editor of every project.
async fn api_principal(state: &AppState, token: &TokenRecord) -> Result<PrincipalKind, ApiError> {
    if let Some(user) = &token.user {
        let mut roles = BTreeMap::new();
        for (project, role) in state.reads.roles_of(&user.name, &user.groups).await? {
            // A role this version does not know grants nothing.
            if let Some(role) = Role::parse(&role) {
                let entry = roles.entry(project).or_insert(role);
                *entry = (*entry).max(role);
            }
        }
        return Ok(PrincipalKind::User {
            user_id: user.id,
            cluster_admin: user.cluster_admin,
            roles,
        });
    }
    match (&token.project, token.role.as_deref().and_then(Role::parse)) {
        (Some(project), Some(role)) => Ok(PrincipalKind::Service {
            project: project.clone(),
            role,
        }),
        (Some(_), None) => Err(ApiError::Forbidden(format!(
            "token {:?} has a role this version does not know",
            token.name
        ))),
        (None, _) => Ok(PrincipalKind::ClusterEditor),
    }
}
