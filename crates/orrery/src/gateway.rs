//! Serving the worker gateway (gRPC, optionally TLS) beside the API.

use crate::config::ServerConfig;
use crate::server::ServerError;
use orrery_core::clock::Clock;
use orrery_scheduler::{SchedulerHandle, worker_gateway};
use orrery_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};

/// Binds the gateway's port.
pub(crate) async fn bind_gateway(
    config: &ServerConfig,
) -> Result<tokio::net::TcpListener, ServerError> {
    tokio::net::TcpListener::bind(config.grpc_listen)
        .await
        .map_err(|e| ServerError::Io {
            action: format!("listen for workers on {}", config.grpc_listen),
            source: e,
        })
}

/// Serves the gateway on `listener` until `shutdown` turns true.
pub(crate) fn serve_gateway(
    config: &ServerConfig,
    listener: tokio::net::TcpListener,
    scheduler: &SchedulerHandle,
    store: &Store,
    clock: Arc<dyn Clock>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<JoinHandle<Result<(), tonic::transport::Error>>, ServerError> {
    let incoming = TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(Duration::from_secs(30)));
    let mut builder = Server::builder()
        .http2_keepalive_interval(Some(Duration::from_secs(10)))
        .http2_keepalive_timeout(Some(Duration::from_secs(20)));
    if let Some(tls) = &config.grpc_tls {
        let read = |path: &std::path::Path| {
            std::fs::read(path).map_err(|e| ServerError::Io {
                action: format!("read {}", path.display()),
                source: e,
            })
        };
        let identity = Identity::from_pem(read(&tls.cert)?, read(&tls.key)?);
        builder = builder
            .tls_config(ServerTlsConfig::new().identity(identity))
            .map_err(|e| ServerError::Gateway(format!("TLS settings: {e}")))?;
    }
    let router = builder.add_service(worker_gateway(scheduler.clone(), store.clone(), clock));
    let task = tokio::spawn(async move {
        router
            .serve_with_incoming_shutdown(incoming, async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .await
    });
    Ok(task)
}
