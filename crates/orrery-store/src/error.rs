//! What a store call can fail with; variants are what the caller must decide on.

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    /// A uniqueness rule was hit (e.g. a second run for the same logical date).
    #[error("conflict: {message}")]
    Conflict { message: String },
    /// The database is unreachable or busy; the call may succeed if retried.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
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
            _ => StoreError::Unavailable(error),
        }
    }
}
