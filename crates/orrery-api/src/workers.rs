//! Worker handlers: the list of known workers and drain requests.

use crate::access::authorize_cluster;
use crate::auth::Actor;
use crate::convert::worker_info;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use orrery_access::{Action, Principal};
use orrery_client::types::WorkerInfo;
use orrery_store::StoreError;

/// Every worker that registered, by name, with its capacity, state and last heartbeat.
#[utoipa::path(get, path = "/api/v1/workers",
    responses((status = 200, body = Vec<WorkerInfo>)))]
pub(crate) async fn list_workers(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Vec<WorkerInfo>>, ApiError> {
    authorize_cluster(&principal, Action::WorkerRead)?;
    let workers = state.reads.workers().await?;
    Ok(Json(workers.iter().map(worker_info).collect()))
}

/// Asks the scheduler to drain the workers with this name (or id): they take no new
/// attempts and finish those they run. Answers with those workers; the scheduler
/// moves them to `draining` shortly after.
#[utoipa::path(post, path = "/api/v1/workers/{name}/drain", params(("name" = String, Path, description = "worker name or id")),
    responses((status = 202, body = Vec<WorkerInfo>, description = "the drain is requested"),
        (status = 404, body = orrery_client::types::Problem, description = "no such worker, or it is lost")))]
pub(crate) async fn drain_worker(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<Vec<WorkerInfo>>), ApiError> {
    authorize_cluster(&principal, Action::WorkerManage)?;
    let workers = state
        .intents
        .request_drain(&name, &actor.0, state.clock.now())
        .await
        .map_err(|error| match error {
            StoreError::NotFound { .. } => ApiError::NotFound {
                what: format!("worker {name:?}"),
            },
            other => ApiError::from(other),
        })?;
    state.scheduler_wake.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(workers.iter().map(worker_info).collect()),
    ))
}
