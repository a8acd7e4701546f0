//! Audit handlers: a project's admins read its rows, a cluster admin reads every row
//! and checks the hash chain.

use crate::access::{authorize, authorize_cluster, project_not_found};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use orrery_access::{Action, Principal};
use orrery_client::types::{AuditEntry, AuditPage, AuditVerification, BrokenAuditRow};
use orrery_store::AuditFilter;
use orrery_store::records::AuditRecord;
use serde::Deserialize;

/// Most rows in one page.
const MAX_PAGE: u32 = 1000;
/// Rows in a page when `limit` is not given.
const DEFAULT_PAGE: u32 = 100;

/// `GET /audit` options.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// Only this project's rows (needs admin of the project); absent: every row (a
    /// cluster admin only).
    project: Option<String>,
    /// Only this actor's rows (`user:ann`, `token:ci`).
    actor: Option<String>,
    /// Only this action's rows (`job.create`).
    action: Option<String>,
    /// Only rows at or after this time: RFC 3339, or a duration back from now (`7d`).
    since: Option<String>,
    /// `desc` (newest first, the default) or `asc` (oldest first, for export).
    order: Option<String>,
    /// Page size, 1 to 1000; default 100.
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Audit rows, newest first (or oldest first with `order=asc`).
#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = orrery_client::types::Problem),
        (status = 403, body = orrery_client::types::Problem)))]
pub(crate) async fn list_audit(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(query): Query<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    match &query.project {
        Some(project) => authorize(&principal, Action::AuditRead, Some(project), || {
            project_not_found(project)
        })?,
        None => authorize_cluster(&principal, Action::ClusterAudit)?,
    }
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::invalid_field(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        ));
    }
    let oldest_first = match query.order.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(other) => {
            return Err(ApiError::invalid_field(
                "order",
                format!("{other:?} is not an order; use asc or desc"),
            ));
        }
    };
    let since = query
        .since
        .as_deref()
        .map(|text| parse_since(text, state.clock.now()))
        .transpose()?;
    let cursor = query
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| ApiError::invalid_field("cursor", "not a cursor returned by this API"))
        })
        .transpose()?;
    let rows = state
        .reads
        .audit(&AuditFilter {
            project: query.project,
            actor: query.actor,
            action: query.action,
            since,
            cursor,
            oldest_first,
            limit,
        })
        .await?;
    let next_cursor = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.id.to_string()))
        .flatten();
    Ok(Json(AuditPage {
        items: rows.into_iter().map(entry).collect(),
        next_cursor,
    }))
}

/// Checks the whole hash chain and names the first row that breaks it.
#[utoipa::path(get, path = "/api/v1/audit/verify",
    responses((status = 200, body = AuditVerification), (status = 403, body = orrery_client::types::Problem)))]
pub(crate) async fn verify_audit(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<AuditVerification>, ApiError> {
    authorize_cluster(&principal, Action::ClusterAudit)?;
    let check = state.reads.verify_audit().await?;
    Ok(Json(AuditVerification {
        intact: check.first_broken.is_none(),
        checked: check.checked,
        unchained: check.unchained,
        first_broken: check
            .first_broken
            .map(|(id, reason)| BrokenAuditRow { id, reason }),
    }))
}

/// `since` as RFC 3339, or a duration back from `now` (`7d`, `12h`).
fn parse_since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.to_utc());
    }
    let duration: orrery_core::duration::HumanDuration = text.parse().map_err(|_| {
        ApiError::invalid_field(
            "since",
            format!("{text:?} is neither an RFC 3339 time nor a duration like 7d"),
        )
    })?;
    chrono::Duration::from_std(duration.as_std())
        .ok()
        .and_then(|d| now.checked_sub_signed(d))
        .ok_or_else(|| ApiError::invalid_field("since", "too far back"))
}

fn entry(record: AuditRecord) -> AuditEntry {
    AuditEntry {
        id: record.id,
        at: record.at,
        actor: record.actor,
        project: record.project,
        action: record.action,
        resource: record.resource,
        before_version: record.before_version,
        after_version: record.after_version,
        request_id: record.request_id,
        client_address: record.client_address,
        hash: record.hash,
    }
}
