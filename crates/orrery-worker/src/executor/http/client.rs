//! `HttpClient`: the worker's one HTTP client, built on first use and shared by attempts
//! (one connection pool, TLS roots loaded once).

use super::error::HttpError;
use super::response::describe_error;
use reqwest::Url;
use std::sync::{Arc, OnceLock};

const USER_AGENT: &str = concat!("orrery-worker/", env!("CARGO_PKG_VERSION"));

/// A handle to the shared client; cheap to clone.
#[derive(Clone, Debug, Default)]
pub(crate) struct HttpClient {
    /// What the first use built; it stays, since the TLS setup it depends on does not
    /// change while the worker runs.
    built: Arc<OnceLock<Result<BuiltClient, String>>>,
}

/// The client, and why it cannot make HTTPS requests when the host's certificate
/// roots could not be loaded (plain HTTP still works then).
#[derive(Debug)]
struct BuiltClient {
    client: reqwest::Client,
    https_unavailable: Option<String>,
}

impl HttpClient {
    /// The client for a request to `url`, built by the first call.
    pub(super) fn for_url(&self, url: &Url) -> Result<reqwest::Client, HttpError> {
        match self.built.get_or_init(build_client) {
            Err(message) => Err(HttpError::Client {
                message: message.clone(),
            }),
            Ok(built) => built.for_url(url),
        }
    }
}

impl BuiltClient {
    fn for_url(&self, url: &Url) -> Result<reqwest::Client, HttpError> {
        match &self.https_unavailable {
            Some(reason) if url.scheme() == "https" => Err(HttpError::HttpsUnavailable {
                reason: reason.clone(),
            }),
            _ => Ok(self.client.clone()),
        }
    }
}

/// Redirects are followed (up to reqwest's limit of 10); proxies come from the usual
/// `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` variables; TLS is rustls with the host's
/// certificate roots. A host without any roots (a slim container image) still gets a
/// client for plain HTTP, rather than failing every `http` task.
fn build_client() -> Result<BuiltClient, String> {
    let builder = || reqwest::Client::builder().user_agent(USER_AGENT);
    match builder().build() {
        Ok(client) => Ok(BuiltClient {
            client,
            https_unavailable: None,
        }),
        Err(error) => {
            let reason = describe_error(&error);
            tracing::warn!(%reason, "cannot set up TLS; http tasks can only use plain http");
            let client = builder()
                .tls_certs_only(Vec::new())
                .build()
                .map_err(|error| describe_error(&error))?;
            Ok(BuiltClient {
                client,
                https_unavailable: Some(reason),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("valid url")
    }

    #[test]
    fn without_certificate_roots_only_plain_http_is_served() {
        let client = reqwest::Client::builder()
            .tls_certs_only(Vec::new())
            .build()
            .expect("a client without roots builds");
        let built = BuiltClient {
            client,
            https_unavailable: Some("No CA certificates were loaded from the system".to_owned()),
        };
        assert!(built.for_url(&url("http://example.test/")).is_ok());
        let error = built
            .for_url(&url("https://example.test/"))
            .expect_err("https refused");
        assert_eq!(
            error.to_string(),
            "cannot make HTTPS requests on this worker: No CA certificates were loaded from \
             the system (install the host's CA certificates or point SSL_CERT_FILE at a bundle)"
        );
    }
}
