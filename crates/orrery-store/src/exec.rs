//! Running one query body on either backend: the `on_pool!` and `on_tx!` macros, and
//! write transactions (`WriteTx`), the one place where the backends' locking differs.

use crate::store::{Backend, Store};
use sqlx::{Postgres, Sqlite, Transaction};

/// Expands `$body` once per backend with `$pool` bound to that backend's pool, so
/// sqlx infers each database's types separately and the SQL is written once. Rows
/// differ per backend: map them (with `StoreRow`) inside the body.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite($pool) => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Like `on_pool!` for a write transaction: `$tx` is a `&mut WriteTx`, and `$conn` the
/// backend's connection inside it (use it as `&mut *$conn`).
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match &mut *$tx {
            $crate::exec::WriteTx::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::exec::WriteTx::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

/// A transaction that writes. Writers of one store run one at a time on both
/// backends, so a method may read, decide, then write (e.g. the next attempt number)
/// without another writer slipping in between.
pub(crate) enum WriteTx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Key of the transaction-scoped advisory lock PostgreSQL writers take ("orrery").
const POSTGRES_WRITE_LOCK: i64 = 0x6f72_7265_7279;

impl Store {
    /// Begins a write transaction.
    ///
    /// SQLite: `BEGIN IMMEDIATE` takes the write lock at the start; two writers that
    /// read first then write would otherwise deadlock, and SQLite refuses the second at
    /// once instead of waiting out the busy timeout.
    ///
    /// PostgreSQL: a read-committed transaction that first takes an advisory lock held
    /// until commit, giving the same one-writer-at-a-time rule (across every process
    /// using the database) without serializable isolation and its retries. Readers are
    /// never blocked. Waiting is bounded by the connection's `lock_timeout`.
    ///
    /// On a fenced handle (the leader's), the transaction then checks that the lease
    /// still names this holder at this epoch, and fails with `StoreError::Fenced`
    /// otherwise: a deposed leader cannot change anything, whatever it believes.
    pub(crate) async fn write_tx(&self) -> Result<WriteTx, crate::StoreError> {
        let mut tx = match &self.backend {
            Backend::Sqlite(pool) => WriteTx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(POSTGRES_WRITE_LOCK)
                    .execute(&mut *tx)
                    .await?;
                WriteTx::Postgres(tx)
            }
        };
        if let Some(fence) = &self.fence {
            crate::lease::check_fence(&mut tx, fence).await?;
        }
        Ok(tx)
    }
}

impl Store {
    /// A transaction for lease claims: SQLite's usual write transaction; on
    /// PostgreSQL a plain one (the claim locks only the lease row).
    pub(crate) async fn claim_tx(&self) -> Result<WriteTx, crate::StoreError> {
        match &self.backend {
            Backend::Sqlite(pool) => Ok(WriteTx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?)),
            Backend::Postgres(pool) => Ok(WriteTx::Postgres(pool.begin().await?)),
        }
    }
}

impl WriteTx {
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            WriteTx::Sqlite(tx) => tx.commit().await,
            WriteTx::Postgres(tx) => tx.commit().await,
        }
    }

    pub(crate) async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            WriteTx::Sqlite(tx) => tx.rollback().await,
            WriteTx::Postgres(tx) => tx.rollback().await,
        }
    }
}
