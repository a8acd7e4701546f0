//! Sign-in through OpenID Connect. `GET /auth/oidc/login` sends the browser to the
//! provider with the sign-in's state sealed in a cookie; `GET /auth/oidc/callback`
//! checks what came back, creates the user on their first sign-in, records their
//! groups and starts a session: a session cookie for a browser, or (for `orrery login
//! --oidc`) a one-time code sent to the command line's loopback address, which it
//! trades for the session at `POST /api/v1/auth/oidc/exchange` with a verifier only it
//! holds. No state is kept on the server between the steps, so any API node can take
//! any of them.

use crate::cookies::{OIDC_COOKIE, SESSION_COOKIE, clear_cookie, cookie_value, set_cookie};
use crate::error::ApiError;
use crate::run_control::json_body;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::header::{HOST, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use orrery_access::{Keyring, OidcError, OidcProvider, PendingLogin};
use orrery_client::types::{LoginSession, OidcExchange};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What sealed text is for: a sign-in in progress, a command line's one-time code.
const LOGIN_PURPOSE: &str = "oidc-login";
const CODE_PURPOSE: &str = "oidc-cli-code";

/// How long a sign-in may stay at the provider, and a one-time code unused.
const LOGIN_TTL_SECS: i64 = 600;
const CODE_TTL_SECS: i64 = 120;

/// Longest `return_to` path, and the longest code or verifier read.
const MAX_RETURN_TO: usize = 2048;
const MAX_CODE_BYTES: usize = 8192;

/// Query of `GET /auth/oidc/login`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginQuery {
    /// A path on this server to go to once signed in.
    return_to: Option<String>,
    /// The command line's loopback address to send the one-time code to.
    cli_redirect: Option<String>,
    /// Base64url SHA-256 of the command line's verifier.
    cli_challenge: Option<String>,
}

/// Query of `GET /auth/oidc/callback`, as the provider sends it.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// A sign-in in progress, sealed in the browser's cookie.
#[derive(Serialize, Deserialize)]
struct InProgress {
    pending: PendingLogin,
    expires_at: i64,
    then: Then,
}

/// Where the session goes once the provider has vouched for the user.
#[derive(Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
enum Then {
    Browser { return_to: Option<String> },
    Cli { redirect: String, challenge: String },
}

/// A command line's one-time code, sealed: the session it stands for.
#[derive(Serialize, Deserialize)]
struct CliCode {
    user: String,
    token: String,
    session_expires_at: DateTime<Utc>,
    challenge: String,
    expires_at: i64,
}

/// Starts an SSO sign-in: redirects to the identity provider.
pub(crate) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LoginQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (provider, keyring) = configured(&state)?;
    let Query(query) = query.map_err(|e| ApiError::invalid_field("query", e.body_text()))?;
    let then = match (query.cli_redirect, query.cli_challenge) {
        (Some(redirect), Some(challenge)) => {
            check_loopback(&redirect)?;
            if challenge.len() != 43 || URL_SAFE_NO_PAD.decode(&challenge).is_err() {
                return Err(ApiError::invalid_field(
                    "cli_challenge",
                    "the base64url SHA-256 of a verifier (43 characters)",
                ));
            }
            Then::Cli {
                redirect,
                challenge,
            }
        }
        (Some(_), None) => {
            return Err(ApiError::invalid_field(
                "cli_challenge",
                "required with cli_redirect",
            ));
        }
        (None, Some(_)) => {
            return Err(ApiError::invalid_field(
                "cli_redirect",
                "required with cli_challenge",
            ));
        }
        (None, None) => {
            if let Some(path) = &query.return_to {
                check_return_to(path)?;
            }
            Then::Browser {
                return_to: query.return_to,
            }
        }
    };
    let base = base_url(&state, &headers)?;
    let callback = format!("{base}/auth/oidc/callback");
    let (url, pending) = provider.begin(&callback).await.map_err(refusal)?;
    let progress = InProgress {
        pending,
        expires_at: state.clock.now().timestamp() + LOGIN_TTL_SECS,
        then,
    };
    let sealed = seal(&keyring, LOGIN_PURPOSE, &progress)?;
    let cookie = set_cookie(
        OIDC_COOKIE,
        &sealed,
        "/auth/oidc",
        LOGIN_TTL_SECS,
        base.starts_with("https:"),
    );
    redirect(StatusCode::FOUND, &url, &[cookie])
}

