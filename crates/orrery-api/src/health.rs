//! Liveness and readiness probes (no auth).

use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use orrery_client::types::Health;

/// The process is up.
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health)))]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
    })
}

/// The process can serve: its store answers and, when it leads the scheduling, its
/// scheduler's loop keeps turning.
#[utoipa::path(get, path = "/readyz", responses((status = 200, body = Health), (status = 503, body = orrery_client::types::Problem)))]
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.reads.ping().await?;
    if let Some(silence) = (state.scheduler_silence)()
        && silence > state.config.max_scheduler_silence
    {
        return Err(ApiError::Unavailable(format!(
            "the scheduler's loop has not turned for {}s",
            silence.as_secs()
        )));
    }
    Ok(Json(Health {
        status: "ready".to_owned(),
    }))
}

/// Prometheus metrics of this process (text exposition format).
#[utoipa::path(get, path = "/metrics", responses((status = 200, body = String, content_type = "text/plain")))]
pub(crate) async fn metrics(State(state): State<AppState>) -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        (state.render_metrics)(),
    )
}
