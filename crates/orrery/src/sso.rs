//! The server's OpenID Connect provider, from its settings: the client secret is read
//! from its file, and the provider is asked for its configuration once in the
//! background, so a misconfiguration shows in the log at start rather than at the
//! first sign-in (a provider that is down does not stop the server).

use crate::config::ServerConfig;
use crate::server::ServerError;
use orrery_access::{OidcProvider, OidcSettings};
use std::net::SocketAddr;
use std::sync::Arc;

pub(crate) fn oidc_provider(
    config: &ServerConfig,
    listen: SocketAddr,
) -> Result<Option<Arc<OidcProvider>>, ServerError> {
    let Some(oidc) = &config.oidc else {
        return Ok(None);
    };
    let secret =
        std::fs::read_to_string(&oidc.client_secret_file).map_err(|source| ServerError::Io {
            action: format!(
                "read the OIDC client secret {}",
                oidc.client_secret_file.display()
            ),
            source,
        })?;
    let provider = OidcProvider::new(OidcSettings {
        issuer: oidc.issuer.clone(),
        client_id: oidc.client_id.clone(),
        client_secret: secret.trim().to_owned(),
        groups_claim: oidc.groups_claim.clone(),
    })
    .map_err(|e| ServerError::Config(e.to_string()))?;
    let provider = Arc::new(provider);
    let callback = format!(
        "{}/auth/oidc/callback",
        config
            .external_url
            .clone()
            .unwrap_or_else(|| format!("http://{listen}"))
    );
    let check = provider.clone();
    tokio::spawn(async move {
        match check.check(&callback).await {
            Ok(()) => tracing::info!(issuer = %check.issuer(), %callback, "SSO sign-in ready"),
            Err(error) => {
                tracing::warn!(issuer = %check.issuer(), %error, "SSO provider not usable yet")
            }
        }
    });
    Ok(Some(provider))
}
