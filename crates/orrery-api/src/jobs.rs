//! Job handlers: apply a spec, list, get with versions, delete.

use crate::access::{authorize, project_not_found, sees};
use crate::auth::Actor;
use crate::convert::job_summary;
use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::{Extension, Json};
use orrery_access::{Action, Principal};
use orrery_client::types::{ApplyResult, ApplyStatus, JobDetail, JobSummary, JobVersionInfo};
use orrery_core::spec::{
    DEFAULT_PROJECT, SpecDocument, SpecFormat, parse_document, parse_job_spec,
};
use orrery_store::CalendarApplied;
use orrery_store::{ApplyOutcome, JobApply};
use serde::Deserialize;

/// `?project=` on job routes; default `default`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ProjectQuery {
    pub(crate) project: Option<String>,
}

impl ProjectQuery {
    pub(crate) fn project(&self) -> &str {
        self.project.as_deref().unwrap_or(DEFAULT_PROJECT)
    }
}

/// Creates the job or a new version of it. The body is the spec itself, YAML
/// (`application/yaml`, the default) or JSON (`application/json`).
#[utoipa::path(post, path = "/api/v1/jobs", request_body(content = String, description = "the job spec", content_type = "application/yaml"),
    responses((status = 201, body = ApplyResult, description = "created"), (status = 200, body = ApplyResult, description = "updated or unchanged"),
        (status = 422, body = orrery_client::types::Problem, description = "invalid spec, every problem with its path"),
        (status = 413, body = orrery_client::types::Problem)))]
pub(crate) async fn apply_job(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<ApplyResult>), ApiError> {
    let body = ApiError::limited_body(body, state.config.max_body_bytes)?;
    let format = spec_format(&headers)?;
    let text = std::str::from_utf8(&body)
        .map_err(|e| ApiError::invalid_field("", format!("the spec is not valid UTF-8: {e}")))?;
    let now = state.clock.now();
    match parse_document(text, format).map_err(ApiError::InvalidSpec)? {
        SpecDocument::Job(spec) => {
            authorize(&principal, Action::JobApply, Some(&spec.project), || {
                project_not_found(&spec.project)
            })?;
            check_project_exists(&state, &spec.project).await?;
            apply_job_spec(&state, &actor, spec, now, ApplyKind::Apply).await
        }
        SpecDocument::Calendar(calendar) => {
            authorize(
                &principal,
                Action::CalendarApply,
                Some(&calendar.project),
                || project_not_found(&calendar.project),
            )?;
            check_project_exists(&state, &calendar.project).await?;
            let applied = state
                .intents
                .apply_calendar(
                    &calendar.project,
                    &calendar.name,
                    &calendar.to_canonical_json(),
                    &actor.0,
                    now,
                )
                .await?;
            let (status, code) = match applied {
                CalendarApplied::Created => (ApplyStatus::Created, StatusCode::CREATED),
                CalendarApplied::Updated => (ApplyStatus::Updated, StatusCode::OK),
                CalendarApplied::Unchanged => (ApplyStatus::Unchanged, StatusCode::OK),
            };
            let result = ApplyResult {
                kind: "Calendar".to_owned(),
                project: calendar.project,
                job: calendar.name,
                version: 1,
                status,
                warnings: Vec::new(),
            };
            Ok((code, Json(result)))
        }
        document @ (SpecDocument::Receiver(_) | SpecDocument::AlertRoute(_)) => {
            crate::alert_configs::apply_alert_document(&state, &actor, &principal, document, now)
                .await
        }
    }
}

/// How a spec reaches `apply_job_spec`: applied, or an older version rolled back to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ApplyKind {
    Apply,
    Rollback,
}

