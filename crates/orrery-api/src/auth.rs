//! Bearer-token authentication: every API call but health and the OpenAPI document
//! needs an admin or api token; the token's name becomes the actor recorded in the
//! audit log, and its kind decides what the caller may do.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Who made the request, for the audit log.
#[derive(Clone, Debug)]
pub(crate) struct Actor(pub(crate) String);

/// What the request's token is for; inserted next to `Actor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// Everything, including creating tokens.
    Admin,
    /// The HTTP API, but not token management.
    Api,
    /// Connecting workers only; refused by the HTTP API.
    Worker,
}

impl TokenKind {
    /// The kind as stored; `None` for a kind this version does not know.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "admin" => Some(TokenKind::Admin),
            "api" => Some(TokenKind::Api),
            "worker" => Some(TokenKind::Worker),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TokenKind::Admin => "admin",
            TokenKind::Api => "api",
            TokenKind::Worker => "worker",
        }
    }
}

pub(crate) async fn require_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let secret = request
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
    let Some(secret) = secret else {
        return ApiError::Unauthorized.into_response();
    };
    let token = match state.reads.find_token(&secret).await {
        Ok(Some(token)) => token,
        Ok(None) => return ApiError::Unauthorized.into_response(),
        Err(error) => return ApiError::from(error).into_response(),
    };
    let kind = match TokenKind::parse(&token.kind) {
        Some(TokenKind::Worker) => {
            return ApiError::Forbidden("worker tokens can only connect workers".to_owned())
                .into_response();
        }
        Some(kind) => kind,
        // Fail closed: a kind written by a newer version grants nothing here.
        None => {
            return ApiError::Forbidden(format!(
                "tokens of kind {:?} cannot use the API",
                token.kind
            ))
            .into_response();
        }
    };
    let extensions = request.extensions_mut();
    extensions.insert(Actor(format!("token:{}", token.name)));
    extensions.insert(kind);
    next.run(request).await
}
