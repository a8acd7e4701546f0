//! Each request's id (the caller's `X-Request-Id`, else a new one) and the client's
//! address: answered in `X-Request-Id` and recorded in the audit rows the request
//! writes (the store reads them from the task the handler runs in).

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use orrery_store::{RequestMeta, in_request};
use std::net::SocketAddr;

const REQUEST_ID: &str = "x-request-id";

/// Longest request id taken from a caller; longer or odd ones are replaced.
const MAX_REQUEST_ID: usize = 128;

pub(crate) async fn request_meta(request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= MAX_REQUEST_ID
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        })
        .map(str::to_owned);
    let request_id = given.unwrap_or_else(new_request_id);
    let client_address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.to_string());
    let meta = RequestMeta {
        request_id: request_id.clone(),
        client_address,
    };
    let mut response = in_request(meta, next.run(request)).await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// 16 random bytes, hex; a counter-free id is fine as it only needs to be unique
/// enough to find a request in logs.
fn new_request_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        return "unknown".to_owned();
    }
    orrery_core::hex::encode(&bytes)
}