pub(crate) async fn apply_job_spec(
    state: &AppState,
    actor: &Actor,
    spec: orrery_core::spec::JobSpec,
    now: chrono::DateTime<chrono::Utc>,
    kind: ApplyKind,
) -> Result<(StatusCode, Json<ApplyResult>), ApiError> {
    check_calendars_exist(state, &spec).await?;
    check_sub_workflows(state, &spec).await?;
    crate::secrets::check_secrets_exist(state, &spec).await?;
    let canonical = spec.to_canonical_json();
    let warnings = orrery_core::spec::spec_warnings(&spec)
        .into_iter()
        .map(|w| orrery_client::types::FieldError {
            path: w.path,
            message: w.message,
            line: None,
            column: None,
        })
        .collect();
    // The spec's `schedule.paused` sets the job's paused flag when it is new or
    // differs from the previous version's; otherwise a `job pause` stays in force.
    let spec_paused = spec.schedule.as_ref().is_some_and(|s| s.paused);
    let previous = state.reads.find_job(&spec.project, &spec.name).await?;
    let previous_paused = previous.as_ref().map(|job| {
        parse_job_spec(&job.latest_spec, SpecFormat::Json)
            .ok()
            .and_then(|old| old.schedule)
            .is_some_and(|s| s.paused)
    });
    let paused = match previous_paused {
        None => Some(spec_paused),
        Some(old) if old != spec_paused => Some(spec_paused),
        Some(_) => None,
    };
    let apply = JobApply {
        project: &spec.project,
        name: &spec.name,
        canonical_spec: &canonical,
        paused,
        actor: &actor.0,
        now,
    };
    let applied = match kind {
        ApplyKind::Apply => state.intents.apply_job(&apply).await,
        ApplyKind::Rollback => state.intents.rollback_job(&apply).await,
    };
    let outcome = match applied {
        Ok(outcome) => outcome,
        // Refused in the apply transaction, so two applies cannot close a loop together.
        Err(orrery_store::StoreError::SubWorkflowCycle { chain }) => {
            let callee = chain.get(1).cloned().unwrap_or_default();
            let index = spec
                .tasks
                .iter()
                .position(|t| matches!(&t.kind, orrery_core::spec::TaskKind::Job { job, .. } if *job == callee))
                .unwrap_or(0);
            return Err(ApiError::InvalidSpec(orrery_core::spec::SpecErrors(vec![
                orrery_core::spec::SpecError::at(
                    format!("tasks[{index}].job"),
                    format!("sub-workflow cycle: {}", chain.join(" → ")),
                ),
            ])));
        }
        Err(error) => return Err(error.into()),
    };
    let (status, version, code) = match outcome {
        ApplyOutcome::Created { .. } => (ApplyStatus::Created, 1, StatusCode::CREATED),
        ApplyOutcome::Updated { version, .. } => (ApplyStatus::Updated, version, StatusCode::OK),
        ApplyOutcome::Unchanged { version, .. } => {
            (ApplyStatus::Unchanged, version, StatusCode::OK)
        }
    };
    let result = ApplyResult {
        kind: "Job".to_owned(),
        project: spec.project,
        job: spec.name,
        version,
        status,
        warnings,
    };
    // A new or changed schedule is armed at once, not at the next poll.
    state.scheduler_wake.notify_one();
    Ok((code, Json(result)))
}

/// Jobs and calendars belong to a project that exists (`orrery project create`).
pub(crate) async fn check_project_exists(state: &AppState, project: &str) -> Result<(), ApiError> {
    if state.reads.get_project(project).await?.is_none() {
        return Err(ApiError::invalid_field(
            "project",
            format!(
                "project {project:?} does not exist; create it first (`orrery project create {project}`)"
            ),
        ));
    }
    Ok(())
}

/// A schedule may only exclude calendars that exist in its project.
async fn check_calendars_exist(
    state: &AppState,
    spec: &orrery_core::spec::JobSpec,
) -> Result<(), ApiError> {
    let Some(schedule) = &spec.schedule else {
        return Ok(());
    };
    if schedule.exclude.is_empty() {
        return Ok(());
    }
    let known: Vec<String> = state
        .reads
        .list_calendars(&spec.project)
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect();
    let errors: Vec<orrery_core::spec::SpecError> = schedule
        .exclude
        .iter()
        .enumerate()
        .filter(|(_, name)| !known.contains(name))
        .map(|(i, name)| {
            orrery_core::spec::SpecError::at(
                format!("schedule.exclude[{i}]"),
                format!(
                    "unknown calendar {name:?} in project {:?}; apply it first (kind: Calendar)",
                    spec.project
                ),
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::InvalidSpec(orrery_core::spec::SpecErrors(errors)))
    }
}

fn spec_format(headers: &HeaderMap) -> Result<SpecFormat, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/yaml");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(SpecFormat::Json),
        "application/yaml"
        | "application/x-yaml"
        | "text/yaml"
        | "text/x-yaml"
        | "text/plain"
        | "application/octet-stream"
        | "application/x-www-form-urlencoded"
        | "" => Ok(SpecFormat::Yaml),
        other => Err(ApiError::UnsupportedMediaType(format!(
            "{other}; send the spec as application/yaml or application/json"
        ))),
    }
}

/// Live jobs of every project the caller can see (of one with `?project=`).
#[utoipa::path(get, path = "/api/v1/jobs", params(ProjectFilter), responses((status = 200, body = [JobSummary])))]
pub(crate) async fn list_jobs(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(filter): Query<ProjectFilter>,
) -> Result<Json<Vec<JobSummary>>, ApiError> {
    if let Some(project) = &filter.project {
        authorize(&principal, Action::JobRead, Some(project), || {
            project_not_found(project)
        })?;
    }
    let jobs = state.reads.scheduled_jobs().await?;
    Ok(Json(
        jobs.iter()
            .filter(|j| filter.project.as_ref().is_none_or(|p| *p == j.job.project))
            .filter(|j| sees(&principal, &j.job.project))
            .map(|j| job_summary(&j.job, j.trigger.as_ref()))
            .collect(),
    ))
}

