//! The audit log: who changed what, when, in which project, from which version to
//! which, in which request. Rows are hash-chained — each stores the SHA-256 of the
//! previous row's hash and its own canonical content — so an edited, removed or
//! reordered row is found by [`ApiReads::verify_audit`]. Writers are serialized on
//! both backends, so reading the last hash and appending after it cannot interleave.

use crate::error::StoreError;
use crate::exec::{WriteTx, on_pool, on_tx};
use crate::records::AuditRecord;
use crate::request::current_request;
use crate::row::{StoreRow, to_version};
use crate::store::Store;
use crate::views::ApiReads;
use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::QueryBuilder;

/// Rows per bulk insert: 11 bound values each, under SQLite's 32766.
const ROWS_PER_STATEMENT: usize = 2000;

/// Rows read per page when verifying the chain.
const VERIFY_PAGE: i64 = 2000;

/// One change to record, written in the same transaction as the change itself.
pub(crate) struct AuditEntry<'a> {
    actor: &'a str,
    action: &'a str,
    resource: &'a str,
    before_version: Option<u32>,
    after_version: Option<u32>,
    /// The project, when the resource's path does not name it.
    project: Option<&'a str>,
}

impl<'a> AuditEntry<'a> {
    /// The entry of an object of `project` whose path does not say so (a service
    /// token).
    pub(crate) fn in_project(mut self, project: Option<&'a str>) -> Self {
        self.project = project;
        self
    }

    pub(crate) fn new(
        actor: &'a str,
        action: &'a str,
        resource: &'a str,
        before_version: Option<u32>,
        after_version: Option<u32>,
    ) -> Self {
        Self {
            actor,
            action,
            resource,
            before_version,
            after_version,
            project: None,
        }
    }
}

/// A row as appended and as hashed.
#[derive(Clone, Debug)]
pub(crate) struct AuditRow {
    pub(crate) at: DateTime<Utc>,
    pub(crate) actor: String,
    pub(crate) project: Option<String>,
    pub(crate) action: String,
    pub(crate) resource: String,
    pub(crate) before_version: Option<u32>,
    pub(crate) after_version: Option<u32>,
    pub(crate) request_id: Option<String>,
    pub(crate) client_address: Option<String>,
}

impl AuditRow {
    /// A row at `at` (kept to microseconds, what both backends store exactly, so the
    /// hash of a row read back equals the hash written).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        at: DateTime<Utc>,
        actor: &str,
        project: Option<String>,
        action: &str,
        resource: String,
        before_version: Option<u32>,
        after_version: Option<u32>,
        request: Option<&crate::request::RequestMeta>,
    ) -> Self {
        let request = request.cloned().or_else(current_request);
        Self {
            at: at.trunc_subsecs(6),
            actor: actor.to_owned(),
            project,
            action: action.to_owned(),
            resource,
            before_version,
            after_version,
            request_id: request.as_ref().map(|r| r.request_id.clone()),
            client_address: request.and_then(|r| r.client_address),
        }
    }
}

/// The content a row's hash covers, in a fixed order.
#[derive(Serialize)]
struct Canonical<'a> {
    at: String,
    actor: &'a str,
    project: Option<&'a str>,
    action: &'a str,
    resource: &'a str,
    before_version: Option<u32>,
    after_version: Option<u32>,
    request_id: Option<&'a str>,
    client_address: Option<&'a str>,
}

/// SHA-256 of the previous row's hash and this row's canonical content, hex.
fn chain_hash(prev_hash: &str, row: &AuditRow) -> String {
    let canonical = Canonical {
        at: row.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        actor: &row.actor,
        project: row.project.as_deref(),
        action: &row.action,
        resource: &row.resource,
        before_version: row.before_version,
        after_version: row.after_version,
        request_id: row.request_id.as_deref(),
        client_address: row.client_address.as_deref(),
    };
    // Serializing plain strings and integers cannot fail.
    let content = serde_json::to_vec(&canonical).unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(&content);
    orrery_core::hex::encode(&hasher.finalize())
}

