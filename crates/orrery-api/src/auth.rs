//! Bearer-token authentication: every API call but health and the OpenAPI document
//! needs a token; the token's name becomes the actor recorded in the audit log.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Who made the request, for the audit log.
#[derive(Clone, Debug)]
pub(crate) struct Actor(pub(crate) String);

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
    match state.store.find_token(&secret).await {
        Ok(Some(token)) => {
            request
                .extensions_mut()
                .insert(Actor(format!("token:{}", token.name)));
            next.run(request).await
        }
        Ok(None) => ApiError::Unauthorized.into_response(),
        Err(error) => ApiError::from(error).into_response(),
    }
}
