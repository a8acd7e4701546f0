//! Leadership: a lease row `(name, holder, epoch, expires_at)` claimed and renewed
//! through the store, whose clock decides expiry, and the fence a leader's writes carry.

use crate::error::StoreError;
use crate::exec::{WriteTx, on_tx};
use crate::leader::LeaderStore;
use crate::store::Store;
use chrono::{DateTime, Utc};
use sqlx::Row;
use std::sync::Arc;
use std::time::Duration;

/// The lease scheduler nodes compete for (its row exists from the first migration).
pub const SCHEDULER_LEASE: &str = "scheduler";

/// The lease as a claim left it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub name: String,
    pub holder: String,
    /// Grows by one each time the lease changes hands; writes carry it as a fence.
    pub epoch: i64,
    pub expires_at: DateTime<Utc>,
    pub renewed_at: DateTime<Utc>,
    /// The database's clock when the claim ran.
    pub db_now: DateTime<Utc>,
}

impl Lease {
    /// Whether `holder` holds it.
    pub fn held_by(&self, holder: &str) -> bool {
        self.holder == holder
    }
}

/// What a leader's writes must still match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    pub lease: String,
    pub holder: String,
    pub epoch: i64,
}

/// What a claim answered: the lease as it stands and, for the holder, the store
/// through which a leader writes. Reads as the lease.
#[derive(Clone, Debug)]
pub struct Claim {
    pub lease: Lease,
    leader: Option<LeaderStore>,
}

impl Claim {
    /// The leader's store, when this claim won or renewed the lease: the only way to
    /// get one, so a leader-only write without a fence does not compile.
    pub fn into_leader(self) -> Option<LeaderStore> {
        self.leader
    }
}

impl std::ops::Deref for Claim {
    type Target = Lease;

    fn deref(&self) -> &Lease {
        &self.lease
    }
}

impl Store {
    /// The same database without a fence (claims and node reports are never fenced).
    pub(crate) fn unfenced(&self) -> Store {
        Store {
            backend: self.backend.clone(),
            fence: None,
        }
    }

    /// A handle whose every write transaction first checks `fence` (the leader's).
    pub(crate) fn fenced(&self, fence: Fence) -> Store {
        Store {
            backend: self.backend.clone(),
            fence: Some(Arc::new(fence)),
        }
    }

    /// Claims or renews lease `name` for `holder` for `ttl`, by the database's clock:
    /// taken when absent or expired (the epoch then grows by one), renewed when
    /// `holder` already holds it, and otherwise left as it is. Returns the lease as it
    /// stands; [`Lease::held_by`] says who won, and the winner gets the store through
    /// which a leader writes ([`Claim::into_leader`]).
    pub async fn claim_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Claim, StoreError> {
        let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        // Claims are never fenced (they are how a node becomes or stays the leader) and
        // on PostgreSQL do not take the writers' lock: they lock only the lease row, so
        // a claim never waits behind the old leader's writes, only behind a write of
        // its that is checking the fence at that moment (see `check_fence`).
        let mut tx = self.claim_tx().await?;
        let now = db_now(&mut tx).await?;
        let current = read_lease_for_update(&mut tx, name).await?;
        let (holder, epoch, renewed_at) = match &current {
            None => (holder.to_owned(), 1, now),
            Some(lease) if lease.holder == holder => (holder.to_owned(), lease.epoch, now),
            Some(lease) if lease.expires_at <= now => (holder.to_owned(), lease.epoch + 1, now),
            Some(lease) => {
                let lease = Lease {
                    db_now: now,
                    ..lease.clone()
                };
                tx.rollback().await?;
                return Ok(Claim {
                    lease,
                    leader: None,
                });
            }
        };
        let expires_at = now + ttl;
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "INSERT INTO leases (name, holder, epoch, expires_at, renewed_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
                 epoch = excluded.epoch, expires_at = excluded.expires_at, \
                 renewed_at = excluded.renewed_at",
            )
            .bind(name)
            .bind(&holder)
            .bind(epoch)
            .bind(expires_at)
            .bind(renewed_at)
            .execute(&mut *conn)
            .await?;
        });
        tx.commit().await?;
        let leader = LeaderStore::new(
            self,
            Fence {
                lease: name.to_owned(),
                holder: holder.clone(),
                epoch,
            },
        );
        Ok(Claim {
            lease: Lease {
                name: name.to_owned(),
                holder,
                epoch,
                expires_at,
                renewed_at,
                db_now: now,
            },
            leader: Some(leader),
        })
    }

    /// Gives up lease `name` if `holder` holds it (a clean shutdown), so a standby
    /// takes over at once instead of after the TTL. The epoch is kept.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let mut tx = self.unfenced().write_tx().await?;
        let now = db_now(&mut tx).await?;
        on_tx!(&mut tx, |conn| {
            sqlx::query("UPDATE leases SET expires_at = $1 WHERE name = $2 AND holder = $3")
                .bind(now)
                .bind(name)
                .bind(holder)
                .execute(&mut *conn)
                .await?;
        });
        tx.commit().await?;
        Ok(())
    }

    /// Lease `name` as it stands, if it was ever claimed.
    pub async fn lease(&self, name: &str) -> Result<Option<Lease>, StoreError> {
        let mut tx = self.unfenced().write_tx().await?;
        let now = db_now(&mut tx).await?;
        let lease = read_lease(&mut tx, name).await?;
        tx.rollback().await?;
        // The row the schema starts with, held by nobody, is no lease yet.
        Ok(lease
            .filter(|lease| !lease.holder.is_empty())
            .map(|lease| Lease {
                db_now: now,
                ..lease
            }))
    }
}

