//! The session cookie a browser signed in through SSO carries: it authenticates like a
//! bearer token, a request that changes something must come from this server's own
//! pages, and signing out clears it. Without an identity provider the SSO routes say
//! so.

use crate::harness::{TestApi, raw_problem};
use orrery_client::Client;
use orrery_client::types::{CreateUserRequest, LoginRequest};
use reqwest::Method;
use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};

async fn session_of(api: &TestApi, name: &str) -> String {
    api.admin
        .create_user(&CreateUserRequest {
            name: name.to_owned(),
            password: Some("a long password".to_owned()),
            cluster_admin: false,
        })
        .await
        .expect("user");
    Client::new(&api.base, None)
        .login(&LoginRequest {
            username: name.to_owned(),
            password: "a long password".to_owned(),
        })
        .await
        .expect("sign in")
        .token
}

fn with_cookie(api: &TestApi, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    api.http
        .request(method, format!("{}{path}", api.base))
        .header(COOKIE, format!("theme=dark; orrery_session={token}"))
}

#[tokio::test]
async fn a_session_cookie_signs_requests_and_changes_must_come_from_this_server() {
    let api = TestApi::start().await;
    let token = session_of(&api, "carol").await;
    let me = with_cookie(&api, Method::GET, "/api/v1/auth/whoami", &token)
        .send()
        .await
        .expect("whoami");
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.expect("json");
    assert_eq!(me["actor"], "user:carol");

    // A change without an Origin, or from another site, is refused before it is done.
    for origin in [None, Some("http://evil.example"), Some("null")] {
        let mut request = with_cookie(&api, Method::POST, "/api/v1/auth/logout", &token);
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        let (status, content_type, problem) =
            raw_problem(request.send().await.expect("logout")).await;
        assert_eq!(
            (status, content_type.as_str()),
            (403, "application/problem+json")
        );
        assert!(problem.detail.contains("Origin"), "{}", problem.detail);
    }
    let still = with_cookie(&api, Method::GET, "/api/v1/auth/whoami", &token)
        .send()
        .await
        .expect("whoami");
    assert_eq!(still.status(), 200, "the refused sign-out did not happen");

    // From this server's own origin it goes through, and the cookie is cleared.
    let own_origin = api.base.clone();
    let out = with_cookie(&api, Method::POST, "/api/v1/auth/logout", &token)
        .header(ORIGIN, own_origin)
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), 204);
    let cleared = out
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        cleared.starts_with("orrery_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let after = with_cookie(&api, Method::GET, "/api/v1/auth/whoami", &token)
        .send()
        .await
        .expect("whoami");
    assert_eq!(after.status(), 401);

    // A bearer token wins over a cookie, and needs no Origin.
    let bearer = session_of(&api, "dave").await;
    let response = with_cookie(&api, Method::POST, "/api/v1/auth/logout", "stale")
        .bearer_auth(&bearer)
        .send()
        .await
        .expect("logout");
    assert_eq!(response.status(), 204);
}

#[tokio::test]
async fn without_an_identity_provider_sso_routes_say_how_to_configure_one() {
    let api = TestApi::start().await;
    let response = api
        .http
        .get(format!("{}/auth/oidc/login", api.base))
        .send()
        .await
        .expect("login");
    let (status, _, problem) = raw_problem(response).await;
    assert_eq!(status, 404);
    assert!(
        problem.detail.contains("--oidc-issuer"),
        "{}",
        problem.detail
    );
    let response = api
        .http
        .get(format!("{}/auth/oidc/callback?code=x&state=y", api.base))
        .send()
        .await
        .expect("callback");
    assert_eq!(response.status(), 404);
    // A code this server never made is refused, whatever it looks like.
    for code in ["", "k.bm9wZQ", &"x".repeat(100_000)] {
        let response = api
            .http
            .post(format!("{}/api/v1/auth/oidc/exchange", api.base))
            .json(&serde_json::json!({"code": code, "verifier": "v"}))
            .send()
            .await
            .expect("exchange");
        let status = response.status().as_u16();
        assert!(status == 401 || status == 413, "{code:.20}: {status}");
    }
}