/// Writes one audit row for `entry`, its project read from its resource.
pub(crate) async fn write_audit(
    tx: &mut WriteTx,
    entry: &AuditEntry<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let project = match entry.project {
        Some(project) => Some(project.to_owned()),
        None => project_of(tx, entry.resource).await?,
    };
    let row = AuditRow::new(
        now,
        entry.actor,
        project,
        entry.action,
        entry.resource.to_owned(),
        entry.before_version,
        entry.after_version,
        None,
    );
    append_audit(tx, &[row]).await
}

/// Appends rows after the last one, each chained to the one before.
pub(crate) async fn append_audit(tx: &mut WriteTx, rows: &[AuditRow]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let last: Option<Option<String>> = on_tx!(tx, |conn| {
        sqlx::query_scalar("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?
    });
    let mut prev = last.flatten().unwrap_or_default();
    let mut chained = Vec::with_capacity(rows.len());
    for row in rows {
        let hash = chain_hash(&prev, row);
        chained.push((row, std::mem::replace(&mut prev, hash.clone()), hash));
    }
    for chunk in chained.chunks(ROWS_PER_STATEMENT) {
        on_tx!(tx, |conn| {
            let mut insert = QueryBuilder::new(
                "INSERT INTO audit_log (at, actor, project, action, resource, before_version, \
                 after_version, request_id, client_address, prev_hash, hash) ",
            );
            insert.push_values(chunk, |mut values, (row, prev_hash, hash)| {
                values
                    .push_bind(row.at)
                    .push_bind(row.actor.clone())
                    .push_bind(row.project.clone())
                    .push_bind(row.action.clone())
                    .push_bind(row.resource.clone())
                    .push_bind(row.before_version.map(i64::from))
                    .push_bind(row.after_version.map(i64::from))
                    .push_bind(row.request_id.clone())
                    .push_bind(row.client_address.clone())
                    .push_bind(prev_hash.clone())
                    .push_bind(hash.clone());
            });
            insert.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

/// The project a resource belongs to: named in its path (`job/P/N`, `calendar/P/N`,
/// `secret/P/N`, `project/P`, `member/P/…`), or its job's for runs and backfills; none for cluster
/// objects (users, workers, cluster-wide tokens).
async fn project_of(tx: &mut WriteTx, resource: &str) -> Result<Option<String>, StoreError> {
    let mut parts = resource.splitn(3, '/');
    let (kind, id) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let sql = match kind {
        "job" | "calendar" | "project" | "member" | "secret" => return Ok(Some(id.to_owned())),
        "run" => "SELECT j.project FROM runs r JOIN jobs j ON j.id = r.job_id WHERE r.id = $1",
        "backfill" => {
            "SELECT j.project FROM backfills b JOIN jobs j ON j.id = b.job_id WHERE b.id = $1"
        }
        _ => return Ok(None),
    };
    let Ok(id) = id.parse::<i64>() else {
        return Ok(None);
    };
    Ok(on_tx!(tx, |conn| {
        sqlx::query_scalar(sql)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
    }))
}

/// Which audit rows to list.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub project: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub since: Option<DateTime<Utc>>,
    /// Paging cursor: rows after this id (oldest first) or before it (newest first).
    pub cursor: Option<i64>,
    /// Oldest first (for export) instead of newest first.
    pub oldest_first: bool,
    pub limit: u32,
}

/// What verifying the chain found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditCheck {
    /// Rows whose hash was checked.
    pub checked: u64,
    /// Rows written before the log was chained (they carry no hash).
    pub unchained: u64,
    /// The first row that does not match, and why.
    pub first_broken: Option<(i64, String)>,
}

const AUDIT_COLUMNS: &str = "id, at, actor, action, resource, before_version, after_version, \
     project, request_id, client_address, prev_hash, hash";

impl Store {
    /// The newest audit entries first.
    pub async fn list_audit(&self, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        self.api_reads()
            .audit(&AuditFilter {
                limit,
                ..Default::default()
            })
            .await
    }
}

impl ApiReads {
    /// Audit rows matching `filter`.
    pub async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
        let select = format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE 1 = 1");
        on_pool!(self.store(), |pool| {
            let mut query = QueryBuilder::new(select);
            if let Some(project) = &filter.project {
                query.push(" AND project = ").push_bind(project.clone());
            }
            if let Some(actor) = &filter.actor {
                query.push(" AND actor = ").push_bind(actor.clone());
            }
            if let Some(action) = &filter.action {
                query.push(" AND action = ").push_bind(action.clone());
            }
            if let Some(since) = filter.since {
                query.push(" AND at >= ").push_bind(since);
            }
            match (filter.cursor, filter.oldest_first) {
                (Some(cursor), true) => {
                    query.push(" AND id > ").push_bind(cursor);
                }
                (Some(cursor), false) => {
                    query.push(" AND id < ").push_bind(cursor);
                }
                (None, _) => {}
            }
            query.push(if filter.oldest_first {
                " ORDER BY id ASC LIMIT "
            } else {
                " ORDER BY id DESC LIMIT "
            });
            query.push_bind(i64::from(filter.limit));
            query
                .build()
                .fetch_all(pool)
                .await?
                .iter()
                .map(audit_from_row)
                .collect()
        })
    }

    /// Walks the whole chain, oldest first, and names the first row that does not
    /// match: an edited row fails its own hash, a removed or reordered one the next
    /// row's link to it.
    pub async fn verify_audit(&self) -> Result<AuditCheck, StoreError> {
        let mut check = AuditCheck {
            checked: 0,
            unchained: 0,
            first_broken: None,
        };
        let mut prev: Option<String> = None;
        let mut after = 0_i64;
        loop {
            let sql =
                format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2");
            let page: Vec<AuditRecord> = on_pool!(self.store(), |pool| {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(after)
                    .bind(VERIFY_PAGE)
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(audit_from_row)
                    .collect::<Result<_, StoreError>>()?
            });
            let Some(last) = page.last() else {
                return Ok(check);
            };
            after = last.id;
            for record in &page {
                match (&record.hash, &prev) {
                    // Rows from before the chain, at its start.
                    (None, None) => check.unchained += 1,
                    (None, Some(_)) => {
                        check.first_broken = Some((record.id, "its hash was removed".to_owned()));
                        return Ok(check);
                    }
                    (Some(hash), prev_hash) => {
                        let expected_prev = prev_hash.clone().unwrap_or_default();
                        if record.prev_hash.as_deref().unwrap_or("") != expected_prev {
                            check.first_broken = Some((
                                record.id,
                                "it does not follow the row before it (a row was removed, \
                                 inserted or reordered)"
                                    .to_owned(),
                            ));
                            return Ok(check);
                        }
                        if chain_hash(&expected_prev, &row_of(record)) != *hash {
                            check.first_broken = Some((
                                record.id,
                                "its content does not match its hash (it was edited)".to_owned(),
                            ));
                            return Ok(check);
                        }
                        check.checked += 1;
                        prev = Some(hash.clone());
                    }
                }
            }
        }
    }
}

fn row_of(record: &AuditRecord) -> AuditRow {
    AuditRow {
        at: record.at,
        actor: record.actor.clone(),
        project: record.project.clone(),
        action: record.action.clone(),
        resource: record.resource.clone(),
        before_version: record.before_version,
        after_version: record.after_version,
        request_id: record.request_id.clone(),
        client_address: record.client_address.clone(),
    }
}

fn audit_from_row(row: &impl StoreRow) -> Result<AuditRecord, StoreError> {
    let before: Option<i64> = row.value(5)?;
    let after: Option<i64> = row.value(6)?;
    Ok(AuditRecord {
        id: row.value(0)?,
        at: row.value(1)?,
        actor: row.value(2)?,
        action: row.value(3)?,
        resource: row.value(4)?,
        before_version: before.map(to_version).transpose()?,
        after_version: after.map(to_version).transpose()?,
        project: row.value(7)?,
        request_id: row.value(8)?,
        client_address: row.value(9)?,
        prev_hash: row.value(10)?,
        hash: row.value(11)?,
    })
}
