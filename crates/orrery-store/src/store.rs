//! The `Store` handle: which database it talks to, and opening it by directory or URL.

use crate::error::StoreError;
use crate::{postgres, sqlite};
use sqlx::{PgPool, SqlitePool};
use std::path::Path;
use std::time::Duration;

/// The store: a handle to the database, cheap to clone. Every method works the same
/// on SQLite and on PostgreSQL.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) backend: Backend,
    /// Set on the leader's handle: every write transaction first checks that this
    /// lease still names it at this epoch (see [`Store::fenced`]).
    pub(crate) fence: Option<std::sync::Arc<crate::lease::Fence>>,
}

/// The database behind a store.
#[derive(Clone, Debug)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Connection pool settings of a store opened by URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// Most connections open at once.
    pub max_connections: u32,
    /// How long a call waits for a free connection (or a new one) before failing.
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// What `Store::open` uses for its SQLite file: few connections (SQLite has one
/// writer) and a patient acquire, as writers queue behind each other.
const SQLITE_FILE_OPTIONS: StoreOptions = StoreOptions {
    max_connections: 8,
    acquire_timeout: Duration::from_secs(15),
};

impl Store {
    /// Opens (creating if needed) the SQLite database file `orrery.db` under
    /// `data_dir` and brings its schema up to date.
    pub async fn open(data_dir: &Path) -> Result<Store, StoreError> {
        let location = data_dir.join("orrery.db");
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Open {
            location: location.display().to_string(),
            message: format!("create the data directory: {e}"),
        })?;
        let pool = sqlite::open_file(&location, &SQLITE_FILE_OPTIONS).await?;
        Ok(Store {
            fence: None,
            backend: Backend::Sqlite(pool),
        })
    }

    /// Opens the database a URL names, with default pool settings, and brings its
    /// schema up to date: `postgres://user:password@host:port/database` (or
    /// `postgresql://`), or `sqlite://path/to/file.db`.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with(url, &StoreOptions::default()).await
    }

    /// Like [`Store::connect`], with explicit pool settings.
    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let backend = if postgres::is_postgres_url(url) {
            Backend::Postgres(postgres::connect(url, options).await?)
        } else if sqlite::is_sqlite_url(url) {
            Backend::Sqlite(sqlite::connect(url, options).await?)
        } else {
            return Err(StoreError::Open {
                location: postgres::redacted(url),
                message: "unsupported database URL: use postgres://user@host:port/database or sqlite://path".to_owned(),
            });
        };
        Ok(Store {
            backend,
            fence: None,
        })
    }

    /// Which database this store uses: `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection (on SQLite, flushing the WAL).
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(pool) => pool.close().await,
            Backend::Postgres(pool) => pool.close().await,
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        crate::exec::on_pool!(self, |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }
}
