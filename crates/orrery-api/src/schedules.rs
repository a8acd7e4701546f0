//! Scheduled-job handlers: pause, resume, the occurrence ledger.

use crate::auth::Actor;
use crate::convert::job_summary;
use crate::error::ApiError;
use crate::jobs::{ProjectQuery, find_job};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use orrery_client::types::{JobSummary, Occurrence};
use serde::Deserialize;

/// Stops the job's scheduled fires; fires while paused are recorded as `paused`.
#[utoipa::path(post, path = "/api/v1/jobs/{name}/pause", params(("name" = String, Path), ProjectQuery),
    responses((status = 200, body = JobSummary), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn pause_job(
    state: State<AppState>,
    actor: Extension<Actor>,
    name: Path<String>,
    query: Query<ProjectQuery>,
) -> Result<Json<JobSummary>, ApiError> {
    set_paused(state, actor, name, query, true).await
}

/// Resumes the job's scheduled fires; fires missed while paused follow the job's
/// misfire policy.
#[utoipa::path(post, path = "/api/v1/jobs/{name}/resume", params(("name" = String, Path), ProjectQuery),
    responses((status = 200, body = JobSummary), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn resume_job(
    state: State<AppState>,
    actor: Extension<Actor>,
    name: Path<String>,
    query: Query<ProjectQuery>,
) -> Result<Json<JobSummary>, ApiError> {
    set_paused(state, actor, name, query, false).await
}

async fn set_paused(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
    Query(query): Query<ProjectQuery>,
    paused: bool,
) -> Result<Json<JobSummary>, ApiError> {
    let job = state
        .store
        .set_paused(query.project(), &name, paused, &actor.0, state.clock.now())
        .await?
        .ok_or_else(|| ApiError::NotFound {
            what: format!("job {name:?} in project {:?}", query.project()),
        })?;
    state.scheduler_wake.notify_one();
    Ok(Json(job_summary(&job, None)))
}

/// `GET /jobs/{name}/occurrences` options.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct OccurrenceQuery {
    project: Option<String>,
    /// Most entries, newest first; default 100, at most 10000.
    limit: Option<u32>,
}

/// What became of each nominal fire of the job, newest first.
#[utoipa::path(get, path = "/api/v1/jobs/{name}/occurrences", params(("name" = String, Path), OccurrenceQuery),
    responses((status = 200, body = [Occurrence]), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn list_occurrences(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<OccurrenceQuery>,
) -> Result<Json<Vec<Occurrence>>, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if limit == 0 || limit > 10_000 {
        return Err(ApiError::invalid_field(
            "limit",
            "must be between 1 and 10000",
        ));
    }
    let project = query
        .project
        .as_deref()
        .unwrap_or(orrery_core::spec::DEFAULT_PROJECT);
    let job = find_job(&state, project, &name).await?;
    let entries = state.store.list_occurrences(job.id, limit).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|o| Occurrence {
                nominal_at: o.nominal_at,
                outcome: o.outcome,
                run_id: o.run_id.map(|id| id.0),
                reason: o.reason,
                recorded_at: o.recorded_at,
            })
            .collect(),
    ))
}
