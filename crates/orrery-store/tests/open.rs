//! Opening a store: by directory or URL on either backend, and the errors a user
//! sees when that fails (naming the place, never a password), including a database
//! migrated by a newer Orrery.

use orrery_store::test_support::{POSTGRES_URL_ENV, TestBackend, TestDatabase, TestStore};
use orrery_store::{Store, StoreError, StoreOptions, backend_tests};
use std::time::Duration;

#[tokio::test]
async fn an_unwritable_location_is_a_clear_open_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").expect("write");
    let error = Store::open(&file)
        .await
        .expect_err("cannot open under a file");
    assert!(matches!(error, StoreError::Open { .. }), "{error}");
    assert!(error.to_string().contains("not-a-dir"), "{error}");
}

#[tokio::test]
async fn a_sqlite_url_opens_the_same_store_as_its_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).await.expect("open");
    assert_eq!(store.backend(), "sqlite");
    store
        .create_token("t", "api", "secret", chrono::DateTime::UNIX_EPOCH)
        .await
        .expect("token");
    store.close().await;
    let url = format!("sqlite://{}", dir.path().join("orrery.db").display());
    let store = Store::connect(&url).await.expect("connect");
    assert_eq!(store.backend(), "sqlite");
    assert!(store.find_token("secret").await.expect("find").is_some());
    store.ping().await.expect("ping");
}

#[tokio::test]
async fn an_unreachable_postgres_server_is_an_open_error_naming_the_host_not_the_password() {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    let options = StoreOptions {
        max_connections: 2,
        acquire_timeout: Duration::from_secs(3),
    };
    let error = Store::connect_with("postgres://orrery:hunter2@127.0.0.1:1/orrery", &options)
        .await
        .expect_err("nothing listens on port 1");
    let message = error.to_string();
    assert!(matches!(error, StoreError::Open { .. }), "{message}");
    assert!(message.contains("127.0.0.1:1"), "{message}");
    assert!(message.contains("orrery@"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn a_postgres_server_that_never_answers_is_an_open_error_after_the_acquire_timeout() {
    // A loopback listener that accepts connections and says nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let options = StoreOptions {
        max_connections: 2,
        acquire_timeout: Duration::from_millis(500),
    };
    let url = format!("postgres://orrery:hunter2@127.0.0.1:{port}/orrery");
    let error = Store::connect_with(&url, &options)
        .await
        .expect_err("no answer");
    silent.abort();
    let message = error.to_string();
    assert!(matches!(error, StoreError::Open { .. }), "{message}");
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(message.contains("no answer within 500ms"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn an_unsupported_url_is_an_open_error_without_its_password() {
    for url in ["mysql://root:hunter2@db/orrery", "root:hunter2@db"] {
        let error = Store::connect(url).await.expect_err("unsupported");
        let message = error.to_string();
        assert!(matches!(error, StoreError::Open { .. }), "{message}");
        assert!(message.contains("unsupported database URL"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }
}

#[tokio::test]
async fn a_postgres_url_naming_no_database_of_the_server_is_a_clear_open_error() {
    let Some(database) = TestDatabase::create().await.expect("test database") else {
        return;
    };
    // The same server and user, another database, and a password the server ignores
    // (trust authentication) but the message must not show.
    let admin = std::env::var(POSTGRES_URL_ENV).expect("set when a database was created");
    let server = admin
        .split_once("://")
        .and_then(|(_, rest)| rest.split('/').next())
        .map(|authority| authority.rsplit('@').next().unwrap_or(authority))
        .expect("host in the admin URL");
    let url = format!("postgres://postgres:hunter2@{server}/orrery_no_such_database");
    let error = Store::connect(&url).await.expect_err("no such database");
    let message = error.to_string();
    assert!(matches!(error, StoreError::Open { .. }), "{message}");
    assert!(message.contains(server), "{message}");
    assert!(message.contains("orrery_no_such_database"), "{message}");
    assert!(message.contains("does not exist"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    drop(database);
}

backend_tests!(
    the_backend_is_named,
    a_database_migrated_by_a_newer_orrery_is_refused,
);

async fn the_backend_is_named(test: TestStore) {
    let expected = match test.backend() {
        TestBackend::Sqlite => "sqlite",
        TestBackend::Postgres => "postgres",
    };
    assert_eq!(test.store.backend(), expected);
    test.store.ping().await.expect("ping");
}

async fn a_database_migrated_by_a_newer_orrery_is_refused(test: TestStore) {
    test.store.close().await;
    // What a newer Orrery would leave: a migration this one does not know.
    let insert = "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                  VALUES (999, 'from the future', TRUE, $1, 0)";
    let checksum = vec![0_u8; 48];
    match test.backend() {
        TestBackend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&test.url())
                .await
                .expect("raw connect");
            sqlx::query(insert)
                .bind(checksum)
                .execute(&pool)
                .await
                .expect("insert");
            pool.close().await;
        }
        TestBackend::Postgres => {
            let pool = sqlx::PgPool::connect(&test.url())
                .await
                .expect("raw connect");
            sqlx::query(insert)
                .bind(checksum)
                .execute(&pool)
                .await
                .expect("insert");
            pool.close().await;
        }
    }
    let error = test.reopen().await.expect_err("a newer schema is refused");
    let message = error.to_string();
    match error {
        StoreError::SchemaTooNew {
            applied_version,
            latest_known,
            ..
        } => assert_eq!((applied_version, latest_known), (999, 8)),
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    assert!(message.contains("migrated by a newer Orrery"), "{message}");
}
