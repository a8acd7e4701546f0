//! Opening a PostgreSQL store: a bounded pool, schema migrations at start, and URLs
//! described without their password.

use crate::error::StoreError;
use crate::migrate;
use crate::store::StoreOptions;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use std::str::FromStr;

/// Whether `url` names a PostgreSQL database.
pub(crate) fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Connects to the database `url` names and brings its schema up to date.
pub(crate) async fn connect(url: &str, options: &StoreOptions) -> Result<PgPool, StoreError> {
    let connect = PgConnectOptions::from_str(url).map_err(|e| StoreError::Open {
        location: redacted(url),
        message: format!("invalid database URL: {e}"),
    })?;
    let location = format!(
        "postgres://{}@{}:{}/{}",
        connect.get_username(),
        connect.get_host(),
        connect.get_port(),
        connect.get_database().unwrap_or(connect.get_username()),
    );
    // A writer waiting for the store's write lock (see `exec::WriteTx`) gives up as
    // SQLite's busy timeout does, rather than hang.
    let connect = connect
        .application_name("orrery")
        // A process that stops mid-transaction (SIGSTOP, a partition) must not hold
        // locks forever: the server ends such a session after a few seconds, which
        // releases the write lock and the lease row to the other nodes.
        .options([
            ("lock_timeout", "10s"),
            ("idle_in_transaction_session_timeout", "3s"),
        ]);
    let open_error = |message: String| StoreError::Open {
        location: location.clone(),
        message,
    };
    // One connection first, with its own error: a pool that cannot connect only says
    // it timed out, where the user needs "connection refused" or "no such database".
    let mut first = tokio::time::timeout(
        options.acquire_timeout,
        PgConnection::connect_with(&connect),
    )
    .await
    .map_err(|_| {
        open_error(format!(
            "no answer within {:?} (is the server up and reachable?)",
            options.acquire_timeout
        ))
    })?
    .map_err(|e| open_error(describe(&e)))?;
    migrate::run_postgres(&mut first, &location).await?;
    let _ = first.close().await;
    Ok(PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .connect_lazy_with(connect))
}

/// An error for a person: the server's own message for database errors (sqlx adds
/// the server's source line to it).
fn describe(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => other.to_string(),
    }
}

/// `url` with its password and query (which may hold one) left out, for messages.
pub(crate) fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return if url.contains('@') {
            "(a database URL, not shown as it may hold a password)".to_owned()
        } else {
            url.to_owned()
        };
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{user}@{host}")
        }
        None => authority.to_owned(),
    };
    let path = tail.split(['?', '#']).next().unwrap_or_default();
    format!("{scheme}://{authority}{path}")
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn redacted_urls_keep_the_host_and_drop_the_password() {
        let check = |url: &str, expected: &str| assert_eq!(redacted(url), expected, "{url}");
        check(
            "postgres://orrery:hunter2@db.example:5433/orrery?sslmode=require&password=x",
            "postgres://orrery@db.example:5433/orrery",
        );
        check(
            "postgresql://db.example/orrery",
            "postgresql://db.example/orrery",
        );
        check("postgres://u:p@[::1]:5432", "postgres://u@[::1]:5432");
        check("mysql://root:pw@h/db", "mysql://root@h/db");
        check(
            "user:secret@host",
            "(a database URL, not shown as it may hold a password)",
        );
        check("nonsense", "nonsense");
    }
}
