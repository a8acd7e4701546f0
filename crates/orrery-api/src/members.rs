//! Member handlers: who has which role in a project. A project's members see the
//! list; its admins change it.

use crate::access::{authorize, project_not_found, require_project};
use crate::auth::Actor;
use crate::error::ApiError;
use crate::run_control::json_body;
use crate::state::AppState;
use crate::validate::{field_error, user_name_problem};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use orrery_access::{Action, Principal, Role};
use orrery_client::types::{Member, SetMemberRequest};
use orrery_store::records::MemberRecord;

/// A project's members, users first.
#[utoipa::path(get, path = "/api/v1/projects/{name}/members", params(("name" = String, Path)),
    responses((status = 200, body = [Member]), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn list_members(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(project): Path<String>,
) -> Result<Json<Vec<Member>>, ApiError> {
    authorize(&principal, Action::ProjectRead, Some(&project), || {
        project_not_found(&project)
    })?;
    require_project(&state, &project).await?;
    let members = state.reads.list_members(&project).await?;
    Ok(Json(members.into_iter().map(member).collect()))
}

/// Gives a user or an SSO group a role in the project, replacing any it had.
#[utoipa::path(post, path = "/api/v1/projects/{name}/members", params(("name" = String, Path)), request_body = SetMemberRequest,
    responses((status = 200, body = Member), (status = 400, body = orrery_client::types::Problem),
        (status = 403, body = orrery_client::types::Problem), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn set_member(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    Path(project): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Member>, ApiError> {
    authorize(&principal, Action::MemberManage, Some(&project), || {
        project_not_found(&project)
    })?;
    require_project(&state, &project).await?;
    let request: SetMemberRequest = json_body(&state, body)?.unwrap_or_default();
    let mut errors = Vec::new();
    let role = Role::parse(&request.role);
    if role.is_none() {
        errors.push(field_error(
            "role",
            format!(
                "{:?} is not a role; use viewer, operator, editor or admin",
                request.role
            ),
        ));
    }
    let subject = match (&request.user, &request.group) {
        (Some(user), None) => match state.reads.find_user(user).await? {
            Some(_) => Some(("user", user.clone())),
            None => {
                errors.push(field_error("user", format!("no user {user:?}")));
                None
            }
        },
        (None, Some(group)) => match user_name_problem(group) {
            None => Some(("group", group.clone())),
            Some(problem) => {
                errors.push(field_error("group", problem));
                None
            }
        },
        _ => {
            errors.push(field_error(
                "user",
                "give exactly one of user or group".to_owned(),
            ));
            None
        }
    };
    let (Some(role), Some((kind, subject)), true) = (role, subject, errors.is_empty()) else {
        return Err(ApiError::invalid_fields(errors));
    };
    let record = MemberRecord {
        project,
        subject_kind: kind.to_owned(),
        subject,
        role: role.as_str().to_owned(),
        added_at: state.clock.now(),
    };
    state.intents.set_member(&record, &actor.0).await?;
    Ok(Json(member(record)))
}

/// Takes a user's role in the project away.
#[utoipa::path(delete, path = "/api/v1/projects/{name}/members/users/{user}", params(("name" = String, Path), ("user" = String, Path)),
    responses((status = 204), (status = 403, body = orrery_client::types::Problem), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn remove_user_member(
    state: State<AppState>,
    actor: Extension<Actor>,
    principal: Extension<Principal>,
    Path((project, user)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    remove(state, actor, principal, project, "user", user).await
}

/// Takes an SSO group's role in the project away.
#[utoipa::path(delete, path = "/api/v1/projects/{name}/members/groups/{group}", params(("name" = String, Path), ("group" = String, Path)),
    responses((status = 204), (status = 403, body = orrery_client::types::Problem), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn remove_group_member(
    state: State<AppState>,
    actor: Extension<Actor>,
    principal: Extension<Principal>,
    Path((project, group)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    remove(state, actor, principal, project, "group", group).await
}

async fn remove(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    project: String,
    kind: &str,
    subject: String,
) -> Result<StatusCode, ApiError> {
    authorize(&principal, Action::MemberManage, Some(&project), || {
        project_not_found(&project)
    })?;
    let removed = state
        .intents
        .remove_member(&project, kind, &subject, &actor.0, state.clock.now())
        .await?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound {
            what: format!("{kind} {subject:?} among the members of project {project:?}"),
        })
    }
}

fn member(record: MemberRecord) -> Member {
    let (user, group) = match record.subject_kind.as_str() {
        "group" => (None, Some(record.subject)),
        _ => (Some(record.subject), None),
    };
    Member {
        project: record.project,
        user,
        group,
        role: record.role,
        added_at: record.added_at,
    }
}