/// Fails with `Fenced` unless the lease names the fence's holder at its epoch. On
/// PostgreSQL the lease row stays share-locked until the write commits, so a claim
/// that would depose this leader waits for the write to finish: every write of a
/// leader lands before its successor's term begins, never after.
pub(crate) async fn check_fence(tx: &mut WriteTx, fence: &Fence) -> Result<(), StoreError> {
    let current = read_lease_locked(tx, &fence.lease, "FOR SHARE").await?;
    let holds = current
        .as_ref()
        .is_some_and(|lease| lease.holder == fence.holder && lease.epoch == fence.epoch);
    if holds {
        Ok(())
    } else {
        Err(StoreError::Fenced {
            lease: fence.lease.clone(),
            holder: fence.holder.clone(),
            epoch: fence.epoch,
        })
    }
}

async fn read_lease(tx: &mut WriteTx, name: &str) -> Result<Option<Lease>, StoreError> {
    read_lease_locked(tx, name, "").await
}

async fn read_lease_for_update(tx: &mut WriteTx, name: &str) -> Result<Option<Lease>, StoreError> {
    read_lease_locked(tx, name, "FOR UPDATE").await
}

/// Reads the lease row, on PostgreSQL with `lock` (`FOR SHARE`, `FOR UPDATE` or
/// nothing); SQLite's write transactions already hold the whole database.
async fn read_lease_locked(
    tx: &mut WriteTx,
    name: &str,
    lock: &'static str,
) -> Result<Option<Lease>, StoreError> {
    let lock = match tx {
        WriteTx::Postgres(_) => lock,
        WriteTx::Sqlite(_) => "",
    };
    let sql =
        format!("SELECT holder, epoch, expires_at, renewed_at FROM leases WHERE name = $1 {lock}");
    let row: Option<(String, i64, DateTime<Utc>, DateTime<Utc>)> = on_tx!(tx, |conn| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?
    });
    Ok(row.map(|(holder, epoch, expires_at, renewed_at)| Lease {
        name: name.to_owned(),
        holder,
        epoch,
        expires_at,
        renewed_at,
        db_now: renewed_at,
    }))
}

/// The database's clock: PostgreSQL's `now()`; SQLite's `'now'` (the same host's
/// clock, as SQLite runs in-process).
pub(crate) async fn db_now(tx: &mut WriteTx) -> Result<DateTime<Utc>, StoreError> {
    match tx {
        WriteTx::Postgres(tx) => {
            let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
                .fetch_one(&mut **tx)
                .await?;
            Ok(now)
        }
        WriteTx::Sqlite(tx) => {
            let text: String = sqlx::query("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')")
                .fetch_one(&mut **tx)
                .await?
                .try_get(0)?;
            DateTime::parse_from_rfc3339(&text)
                .map(|at| at.with_timezone(&Utc))
                .map_err(|e| StoreError::Corrupt {
                    what: "database clock",
                    message: format!("{text:?}: {e}"),
                })
        }
    }
}
