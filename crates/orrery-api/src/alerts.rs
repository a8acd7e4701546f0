//! Alerting handlers: a project's alerts and delivery history (viewers), silences and
//! receiver tests (operators), and its receivers and routes as applied.

use crate::access::{authorize, project_not_found};
use crate::auth::Actor;
use crate::error::ApiError;
use crate::run_control::json_body;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use orrery_access::{Action, Principal};
use orrery_alerts::payload::{PayloadAlert, WebhookPayload};
use orrery_client::types::{
    AlertConfigInfo, AlertInfo, CreateSilenceRequest, NotificationInfo, ReceiverTestResult,
    SilenceInfo,
};
use orrery_core::duration::HumanDuration;
use orrery_core::spec::{SpecDocument, SpecFormat, parse_document};
use orrery_store::{AlertRecord, NewSilence, NotificationRecord, SilenceRecord};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Longest silence.
const MAX_SILENCE: Duration = Duration::from_secs(90 * 24 * 3600);
const MAX_MATCHERS: usize = 32;
const MAX_COMMENT: usize = 1000;
const MAX_LIMIT: u32 = 1000;

/// `?state=firing|resolved&limit=N` on the alert list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AlertQuery {
    state: Option<String>,
    limit: Option<u32>,
}

/// `?limit=N`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LimitQuery {
    limit: Option<u32>,
}

fn limit_of(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(100),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid_field(
            "limit",
            format!("from 1 to {MAX_LIMIT}"),
        )),
    }
}

