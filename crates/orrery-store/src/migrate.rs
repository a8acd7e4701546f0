//! Each backend's schema migrations, embedded so the binary needs no files, and
//! running them at open with errors that say what to do.

use crate::error::StoreError;
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};
use sqlx::{PgConnection, SqlitePool};

/// One migration. Both backends use the same versions and names; only the SQL differs.
fn migration(version: i64, name: &str, sql: &'static str) -> Migration {
    Migration::new(
        version,
        name.to_owned().into(),
        MigrationType::Simple,
        sqlx::SqlStr::from_static(sql),
        false,
    )
}

/// SQLite's migrations, oldest first. Their text must never change: sqlx keeps a
/// checksum of every applied migration and refuses a database whose ones differ.
fn sqlite_migrations() -> Vec<Migration> {
    vec![
        migration(
            1,
            "initial",
            include_str!("../migrations/sqlite/0001_initial.sql"),
        ),
        migration(
            2,
            "workers",
            include_str!("../migrations/sqlite/0002_workers.sql"),
        ),
        migration(
            3,
            "cluster",
            include_str!("../migrations/sqlite/0003_cluster.sql"),
        ),
        migration(
            4,
            "scheduler_polls",
            include_str!("../migrations/sqlite/0004_scheduler_polls.sql"),
        ),
        migration(
            5,
            "manual_logical_dates",
            include_str!("../migrations/sqlite/0005_manual_logical_dates.sql"),
        ),
        migration(
            6,
            "access",
            include_str!("../migrations/sqlite/0006_access.sql"),
        ),
        migration(7, "sso", include_str!("../migrations/sqlite/0007_sso.sql")),
        migration(
            8,
            "alerts",
            include_str!("../migrations/sqlite/0008_alerts.sql"),
        ),
    ]
}

/// PostgreSQL's migrations, oldest first; the same schema in PostgreSQL's types.
fn postgres_migrations() -> Vec<Migration> {
    vec![
        migration(
            1,
            "initial",
            include_str!("../migrations/postgres/0001_initial.sql"),
        ),
        migration(
            2,
            "workers",
            include_str!("../migrations/postgres/0002_workers.sql"),
        ),
        migration(
            3,
            "cluster",
            include_str!("../migrations/postgres/0003_cluster.sql"),
        ),
        migration(
            4,
            "scheduler_polls",
            include_str!("../migrations/postgres/0004_scheduler_polls.sql"),
        ),
        migration(
            5,
            "manual_logical_dates",
            include_str!("../migrations/postgres/0005_manual_logical_dates.sql"),
        ),
        migration(
            6,
            "access",
            include_str!("../migrations/postgres/0006_access.sql"),
        ),
        migration(
            7,
            "sso",
            include_str!("../migrations/postgres/0007_sso.sql"),
        ),
        migration(
            8,
            "alerts",
            include_str!("../migrations/postgres/0008_alerts.sql"),
        ),
    ]
}

pub(crate) async fn run_sqlite(pool: &SqlitePool, location: &str) -> Result<(), StoreError> {
    let migrations = sqlite_migrations();
    let latest_known = latest(&migrations);
    Migrator::with_migrations(migrations)
        .run(pool)
        .await
        .map_err(|e| migrate_error(e, location, latest_known))
}

pub(crate) async fn run_postgres(
    connection: &mut PgConnection,
    location: &str,
) -> Result<(), StoreError> {
    let migrations = postgres_migrations();
    let latest_known = latest(&migrations);
    // sqlx holds an advisory lock while migrating: servers starting together on one
    // database migrate it once.
    Migrator::with_migrations(migrations)
        .run(connection)
        .await
        .map_err(|e| migrate_error(e, location, latest_known))
}

fn latest(migrations: &[Migration]) -> i64 {
    migrations.iter().map(|m| m.version).max().unwrap_or(0)
}

fn migrate_error(error: MigrateError, location: &str, latest_known: i64) -> StoreError {
    let location = location.to_owned();
    match error {
        // A version applied that this binary has never heard of: a newer Orrery
        // migrated this database. Going on could corrupt data it relies on.
        MigrateError::VersionMissing(applied_version) => StoreError::SchemaTooNew {
            location,
            applied_version,
            latest_known,
        },
        MigrateError::VersionMismatch(version) => StoreError::Open {
            location,
            message: format!(
                "schema migration {version} recorded in the database differs from this Orrery's; \
                 the database was migrated by another build"
            ),
        },
        other => StoreError::Open {
            location,
            message: format!("migrate the schema: {other}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::{postgres_migrations, sqlite_migrations};
    use sha2::{Digest, Sha256};

    /// SHA-256 of each SQLite migration as released. Databases in the field recorded
    /// these migrations' checksums; a changed byte would make them refuse to open.
    const RELEASED_SQLITE: [&str; 8] = [
        "a5adc4e58ba718cf4c77796489f6cc920bfaa126ca367c4995420fc9d17a0969",
        "46f12701195edea027e7ccb2bd753816a10eb80e373e0fed4609814e24f61c05",
        "f4c675b7af93f4ab3a5c16131cd3928461a08e52df530c6d4a23a20aa083105f",
        "974687fbf029c40b34dab4720492415b1d81c203fdb1ee790b84ffa681061e12",
        "33d93652f59322294038eb21b835dcac5fa33ead2b4810ad0b94685cb229c00b",
        "810c0754a17fb49875f97cd0d840ec24bb01376f63779f49c32004e76f311a87",
        "1b357276c9b827aaf76a0ccaac4afca443384a02950ff496f224645ce242ed5a",
        "bfe65ded1d713b867c95b32b9841423068b583c7980133324419196818f6274f",
    ];

    #[test]
    fn released_sqlite_migrations_never_change() {
        let hashes: Vec<String> = sqlite_migrations()
            .iter()
            .map(|m| {
                Sha256::digest(m.sql.as_str().as_bytes())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect()
            })
            .collect();
        assert_eq!(hashes, RELEASED_SQLITE);
    }

    #[test]
    fn both_backends_have_the_same_migration_versions_and_names() {
        let shape = |migrations: Vec<sqlx::migrate::Migration>| {
            migrations
                .into_iter()
                .map(|m| (m.version, m.description.into_owned()))
                .collect::<Vec<_>>()
        };
        assert_eq!(shape(sqlite_migrations()), shape(postgres_migrations()));
    }
}
