//! The API's one error type and its `application/problem+json` rendering.

use axum::extract::rejection::BytesRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use orrery_client::types::{FieldError, Problem};
use orrery_core::spec::SpecErrors;
use orrery_store::StoreError;

/// Everything a handler can answer with instead of success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the spec is invalid")]
    InvalidSpec(SpecErrors),
    #[error("{detail}")]
    BadRequest {
        code: &'static str,
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("request body over the {limit}-byte limit")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type {0}")]
    UnsupportedMediaType(String),
    #[error("missing or invalid bearer token")]
    Unauthorized,
    /// A sign-in through the identity provider was refused (a forged or stale
    /// callback, a bad signature, the provider said no); the reason is logged too.
    #[error("{0}")]
    SignInRefused(String),
    /// A server this one depends on (the identity provider) did not answer usefully.
    #[error("{0}")]
    BadGateway(String),
    /// The token is valid but may not do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// The caller must wait before trying again (answered with `Retry-After`).
    #[error("{detail}")]
    TooManyRequests {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 about one field.
    pub fn invalid_field(path: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError::BadRequest {
            code: "invalid_request",
            detail: format!("{path}: {message}"),
            errors: vec![FieldError {
                path: path.to_owned(),
                message,
                line: None,
                column: None,
            }],
        }
    }

    /// A 400 listing every field problem of a request at once.
    pub(crate) fn invalid_fields(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [only] => format!("{}: {}", only.path, only.message),
            all => format!(
                "the request has {} problems, each listed in `errors`",
                all.len()
            ),
        };
        ApiError::BadRequest {
            code: "invalid_request",
            detail,
            errors,
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::InvalidSpec(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_spec",
                "Invalid spec",
            ),
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code, "Bad request"),
            ApiError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found", "Not found"),
            ApiError::PayloadTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Payload too large",
            ),
            ApiError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type",
            ),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            ApiError::SignInRefused(_) => (
                StatusCode::UNAUTHORIZED,
                "sign_in_refused",
                "Sign-in refused",
            ),
            ApiError::BadGateway(_) => (StatusCode::BAD_GATEWAY, "bad_gateway", "Bad gateway"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "Too many requests",
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
            ),
        }
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let (status, code, title) = self.parts();
        let (detail, errors) = match self {
            ApiError::InvalidSpec(spec_errors) => {
                let errors: Vec<FieldError> = spec_errors
                    .0
                    .iter()
                    .map(|e| FieldError {
                        path: e.path.clone(),
                        message: e.message.clone(),
                        line: e.line,
                        column: e.column,
                    })
                    .collect();
                let detail = match spec_errors.0.as_slice() {
                    [only] => format!("the spec has 1 problem: {only}"),
                    all => format!(
                        "the spec has {} problems, each listed in `errors`",
                        all.len()
                    ),
                };
                (detail, errors)
            }
            ApiError::BadRequest { detail, errors, .. } => (detail.clone(), errors.clone()),
            other => (other.to_string(), Vec::new()),
        };
        Problem {
            type_uri: format!("https://orrery.dev/problems/{code}"),
            title: title.to_owned(),
            status: status.as_u16(),
            code: code.to_owned(),
            detail,
            errors,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            ApiError::TooManyRequests {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        };
        let problem = self.problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
        if let Some(secs) = retry_after
            && let Ok(value) = header::HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if status.is_server_error() {
            response
                .extensions_mut()
                .insert(LoggedDetail(problem.detail));
        }
        response
    }
}

/// The detail of a 5xx, carried to the logging middleware.
#[derive(Clone)]
struct LoggedDetail(String);

/// Logs server-side failures once, here rather than where they are converted.
pub(crate) async fn log_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if let Some(LoggedDetail(detail)) = response.extensions().get::<LoggedDetail>() {
        tracing::error!(%method, %path, status = response.status().as_u16(), %detail, "request failed");
    }
    response
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { kind, id } => ApiError::NotFound {
                what: format!("{kind} {id}"),
            },
            StoreError::Conflict { message } => ApiError::Conflict(message),
            cycle @ StoreError::SubWorkflowCycle { .. } => ApiError::Conflict(cycle.to_string()),
            StoreError::Unavailable(e) => ApiError::Unavailable(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl ApiError {
    /// The request body if it is within `limit`. Bodies up to a multiple of the limit
    /// are read whole before being refused, so the client reliably gets the 413
    /// instead of a reset connection; beyond that the transport limit cuts them off.
    pub(crate) fn limited_body(
        body: Result<axum::body::Bytes, BytesRejection>,
        limit: usize,
    ) -> Result<axum::body::Bytes, Self> {
        let body = body.map_err(|r| ApiError::from_bytes_rejection(r, limit))?;
        if body.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        Ok(body)
    }

    /// A body that could not be read (too large, or broken).
    pub(crate) fn from_bytes_rejection(rejection: BytesRejection, limit: usize) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::PayloadTooLarge { limit };
        }
        ApiError::BadRequest {
            code: "unreadable_body",
            detail: rejection.body_text(),
            errors: Vec::new(),
        }
    }
}

/// Unknown paths get a problem document too.
pub(crate) async fn not_found_fallback(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound {
        what: format!("route {}", uri.path()),
    }
}