/// A project's alerts, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{name}/alerts", params(("name" = String, Path), AlertQuery),
    responses((status = 200, body = [AlertInfo]), (status = 400, body = orrery_client::types::Problem),
        (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn list_alerts(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(project): Path<String>,
    Query(query): Query<AlertQuery>,
) -> Result<Json<Vec<AlertInfo>>, ApiError> {
    authorize(&principal, Action::AlertRead, Some(&project), || {
        project_not_found(&project)
    })?;
    let firing = match query.state.as_deref() {
        None => None,
        Some("firing") => Some(true),
        Some("resolved") => Some(false),
        Some(other) => {
            return Err(ApiError::invalid_field(
                "state",
                format!("{other:?} is not firing or resolved"),
            ));
        }
    };
    let limit = limit_of(query.limit)?;
    let alerts = state.reads.list_alerts(&project, firing, limit).await?;
    Ok(Json(alerts.into_iter().map(alert_info).collect()))
}

/// Every notification of a project (receiver, state, attempts, last error), newest
/// first.
#[utoipa::path(get, path = "/api/v1/projects/{name}/alerts/history", params(("name" = String, Path), LimitQuery),
    responses((status = 200, body = [NotificationInfo]), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn alert_history(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(project): Path<String>,
    Query(query): Query<LimitQuery>,
) -> Result<Json<Vec<NotificationInfo>>, ApiError> {
    authorize(&principal, Action::AlertRead, Some(&project), || {
        project_not_found(&project)
    })?;
    let limit = limit_of(query.limit)?;
    let history = state.reads.list_notifications(&project, limit).await?;
    Ok(Json(history.into_iter().map(notification_info).collect()))
}

/// A project's silences, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{name}/silences", params(("name" = String, Path)),
    responses((status = 200, body = [SilenceInfo]), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn list_silences(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(project): Path<String>,
) -> Result<Json<Vec<SilenceInfo>>, ApiError> {
    authorize(&principal, Action::AlertRead, Some(&project), || {
        project_not_found(&project)
    })?;
    let now = state.clock.now();
    let silences = state.reads.silences(&project).await?;
    Ok(Json(
        silences.into_iter().map(|s| silence_info(s, now)).collect(),
    ))
}

/// Mutes the project's alerts matching every matcher, from now for `duration`.
#[utoipa::path(post, path = "/api/v1/projects/{name}/silences", params(("name" = String, Path)),
    request_body = CreateSilenceRequest,
    responses((status = 201, body = SilenceInfo), (status = 400, body = orrery_client::types::Problem),
        (status = 403, body = orrery_client::types::Problem), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn create_silence(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    Path(project): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<SilenceInfo>), ApiError> {
    authorize(&principal, Action::AlertOperate, Some(&project), || {
        project_not_found(&project)
    })?;
    crate::access::require_project(&state, &project).await?;
    let request: CreateSilenceRequest =
        json_body(&state, body)?.ok_or_else(|| ApiError::invalid_field("matchers", "required"))?;
    check_matchers(&request.matchers)?;
    let duration: HumanDuration =
        request
            .duration
            .parse()
            .map_err(|e: orrery_core::duration::DurationError| {
                ApiError::invalid_field("duration", e.to_string())
            })?;
    if duration.is_zero() || duration.as_std() > MAX_SILENCE {
        return Err(ApiError::invalid_field(
            "duration",
            "longer than zero and at most 90d",
        ));
    }
    if request.comment.trim().is_empty() || request.comment.len() > MAX_COMMENT {
        return Err(ApiError::invalid_field(
            "comment",
            format!("say why, in 1 to {MAX_COMMENT} bytes"),
        ));
    }
    let now = state.clock.now();
    let ends_at = now + chrono::Duration::from_std(duration.as_std()).unwrap_or_default();
    let comment = request.comment.trim().to_owned();
    let new = NewSilence {
        project: &project,
        matchers: &request.matchers,
        starts_at: now,
        ends_at,
        comment: &comment,
        actor: &actor.0,
    };
    let id = state.intents.create_silence(&new, now).await?;
    Ok((
        StatusCode::CREATED,
        Json(SilenceInfo {
            id,
            project: project.clone(),
            matchers: request.matchers,
            starts_at: now,
            ends_at,
            comment,
            created_by: actor.0.clone(),
            state: "active".to_owned(),
        }),
    ))
}

/// Ends a silence now.
#[utoipa::path(post, path = "/api/v1/projects/{name}/silences/{id}/expire", params(("name" = String, Path), ("id" = i64, Path)),
    responses((status = 204), (status = 403, body = orrery_client::types::Problem), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn expire_silence(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    Path((project, id)): Path<(String, i64)>,
) -> Result<StatusCode, ApiError> {
    authorize(&principal, Action::AlertOperate, Some(&project), || {
        project_not_found(&project)
    })?;
    let expired = state
        .intents
        .expire_silence(&project, id, &actor.0, state.clock.now())
        .await?;
    if expired {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound {
            what: format!("no active silence {id} in project {project:?}"),
        })
    }
}

/// A project's receivers and alert routes.
#[utoipa::path(get, path = "/api/v1/projects/{name}/receivers", params(("name" = String, Path)),
    responses((status = 200, body = [AlertConfigInfo]), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn list_receivers(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(project): Path<String>,
) -> Result<Json<Vec<AlertConfigInfo>>, ApiError> {
    authorize(&principal, Action::AlertRead, Some(&project), || {
        project_not_found(&project)
    })?;
    let configs = state.reads.alert_configs(&project).await?;
    Ok(Json(
        configs
            .into_iter()
            .map(|config| AlertConfigInfo {
                channel: match parse_document(&config.spec, SpecFormat::Json) {
                    Ok(SpecDocument::Receiver(receiver)) => {
                        Some(receiver.channel.kind().to_owned())
                    }
                    _ => None,
                },
                project: config.project,
                kind: config.kind,
                name: config.name,
                updated_at: config.updated_at,
            })
            .collect(),
    ))
}

/// Sends a test message to a receiver now (not through the outbox) and answers what
/// its service said.
#[utoipa::path(post, path = "/api/v1/projects/{name}/receivers/{receiver}/test", params(("name" = String, Path), ("receiver" = String, Path)),
    responses((status = 200, body = ReceiverTestResult), (status = 403, body = orrery_client::types::Problem),
        (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn test_receiver(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    Path((project, receiver)): Path<(String, String)>,
) -> Result<Json<ReceiverTestResult>, ApiError> {
    authorize(&principal, Action::AlertOperate, Some(&project), || {
        project_not_found(&project)
    })?;
    let configs = state.reads.alert_configs(&project).await?;
    if !configs
        .iter()
        .any(|c| c.kind == "Receiver" && c.name == receiver)
    {
        return Err(ApiError::NotFound {
            what: format!("receiver {receiver:?} does not exist in project {project:?}"),
        });
    }
    let keyring = state.secrets.clone();
    let reads = state.reads.clone();
    let target = orrery_alerts::resolve_target(&configs, &project, &receiver, |name| {
        let reads = reads.clone();
        let keyring = keyring.clone();
        let project = project.clone();
        async move {
            let sealed = reads
                .sealed_secret(&project, &name)
                .await
                .map_err(|e| format!("cannot read secret {name:?}: {e}"))?;
            orrery_alerts::open_sealed(keyring.as_ref(), &project, &name, sealed)
        }
    })
    .await;
    let now = state.clock.now();
    let payload = test_payload(
        &project,
        &receiver,
        &actor.0,
        now,
        state.config.external_url.as_deref(),
    );
    let body = serde_json::to_string(&payload).unwrap_or_default();
    let outcome = match target {
        Ok(target) => {
            let http = orrery_alerts::channels::http_client().map_err(ApiError::Internal)?;
            orrery_alerts::channels::send(&http, &target, &payload, &body, now)
                .await
                .map_err(|e| e.message)
        }
        Err(reason) => Err(reason),
    };
    Ok(Json(match outcome {
        Ok(answer) => ReceiverTestResult {
            receiver,
            sent: true,
            answer,
        },
        Err(answer) => ReceiverTestResult {
            receiver,
            sent: false,
            answer,
        },
    }))
}

fn test_payload(
    project: &str,
    receiver: &str,
    actor: &str,
    now: chrono::DateTime<chrono::Utc>,
    external_url: Option<&str>,
) -> WebhookPayload {
    let labels: BTreeMap<String, String> = [
        ("alertname", "Test"),
        ("severity", "info"),
        ("project", project),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "error".to_owned(),
        format!("a test message from Orrery, sent by {actor}"),
    );
    WebhookPayload {
        version: "4".to_owned(),
        group_key: format!("test/{receiver}"),
        truncated_alerts: 0,
        status: "firing".to_owned(),
        receiver: receiver.to_owned(),
        group_labels: BTreeMap::new(),
        common_labels: labels.clone(),
        common_annotations: annotations.clone(),
        external_url: external_url.unwrap_or("").to_owned(),
        alerts: vec![PayloadAlert {
            status: "firing".to_owned(),
            fingerprint: orrery_alerts::fingerprint(&labels),
            labels,
            annotations,
            starts_at: now,
            ends_at: now,
            generator_url: String::new(),
        }],
        dedup_key: format!("{project}/test/{receiver}/{}", now.timestamp_millis()),
        project: project.to_owned(),
    }
}

fn check_matchers(matchers: &BTreeMap<String, String>) -> Result<(), ApiError> {
    if matchers.is_empty() || matchers.len() > MAX_MATCHERS {
        return Err(ApiError::invalid_field(
            "matchers",
            format!(
                "give 1 to {MAX_MATCHERS} label=value pairs (an empty silence would mute everything)"
            ),
        ));
    }
    for (name, value) in matchers {
        let well_formed = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && name.len() <= 64;
        if !well_formed {
            return Err(ApiError::invalid_field(
                &format!("matchers.{name}"),
                format!("{name:?} is not a label name"),
            ));
        }
        if value.len() > 1024 {
            return Err(ApiError::invalid_field(
                &format!("matchers.{name}"),
                "at most 1024 bytes",
            ));
        }
    }
    Ok(())
}

fn alert_info(record: AlertRecord) -> AlertInfo {
    AlertInfo {
        id: record.id,
        project: record.project,
        alertname: record.alertname,
        state: if record.resolved_at.is_some() {
            "resolved".to_owned()
        } else {
            "firing".to_owned()
        },
        labels: record.labels,
        annotations: record.annotations,
        starts_at: record.starts_at,
        updated_at: record.updated_at,
        resolved_at: record.resolved_at,
        fingerprint: record.fingerprint,
    }
}

fn notification_info(record: NotificationRecord) -> NotificationInfo {
    let alerts = serde_json::from_str::<WebhookPayload>(&record.payload)
        .map_or(0, |p| u32::try_from(p.alerts.len()).unwrap_or(u32::MAX));
    NotificationInfo {
        id: record.id,
        project: record.project,
        receiver: record.receiver,
        dedup_key: record.dedup_key,
        state: record.state.as_str().to_owned(),
        attempts: record.attempts,
        alerts,
        last_error: record.last_error,
        response: record.response,
        created_at: record.created_at,
        next_attempt_at: record.next_attempt_at,
        finished_at: record.finished_at,
    }
}

fn silence_info(record: SilenceRecord, now: chrono::DateTime<chrono::Utc>) -> SilenceInfo {
    SilenceInfo {
        id: record.id,
        project: record.project,
        matchers: record.matchers,
        starts_at: record.starts_at,
        state: if record.ends_at > now {
            "active".to_owned()
        } else {
            "expired".to_owned()
        },
        ends_at: record.ends_at,
        comment: record.comment,
        created_by: record.created_by,
    }
}
