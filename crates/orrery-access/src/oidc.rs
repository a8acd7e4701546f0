//! OpenID Connect sign-in: the authorization code flow with PKCE against a provider
//! found by discovery. `begin` gives the provider's URL to send the browser to and the
//! state to keep until it comes back; `finish` trades the code for an ID token, checks
//! its signature, issuer, audience, expiry and nonce, and says who signed in.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpRequest,
    HttpResponse, IdTokenFields, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Largest answer read from the provider (discovery, keys, tokens).
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// How long one request to the provider may take.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// Most groups taken from one sign-in, and the longest group name kept: the claim is
/// the provider's, but a session carries it on every request.
const MAX_GROUPS: usize = 256;
const MAX_GROUP_BYTES: usize = 256;

/// Why a sign-in could not start or finish. Never carries a token or a secret.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("OIDC is misconfigured: {0}")]
    Config(String),
    #[error("the OIDC provider cannot be used: {0}")]
    Provider(String),
    /// The provider's answer or the browser's return failed a check: a forged or
    /// replayed callback, a bad signature, a wrong nonce or audience.
    #[error("the sign-in was refused: {0}")]
    Refused(String),
}

/// How the server reaches its provider.
#[derive(Clone, Debug)]
pub struct OidcSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The ID-token claim that lists the user's groups.
    pub groups_claim: String,
}

/// What must be kept between sending the browser to the provider and its return.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingLogin {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub redirect_url: String,
}

/// Who signed in, as the provider vouched for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoIdentity {
    /// `issuer#sub`: stable for the account, whatever its name becomes.
    pub subject: String,
    /// `preferred_username`, else `email`, else `sub`.
    pub username: String,
    pub groups: Vec<String>,
}

/// Every claim beyond the standard ones, so the groups claim can have any name.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
struct OtherClaims {
    #[serde(flatten)]
    claims: serde_json::Map<String, serde_json::Value>,
}

impl AdditionalClaims for OtherClaims {}

type IdFields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

type DiscoveredClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    StandardTokenResponse<IdFields, CoreTokenType>,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The server's side of OIDC sign-in. The provider is discovered afresh at each step,
/// so a provider that was down when the server started, or has rotated its signing
/// keys since, works at the next sign-in.
#[derive(Clone, Debug)]
pub struct OidcProvider {
    settings: OidcSettings,
    issuer: IssuerUrl,
    http: reqwest::Client,
}

impl OidcProvider {
    /// A provider from settings; checks them but does not contact the provider. The
    /// issuer must be `https`, except on a loopback address (a provider on the same
    /// machine, as in tests).
    pub fn new(settings: OidcSettings) -> Result<Self, OidcError> {
        let issuer = IssuerUrl::new(settings.issuer.trim_end_matches('/').to_owned())
            .map_err(|e| OidcError::Config(format!("--oidc-issuer: {e}")))?;
        let url = issuer.url();
        let loopback = matches!(
            url.host(),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback()
        ) || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
            || url.host_str() == Some("localhost");
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(OidcError::Config(format!(
                "--oidc-issuer {} must be an https URL (plain http only on a loopback address)",
                settings.issuer
            )));
        }
        if settings.client_id.trim().is_empty() {
            return Err(OidcError::Config("--oidc-client-id is empty".to_owned()));
        }
        let http = reqwest::Client::builder()
            // The token endpoint's answer must come from the token endpoint.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .map_err(|e| OidcError::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            settings,
            issuer,
            http,
        })
    }

    /// The issuer, as configured.
    pub fn issuer(&self) -> &str {
        self.issuer.as_str()
    }

    /// Reads the provider's configuration and signing keys.
    async fn discover(&self, redirect_url: &str) -> Result<DiscoveredClient, OidcError> {
        let http = |request: HttpRequest| send(self.http.clone(), request);
        let metadata = CoreProviderMetadata::discover_async(self.issuer.clone(), &http)
            .await
            .map_err(|e| OidcError::Provider(format!("discovery at {}: {e}", self.issuer())))?;
        let redirect = RedirectUrl::new(redirect_url.to_owned())
            .map_err(|e| OidcError::Config(format!("redirect URL {redirect_url:?}: {e}")))?;
        Ok(DiscoveredClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.settings.client_secret.clone())),
        )
        .set_redirect_uri(redirect))
    }

    /// Checks that the provider answers discovery (at server start, to warn early).
    pub async fn check(&self, redirect_url: &str) -> Result<(), OidcError> {
        self.discover(redirect_url).await.map(|_| ())
    }

    /// Where to send the browser, and what to keep until it returns to `redirect_url`.
    pub async fn begin(&self, redirect_url: &str) -> Result<(String, PendingLogin), OidcError> {
        let client = self.discover(redirect_url).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".to_owned()))
            .add_scope(Scope::new("email".to_owned()))
            .set_pkce_challenge(challenge)
            .url();
        Ok((
            url.to_string(),
            PendingLogin {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
                redirect_url: redirect_url.to_owned(),
            },
        ))
    }

    /// Trades the code the browser brought back for a verified identity. `state` is
    /// what came back with the code; it must be the one `begin` made.
    pub async fn finish(
        &self,
        pending: &PendingLogin,
        state: &str,
        code: &str,
    ) -> Result<SsoIdentity, OidcError> {
        if !constant_time_eq(pending.state.as_bytes(), state.as_bytes()) {
            return Err(OidcError::Refused(
                "the state does not match this browser's sign-in".to_owned(),
            ));
        }
        let client = self.discover(&pending.redirect_url).await?;
        let http = |request: HttpRequest| send(self.http.clone(), request);
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::Provider(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&http)
            .await
            .map_err(|e| OidcError::Refused(format!("the code was not accepted: {e}")))?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| OidcError::Refused("the provider sent no ID token".to_owned()))?;
        let claims = id_token
            .claims(
                &client.id_token_verifier(),
                &Nonce::new(pending.nonce.clone()),
            )
            .map_err(|e| OidcError::Refused(format!("the ID token: {e}")))?;
        let sub = claims.subject().as_str();
        let username = claims
            .preferred_username()
            .map(|name| name.as_str().to_owned())
            .or_else(|| claims.email().map(|email| email.as_str().to_owned()))
            .unwrap_or_else(|| sub.to_owned());
        Ok(SsoIdentity {
            subject: format!("{}#{sub}", self.issuer()),
            username,
            groups: groups_of(
                &claims.additional_claims().claims,
                &self.settings.groups_claim,
            ),
        })
    }
}