/// `?project=` on list routes: only that project; absent, every project the caller
/// can see.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ProjectFilter {
    pub(crate) project: Option<String>,
}

/// One job with every version, newest first.
#[utoipa::path(get, path = "/api/v1/jobs/{name}", params(("name" = String, Path), ProjectQuery),
    responses((status = 200, body = JobDetail), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn get_job(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
    Query(query): Query<ProjectQuery>,
) -> Result<Json<JobDetail>, ApiError> {
    let job = find_job(&state, &principal, Action::JobRead, query.project(), &name).await?;
    let versions = state.reads.job_versions(job.id).await?;
    let trigger = state.reads.trigger(job.id).await?;
    let versions = versions
        .into_iter()
        .map(|v| JobVersionInfo {
            version: v.version,
            created_at: v.created_at,
            created_by: v.created_by,
            spec_sha256: sha256_hex(&v.spec),
            spec: serde_json::from_str(&v.spec).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    let misfire = parse_job_spec(&job.latest_spec, SpecFormat::Json)
        .ok()
        .and_then(|spec| spec.schedule)
        .map(|schedule| {
            let policy = match schedule.misfire {
                orrery_core::schedule::MisfirePolicy::Skip => "skip".to_owned(),
                orrery_core::schedule::MisfirePolicy::RunOnce => "run_once".to_owned(),
                orrery_core::schedule::MisfirePolicy::RunAll => {
                    format!("run_all (at most {})", schedule.max_catchup)
                }
            };
            match schedule.misfire_threshold {
                Some(own) => format!("{policy} after {own} (the schedule's own)"),
                None => format!(
                    "{policy} after {} (the server's default)",
                    orrery_core::duration::HumanDuration(state.config.misfire_threshold)
                ),
            }
        });
    Ok(Json(JobDetail {
        summary: job_summary(&job, trigger.as_ref()),
        versions,
        misfire,
    }))
}

/// Deletes a job; its runs stay readable.
#[utoipa::path(delete, path = "/api/v1/jobs/{name}", params(("name" = String, Path), ProjectQuery),
    responses((status = 204), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn delete_job(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
    Query(query): Query<ProjectQuery>,
) -> Result<StatusCode, ApiError> {
    authorize(&principal, Action::JobDelete, Some(query.project()), || {
        job_not_found(query.project(), &name)
    })?;
    let deleted = state
        .intents
        .delete_job(query.project(), &name, &actor.0, state.clock.now())
        .await?;
    if deleted {
        state.scheduler_wake.notify_one();
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(job_not_found(query.project(), &name))
    }
}

/// A live job, once the caller may do `action` on it; a job of a project the caller
/// cannot see answers like one that does not exist.
pub(crate) async fn find_job(
    state: &AppState,
    principal: &Principal,
    action: Action,
    project: &str,
    name: &str,
) -> Result<orrery_store::records::JobRecord, ApiError> {
    authorize(principal, action, Some(project), || {
        job_not_found(project, name)
    })?;
    state
        .reads
        .find_job(project, name)
        .await?
        .ok_or_else(|| job_not_found(project, name))
}

pub(crate) fn job_not_found(project: &str, name: &str) -> ApiError {
    ApiError::NotFound {
        what: format!("job {name:?} in project {project:?}"),
    }
}

/// A `type: job` task must name an existing job of the project. (That sub-workflows
/// do not call back into the job being applied is checked by the store, inside the
/// apply transaction.)
async fn check_sub_workflows(
    state: &AppState,
    spec: &orrery_core::spec::JobSpec,
) -> Result<(), ApiError> {
    use orrery_core::spec::{SpecError, SpecErrors, TaskKind};
    let mut errors = Vec::new();
    for (i, task) in spec.tasks.iter().enumerate() {
        let TaskKind::Job { job, .. } = &task.kind else {
            continue;
        };
        let path = format!("tasks[{i}].job");
        if state.reads.find_job(&spec.project, job).await?.is_none() {
            errors.push(SpecError::at(
                path,
                format!(
                    "job {job:?} does not exist in project {:?}; apply it first",
                    spec.project
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::InvalidSpec(SpecErrors(errors)))
    }
}

/// SHA-256 of a stored spec, hex.
fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    orrery_core::hex::encode(&sha2::Sha256::digest(text.as_bytes()))
}
