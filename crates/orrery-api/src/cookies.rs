//! The cookies the server sets: the session of a browser signed in through SSO, and
//! the sealed state of a sign-in in progress. Both are HttpOnly and SameSite=Lax, and
//! Secure when the server is reached over https.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

/// The session cookie: a user's session token, as `Authorization: Bearer` would carry.
pub(crate) const SESSION_COOKIE: &str = "orrery_session";

/// The sign-in in progress, sealed by the server (see `oidc`).
pub(crate) const OIDC_COOKIE: &str = "orrery_oidc";

/// The value of cookie `name` in a request, if it carries one.
pub(crate) fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|value| !value.is_empty())
}

/// A `Set-Cookie` value that sets `name` for `max_age_secs` under `path`.
pub(crate) fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age_secs: i64,
    secure: bool,
) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path={path}; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}")
}

/// A `Set-Cookie` value that removes `name`.
pub(crate) fn clear_cookie(name: &str, path: &str) -> String {
    format!("{name}=; Path={path}; Max-Age=0; HttpOnly; SameSite=Lax")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_cookie_is_found_among_others_and_in_any_cookie_header() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_static("a=1; orrery_session=tok; b=2"),
        );
        headers.append(COOKIE, HeaderValue::from_static("orrery_oidc=sealed"));
        assert_eq!(cookie_value(&headers, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie_value(&headers, OIDC_COOKIE), Some("sealed"));
        assert_eq!(cookie_value(&headers, "orrery"), None);
        headers.insert(COOKIE, HeaderValue::from_static("orrery_session="));
        assert_eq!(cookie_value(&headers, SESSION_COOKIE), None);
    }

    #[test]
    fn set_cookies_are_http_only_and_lax() {
        let value = set_cookie(SESSION_COOKIE, "t", "/", 60, true);
        assert_eq!(
            value,
            "orrery_session=t; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(clear_cookie(OIDC_COOKIE, "/auth/oidc").contains("Max-Age=0"));
    }
}