/// Where the provider sends the browser back: finishes the sign-in.
pub(crate) async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (provider, keyring) = configured(&state)?;
    let Query(query) = query.map_err(|e| ApiError::invalid_field("query", e.body_text()))?;
    let now = state.clock.now();
    let Some(sealed) = cookie_value(&headers, OIDC_COOKIE) else {
        return Err(refused(
            "no sign-in is in progress in this browser (it took over 10 minutes, or cookies are blocked); start again",
        ));
    };
    let progress: InProgress = open(&keyring, LOGIN_PURPOSE, sealed)
        .ok_or_else(|| refused("this browser's sign-in state was not made by this server"))?;
    if now.timestamp() > progress.expires_at {
        return Err(refused("the sign-in took over 10 minutes; start again"));
    }
    if let Some(error) = &query.error {
        let said = match &query.error_description {
            Some(description) => format!("{error}: {description}"),
            None => error.clone(),
        };
        return Err(refused(&format!(
            "the identity provider refused: {}",
            said.chars().take(300).collect::<String>()
        )));
    }
    let code = query
        .code
        .as_deref()
        .ok_or_else(|| ApiError::invalid_field("code", "required"))?;
    let returned_state = query
        .state
        .as_deref()
        .ok_or_else(|| ApiError::invalid_field("state", "required"))?;
    let identity = provider
        .finish(&progress.pending, returned_state, code)
        .await
        .map_err(refusal)?;
    if let Some(problem) = crate::validate::user_name_problem(&identity.username) {
        return Err(ApiError::Forbidden(format!(
            "the provider names this account {:?}, which cannot be an Orrery user name: {problem}",
            identity.username
        )));
    }
    let user = state
        .intents
        .sso_sign_in(
            &orrery_store::SsoSignIn {
                subject: &identity.subject,
                username: &identity.username,
                groups: &identity.groups,
            },
            now,
        )
        .await?;
    if user.disabled_at.is_some() {
        tracing::warn!(user = %user.name, "SSO sign-in of a disabled user refused");
        return Err(ApiError::Unauthorized);
    }
    let (token, session_expires_at) =
        crate::login::start_session(&state, user.id, &user.name, now).await?;
    tracing::info!(user = %user.name, groups = ?identity.groups, "signed in through SSO");
    let clear = clear_cookie(OIDC_COOKIE, "/auth/oidc");
    match progress.then {
        Then::Browser { return_to } => {
            let secure = progress.pending.redirect_url.starts_with("https:");
            let max_age = (session_expires_at - now).num_seconds();
            let session = set_cookie(SESSION_COOKIE, &token, "/", max_age, secure);
            match return_to {
                Some(path) => redirect(StatusCode::SEE_OTHER, &path, &[session, clear]),
                None => with_cookies(
                    Html(signed_in_page(&user.name)).into_response(),
                    &[session, clear],
                ),
            }
        }
        Then::Cli {
            redirect: to,
            challenge,
        } => {
            let code = seal(
                &keyring,
                CODE_PURPOSE,
                &CliCode {
                    user: user.name,
                    token,
                    session_expires_at,
                    challenge,
                    expires_at: now.timestamp() + CODE_TTL_SECS,
                },
            )?;
            let mut url = url::Url::parse(&to).map_err(|e| {
                ApiError::Internal(format!("checked redirect no longer parses: {e}"))
            })?;
            url.query_pairs_mut().append_pair("code", &code);
            redirect(StatusCode::SEE_OTHER, url.as_str(), &[clear])
        }
    }
}

/// Trades a command line's one-time code and its verifier for the session.
#[utoipa::path(post, path = "/api/v1/auth/oidc/exchange", request_body = OidcExchange, security(()),
    responses((status = 200, body = LoginSession), (status = 400, body = orrery_client::types::Problem),
        (status = 401, body = orrery_client::types::Problem, description = "the code is unknown, expired or not this verifier's"),
        (status = 404, body = orrery_client::types::Problem, description = "SSO is not configured")))]
pub(crate) async fn exchange(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<LoginSession>, ApiError> {
    // Only the keyring is needed: without SSO no code exists, and any code is refused.
    let keyring = state
        .secrets
        .clone()
        .ok_or_else(|| refused("this server has no key to open codes with"))?;
    let request: OidcExchange = json_body(&state, body)?
        .ok_or_else(|| ApiError::invalid_field("code", "required, with verifier"))?;
    if request.code.len() > MAX_CODE_BYTES || request.verifier.len() > MAX_CODE_BYTES {
        return Err(refused("the code is not one this server made"));
    }
    let code: CliCode = open(&keyring, CODE_PURPOSE, &request.code)
        .ok_or_else(|| refused("the code is not one this server made"))?;
    if state.clock.now().timestamp() > code.expires_at {
        return Err(refused("the code expired; sign in again"));
    }
    if !orrery_access::constant_time_eq(
        orrery_access::pkce_challenge(&request.verifier).as_bytes(),
        code.challenge.as_bytes(),
    ) {
        return Err(refused(
            "the verifier is not the one this sign-in began with",
        ));
    }
    Ok(Json(LoginSession {
        user: code.user,
        token: code.token,
        expires_at: code.session_expires_at,
    }))
}

fn configured(state: &AppState) -> Result<(Arc<OidcProvider>, Arc<Keyring>), ApiError> {
    match (&state.oidc, &state.secrets) {
        (Some(provider), Some(keyring)) => Ok((provider.clone(), keyring.clone())),
        _ => Err(ApiError::NotFound {
            what: "SSO sign-in (this server was started without --oidc-issuer)".to_owned(),
        }),
    }
}

/// This server's address as the browser reaches it: `--external-url`, else the
/// request's `Host` over http.
fn base_url(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    if let Some(url) = &state.config.external_url {
        return Ok(url.trim_end_matches('/').to_owned());
    }
    let host = headers
        .get(HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| !host.is_empty() && !host.contains(['/', '\\', '@', ' ']))
        .ok_or_else(|| {
            ApiError::invalid_field("Host", "required to build the sign-in's return address (or start the server with --external-url)")
        })?;
    Ok(format!("http://{host}"))
}

/// A `return_to` must be a path on this server, never another site.
fn check_return_to(path: &str) -> Result<(), ApiError> {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && path.len() <= MAX_RETURN_TO
        && !path.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "return_to",
            "a path on this server, starting with a single /",
        ))
    }
}

