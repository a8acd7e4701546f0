//! Applying `Receiver` and `AlertRoute` documents: the secrets a receiver names and
//! the receivers a route names must exist in the project.

use crate::access::{authorize, project_not_found};
use crate::auth::Actor;
use crate::error::ApiError;
use crate::state::AppState;
use crate::validate::field_error;
use axum::Json;
use axum::http::StatusCode;
use orrery_access::{Action, Principal};
use orrery_client::types::{ApplyResult, ApplyStatus};
use orrery_core::spec::{AlertRouteSpec, ReceiverSpec, RouteSpec, SpecDocument};
use orrery_store::{AlertConfigRecord, CalendarApplied};

/// Applies a receiver or an alert route (other kinds are not passed here).
pub(crate) async fn apply_alert_document(
    state: &AppState,
    actor: &Actor,
    principal: &Principal,
    document: SpecDocument,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(StatusCode, Json<ApplyResult>), ApiError> {
    let project = document.project().to_owned();
    authorize(principal, Action::AlertConfigure, Some(&project), || {
        project_not_found(&project)
    })?;
    crate::jobs::check_project_exists(state, &project).await?;
    match &document {
        SpecDocument::Receiver(receiver) => check_receiver_secrets(state, receiver).await?,
        SpecDocument::AlertRoute(route) => check_route_receivers(state, route).await?,
        SpecDocument::Job(_) | SpecDocument::Calendar(_) => {}
    }
    let config = AlertConfigRecord {
        project: project.clone(),
        kind: document.kind().to_owned(),
        name: document.name().to_owned(),
        spec: document.to_canonical_json(),
        updated_at: now,
    };
    let applied = state.intents.apply_alert_config(&config, &actor.0).await?;
    let (status, code) = match applied {
        CalendarApplied::Created => (ApplyStatus::Created, StatusCode::CREATED),
        CalendarApplied::Updated => (ApplyStatus::Updated, StatusCode::OK),
        CalendarApplied::Unchanged => (ApplyStatus::Unchanged, StatusCode::OK),
    };
    Ok((
        code,
        Json(ApplyResult {
            kind: config.kind,
            project,
            job: config.name,
            version: 1,
            status,
            warnings: Vec::new(),
        }),
    ))
}

async fn check_receiver_secrets(state: &AppState, receiver: &ReceiverSpec) -> Result<(), ApiError> {
    let fields = receiver.channel.secret_fields();
    if fields.is_empty() {
        return Ok(());
    }
    let existing: Vec<String> = state
        .reads
        .list_secrets(&receiver.project)
        .await?
        .into_iter()
        .map(|s| s.name)
        .collect();
    let errors: Vec<_> = fields
        .into_iter()
        .filter(|(_, name)| !existing.iter().any(|e| e == name))
        .map(|(path, name)| {
            field_error(
                &path,
                format!(
                    "secret {name:?} does not exist in project {:?}; set it with `orrery secret set {name} --project {}`",
                    receiver.project, receiver.project
                ),
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_fields(errors))
    }
}

async fn check_route_receivers(state: &AppState, route: &AlertRouteSpec) -> Result<(), ApiError> {
    let receivers: Vec<String> = state
        .reads
        .alert_configs(&route.project)
        .await?
        .into_iter()
        .filter(|config| config.kind == "Receiver")
        .map(|config| config.name)
        .collect();
    let mut errors = Vec::new();
    let mut stack: Vec<(String, &RouteSpec)> = vec![("route".to_owned(), &route.route)];
    while let Some((path, node)) = stack.pop() {
        if let Some(name) = &node.receiver
            && !receivers.contains(name)
        {
            errors.push(field_error(
                &format!("{path}.receiver"),
                format!(
                    "receiver {name:?} does not exist in project {:?}; apply a `kind: Receiver` named {name:?} first",
                    route.project
                ),
            ));
        }
        for (idx, child) in node.routes.iter().enumerate() {
            stack.push((format!("{path}.routes[{idx}]"), child));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        errors.sort_by(|a, b| a.path.cmp(&b.path));
        Err(ApiError::invalid_fields(errors))
    }
}
