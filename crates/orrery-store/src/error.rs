//! What a store call can fail with; variants are what the caller must decide on.

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A job's new version would start, through sub-workflows, a job that starts it:
    /// the loop, from the job back to itself.
    #[error("sub-workflow cycle: {}", chain.join(" → "))]
    SubWorkflowCycle { chain: Vec<String> },
    /// The thing asked for does not exist.
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    /// A uniqueness rule was hit (e.g. a second run for the same logical date).
    #[error("conflict: {message}")]
    Conflict { message: String },
    /// The database is unreachable or busy; the call may succeed if retried.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// The database refused a statement for a reason retrying will not change (a bug in
    /// a query, a violated constraint other than uniqueness).
    #[error("database error: {0}")]
    Internal(#[source] sqlx::Error),
    /// The database holds something this code cannot read (corruption or a newer schema).
    #[error("corrupt or unreadable data in {what}: {message}")]
    Corrupt { what: &'static str, message: String },
    /// Opening the database or migrating its schema failed. `location` never holds a
    /// password.
    #[error("cannot open the database at {location}: {message}")]
    Open { location: String, message: String },
    /// The database was migrated by a newer Orrery: this one refuses to use it rather
    /// than misread or damage data of a schema it does not know.
    #[error(
        "cannot open the database at {location}: it was migrated by a newer Orrery \
         (schema version {applied_version}; this Orrery knows up to {latest_known}); \
         run that newer Orrery, or point this one at another database"
    )]
    SchemaTooNew {
        location: String,
        applied_version: i64,
        latest_known: i64,
    },
    /// A write by a leader that no longer holds its lease at its epoch: refused, and
    /// nothing of the transaction was applied.
    #[error("deposed: lease {lease} is no longer held by {holder} at epoch {epoch}")]
    Fenced {
        lease: String,
        holder: String,
        epoch: i64,
    },
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict {
                message: db.message().to_owned(),
            },
            sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::ColumnNotFound(_) => StoreError::Corrupt {
                what: "row",
                message: error.to_string(),
            },
            _ if is_transient(&error) => StoreError::Unavailable(error),
            _ => StoreError::Internal(error),
        }
    }
}

/// PostgreSQL error codes that a retry may get past: serialization failures and
/// deadlocks, lock timeouts, a statement or transaction timeout, too many connections,
/// a server shutting down or starting.
const TRANSIENT_POSTGRES_CODES: [&str; 10] = [
    "40001", "40P01", "55P03", "57014", "25P03", "53300", "57P01", "57P02", "57P03", "53400",
];

/// SQLite's result codes for a busy or locked database (primary codes, as extended
/// codes carry them in their low byte).
const TRANSIENT_SQLITE_CODES: [i64; 2] = [5, 6];

/// Whether `error` says the database is unreachable, overloaded or busy, rather than
/// that the statement itself is wrong.
fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else {
                return false;
            };
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                return code
                    .parse::<i64>()
                    .is_ok_and(|c| TRANSIENT_SQLITE_CODES.contains(&(c & 0xff)));
            }
            // PostgreSQL's connection exceptions are class 08.
            code.starts_with("08") || TRANSIENT_POSTGRES_CODES.contains(&code.as_ref())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use std::time::Duration;

    #[tokio::test]
    async fn a_bad_statement_is_internal_and_a_busy_database_is_unavailable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("t.db"))
            .create_if_missing(true)
            .busy_timeout(Duration::ZERO);
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .expect("open");
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&pool)
            .await
            .expect("create");
        let bug = sqlx::query("SELEC x FROM t")
            .execute(&pool)
            .await
            .expect_err("syntax");
        assert!(matches!(StoreError::from(bug), StoreError::Internal(_)));

        let mut holder = pool.acquire().await.expect("first connection");
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *holder)
            .await
            .expect("take the write lock");
        let busy = sqlx::query("INSERT INTO t (x) VALUES (1)")
            .execute(&pool)
            .await
            .expect_err("the database is locked");
        assert!(
            matches!(StoreError::from(busy), StoreError::Unavailable(_)),
            "a busy database may be retried"
        );
        assert!(matches!(
            StoreError::from(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
    }
}
