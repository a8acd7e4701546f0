//! Rolling a job back: an older version's spec becomes a new latest version, checked
//! and audited like an apply; runs already going keep the version they started with.

use crate::access::authorize;
use crate::auth::Actor;
use crate::error::ApiError;
use crate::jobs::{ApplyKind, apply_job_spec, job_not_found};
use crate::run_control::json_body;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use orrery_access::{Action, Principal};
use orrery_client::types::{ApplyResult, RollbackRequest};
use orrery_core::spec::{DEFAULT_PROJECT, SpecFormat, parse_job_spec};

/// Makes version `to` of the job its latest again, as a new version.
#[utoipa::path(post, path = "/api/v1/jobs/{name}/rollback", params(("name" = String, Path)), request_body = RollbackRequest,
    responses((status = 200, body = ApplyResult, description = "a new version equal to the one asked for, or unchanged"),
        (status = 400, body = orrery_client::types::Problem), (status = 403, body = orrery_client::types::Problem),
        (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn rollback(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<ApplyResult>), ApiError> {
    let request: RollbackRequest = json_body(&state, body)?
        .ok_or_else(|| ApiError::invalid_field("to", "required: the version to roll back to"))?;
    let project = request.project.as_deref().unwrap_or(DEFAULT_PROJECT);
    authorize(&principal, Action::JobApply, Some(project), || {
        job_not_found(project, &name)
    })?;
    let job = state
        .reads
        .find_job(project, &name)
        .await?
        .ok_or_else(|| job_not_found(project, &name))?;
    let versions = state.reads.job_versions(job.id).await?;
    let Some(target) = versions.iter().find(|v| v.version == request.to) else {
        return Err(ApiError::invalid_field(
            "to",
            format!(
                "job {name:?} has no version {}; its versions are 1 to {}",
                request.to, job.latest_version
            ),
        ));
    };
    // Parsed again, so a version stored by an older Orrery is checked by today's rules
    // (and its calendars and sub-jobs must still exist).
    let spec = parse_job_spec(&target.spec, SpecFormat::Json).map_err(ApiError::InvalidSpec)?;
    apply_job_spec(&state, &actor, spec, state.clock.now(), ApplyKind::Rollback).await
}
