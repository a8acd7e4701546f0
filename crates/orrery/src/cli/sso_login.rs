//! `orrery login --oidc`: SSO sign-in from the command line. A one-request HTTP server
//! on a loopback port waits while the browser signs in at the server's identity
//! provider; the server then sends the browser back to it with a one-time code, which
//! is traded for the session together with a verifier that never left this process
//! (so a code seen in the browser's history is worthless).

use super::args::GlobalArgs;
use super::connect;
use anyhow::Context;
use axum::extract::{Query, State};
use axum::response::Html;
use orrery_client::Client;
use orrery_client::types::OidcExchange;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// How long the browser has to sign in.
const WAIT_FOR_BROWSER: Duration = Duration::from_secs(300);

/// What the provider's round trip brought back to the loopback address.
#[derive(Debug, serde::Deserialize)]
struct Returned {
    code: Option<String>,
}

type CodeSender = Arc<Mutex<Option<oneshot::Sender<String>>>>;

pub(crate) async fn login(global: &GlobalArgs, open_browser: bool) -> anyhow::Result<ExitCode> {
    let server = connect::server(global)?;
    let verifier = orrery_access::new_pkce_verifier()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("listen on a loopback port for the browser's return")?;
    let port = listener.local_addr()?.port();
    let (sender, receiver) = oneshot::channel();
    let sender: CodeSender = Arc::new(Mutex::new(Some(sender)));
    let app = axum::Router::new()
        .route("/callback", axum::routing::get(returned))
        .with_state(sender);
    let loopback = tokio::spawn(async move { axum::serve(listener, app).await });

    let url = url_with_query(
        &format!("{}/auth/oidc/login", server.trim_end_matches('/')),
        &[
            ("cli_redirect", &format!("http://127.0.0.1:{port}/callback")),
            ("cli_challenge", &orrery_access::pkce_challenge(&verifier)),
        ],
    );
    eprintln!("Sign in to {server} in a browser at:\n\n  {url}\n");
    if open_browser {
        open_in_browser(&url);
    }
    eprintln!(
        "Waiting for the browser (up to {} minutes)…",
        WAIT_FOR_BROWSER.as_secs() / 60
    );
    let code = tokio::time::timeout(WAIT_FOR_BROWSER, receiver)
        .await
        .map_err(|_| anyhow::anyhow!("the browser did not come back within 5 minutes"))?
        .context("the loopback server stopped")?;
    loopback.abort();
    let session = Client::new(&server, None)
        .oidc_exchange(&OidcExchange { code, verifier })
        .await?;
    super::login::keep_session(&server, session)
}

/// The browser's return: hands the code over once, and tells the user where to look.
async fn returned(
    State(sender): State<CodeSender>,
    Query(returned): Query<Returned>,
) -> Html<&'static str> {
    let Some(code) = returned.code else {
        return Html(
            "<p>No sign-in code came back. Run <code>orrery login --oidc</code> again.</p>",
        );
    };
    let sender = sender.lock().ok().and_then(|mut slot| slot.take());
    match sender.map(|sender| sender.send(code)) {
        Some(Ok(())) => {
            Html("<p>Signed in to Orrery. You can close this tab and return to the terminal.</p>")
        }
        _ => Html("<p>This sign-in was already used. You can close this tab.</p>"),
    }
}

fn url_with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .map(|(key, value)| format!("{key}={}", percent_encode(value)))
        .collect();
    format!("{base}?{}", query.join("&"))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Asks the desktop to open `url`; the address is printed anyway, so failing is fine.
fn open_in_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let spawned = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        // Reaped in the background: the opener returns as soon as the browser has it.
        Ok(mut child) => drop(std::thread::spawn(move || child.wait())),
        Err(_) => eprintln!("(could not start {opener}; open the address by hand)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            url_with_query(
                "http://s/auth",
                &[("cli_redirect", "http://127.0.0.1:5/callback")]
            ),
            "http://s/auth?cli_redirect=http%3A%2F%2F127.0.0.1%3A5%2Fcallback"
        );
    }
}
