//! The OpenAPI document, generated from the handlers' annotations.

use axum::Json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Orrery API", description = "Jobs, runs, task logs, workers, cluster nodes, projects, users, members and tokens of an Orrery scheduler."),
    paths(
        crate::jobs::apply_job,
        crate::jobs::list_jobs,
        crate::jobs::get_job,
        crate::jobs::delete_job,
        crate::runs::start_run,
        crate::schedules::pause_job,
        crate::schedules::resume_job,
        crate::schedules::list_occurrences,
        crate::schedules::backfill,
        crate::versions::rollback,
        crate::runs::list_runs,
        crate::runs::get_run,
        crate::runs::cancel_run,
        crate::run_control::rerun,
        crate::run_control::retry_task,
        crate::run_control::mark_task,
        crate::run_control::graph,
        crate::logs::run_logs,
        crate::workers::list_workers,
        crate::workers::drain_worker,
        crate::cluster::cluster_status,
        crate::tokens::create_token,
        crate::tokens::list_tokens,
        crate::tokens::revoke_token,
        crate::projects::list_projects,
        crate::projects::create_project,
        crate::projects::get_project,
        crate::projects::update_project,
        crate::projects::delete_project,
        crate::members::list_members,
        crate::members::set_member,
        crate::members::remove_user_member,
        crate::members::remove_group_member,
        crate::secrets::list_secrets,
        crate::secrets::set_secret,
        crate::secrets::delete_secret,
        crate::secrets::rotate_key,
        crate::alerts::list_alerts,
        crate::alerts::alert_history,
        crate::alerts::list_silences,
        crate::alerts::create_silence,
        crate::alerts::expire_silence,
        crate::alerts::list_receivers,
        crate::alerts::test_receiver,
        crate::users::list_users,
        crate::users::create_user,
        crate::users::disable_user,
        crate::audit::list_audit,
        crate::audit::verify_audit,
        crate::login::login,
        crate::login::logout,
        crate::oidc::exchange,
        crate::whoami::whoami,
        crate::health::healthz,
        crate::health::readyz,
        crate::health::metrics,
    ),
    modifiers(&BearerAuth, &ResponseDescriptions),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// OpenAPI requires a description on every response; an annotation that gives none
/// gets its status's reason phrase (`OK`, `Not Found`).
struct ResponseDescriptions;

impl utoipa::Modify for ResponseDescriptions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                for (status, response) in &mut operation.responses.responses {
                    if let utoipa::openapi::RefOr::T(response) = response
                        && response.description.is_empty()
                    {
                        response.description = status
                            .parse::<u16>()
                            .ok()
                            .and_then(|code| axum::http::StatusCode::from_u16(code).ok())
                            .and_then(|code| code.canonical_reason())
                            .unwrap_or("Response")
                            .to_owned();
                    }
                }
            }
        }
    }
}

/// The OpenAPI 3.1 document of this API.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub(crate) async fn serve_openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi_document())
}
