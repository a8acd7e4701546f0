//! API tokens: the bootstrap admin token, worker tokens, personal tokens of a user and
//! service tokens of a project with a role. Only a SHA-256 of each secret is stored.

use crate::audit::{AuditEntry, write_audit};
use crate::error::StoreError;
use crate::exec::{on_pool, on_tx};
use crate::records::{TokenRecord, TokenUser};
use crate::row::StoreRow;
use crate::store::Store;
use crate::views::{ApiIntents, ApiReads};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// The stored form of a token secret.
pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    orrery_core::hex::encode(&digest)
}

/// A token to create. `user` makes a personal token, `project` and `role` a service
/// token; neither, a cluster-wide token of `kind`.
#[derive(Clone, Debug)]
pub struct NewToken<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub secret: &'a str,
    pub user_id: Option<i64>,
    pub project: Option<&'a str>,
    pub role: Option<&'a str>,
    pub expires_at: Option<DateTime<Utc>>,
}

const INSERT_TOKEN: &str = "INSERT INTO api_tokens (name, kind, secret_sha256, created_at, \
     user_id, project, role, expires_at, created_by) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";

const TOKEN_COLUMNS: &str = "t.id, t.name, t.kind, t.project, t.role, t.created_at, \
     t.created_by, t.expires_at, t.revoked_at, t.last_used_at, \
     u.id, u.name, u.cluster_admin, u.disabled_at, u.sso_groups \
     FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id";

/// How often a token's `last_used_at` is written: once a minute is enough to answer
/// "is this token still used?" without a write per request.
const LAST_USED_GRANULARITY_SECS: i64 = 60;

impl Store {
    /// Stores a new token (the bootstrap admin token, test tokens). Through the writer
    /// lock like every other write, so it never races the scheduler's commits.
    pub async fn create_token(
        &self,
        name: &str,
        kind: &str,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenRecord, StoreError> {
        let token = NewToken {
            name,
            kind,
            secret,
            user_id: None,
            project: None,
            role: None,
            expires_at: None,
        };
        let mut tx = self.unfenced().write_tx().await?;
        let id = insert_token(&mut tx, &token, None, now).await?;
        tx.commit().await?;
        self.token_by_id(id).await
    }

    /// The token whose secret this is, if any (revoked and expired ones included: the
    /// caller says why it refuses them).
    pub async fn find_token(&self, secret: &str) -> Result<Option<TokenRecord>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} WHERE t.secret_sha256 = $1");
        on_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(hash_secret(secret))
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(token_from_row)
                .transpose()
        })
    }

    async fn token_by_id(&self, id: i64) -> Result<TokenRecord, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} WHERE t.id = $1");
        let row = on_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(token_from_row)
                .transpose()?
        });
        row.ok_or_else(|| StoreError::NotFound {
            kind: "token",
            id: id.to_string(),
        })
    }
}

impl ApiReads {
    /// The token whose secret this is, if any.
    pub async fn find_token(&self, secret: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.store().find_token(secret).await
    }

    /// Every token, or those of one project (service tokens) when `project` is given;
    /// newest first.
    pub async fn list_tokens(&self, project: Option<&str>) -> Result<Vec<TokenRecord>, StoreError> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} WHERE ($1 IS NULL OR t.project = $1) ORDER BY t.id DESC"
        );
        on_pool!(self.store(), |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(project)
                .fetch_all(pool)
                .await?
                .iter()
                .map(token_from_row)
                .collect()
        })
    }

    /// One token by id.
    pub async fn get_token(&self, id: i64) -> Result<Option<TokenRecord>, StoreError> {
        match self.store().token_by_id(id).await {
            Ok(token) => Ok(Some(token)),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

impl ApiIntents {
    /// Stores a new token created by `actor`, audited as `token.create` (the secret is
    /// never recorded).
    pub async fn create_token(
        &self,
        token: &NewToken<'_>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenRecord, StoreError> {
        let mut tx = self.store().write_tx().await?;
        let id = insert_token(&mut tx, token, Some(actor), now).await?;
        let resource = format!("token/{}", token.name);
        write_audit(
            &mut tx,
            &AuditEntry::new(actor, "token.create", &resource, None, None)
                .in_project(token.project),
            now,
        )
        .await?;
        tx.commit().await?;
        self.store().token_by_id(id).await
    }

    /// Revokes a token at once; `false` when there is no such live token.
    pub async fn revoke_token(
        &self,
        id: i64,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.store().write_tx().await?;
        let revoked: Option<(String, Option<String>)> = on_tx!(&mut tx, |conn| {
            sqlx::query_as(
                "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL \
                 RETURNING name, project",
            )
            .bind(now)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
        });
        let Some((name, project)) = revoked else {
            return Ok(false);
        };
        let resource = format!("token/{name}");
        write_audit(
            &mut tx,
            &AuditEntry::new(actor, "token.revoke", &resource, None, None)
                .in_project(project.as_deref()),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Notes that a token was used, at most once a minute per token.
    pub async fn touch_token(
        &self,
        token: &TokenRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let fresh = token
            .last_used_at
            .is_some_and(|at| (now - at).num_seconds() < LAST_USED_GRANULARITY_SECS);
        if fresh {
            return Ok(());
        }
        let mut tx = self.store().write_tx().await?;
        on_tx!(&mut tx, |conn| {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(token.id)
                .execute(&mut *conn)
                .await?;
        });
        tx.commit().await?;
        Ok(())
    }
}

async fn insert_token(
    tx: &mut crate::exec::WriteTx,
    token: &NewToken<'_>,
    actor: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    Ok(on_tx!(tx, |conn| {
        sqlx::query_scalar(INSERT_TOKEN)
            .bind(token.name)
            .bind(token.kind)
            .bind(hash_secret(token.secret))
            .bind(now)
            .bind(token.user_id)
            .bind(token.project)
            .bind(token.role)
            .bind(token.expires_at)
            .bind(actor)
            .fetch_one(&mut *conn)
            .await?
    }))
}

fn token_from_row(row: &impl StoreRow) -> Result<TokenRecord, StoreError> {
    let user_id: Option<i64> = row.value(10)?;
    let user = match user_id {
        Some(id) => Some(TokenUser {
            id,
            name: row.value(11)?,
            cluster_admin: row.value(12)?,
            disabled_at: row.value(13)?,
            groups: parse_groups(row.value(14)?)?,
        }),
        None => None,
    };
    Ok(TokenRecord {
        id: row.value(0)?,
        name: row.value(1)?,
        kind: row.value(2)?,
        user,
        project: row.value(3)?,
        role: row.value(4)?,
        created_at: row.value(5)?,
        created_by: row.value(6)?,
        expires_at: row.value(7)?,
        revoked_at: row.value(8)?,
        last_used_at: row.value(9)?,
    })
}

/// The groups a user's latest SSO sign-in named (a JSON array of strings).
fn parse_groups(text: String) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
        what: "a user's sso groups",
        message: e.to_string(),
    })
}
