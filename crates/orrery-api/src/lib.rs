//! The REST API (`/api/v1`): handlers by resource, bearer-token auth, one error type
//! rendered as `application/problem+json`, and the OpenAPI document.

mod access;
mod alert_configs;
mod alerts;
mod audit;
mod auth;
mod cluster;
mod convert;
mod cookies;
mod error;
mod health;
mod intake;
#[cfg(test)]
mod intake_tests;
mod jobs;
mod login;
mod login_guard;
mod logs;
mod members;
mod oidc;
mod openapi;
mod plain_errors;
mod projects;
mod request;
mod run_control;
mod runs;
mod schedules;
mod secrets;
mod state;
mod tokens;
mod users;
mod validate;
mod versions;
mod whoami;
mod workers;

pub use error::ApiError;
pub use intake::RunIntake;
pub use openapi::openapi_document;
pub use state::{ApiConfig, AppState, HandOverRun};

use axum::Router;
use axum::routing::{delete, get, post};

/// Bodies up to this size are read before a too-large one is refused (see
/// `ApiError::limited_body`); larger ones are cut off by the transport.
fn transport_limit(max_body_bytes: usize) -> usize {
    max_body_bytes.saturating_mul(16).max(16 * 1024 * 1024)
}

/// The whole HTTP surface of an API node.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/jobs", get(jobs::list_jobs).post(jobs::apply_job))
        .route("/jobs/{name}", get(jobs::get_job).delete(jobs::delete_job))
        .route("/jobs/{name}/runs", post(runs::start_run))
        .route("/jobs/{name}/pause", post(schedules::pause_job))
        .route("/jobs/{name}/resume", post(schedules::resume_job))
        .route("/jobs/{name}/occurrences", get(schedules::list_occurrences))
        .route("/jobs/{name}/backfill", post(schedules::backfill))
        .route("/jobs/{name}/rollback", post(versions::rollback))
        .route("/runs", get(runs::list_runs))
        .route("/runs/{id}", get(runs::get_run))
        .route("/runs/{id}/cancel", post(runs::cancel_run))
        .route("/runs/{id}/rerun", post(run_control::rerun))
        .route(
            "/runs/{id}/tasks/{task}/retry",
            post(run_control::retry_task),
        )
        .route("/runs/{id}/tasks/{task}/mark", post(run_control::mark_task))
        .route("/jobs/{name}/graph", get(run_control::graph))
        .route("/runs/{id}/logs", get(logs::run_logs))
        .route("/workers", get(workers::list_workers))
        .route("/workers/{name}/drain", post(workers::drain_worker))
        .route("/cluster", get(cluster::cluster_status))
        .route(
            "/tokens",
            get(tokens::list_tokens).post(tokens::create_token),
        )
        .route("/tokens/{id}", delete(tokens::revoke_token))
        .route(
            "/projects",
            get(projects::list_projects).post(projects::create_project),
        )
        .route(
            "/projects/{name}",
            get(projects::get_project)
                .patch(projects::update_project)
                .delete(projects::delete_project),
        )
        .route(
            "/projects/{name}/members",
            get(members::list_members).post(members::set_member),
        )
        .route(
            "/projects/{name}/members/users/{user}",
            delete(members::remove_user_member),
        )
        .route(
            "/projects/{name}/members/groups/{group}",
            delete(members::remove_group_member),
        )
        .route("/projects/{name}/secrets", get(secrets::list_secrets))
        .route(
            "/projects/{name}/secrets/{secret}",
            axum::routing::put(secrets::set_secret).delete(secrets::delete_secret),
        )
        .route("/secrets/rotate-key", post(secrets::rotate_key))
        .route("/projects/{name}/alerts", get(alerts::list_alerts))
        .route(
            "/projects/{name}/alerts/history",
            get(alerts::alert_history),
        )
        .route(
            "/projects/{name}/silences",
            get(alerts::list_silences).post(alerts::create_silence),
        )
        .route(
            "/projects/{name}/silences/{id}/expire",
            post(alerts::expire_silence),
        )
        .route("/projects/{name}/receivers", get(alerts::list_receivers))
        .route(
            "/projects/{name}/receivers/{receiver}/test",
            post(alerts::test_receiver),
        )
        .route("/users", get(users::list_users).post(users::create_user))
        .route("/users/{name}/disable", post(users::disable_user))
        .route("/audit", get(audit::list_audit))
        .route("/audit/verify", get(audit::verify_audit))
        .route("/auth/logout", post(login::logout))
        .route("/auth/whoami", get(whoami::whoami))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .route("/openapi.json", get(openapi::serve_openapi))
        .route("/auth/login", post(login::login))
        .route("/auth/oidc/exchange", post(oidc::exchange));
    Router::new()
        .nest("/api/v1", api)
        .route("/auth/oidc/login", get(oidc::login))
        .route("/auth/oidc/callback", get(oidc::callback))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .fallback(error::not_found_fallback)
        // Bodies are read as bytes with our own limit check, so an oversized spec is a
        // problem document rather than axum's plain-text rejection.
        .layer(axum::extract::DefaultBodyLimit::max(transport_limit(
            state.config.max_body_bytes,
        )))
        .layer(axum::middleware::from_fn(plain_errors::problems_only))
        .layer(axum::middleware::from_fn(error::log_errors))
        .layer(axum::middleware::from_fn(request::request_meta))
        .with_state(state)
}
