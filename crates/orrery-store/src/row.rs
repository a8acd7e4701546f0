//! Reading result rows once for both backends: `StoreRow`, and the conversions from
//! the stored `i64` to the records' narrower integers.

use crate::error::StoreError;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Decode, Postgres, Row, Sqlite, Type};

/// A Rust type both backends decode: `i64`, `String`, `bool`, `DateTime<Utc>` and
/// their `Option`s. PostgreSQL has no unsigned integers, so neither does this.
pub(crate) trait Column:
    for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

impl<T> Column for T where
    T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

/// A result row of either backend; each record's mapper is written once against it.
pub(crate) trait StoreRow {
    /// The value of column `index` (from 0).
    fn value<T: Column>(&self, index: usize) -> Result<T, sqlx::Error>;
}

impl StoreRow for SqliteRow {
    fn value<T: Column>(&self, index: usize) -> Result<T, sqlx::Error> {
        self.try_get(index)
    }
}

impl StoreRow for PgRow {
    fn value<T: Column>(&self, index: usize) -> Result<T, sqlx::Error> {
        self.try_get(index)
    }
}

/// Versions, attempts and indexes are stored as 64-bit integers; they are small and
/// positive.
pub(crate) fn to_version(value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt {
        what: "version or attempt number",
        message: format!("{value} is out of range"),
    })
}

/// A stored count that must fit a `u32` (slots, CPU millis, GPUs, running tasks).
pub(crate) fn to_u32(value: i64, what: &'static str) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt {
        what,
        message: format!("{value} is out of range"),
    })
}

/// Byte counts and durations are signed in the database; beyond `i64::MAX` they are
/// clamped when written.
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The unsigned counterpart of [`to_i64`]; a negative value (never written) reads as 0.
pub(crate) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
