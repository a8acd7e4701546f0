//! Token handlers: an admin creates worker and api tokens; the secret is shown once.

use crate::auth::{Actor, TokenKind};
use crate::error::ApiError;
use crate::run_control::json_body;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::{Extension, Json};
use orrery_client::types::{CreateTokenRequest, CreatedToken, FieldError};

/// Longest token name.
const MAX_TOKEN_NAME_CHARS: usize = 64;

/// Random bytes in a secret (hex-encoded, so twice as many characters).
const SECRET_BYTES: usize = 32;

/// Creates a `worker` or `api` token. Only an admin token may; the secret is in this
/// answer and nowhere else (the store keeps its SHA-256).
#[utoipa::path(post, path = "/api/v1/tokens", request_body = CreateTokenRequest,
    responses((status = 201, body = CreatedToken),
        (status = 400, body = orrery_client::types::Problem, description = "a bad name or kind, each with its field"),
        (status = 403, body = orrery_client::types::Problem, description = "the caller is not an admin")))]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(caller_kind): Extension<TokenKind>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    if caller_kind != TokenKind::Admin {
        return Err(ApiError::Forbidden(
            "only an admin token may create tokens".to_owned(),
        ));
    }
    let request: CreateTokenRequest = json_body(&state, body)?.unwrap_or_default();
    let kind = validate(&request)?;
    let secret = new_secret()?;
    let token = state
        .intents
        .create_token_by(
            &request.name,
            kind.as_str(),
            &secret,
            &actor.0,
            state.clock.now(),
        )
        .await?;
    tracing::info!(actor = %actor.0, token = %token.name, kind = %token.kind, "token created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            name: token.name,
            kind: token.kind,
            secret,
        }),
    ))
}

/// The kind to create, or every problem with the request at once.
fn validate(request: &CreateTokenRequest) -> Result<TokenKind, ApiError> {
    let mut errors = Vec::new();
    if let Some(message) = name_problem(&request.name) {
        errors.push(field_error("name", message));
    }
    let kind = match TokenKind::parse(&request.kind) {
        Some(kind @ (TokenKind::Worker | TokenKind::Api)) => Some(kind),
        Some(TokenKind::Admin) => {
            errors.push(field_error(
                "kind",
                "admin tokens cannot be created through the API; use worker or api".to_owned(),
            ));
            None
        }
        None if request.kind.is_empty() => {
            errors.push(field_error("kind", "required: worker or api".to_owned()));
            None
        }
        None => {
            errors.push(field_error(
                "kind",
                format!("{:?} is not a token kind; use worker or api", request.kind),
            ));
            None
        }
    };
    match kind {
        Some(kind) if errors.is_empty() => Ok(kind),
        _ => Err(ApiError::invalid_fields(errors)),
    }
}

fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("required: 1 to 64 of A-Z a-z 0-9 _ . -".to_owned());
    }
    let n_chars = name.chars().count();
    if n_chars > MAX_TOKEN_NAME_CHARS {
        return Some(format!(
            "{n_chars} characters; at most {MAX_TOKEN_NAME_CHARS}"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Some(format!("{bad:?} is not allowed; use A-Z a-z 0-9 _ . -"));
    }
    None
}

fn field_error(path: &str, message: String) -> FieldError {
    FieldError {
        path: path.to_owned(),
        message,
        line: None,
        column: None,
    }
}

/// 32 random bytes, hex-encoded.
fn new_secret() -> Result<String, ApiError> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::Internal(format!("generate a token secret: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
