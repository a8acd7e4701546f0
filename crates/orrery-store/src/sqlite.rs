//! Opening the SQLite store: WAL journal, schema migrations at start, a bounded pool.

use crate::error::StoreError;
use sqlx::SqlitePool;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::time::Duration;

/// The store: a handle to the database, cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: SqlitePool,
}

/// Every schema migration, oldest first; embedded so the binary needs no files.
fn migrations() -> Vec<Migration> {
    let migration = |version, name: &str, sql: &'static str| {
        Migration::new(
            version,
            name.to_owned().into(),
            MigrationType::Simple,
            sqlx::SqlStr::from_static(sql),
            false,
        )
    };
    vec![
        migration(1, "initial", include_str!("../migrations/0001_initial.sql")),
        migration(2, "workers", include_str!("../migrations/0002_workers.sql")),
    ]
}

impl Store {
    /// Opens (creating if needed) the database file `orrery.db` under `data_dir` and
    /// brings its schema up to date.
    pub async fn open(data_dir: &Path) -> Result<Store, StoreError> {
        let location = data_dir.join("orrery.db");
        let open_error = |message: String| StoreError::Open {
            location: location.display().to_string(),
            message,
        };
        std::fs::create_dir_all(data_dir)
            .map_err(|e| open_error(format!("create the data directory: {e}")))?;
        let options = SqliteConnectOptions::new()
            .filename(&location)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL with NORMAL survives a killed process; only an OS crash may lose the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(15))
            .connect_with(options)
            .await
            .map_err(|e| open_error(e.to_string()))?;
        Migrator::with_migrations(migrations())
            .run(&pool)
            .await
            .map_err(|e| open_error(format!("migrate the schema: {e}")))?;
        Ok(Store { pool })
    }

    /// Closes every connection, flushing the WAL.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl Store {
    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), crate::StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

impl Store {
    /// A transaction that takes the write lock at its start (`BEGIN IMMEDIATE`): two
    /// writers that read first then write would otherwise deadlock, and SQLite refuses
    /// the second at once instead of waiting out the busy timeout.
    pub(crate) async fn write_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }
}
