//! Failed sign-ins per username, shared by every API node (the wait they earn is the
//! API's rule); rows older than `forget_before` go as new failures arrive, so the
//! table holds only names that failed recently.

use crate::error::StoreError;
use crate::exec::{on_pool, on_tx};
use crate::row::to_u32;
use crate::views::{ApiIntents, ApiReads};
use chrono::{DateTime, Utc};

impl ApiReads {
    /// How many times in a row `username` failed, and when it last did.
    pub async fn login_failures(
        &self,
        username: &str,
    ) -> Result<Option<(u32, DateTime<Utc>)>, StoreError> {
        let row: Option<(i64, DateTime<Utc>)> = on_pool!(self.store(), |pool| {
            sqlx::query_as("SELECT failures, last_at FROM login_failures WHERE username = $1")
                .bind(username)
                .fetch_optional(pool)
                .await?
        });
        row.map(|(failures, last)| Ok((to_u32(failures, "login failures")?, last)))
            .transpose()
    }
}

impl ApiIntents {
    /// Counts a failed sign-in of `username` at `now`, and forgets failures last seen
    /// before `forget_before`.
    pub async fn record_login_failure(
        &self,
        username: &str,
        now: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.store().write_tx().await?;
        on_tx!(&mut tx, |conn| {
            sqlx::query("DELETE FROM login_failures WHERE last_at < $1")
                .bind(forget_before)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "INSERT INTO login_failures (username, failures, last_at) VALUES ($1, 1, $2) \
                 ON CONFLICT (username) DO UPDATE SET \
                 failures = login_failures.failures + 1, last_at = excluded.last_at",
            )
            .bind(username)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        });
        tx.commit().await?;
        Ok(())
    }

    /// Forgets `username`'s failures (it signed in).
    pub async fn clear_login_failures(&self, username: &str) -> Result<(), StoreError> {
        let mut tx = self.store().write_tx().await?;
        on_tx!(&mut tx, |conn| {
            sqlx::query("DELETE FROM login_failures WHERE username = $1")
                .bind(username)
                .execute(&mut *conn)
                .await?;
        });
        tx.commit().await?;
        Ok(())
    }
}