/// The group names in a claim: a list of strings or one string; anything else, and
/// names too long to be real, are ignored.
fn groups_of(claims: &serde_json::Map<String, serde_json::Value>, name: &str) -> Vec<String> {
    let values: Vec<&serde_json::Value> = match claims.get(name) {
        Some(serde_json::Value::Array(items)) => items.iter().collect(),
        Some(value @ serde_json::Value::String(_)) => vec![value],
        _ => Vec::new(),
    };
    let mut groups: Vec<String> = values
        .into_iter()
        .filter_map(serde_json::Value::as_str)
        .filter(|group| !group.is_empty() && group.len() <= MAX_GROUP_BYTES)
        .take(MAX_GROUPS)
        .map(str::to_owned)
        .collect();
    groups.sort();
    groups.dedup();
    groups
}

/// A new PKCE verifier (32 random bytes, base64url): what a command line keeps while
/// the browser signs in, to prove the code it is sent is its own.
pub fn new_pkce_verifier() -> Result<String, OidcError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| OidcError::Config(format!("randomness: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// PKCE's S256 challenge of a verifier: its SHA-256, base64url without padding.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether two byte strings are equal, in time that does not depend on where they
/// differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a request to the provider failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ProviderHttpError(String);

/// One request to the provider through the workspace's HTTP client, its answer bounded.
async fn send(
    http: reqwest::Client,
    request: HttpRequest,
) -> Result<HttpResponse, ProviderHttpError> {
    let request = reqwest::Request::try_from(request)
        .map_err(|e| ProviderHttpError(format!("bad request: {e}")))?;
    let url = request.url().clone();
    let mut response = http
        .execute(request)
        .await
        .map_err(|e| ProviderHttpError(format!("{url}: {e}")))?;
    let mut builder = openidconnect::http::Response::builder().status(response.status().as_u16());
    for (name, value) in response.headers() {
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| ProviderHttpError(format!("{url}: {e}")))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(ProviderHttpError(format!(
                "{url}: the answer is larger than {MAX_RESPONSE_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    builder
        .body(body)
        .map_err(|e| ProviderHttpError(format!("{url}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(issuer: &str) -> OidcSettings {
        OidcSettings {
            issuer: issuer.to_owned(),
            client_id: "orrery".to_owned(),
            client_secret: "s".to_owned(),
            groups_claim: "groups".to_owned(),
        }
    }

    #[test]
    fn an_issuer_must_be_https_unless_it_is_on_loopback() {
        assert!(OidcProvider::new(settings("https://id.example.com")).is_ok());
        assert!(OidcProvider::new(settings("http://127.0.0.1:9400")).is_ok());
        assert!(OidcProvider::new(settings("http://localhost:9400/")).is_ok());
        let error = OidcProvider::new(settings("http://id.example.com")).unwrap_err();
        assert!(
            error.to_string().contains("must be an https URL"),
            "{error}"
        );
        assert!(OidcProvider::new(settings("not a url")).is_err());
    }

    #[test]
    fn groups_are_a_list_or_one_name_and_odd_values_are_dropped() {
        let claims = |value: serde_json::Value| {
            let mut map = serde_json::Map::new();
            map.insert("groups".to_owned(), value);
            map
        };
        assert_eq!(
            groups_of(&claims(serde_json::json!(["b", "a", "a", 7, ""])), "groups"),
            vec!["a", "b"]
        );
        assert_eq!(
            groups_of(&claims(serde_json::json!("ops")), "groups"),
            vec!["ops"]
        );
        assert!(groups_of(&claims(serde_json::json!({"x": 1})), "groups").is_empty());
        assert!(groups_of(&claims(serde_json::json!(["a"])), "roles").is_empty());
        let long = "g".repeat(MAX_GROUP_BYTES + 1);
        assert!(groups_of(&claims(serde_json::json!([long])), "groups").is_empty());
    }

    #[test]
    fn states_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
