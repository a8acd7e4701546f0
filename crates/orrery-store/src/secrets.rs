//! A project's secrets as stored: sealed bytes (hex) with the id of the key that
//! sealed them; the store never sees a value in the clear (sealing is the access
//! crate's). Setting and deleting are audited; reading the list gives no ciphertext.

use crate::audit::{AuditEntry, write_audit};
use crate::error::StoreError;
use crate::exec::{on_pool, on_tx};
use crate::records::SecretRecord;
use crate::row::{StoreRow, to_version};
use crate::views::{ApiIntents, ApiReads, SchedulerReads};
use chrono::{DateTime, Utc};

/// A sealed value as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedSecret {
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

const SECRET_COLUMNS: &str = "project, name, version, key_id, updated_by, updated_at";

impl ApiReads {
    /// A project's secrets by name: names, versions, who and when; never values.
    pub async fn list_secrets(&self, project: &str) -> Result<Vec<SecretRecord>, StoreError> {
        let sql = format!("SELECT {SECRET_COLUMNS} FROM secrets WHERE project = $1 ORDER BY name");
        on_pool!(self.store(), |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(project)
                .fetch_all(pool)
                .await?
                .iter()
                .map(secret_from_row)
                .collect()
        })
    }
}

impl ApiIntents {
    /// Sets a secret (a new one, or a new version of one), audited as `secret.set`.
    pub async fn set_secret(
        &self,
        project: &str,
        name: &str,
        sealed: &SealedSecret,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<SecretRecord, StoreError> {
        let mut tx = self.store().write_tx().await?;
        let version: i64 = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar(
                "INSERT INTO secrets (project, name, version, key_id, nonce, ciphertext, \
                 updated_by, updated_at) VALUES ($1, $2, 1, $3, $4, $5, $6, $7) \
                 ON CONFLICT (project, name) DO UPDATE SET version = secrets.version + 1, \
                 key_id = excluded.key_id, nonce = excluded.nonce, \
                 ciphertext = excluded.ciphertext, updated_by = excluded.updated_by, \
                 updated_at = excluded.updated_at RETURNING version",
            )
            .bind(project)
            .bind(name)
            .bind(&sealed.key_id)
            .bind(hex(&sealed.nonce))
            .bind(hex(&sealed.ciphertext))
            .bind(actor)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?
        });
        let version = to_version(version)?;
        let resource = format!("secret/{project}/{name}");
        write_audit(
            &mut tx,
            &AuditEntry::new(
                actor,
                "secret.set",
                &resource,
                version.checked_sub(1).filter(|v| *v > 0),
                Some(version),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(SecretRecord {
            project: project.to_owned(),
            name: name.to_owned(),
            version,
            key_id: sealed.key_id.clone(),
            updated_by: actor.to_owned(),
            updated_at: now,
        })
    }

    /// Deletes a secret, audited; `false` when there is none.
    pub async fn delete_secret(
        &self,
        project: &str,
        name: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.store().write_tx().await?;
        let deleted = on_tx!(&mut tx, |conn| {
            sqlx::query("DELETE FROM secrets WHERE project = $1 AND name = $2")
                .bind(project)
                .bind(name)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        if deleted == 0 {
            return Ok(false);
        }
        let resource = format!("secret/{project}/{name}");
        write_audit(
            &mut tx,
            &AuditEntry::new(actor, "secret.delete", &resource, None, None),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

impl SchedulerReads {
    /// The sealed values of some of a project's secrets (those that exist), by name.
    pub async fn sealed_secrets(
        &self,
        project: &str,
        names: &[String],
    ) -> Result<Vec<(String, SealedSecret)>, StoreError> {
        let mut found = Vec::with_capacity(names.len());
        for name in names {
            let row: Option<(String, String, String)> = on_pool!(self.store(), |pool| {
                sqlx::query_as(
                    "SELECT key_id, nonce, ciphertext FROM secrets WHERE project = $1 AND name = $2",
                )
                .bind(project)
                .bind(name)
                .fetch_optional(pool)
                .await?
            });
            if let Some((key_id, nonce, ciphertext)) = row {
                let corrupt = |what: &str| StoreError::Corrupt {
                    what: "secret",
                    message: format!("the {what} of secret {name:?} is not hex"),
                };
                found.push((
                    name.clone(),
                    SealedSecret {
                        key_id,
                        nonce: unhex(&nonce).ok_or_else(|| corrupt("nonce"))?,
                        ciphertext: unhex(&ciphertext).ok_or_else(|| corrupt("ciphertext"))?,
                    },
                ));
            }
        }
        Ok(found)
    }
}

fn hex(bytes: &[u8]) -> String {
    orrery_core::hex::encode(bytes)
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

fn secret_from_row(row: &impl StoreRow) -> Result<SecretRecord, StoreError> {
    Ok(SecretRecord {
        project: row.value(0)?,
        name: row.value(1)?,
        version: to_version(row.value(2)?)?,
        key_id: row.value(3)?,
        updated_by: row.value(4)?,
        updated_at: row.value(5)?,
    })
}

/// What re-sealing every secret did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Secrets now sealed under the current key.
    pub resealed: u32,
    /// Secrets that were already.
    pub current: u32,
    /// Secrets that could not be opened, with why (never a value); left as they were.
    pub failed: Vec<(String, String, String)>,
}

impl ApiIntents {
    /// Re-seals, in one transaction, every secret not sealed under `current_key_id`
    /// with `reseal` (open under the old key, seal under the current one), each audited
    /// as `secret.reseal`. A secret `reseal` refuses is left as it was and reported.
    pub async fn reseal_secrets(
        &self,
        current_key_id: &str,
        reseal: impl Fn(&str, &str, &SealedSecret) -> Result<SealedSecret, String>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Resealed, StoreError> {
        let mut tx = self.store().write_tx().await?;
        let rows: Vec<(String, String, String, String, String)> = on_tx!(&mut tx, |conn| {
            sqlx::query_as(
                "SELECT project, name, key_id, nonce, ciphertext FROM secrets \
                 ORDER BY project, name",
            )
            .fetch_all(&mut *conn)
            .await?
        });
        let mut outcome = Resealed::default();
        for (project, name, key_id, nonce, ciphertext) in rows {
            if key_id == current_key_id {
                outcome.current += 1;
                continue;
            }
            let (Some(nonce), Some(ciphertext)) = (unhex(&nonce), unhex(&ciphertext)) else {
                outcome
                    .failed
                    .push((project, name, "its stored form is not hex".to_owned()));
                continue;
            };
            let sealed = SealedSecret {
                key_id,
                nonce,
                ciphertext,
            };
            let fresh = match reseal(&project, &name, &sealed) {
                Ok(fresh) => fresh,
                Err(reason) => {
                    outcome.failed.push((project, name, reason));
                    continue;
                }
            };
            on_tx!(&mut tx, |conn| {
                sqlx::query(
                    "UPDATE secrets SET key_id = $1, nonce = $2, ciphertext = $3 \
                     WHERE project = $4 AND name = $5",
                )
                .bind(&fresh.key_id)
                .bind(hex(&fresh.nonce))
                .bind(hex(&fresh.ciphertext))
                .bind(&project)
                .bind(&name)
                .execute(&mut *conn)
                .await?;
            });
            let resource = format!("secret/{project}/{name}");
            write_audit(
                &mut tx,
                &AuditEntry::new(actor, "secret.reseal", &resource, None, None),
                now,
            )
            .await?;
            outcome.resealed += 1;
        }
        tx.commit().await?;
        Ok(outcome)
    }
}
