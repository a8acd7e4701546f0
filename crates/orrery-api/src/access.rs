//! Asking `orrery-access` on a route: a hidden project's objects answer 404 as if
//! they did not exist, a missing permission 403 naming it.

use crate::error::ApiError;
use orrery_access::{Action, Denied, Principal, decide};

/// Refuses unless `principal` may do `action` on an object of `project`; `hidden` is
/// the 404 the object answers with when the caller cannot see its project.
pub(crate) fn authorize(
    principal: &Principal,
    action: Action,
    project: Option<&str>,
    hidden: impl FnOnce() -> ApiError,
) -> Result<(), ApiError> {
    match decide(principal, action, project) {
        Ok(()) => Ok(()),
        Err(Denied::Hidden) => Err(hidden()),
        Err(denied @ Denied::Missing { .. }) => Err(ApiError::Forbidden(denied.to_string())),
    }
}

/// For actions on the cluster (no project).
pub(crate) fn authorize_cluster(principal: &Principal, action: Action) -> Result<(), ApiError> {
    authorize(principal, action, None, || ApiError::NotFound {
        what: "resource".to_owned(),
    })
}

/// The 404 of a project the caller cannot see (or that does not exist).
pub(crate) fn project_not_found(project: &str) -> ApiError {
    ApiError::NotFound {
        what: format!("project {project:?}"),
    }
}

/// True when the caller sees `project` at all.
pub(crate) fn sees(principal: &Principal, project: &str) -> bool {
    principal.role_in(project).is_some()
}

/// The 404 of a project that does not exist (asked after the caller may see it).
pub(crate) async fn require_project(
    state: &crate::state::AppState,
    project: &str,
) -> Result<(), ApiError> {
    match state.reads.get_project(project).await? {
        Some(_) => Ok(()),
        None => Err(project_not_found(project)),
    }
}
