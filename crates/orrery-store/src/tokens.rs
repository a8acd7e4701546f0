//! API tokens. Only a SHA-256 of each secret is stored.

use crate::audit::{AuditEntry, write_audit};
use crate::error::StoreError;
use crate::exec::{on_pool, on_tx};
use crate::records::TokenRecord;
use crate::row::StoreRow;
use crate::store::Store;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// The stored form of a token secret.
pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

const INSERT_TOKEN: &str = "INSERT INTO api_tokens (name, kind, secret_sha256, created_at) \
     VALUES ($1, $2, $3, $4) RETURNING id";

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
        let mut tx = self.unfenced().write_tx().await?;
        let id: i64 = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar(INSERT_TOKEN)
                .bind(name)
                .bind(kind)
                .bind(hash_secret(secret))
                .bind(now)
                .fetch_one(&mut *conn)
                .await?
        });
        tx.commit().await?;
        Ok(TokenRecord {
            id,
            name: name.to_owned(),
            kind: kind.to_owned(),
        })
    }

    /// Stores a new token created by `actor`, audited as `token.create` (the secret is
    /// never recorded).
    pub async fn create_token_by(
        &self,
        name: &str,
        kind: &str,
        secret: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenRecord, StoreError> {
        let mut tx = self.write_tx().await?;
        let id: i64 = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar(INSERT_TOKEN)
                .bind(name)
                .bind(kind)
                .bind(hash_secret(secret))
                .bind(now)
                .fetch_one(&mut *conn)
                .await?
        });
        let resource = format!("token/{name}");
        write_audit(
            &mut tx,
            &AuditEntry::new(actor, "token.create", &resource, None, None),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(TokenRecord {
            id,
            name: name.to_owned(),
            kind: kind.to_owned(),
        })
    }

    /// The token whose secret this is, if any.
    pub async fn find_token(&self, secret: &str) -> Result<Option<TokenRecord>, StoreError> {
        on_pool!(self, |pool| {
            sqlx::query("SELECT id, name, kind FROM api_tokens WHERE secret_sha256 = $1")
                .bind(hash_secret(secret))
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(token_from_row)
                .transpose()
        })
    }
}

fn token_from_row(row: &impl StoreRow) -> Result<TokenRecord, StoreError> {
    Ok(TokenRecord {
        id: row.value(0)?,
        name: row.value(1)?,
        kind: row.value(2)?,
    })
}
