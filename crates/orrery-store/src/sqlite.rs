//! Opening a SQLite store: WAL journal, a bounded pool, schema migrations at start.

use crate::error::StoreError;
use crate::migrate;
use crate::store::StoreOptions;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// Whether `url` names a SQLite database (`sqlite://path` or `sqlite:path`).
pub(crate) fn is_sqlite_url(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Opens (creating if needed) the database file at `location`.
pub(crate) async fn open_file(
    location: &Path,
    options: &StoreOptions,
) -> Result<SqlitePool, StoreError> {
    let connect = SqliteConnectOptions::new().filename(location);
    open(connect, &location.display().to_string(), options).await
}

/// Opens (creating if needed) the database a `sqlite:` URL names.
pub(crate) async fn connect(url: &str, options: &StoreOptions) -> Result<SqlitePool, StoreError> {
    let connect = SqliteConnectOptions::from_str(url).map_err(|e| StoreError::Open {
        location: url.to_owned(),
        message: e.to_string(),
    })?;
    let location = connect.get_filename().display().to_string();
    open(connect, &location, options).await
}

async fn open(
    connect: SqliteConnectOptions,
    location: &str,
    options: &StoreOptions,
) -> Result<SqlitePool, StoreError> {
    let connect = connect
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // WAL with NORMAL survives a killed process; only an OS crash may lose the last commits.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect)
        .await
        .map_err(|e| StoreError::Open {
            location: location.to_owned(),
            message: e.to_string(),
        })?;
    migrate::run_sqlite(&pool, location).await?;
    Ok(pool)
}
