//! Fresh stores on every backend for tests of this and other crates: SQLite in a
//! temporary directory, PostgreSQL in a throw-away database on the server named by
//! `ORRERY_TEST_POSTGRES_URL` (`scripts/postgres` starts one), and `backend_tests!`,
//! which turns one test body into a test per backend.
//!
//! Always compiled (it needs nothing beyond the store's own dependencies), so any
//! crate's tests can use it without a feature switch; nothing else calls it.

use crate::error::StoreError;
use crate::postgres::redacted;
use crate::store::Store;
use sqlx::{Connection, PgConnection};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable holding the admin URL of the PostgreSQL server tests use,
/// e.g. `postgres://postgres@127.0.0.1:55432/postgres`.
pub const POSTGRES_URL_ENV: &str = "ORRERY_TEST_POSTGRES_URL";

/// Which database a test store is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

/// A store of its own for one test; its database is removed when this is dropped.
pub struct TestStore {
    pub store: Store,
    place: Place,
}

enum Place {
    Sqlite(TestDir),
    Postgres(TestDatabase),
}

impl TestStore {
    /// A store on a new SQLite file in a temporary directory (`Store::open`).
    pub async fn sqlite() -> Result<TestStore, StoreError> {
        let dir = TestDir::create()?;
        let store = Store::open(dir.path()).await?;
        Ok(TestStore {
            store,
            place: Place::Sqlite(dir),
        })
    }

    /// A store on a new PostgreSQL database (`Store::connect`), or `None` (with a
    /// visible skip message) when no test server is configured.
    pub async fn postgres() -> Result<Option<TestStore>, StoreError> {
        let Some(database) = TestDatabase::create().await? else {
            return Ok(None);
        };
        let store = Store::connect(database.url()).await?;
        Ok(Some(TestStore {
            store,
            place: Place::Postgres(database),
        }))
    }

    /// Which backend this store is on.
    pub fn backend(&self) -> TestBackend {
        match &self.place {
            Place::Sqlite(_) => TestBackend::Sqlite,
            Place::Postgres(_) => TestBackend::Postgres,
        }
    }

    /// A URL for the same database, for `Store::connect` or a raw connection.
    pub fn url(&self) -> String {
        match &self.place {
            Place::Sqlite(dir) => format!("sqlite://{}", sqlite_file(dir.path()).display()),
            Place::Postgres(database) => database.url().to_owned(),
        }
    }

    /// The SQLite database file, for tests that look at what is on disk.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        match &self.place {
            Place::Sqlite(dir) => Some(sqlite_file(dir.path())),
            Place::Postgres(_) => None,
        }
    }

    /// Opens the same database again, the way it was first opened.
    pub async fn reopen(&self) -> Result<Store, StoreError> {
        match &self.place {
            Place::Sqlite(dir) => Store::open(dir.path()).await,
            Place::Postgres(database) => Store::connect(database.url()).await,
        }
    }
}

fn sqlite_file(dir: &Path) -> PathBuf {
    dir.join("orrery.db")
}

/// A PostgreSQL database of its own, `orrery_t_<random>`, created through the admin
/// URL in [`POSTGRES_URL_ENV`] and dropped (forcibly, best effort) with this value.
pub struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates an empty database, or returns `None` after printing
    /// `SKIPPED: ORRERY_TEST_POSTGRES_URL is not set` when the variable is unset.
    pub async fn create() -> Result<Option<TestDatabase>, StoreError> {
        let Ok(admin_url) = std::env::var(POSTGRES_URL_ENV) else {
            eprintln!("SKIPPED: {POSTGRES_URL_ENV} is not set");
            return Ok(None);
        };
        let name = format!("orrery_t_{}", unique_suffix());
        let open_error = |message: String| StoreError::Open {
            location: redacted(&admin_url),
            message,
        };
        let url = with_database(&admin_url, &name)
            .ok_or_else(|| open_error(format!("{POSTGRES_URL_ENV} is not a postgres:// URL")))?;
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .map_err(|e| open_error(e.to_string()))?;
        // The name is ours (letters, digits, underscores): safe to splice in. Sorting
        // like a typical production database (en-US, not the test cluster's C locale)
        // lets the tests catch queries that depend on the collation; servers without
        // ICU get the cluster's default.
        let icu = format!(
            "CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
        );
        if sqlx::raw_sql(sqlx::AssertSqlSafe(icu))
            .execute(&mut admin)
            .await
            .is_err()
        {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&mut admin)
                .await
                .map_err(|e| open_error(format!("create database {name}: {e}")))?;
        }
        let _ = admin.close().await;
        Ok(Some(TestDatabase {
            admin_url,
            name,
            url,
        }))
    }

    /// The database's URL (with the admin URL's user and password).
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        // Drop cannot await: a short-lived thread with its own runtime does the work,
        // also while a failed test unwinds. A database left behind only costs space.
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async move {
                let mut admin = PgConnection::connect(&admin_url).await.ok()?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut admin)
                    .await
                    .ok()?;
                admin.close().await.ok()
            })
        });
        let _ = dropper.join();
    }
}

