//! The API request a write belongs to, for its audit rows: set by the API around each
//! handler (a task-local, so the store's many write methods need no extra parameter)
//! and carried explicitly where a write leaves the handler's task (batched run starts).

use std::future::Future;

/// Who asked, beyond the actor: the request's id and the client's address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestMeta {
    pub request_id: String,
    pub client_address: Option<String>,
}

tokio::task_local! {
    static REQUEST: RequestMeta;
}

/// Runs `future` as part of the request `meta`: audit rows it writes record it.
pub async fn in_request<F: Future>(meta: RequestMeta, future: F) -> F::Output {
    REQUEST.scope(meta, future).await
}

/// The request the current task serves, if any.
pub fn current_request() -> Option<RequestMeta> {
    REQUEST.try_with(Clone::clone).ok()
}