/// The command line's address must be on this machine's loopback, so a crafted link
/// cannot send someone's session code to another host.
fn check_loopback(redirect: &str) -> Result<(), ApiError> {
    let problem = || {
        ApiError::invalid_field(
            "cli_redirect",
            "an http://127.0.0.1:PORT/ or http://[::1]:PORT/ address (the command line's own)",
        )
    };
    let url = url::Url::parse(redirect).map_err(|_| problem())?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    if url.scheme() == "http" && loopback && url.port().is_some() && url.username().is_empty() {
        Ok(())
    } else {
        Err(problem())
    }
}

/// An OIDC failure as an answer, logged: forged or stale callbacks are worth a look.
fn refusal(error: OidcError) -> ApiError {
    match error {
        OidcError::Refused(reason) => refused(&reason),
        OidcError::Provider(reason) => {
            tracing::warn!(%reason, "the identity provider is not usable");
            ApiError::BadGateway(reason)
        }
        OidcError::Config(reason) => ApiError::Internal(reason),
    }
}

fn refused(reason: &str) -> ApiError {
    tracing::warn!(%reason, "SSO sign-in refused");
    ApiError::SignInRefused(format!("SSO sign-in refused: {reason}"))
}

fn seal<T: Serialize>(keyring: &Keyring, purpose: &str, value: &T) -> Result<String, ApiError> {
    let json = serde_json::to_string(value).map_err(|e| ApiError::Internal(e.to_string()))?;
    keyring
        .seal_text(purpose, &json)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

fn open<T: serde::de::DeserializeOwned>(keyring: &Keyring, purpose: &str, text: &str) -> Option<T> {
    let json = keyring.open_text(purpose, text).ok()?;
    serde_json::from_str(&json).ok()
}

fn redirect(status: StatusCode, location: &str, cookies: &[String]) -> Result<Response, ApiError> {
    let location = HeaderValue::from_str(location)
        .map_err(|e| ApiError::Internal(format!("redirect address: {e}")))?;
    let mut response = status.into_response();
    response.headers_mut().insert(LOCATION, location);
    with_cookies(response, cookies)
}

fn with_cookies(mut response: Response, cookies: &[String]) -> Result<Response, ApiError> {
    for cookie in cookies {
        let value = HeaderValue::from_str(cookie)
            .map_err(|e| ApiError::Internal(format!("cookie: {e}")))?;
        response.headers_mut().append(SET_COOKIE, value);
    }
    Ok(response)
}

/// What a browser shows after signing in when it was not sent from a page.
fn signed_in_page(user: &str) -> String {
    let user: String = user
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "_.@-".contains(*c))
        .collect();
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Orrery</title></head>\
         <body><p>Signed in to Orrery as <strong>{user}</strong>.</p></body></html>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_stays_on_this_server() {
        assert!(check_return_to("/ui/jobs?x=1").is_ok());
        for bad in [
            "//evil.example",
            "/\\evil",
            "https://evil.example/",
            "ui",
            "/a\nb",
        ] {
            assert!(check_return_to(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_command_line_address_must_be_loopback_with_a_port() {
        assert!(check_loopback("http://127.0.0.1:5123/callback").is_ok());
        assert!(check_loopback("http://[::1]:5123/").is_ok());
        assert!(check_loopback("http://localhost:5123/").is_ok());
        for bad in [
            "http://127.0.0.1/",
            "https://127.0.0.1:5/",
            "http://evil.example:5123/",
            "http://127.0.0.1.evil.example:80/",
            "http://user@127.0.0.1:5/",
            "not a url",
        ] {
            assert!(check_loopback(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_challenge_is_pkce_s256() {
        // The expected value computed by Python's hashlib and base64.
        assert_eq!(
            orrery_access::pkce_challenge("orrery-test-verifier-0123456789abcdefghijklmnopq"),
            "ViwPaC3kBhgoeeYMdPSHync6tjL8sI78IrAvEgiLmKw"
        );
    }
}
