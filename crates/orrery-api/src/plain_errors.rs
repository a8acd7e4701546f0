//! Every error answer as `application/problem+json`: the plain-text rejections of
//! axum's extractors (a bad query string or path segment, a wrong method) are rewritten
//! here, naming the field when the rejection does.

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use orrery_client::types::{FieldError, Problem};

/// Longest rejection text read back; axum's are one line.
const MAX_REJECTION_BYTES: usize = 16 * 1024;

/// Rewrites a non-problem error response into a problem document.
pub(crate) async fn problems_only(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_REJECTION_BYTES).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let mut rewritten = problem_response(status, &text);
    // Keep what the rejection said beyond its body (e.g. `Allow` on a 405).
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewritten
}

fn problem_response(status: StatusCode, text: &str) -> Response {
    let (code, title) = match status {
        StatusCode::BAD_REQUEST => ("invalid_request", "Bad request"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "Method not allowed"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "Payload too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "Unsupported media type"),
        StatusCode::UNPROCESSABLE_ENTITY => ("invalid_request", "Unprocessable request"),
        s if s.is_server_error() => ("internal", "Internal server error"),
        _ => ("error", "Request failed"),
    };
    let detail = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_owned()
    } else {
        text.to_owned()
    };
    let problem = Problem {
        type_uri: format!("https://orrery.dev/problems/{code}"),
        title: title.to_owned(),
        status: status.as_u16(),
        code: code.to_owned(),
        errors: field_of(&detail).into_iter().collect(),
        detail,
    };
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        Body::from(body),
    )
        .into_response()
}

/// The field a query-string or path rejection names: axum writes them as
/// `Failed to deserialize query string: limit: invalid digit found in string`.
fn field_of(detail: &str) -> Option<FieldError> {
    let rest = detail
        .strip_prefix("Failed to deserialize query string: ")
        .or_else(|| detail.strip_prefix("Invalid URL: "))?;
    let (path, message) = rest.split_once(": ")?;
    let is_name = !path.is_empty()
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    is_name.then(|| FieldError {
        path: path.to_owned(),
        message: message.to_owned(),
        line: None,
        column: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_rejection_names_its_field() {
        let field =
            field_of("Failed to deserialize query string: limit: invalid digit found in string")
                .expect("a field");
        assert_eq!(field.path, "limit");
        assert_eq!(field.message, "invalid digit found in string");
        assert!(field_of("something else").is_none());
    }
}
