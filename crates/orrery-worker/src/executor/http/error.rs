//! `HttpError`: why an `http` attempt failed; its text is the report's `error`.

use super::json_path::JsonPathError;

/// A failed request or a response that does not meet the expectations.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum HttpError {
    #[error("invalid HTTP method {method:?}")]
    InvalidMethod { method: String },
    #[error("invalid url {url:?}: {message}")]
    InvalidUrl { url: String, message: String },
    #[error("url {url:?} is not http or https")]
    UnsupportedScheme { url: String },
    #[error("invalid header {name:?}: {message}")]
    InvalidHeader { name: String, message: String },
    #[error("invalid JSON path {path:?} in expect_json: {source}")]
    InvalidJsonPath { path: String, source: JsonPathError },
    #[error("cannot set up the HTTP client: {message}")]
    Client { message: String },
    #[error(
        "cannot make HTTPS requests on this worker: {reason} (install the host's CA \
         certificates or point SSL_CERT_FILE at a bundle)"
    )]
    HttpsUnavailable { reason: String },
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("request to {url} failed: {reason}")]
    RequestFailed { url: String, reason: String },
    #[error("expected status {expected}, got {got}")]
    UnexpectedStatus { expected: String, got: u16 },
    #[error("the response body is over {cap} bytes, too large to check expect_json")]
    BodyTooLargeForJson { cap: usize },
    #[error("the response body is not JSON: {message}")]
    NotJson { message: String },
    #[error("{path} not found in the response")]
    PathNotFound { path: String },
    #[error("{path} is {found}, expected {expected}")]
    Mismatch {
        path: String,
        found: String,
        expected: String,
    },
}
