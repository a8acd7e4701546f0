//! A running API over a fresh store, with an admin token, for one test.

use chrono::{DateTime, Utc};
use orrery_api::{ApiConfig, AppState, router};
use orrery_client::types::Problem;
use orrery_client::{Client, ClientError};
use orrery_core::clock::{Clock, ManualClock};
use orrery_store::Store;
use orrery_store::records::WorkerRecord;
use std::sync::Arc;
use tokio::sync::Notify;

pub(crate) const ADMIN_SECRET: &str = "test-admin-secret";

/// The router on `127.0.0.1:<port>`; the server stops when this is dropped.
pub(crate) struct TestApi {
    pub(crate) store: Store,
    pub(crate) base: String,
    /// A client with the admin token.
    pub(crate) admin: Client,
    pub(crate) scheduler_wake: Arc<Notify>,
    pub(crate) http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
    _data_dir: tempfile::TempDir,
}

impl TestApi {
    pub(crate) async fn start() -> TestApi {
        TestApi::start_with_clock(Arc::new(ManualClock::new(at(0)))).await
    }

    /// The API with `clock` as its clock, for tests that compare it with times the
    /// store stamps by the database's clock.
    pub(crate) async fn start_with_clock(clock: Arc<dyn Clock>) -> TestApi {
        let data_dir = tempfile::tempdir().expect("create a temporary data directory");
        let store = Store::open(data_dir.path()).await.expect("open the store");
        TestApi::start_on(store, data_dir, clock).await
    }

    /// The API over `store` (e.g. one with a tiny pool), its files in `data_dir`.
    pub(crate) async fn start_on(
        store: Store,
        data_dir: tempfile::TempDir,
        clock: Arc<dyn Clock>,
    ) -> TestApi {
        TestApi::start_with_silence(store, data_dir, clock, None).await
    }

    /// Like [`start_on`](Self::start_on), with a scheduler loop that has been silent
    /// for `silence` (`None`: no scheduler on this node).
    pub(crate) async fn start_with_silence(
        store: Store,
        data_dir: tempfile::TempDir,
        clock: Arc<dyn Clock>,
        silence: Option<std::time::Duration>,
    ) -> TestApi {
        store
            .create_token("admin", "admin", ADMIN_SECRET, at(0))
            .await
            .expect("create the admin token");
        let scheduler_wake = Arc::new(Notify::new());
        let state = AppState {
            reads: store.api_reads(),
            intents: store.api_intents(),
            run_intake: orrery_api::RunIntake::spawn(store.api_intents()),
            clock,
            scheduler_wake: scheduler_wake.clone(),
            hand_over_run: Arc::new(|_, _, _| false),
            render_metrics: Arc::new(String::new),
            scheduler_silence: Arc::new(move || silence),
            config: ApiConfig::default(),
            secrets: Some(Arc::new(orrery_access::Keyring::new(
                orrery_access::SecretKey::from_hex(&"ab".repeat(32)).expect("a test key"),
                Vec::new(),
            ))),
            oidc: None,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port");
        let addr = listener.local_addr().expect("read the local address");
        let app = router(state);
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve the API");
        });
        let base = format!("http://{addr}");
        TestApi {
            store,
            admin: Client::new(&base, Some(ADMIN_SECRET.to_owned())),
            base,
            scheduler_wake,
            http: reqwest::Client::new(),
            server,
            _data_dir: data_dir,
        }
    }

    /// A client of this API with `secret` as its token.
    pub(crate) fn client(&self, secret: &str) -> Client {
        Client::new(&self.base, Some(secret.to_owned()))
    }

    /// A raw request with `secret` as the bearer token.
    pub(crate) fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        secret: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(secret)
    }
}

impl Drop for TestApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A fixed instant plus `seconds`.
pub(crate) fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("a valid timestamp")
}

pub(crate) fn worker(id: &str, name: &str) -> WorkerRecord {
    WorkerRecord {
        id: id.to_owned(),
        name: name.to_owned(),
        group: "gpu".to_owned(),
        labels: [("zone".to_owned(), "a".to_owned())].into(),
        slots: 4,
        cpu_millis: 8000,
        memory_bytes: 16 << 30,
        gpus: 2,
        disk_bytes: 100 << 30,
        version: "0.1.0".to_owned(),
        state: "connected".to_owned(),
        running: 1,
        registered_at: at(0),
        last_heartbeat_at: at(30),
        drain_requested: false,
    }
}

/// The problem document of a refused call.
pub(crate) fn problem(error: ClientError) -> Problem {
    match error {
        ClientError::Api(problem) => *problem,
        other => panic!("expected a problem document, got {other}"),
    }
}

/// Status, content type and problem document of a raw answer.
pub(crate) async fn raw_problem(response: reqwest::Response) -> (u16, String, Problem) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let problem = response.json().await.expect("a problem document");
    (status, content_type, problem)
}
