//! `POST /tokens` and what each token kind may do.

use crate::harness::{ADMIN_SECRET, TestApi, problem, raw_problem};
use orrery_client::types::CreatedToken;

#[tokio::test]
async fn an_admin_creates_tokens_whose_secret_is_shown_once() {
    let api = TestApi::start().await;
    let response = api
        .request(reqwest::Method::POST, "/api/v1/tokens", ADMIN_SECRET)
        .json(&serde_json::json!({"name": "ci-deploy", "kind": "api"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 201);
    let created: CreatedToken = response.json().await.expect("a created token");
    assert_eq!(
        (created.name.as_str(), created.kind.as_str()),
        ("ci-deploy", "api")
    );
    assert_eq!(created.secret.len(), 64, "32 bytes, hex-encoded");
    assert!(created.secret.bytes().all(|b| b.is_ascii_hexdigit()));
    let stored = api
        .store
        .find_token(&created.secret)
        .await
        .expect("find")
        .expect("the token is stored");
    assert_eq!(
        (stored.name.as_str(), stored.kind.as_str()),
        ("ci-deploy", "api")
    );

    // An api token has the API; each call makes a fresh secret.
    let ci = api.client(&created.secret);
    ci.list_workers().await.expect("an api token lists workers");
    let second = api
        .admin
        .create_token("ci-deploy", "api")
        .await
        .expect("again");
    assert_ne!(second.secret, created.secret);
    assert!(
        !format!("{second:?}").contains(&second.secret),
        "Debug hides it"
    );
    let audit = api.store.list_audit(100).await.expect("audit log");
    let creations = audit
        .iter()
        .filter(|entry| entry.action == "token.create")
        .count();
    assert_eq!(creations, 2, "each creation is audited: {audit:?}");
    for entry in audit {
        let text = format!("{entry:?}");
        assert!(
            !text.contains(&created.secret) && !text.contains(&second.secret),
            "{text}"
        );
    }
}

#[tokio::test]
async fn worker_tokens_are_refused_by_the_api() {
    let api = TestApi::start().await;
    let created = api
        .admin
        .create_token("worker-1", "worker")
        .await
        .expect("create a worker token");
    assert_eq!(created.kind, "worker");

    let response = api
        .request(reqwest::Method::GET, "/api/v1/workers", &created.secret)
        .send()
        .await
        .expect("send");
    let (status, content_type, p) = raw_problem(response).await;
    assert_eq!(
        (status, content_type.as_str()),
        (403, "application/problem+json")
    );
    assert_eq!(
        (p.code.as_str(), p.detail.as_str()),
        ("forbidden", "worker tokens can only connect workers")
    );
    let p = problem(
        api.client(&created.secret)
            .create_token("sneaky", "api")
            .await
            .expect_err("refused"),
    );
    assert_eq!(p.status, 403);
}

#[tokio::test]
async fn api_tokens_cannot_create_tokens() {
    let api = TestApi::start().await;
    let ci = api.admin.create_token("ci", "api").await.expect("create");
    let response = api
        .request(reqwest::Method::POST, "/api/v1/tokens", &ci.secret)
        .json(&serde_json::json!({"name": "more", "kind": "api"}))
        .send()
        .await
        .expect("send");
    let (status, content_type, p) = raw_problem(response).await;
    assert_eq!(
        (status, content_type.as_str()),
        (403, "application/problem+json")
    );
    assert_eq!(p.code, "forbidden");
}

/// Refuses `body` with a 400 naming exactly `paths`.
async fn check_refused(api: &TestApi, body: serde_json::Value, paths: &[&str]) {
    let response = api
        .request(reqwest::Method::POST, "/api/v1/tokens", ADMIN_SECRET)
        .json(&body)
        .send()
        .await
        .expect("send");
    let (status, content_type, p) = raw_problem(response).await;
    assert_eq!(
        (status, content_type.as_str(), p.code.as_str()),
        (400, "application/problem+json", "invalid_request"),
        "{body}: {p:?}"
    );
    let got: Vec<&str> = p.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(got, paths, "{body}: {p:?}");
}

#[tokio::test]
async fn bad_names_and_kinds_are_refused_naming_the_field() {
    let api = TestApi::start().await;
    let long = "n".repeat(65);
    let cases = [
        (
            serde_json::json!({"name": "", "kind": "api"}),
            &["name"][..],
        ),
        (serde_json::json!({"kind": "api"}), &["name"][..]),
        (
            serde_json::json!({"name": long, "kind": "api"}),
            &["name"][..],
        ),
        (
            serde_json::json!({"name": "a b", "kind": "api"}),
            &["name"][..],
        ),
        (
            serde_json::json!({"name": "ok", "kind": "root"}),
            &["kind"][..],
        ),
        (
            serde_json::json!({"name": "ok", "kind": "admin"}),
            &["kind"][..],
        ),
        (serde_json::json!({"name": "ok"}), &["kind"][..]),
        (
            serde_json::json!({"name": "é", "kind": ""}),
            &["name", "kind"][..],
        ),
    ];
    for (body, paths) in cases {
        check_refused(&api, body, paths).await;
    }
    // The longest and most varied allowed name passes.
    let name = format!("A-z_0.{}", "n".repeat(58));
    api.admin
        .create_token(&name, "worker")
        .await
        .expect("a 64-character name is allowed");
}
