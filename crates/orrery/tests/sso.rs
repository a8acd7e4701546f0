//! SSO sign-in with the real binary against a real OpenID Connect provider on loopback
//! (PyPI `oidc-provider-mock`, installed by scripts/test): a browser signs in and its
//! groups give it roles, `orrery login --oidc` signs in through the loopback redirect,
//! and forged, replayed or mixed-up callbacks are refused and logged.

use orrery_testkit::{BinaryServer, eventually};
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_orrery");

/// The identity provider: one `oidc-provider-mock` process that only knows the
/// clients registered with it.
struct Provider {
    child: Child,
    issuer: String,
}

impl Provider {
    fn start() -> Provider {
        let importable = Command::new("python3")
            .args(["-c", "import oidc_provider_mock"])
            .status()
            .is_ok_and(|status| status.success());
        assert!(
            importable,
            "python3 cannot import oidc_provider_mock; scripts/test installs it (pip install oidc-provider-mock)"
        );
        let port = free_port();
        let child = Command::new("python3")
            .args(["-m", "oidc_provider_mock", "--port", &port.to_string()])
            .args(["--require-registration", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start oidc-provider-mock");
        let provider = Provider {
            child,
            issuer: format!("http://127.0.0.1:{port}"),
        };
        eventually("the provider to listen", Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        provider
    }

    /// Registers a client whose one redirect address is `redirect`: (id, secret).
    async fn register(&self, redirect: &str) -> (String, String) {
        let answer: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/oauth2/clients", self.issuer))
            .json(&serde_json::json!({"redirect_uris": [redirect]}))
            .send()
            .await
            .expect("register")
            .error_for_status()
            .expect("registered")
            .json()
            .await
            .expect("json");
        (
            answer["client_id"].as_str().expect("id").to_owned(),
            answer["client_secret"].as_str().expect("secret").to_owned(),
        )
    }

    /// Sets the claims of the account `sub`.
    async fn set_user(&self, sub: &str, claims: serde_json::Value) {
        reqwest::Client::new()
            .put(format!("{}/users/{sub}", self.issuer))
            .json(&claims)
            .send()
            .await
            .expect("set user")
            .error_for_status()
            .expect("user set");
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// A browser that follows nothing by itself, so each hop can be looked at.
struct Browser {
    http: reqwest::Client,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        }
    }

    async fn get(&self, url: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(url);
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send().await.expect("get")
    }

    /// Signs `sub` in at the provider's authorization page: where it sends the browser.
    async fn authorize(&self, authorize_url: &str, sub: &str) -> String {
        let answer = self
            .http
            .post(authorize_url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("sub={sub}"))
            .send()
            .await
            .expect("authorize");
        assert_eq!(
            answer.status(),
            302,
            "{}",
            answer.text().await.unwrap_or_default()
        );
        location(&answer)
    }

    /// Starts a sign-in at the server: (the provider's URL, the sign-in cookie).
    async fn begin(&self, server: &str, query: &str) -> (String, String) {
        let answer = self
            .get(&format!("{server}/auth/oidc/login{query}"), None)
            .await;
        assert_eq!(
            answer.status(),
            302,
            "{}",
            answer.text().await.unwrap_or_default()
        );
        let cookie = cookie_set(&answer, "orrery_oidc").expect("the sign-in cookie");
        (location(&answer), format!("orrery_oidc={cookie}"))
    }
}

fn location(answer: &reqwest::Response) -> String {
    answer
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .expect("a Location")
        .to_owned()
}

/// The value a response sets cookie `name` to, when it does.
fn cookie_set(answer: &reqwest::Response, name: &str) -> Option<String> {
    answer
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| value.strip_prefix(&format!("{name}=")).map(str::to_owned))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
}

fn set_cookie_header(answer: &reqwest::Response, name: &str) -> String {
    answer
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .unwrap_or_default()
        .to_owned()
}

fn ok(output: Output) -> Output {
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// An Orrery server whose SSO goes to `provider`, on a port known beforehand so the
/// provider can be told its one redirect address.
async fn server_with_sso(provider: &Provider, data: &std::path::Path) -> (BinaryServer, String) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let (client_id, client_secret) = provider
        .register(&format!("{base}/auth/oidc/callback"))
        .await;
    let secret_file = data.join("oidc-client-secret");
    std::fs::write(&secret_file, format!("{client_secret}\n")).expect("write the client secret");
    let server = BinaryServer::start_listening(
        BIN,
        data,
        &format!("127.0.0.1:{port}"),
        &[
            "--oidc-issuer",
            &provider.issuer,
            "--oidc-client-id",
            &client_id,
            "--oidc-client-secret-file",
            secret_file.to_str().expect("utf-8 path"),
        ],
        "warn",
    );
    (server, base)
}

async fn whoami(browser: &Browser, base: &str, session: &str) -> reqwest::Response {
    browser
        .get(
            &format!("{base}/api/v1/auth/whoami"),
            Some(&format!("orrery_session={session}")),
        )
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_signs_in_through_the_provider_and_its_groups_give_roles() {
    let provider = Provider::start();
    let data = tempfile::tempdir().expect("tempdir");
    let (server, base) = server_with_sso(&provider, data.path()).await;
    ok(server.cli(&["project", "create", "payments"]));
    ok(server.cli(&[
        "member", "add", "payments", "--group", "pay-devs", "--role", "operator",
    ]));
    provider
        .set_user(
            "alice-0001",
            serde_json::json!({"preferred_username": "alice", "email": "alice@example.com",
                               "groups": ["pay-devs", "lunch-club"]}),
        )
        .await;

    let browser = Browser::new();
    let (authorize_url, sign_in) = browser.begin(&base, "?return_to=/api/v1/auth/whoami").await;
    assert!(
        authorize_url.starts_with(&provider.issuer),
        "{authorize_url}"
    );
    assert!(
        authorize_url.contains("code_challenge_method=S256"),
        "{authorize_url}"
    );
    let callback = browser.authorize(&authorize_url, "alice-0001").await;
    assert!(
        callback.starts_with(&format!("{base}/auth/oidc/callback?")),
        "{callback}"
    );
    let back = browser.get(&callback, Some(&sign_in)).await;
    assert_eq!(
        back.status(),
        303,
        "{}",
        back.text().await.unwrap_or_default()
    );
    assert_eq!(location(&back), "/api/v1/auth/whoami");
    let cookie = set_cookie_header(&back, "orrery_session");
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && cookie.contains("Path=/;"),
        "{cookie}"
    );
    let session = cookie_set(&back, "orrery_session").expect("a session");

    let me = whoami(&browser, &base, &session).await;
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.expect("json");
    assert_eq!(me["actor"], "user:alice");
    assert_eq!(me["roles"]["payments"], "operator", "{me}");

    // The first sign-in created the user, with no password.
    let users = String::from_utf8_lossy(&ok(server.cli(&["user", "list", "-o", "json"])).stdout)
        .into_owned();
    let users: serde_json::Value = serde_json::from_str(&users).expect("json");
    let alice = users
        .as_array()
        .and_then(|all| all.iter().find(|u| u["name"] == "alice"))
        .expect("alice exists");
    assert_eq!(alice["has_password"], false, "{alice}");

    // A replayed callback: the provider has spent the code.
    let replay = browser.get(&callback, Some(&sign_in)).await;
    assert_eq!(replay.status(), 401);
    // No sign-in cookie, or one this server never sealed.
    assert_eq!(browser.get(&callback, None).await.status(), 401);
    let forged = browser
        .get(
            &callback,
            Some("orrery_oidc=0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        )
        .await;
    assert_eq!(forged.status(), 401);

    // A state that is not this browser's sign-in.
    let (authorize_url, sign_in) = browser.begin(&base, "").await;
    let callback = browser.authorize(&authorize_url, "alice-0001").await;
    let tampered = callback.replace("state=", "state=x");
    let refused = browser.get(&tampered, Some(&sign_in)).await;
    assert_eq!(refused.status(), 401);
    let problem: serde_json::Value = refused.json().await.expect("problem");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("state"),
        "{problem}"
    );

    // The right state with another sign-in's ID token: the nonce gives it away. Sign-in
    // B's provider address is sent with sign-in A's state, so the code that comes back
    // carries B's nonce but passes A's state check.
    let (url_a, cookie_a) = browser.begin(&base, "").await;
    let (url_b, _cookie_b) = browser.begin(&base, "").await;
    let state_a = query_param(&url_a, "state");
    let state_b = query_param(&url_b, "state");
    let mixed = url_b.replace(&format!("state={state_b}"), &format!("state={state_a}"));
    let callback = browser.authorize(&mixed, "alice-0001").await;
    let refused = browser.get(&callback, Some(&cookie_a)).await;
    assert_eq!(refused.status(), 401);
    let problem: serde_json::Value = refused.json().await.expect("problem");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
            .contains("nonce"),
        "a nonce refusal: {problem}"
    );

    // The provider refusing (the user pressed Deny) is refused here too.
    let (authorize_url, sign_in) = browser.begin(&base, "").await;
    let denied = browser
        .http
        .post(&authorize_url)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("action=deny")
        .send()
        .await
        .expect("deny");
    let denied = browser.get(&location(&denied), Some(&sign_in)).await;
    assert_eq!(denied.status(), 401);

    // Disabling the user ends the session at once, and the next sign-in is refused.
    ok(server.cli(&["user", "disable", "alice"]));
    assert_eq!(whoami(&browser, &base, &session).await.status(), 401);
    let (authorize_url, sign_in) = browser.begin(&base, "").await;
    let callback = browser.authorize(&authorize_url, "alice-0001").await;
    assert_eq!(browser.get(&callback, Some(&sign_in)).await.status(), 401);

    let stopped = server.stop();
    assert!(
        stopped.log.matches("SSO sign-in refused").count() >= 5,
        "every refusal is logged:\n{}",
        stopped.log
    );
}

fn query_param(url: &str, name: &str) -> String {
    url.split(['?', '&'])
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
        .expect("the parameter")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn orrery_login_oidc_signs_the_command_line_in_through_a_loopback_redirect() {
    let provider = Provider::start();
    let data = tempfile::tempdir().expect("tempdir");
    let (server, base) = server_with_sso(&provider, data.path()).await;
    provider
        .set_user("bob-0002", serde_json::json!({"preferred_username": "bob"}))
        .await;
    let config = tempfile::tempdir().expect("config dir");
    let mut login = Command::new(BIN)
        .args(["--server", &base, "login", "--oidc", "--no-browser"])
        .env("ORRERY_CONFIG_DIR", config.path())
        .env_remove("ORRERY_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("orrery login --oidc");
    // The command prints the address to open; a browser would go there.
    let stderr = login.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let start_url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            line.trim()
                .strip_prefix(&base)
                .map(|rest| format!("{base}{rest}"))
        })
        .expect("the sign-in address");
    assert!(
        start_url.contains("cli_redirect=http%3A%2F%2F127.0.0.1%3A"),
        "{start_url}"
    );

    let browser = Browser::new();
    let answer = browser.get(&start_url, None).await;
    assert_eq!(answer.status(), 302);
    let sign_in = format!(
        "orrery_oidc={}",
        cookie_set(&answer, "orrery_oidc").expect("sign-in cookie")
    );
    let callback = browser.authorize(&location(&answer), "bob-0002").await;
    let back = browser.get(&callback, Some(&sign_in)).await;
    assert_eq!(back.status(), 303);
    assert!(
        cookie_set(&back, "orrery_session").is_none(),
        "the command line's session never goes to the browser"
    );
    let loopback = location(&back);
    assert!(loopback.starts_with("http://127.0.0.1:"), "{loopback}");

    // The code alone, without the command line's verifier, is worthless.
    let code = query_param(&loopback, "code");
    let stolen = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/oidc/exchange"))
        .json(&serde_json::json!({"code": code, "verifier": "a guess"}))
        .send()
        .await
        .expect("exchange");
    assert_eq!(stolen.status(), 401);

    let landed = browser.get(&loopback, None).await;
    assert_eq!(landed.status(), 200);
    assert!(
        landed
            .text()
            .await
            .unwrap_or_default()
            .contains("Signed in")
    );
    // Drain the rest of stderr so the command never blocks on a full pipe.
    let drain = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let output = login.wait_with_output().expect("login ends");
    let rest = drain.join().unwrap_or_default().join("\n");
    assert!(output.status.success(), "{rest}");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("as bob"), "{said}");

    // Later commands use the session.
    let me = Command::new(BIN)
        .args(["--server", &base, "whoami"])
        .env("ORRERY_CONFIG_DIR", config.path())
        .env_remove("ORRERY_TOKEN")
        .output()
        .expect("whoami");
    let me = ok(me);
    assert!(String::from_utf8_lossy(&me.stdout).contains("user:bob"));
    server.stop();
}