/// `admin_url` with its database replaced by `name` (its query kept).
fn with_database(admin_url: &str, name: &str) -> Option<String> {
    let (scheme, rest) = admin_url.split_once("://")?;
    if !crate::postgres::is_postgres_url(admin_url) {
        return None;
    }
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map_or("", |i| &tail[i..]);
    Some(format!("{scheme}://{authority}/{name}{query}"))
}

/// A temporary directory removed (with its contents) on drop.
struct TestDir {
    path: PathBuf,
}

impl TestDir {
    fn create() -> Result<TestDir, StoreError> {
        let path = std::env::temp_dir().join(format!("orrery-store-test-{}", unique_suffix()));
        std::fs::create_dir(&path).map_err(|e| StoreError::Open {
            location: path.display().to_string(),
            message: format!("create a temporary directory: {e}"),
        })?;
        Ok(TestDir { path })
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// 16 hex digits, different in every call and every process (std's randomly keyed
/// hasher over the process id and a counter).
fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{:016x}", hasher.finish())
}

/// For each name given, a module of that name with two tests, `sqlite` and
/// `postgres`, that call the caller's `async fn name(test: TestStore)` on a fresh
/// store of each backend (the second skipped, visibly, when no PostgreSQL server is
/// configured). The test bodies stay ordinary functions; the calling crate needs
/// `tokio` for `#[tokio::test]`.
///
/// ```ignore
/// backend_tests!(apply_creates_a_job);
///
/// async fn apply_creates_a_job(test: TestStore) { /* use test.store */ }
/// ```
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let test = $crate::test_support::TestStore::sqlite()
                    .await
                    .expect("open a SQLite test store");
                super::$name(test).await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some(test) = $crate::test_support::TestStore::postgres()
                    .await
                    .expect("open a PostgreSQL test store")
                else {
                    return;
                };
                super::$name(test).await;
            }
        }
    )*};
}

/// One of a store's pooled connections, held until dropped: lets a test exhaust a
/// small pool and check that calls then fail fast and recover.
pub struct HeldConnection {
    _connection: HeldKind,
}

// Held only to be dropped later.
#[allow(dead_code)]
enum HeldKind {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

/// Takes one connection from `store`'s pool and keeps it until the guard is dropped.
pub async fn hold_connection(store: &Store) -> Result<HeldConnection, StoreError> {
    let connection = match &store.backend {
        crate::store::Backend::Sqlite(pool) => HeldKind::Sqlite(pool.acquire().await?),
        crate::store::Backend::Postgres(pool) => HeldKind::Postgres(pool.acquire().await?),
    };
    Ok(HeldConnection {
        _connection: connection,
    })
}

/// The scheduler's store for a test that writes what only a leader writes (timers,
/// fires, worker rows): claims the scheduler lease as `test` for an hour. Panics when
/// another holder has it, which a test's own store never has.
pub async fn leader_of(store: &Store) -> crate::LeaderStore {
    let claim = store
        .claim_lease(
            crate::SCHEDULER_LEASE,
            "test",
            std::time::Duration::from_secs(3600),
        )
        .await;
    match claim.map(crate::Claim::into_leader) {
        Ok(Some(leader)) => leader,
        Ok(None) => panic!("another holder has the scheduler lease"),
        Err(error) => panic!("cannot claim the scheduler lease: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn a_test_database_url_keeps_the_server_and_its_options() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:55432/postgres", "t1").as_deref(),
            Some("postgres://postgres@127.0.0.1:55432/t1")
        );
        assert_eq!(
            with_database("postgresql://u:p@h?sslmode=disable", "t2").as_deref(),
            Some("postgresql://u:p@h/t2?sslmode=disable")
        );
        assert_eq!(with_database("sqlite://x.db", "t3"), None);
    }
}
