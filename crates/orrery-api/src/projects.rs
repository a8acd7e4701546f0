//! Project handlers: projects are tenants; a cluster admin creates and deletes them,
//! a project's admin changes its settings, its members see it.

use crate::access::{authorize, authorize_cluster, project_not_found, sees};
use crate::auth::Actor;
use crate::error::ApiError;
use crate::run_control::json_body;
use crate::state::AppState;
use crate::validate::{field_error, project_name_problem};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use orrery_access::{Action, Principal};
use orrery_client::types::{CreateProjectRequest, Project, UpdateProjectRequest};
use orrery_core::spec::DEFAULT_PROJECT;
use orrery_store::StoreError;
use orrery_store::records::ProjectRecord;

/// Longest project description.
const MAX_DESCRIPTION_CHARS: usize = 1000;

/// The projects the caller can see, by name.
#[utoipa::path(get, path = "/api/v1/projects", responses((status = 200, body = [Project])))]
pub(crate) async fn list_projects(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Vec<Project>>, ApiError> {
    let projects = state.reads.list_projects().await?;
    Ok(Json(
        projects
            .into_iter()
            .filter(|p| sees(&principal, &p.name))
            .map(project)
            .collect(),
    ))
}

/// Creates a project (a cluster admin only).
#[utoipa::path(post, path = "/api/v1/projects", request_body = CreateProjectRequest,
    responses((status = 201, body = Project), (status = 400, body = orrery_client::types::Problem),
        (status = 403, body = orrery_client::types::Problem), (status = 409, body = orrery_client::types::Problem)))]
pub(crate) async fn create_project(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Project>), ApiError> {
    authorize_cluster(&principal, Action::ProjectCreate)?;
    let request: CreateProjectRequest = json_body(&state, body)?.unwrap_or_default();
    let mut errors = Vec::new();
    if let Some(problem) = project_name_problem(&request.name) {
        errors.push(field_error("name", problem));
    }
    if let Some(problem) = description_problem(&request.description) {
        errors.push(field_error("description", problem));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    let created = state
        .intents
        .create_project(
            &request.name,
            &request.description,
            &actor.0,
            state.clock.now(),
        )
        .await
        .map_err(|error| match error {
            StoreError::Conflict { .. } => {
                ApiError::Conflict(format!("project {:?} already exists", request.name))
            }
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(project(created))))
}

/// One project.
#[utoipa::path(get, path = "/api/v1/projects/{name}", params(("name" = String, Path)),
    responses((status = 200, body = Project), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn get_project(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<Json<Project>, ApiError> {
    authorize(&principal, Action::ProjectRead, Some(&name), || {
        project_not_found(&name)
    })?;
    let found = state
        .reads
        .get_project(&name)
        .await?
        .ok_or_else(|| project_not_found(&name))?;
    Ok(Json(project(found)))
}

/// Changes a project's settings (an admin of the project).
#[utoipa::path(patch, path = "/api/v1/projects/{name}", params(("name" = String, Path)), request_body = UpdateProjectRequest,
    responses((status = 200, body = Project), (status = 400, body = orrery_client::types::Problem),
        (status = 403, body = orrery_client::types::Problem), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn update_project(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Project>, ApiError> {
    authorize(&principal, Action::ProjectUpdate, Some(&name), || {
        project_not_found(&name)
    })?;
    let request: UpdateProjectRequest = json_body(&state, body)?.unwrap_or_default();
    let current = state
        .reads
        .get_project(&name)
        .await?
        .ok_or_else(|| project_not_found(&name))?;
    let description = request.description.unwrap_or(current.description);
    if let Some(problem) = description_problem(&description) {
        return Err(ApiError::invalid_field("description", problem));
    }
    let updated = state
        .intents
        .update_project(&name, &description, &actor.0, state.clock.now())
        .await?
        .ok_or_else(|| project_not_found(&name))?;
    Ok(Json(project(updated)))
}

/// Deletes a project with its members and service tokens (a cluster admin only);
/// refused while it has jobs, and for `default`.
#[utoipa::path(delete, path = "/api/v1/projects/{name}", params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = orrery_client::types::Problem),
        (status = 404, body = orrery_client::types::Problem), (status = 409, body = orrery_client::types::Problem)))]
pub(crate) async fn delete_project(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    authorize_cluster(&principal, Action::ProjectDelete)?;
    if name == DEFAULT_PROJECT {
        return Err(ApiError::Conflict(
            "the default project cannot be deleted".to_owned(),
        ));
    }
    if state
        .intents
        .delete_project(&name, &actor.0, state.clock.now())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(project_not_found(&name))
    }
}

fn description_problem(description: &str) -> Option<String> {
    let n_chars = description.chars().count();
    if n_chars > MAX_DESCRIPTION_CHARS {
        return Some(format!(
            "{n_chars} characters; at most {MAX_DESCRIPTION_CHARS}"
        ));
    }
    description
        .chars()
        .any(char::is_control)
        .then(|| "control characters are not allowed".to_owned())
}

fn project(record: ProjectRecord) -> Project {
    Project {
        name: record.name,
        description: record.description,
        created_at: record.created_at,
        created_by: record.created_by,
    }
}
