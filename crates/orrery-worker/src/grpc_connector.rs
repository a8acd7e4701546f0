//! `GrpcConnector`: a remote worker's link, one `WorkerGateway.Session` stream to the
//! first scheduler address that answers.

use crate::connector::Connector;
use crate::error::WorkerError;
use crate::link::WorkerLink;
use futures_util::StreamExt;
use orrery_proto::pb::worker_gateway_client::WorkerGatewayClient;
use orrery_proto::pb::{SchedulerFrame, WorkerFrame};
use orrery_proto::{SchedulerMessage, WorkerMessage};
use std::time::Duration;
use tokio::sync::mpsc;
use tonic::Code;
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

/// Frames buffered in each direction; a full buffer makes the sender wait, so a slow
/// network slows the worker's log shipping instead of growing its memory.
const LINK_BUFFER: usize = 1024;

/// Where and how to reach the schedulers.
#[derive(Clone, Debug)]
pub struct GrpcConnector {
    addresses: Vec<String>,
    token: String,
    ca_certificate: Option<Vec<u8>>,
    connect_timeout: Duration,
    /// The address tried first next time: the one that last worked.
    preferred: usize,
}

impl GrpcConnector {
    /// `addresses` are URLs such as `http://10.0.0.5:7071` (or `https://` with a CA
    /// certificate), tried in order until one answers.
    pub fn new(addresses: Vec<String>, token: String, ca_certificate: Option<Vec<u8>>) -> Self {
        Self {
            addresses,
            token,
            ca_certificate,
            connect_timeout: Duration::from_secs(5),
            preferred: 0,
        }
    }

    async fn open(&self, address: &str) -> Result<WorkerLink, WorkerError> {
        let unreachable = |error: &dyn std::error::Error| {
            WorkerError::Unreachable(format!("{address}: {}", error_chain(error)))
        };
        let mut endpoint = Endpoint::from_shared(address.to_owned())
            .map_err(|e| WorkerError::Setup(format!("scheduler address {address:?}: {e}")))?
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(10))
            .keep_alive_timeout(Duration::from_secs(20));
        if let Some(pem) = &self.ca_certificate {
            let tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem));
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| WorkerError::Setup(format!("TLS for {address}: {e}")))?;
        }
        let channel = endpoint.connect().await.map_err(|e| unreachable(&e))?;
        let bearer: MetadataValue<_> = format!("Bearer {}", self.token)
            .parse()
            .map_err(|_| WorkerError::Setup("the worker token is not valid header text".into()))?;
        let mut client = WorkerGatewayClient::new(channel);
        let (outbound, outbound_queue) = mpsc::channel::<WorkerMessage>(LINK_BUFFER);
        let frames = tokio_stream_of(outbound_queue);
        let mut request = tonic::Request::new(frames);
        request.metadata_mut().insert("authorization", bearer);
        let response = client
            .session(request)
            .await
            .map_err(|status| match status.code() {
                Code::Unauthenticated | Code::PermissionDenied | Code::FailedPrecondition => {
                    WorkerError::Refused(status.message().to_owned())
                }
                _ if is_not_a_gateway(&status) => WorkerError::Unreachable(format!(
                    "{address} is not an Orrery worker gateway (it answered: {}); point --scheduler at an Orrery server's URL",
                    short_answer(status.message())
                )),
                _ => unreachable(&status),
            })?;
        // Something that is not a gateway (the wrong port, a proxy's error page) may
        // still answer HTTP/2: its answer is not gRPC, and retrying will not change it.
        let content_type = response
            .metadata()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_owned();
        if !content_type.starts_with("application/grpc") {
            return Err(WorkerError::Unreachable(format!(
                "{address} is not an Orrery worker gateway (it answered with content type {content_type}); point --scheduler at an Orrery server's URL"
            )));
        }
        let mut incoming = response.into_inner();
        let (to_worker, inbound) = mpsc::channel::<SchedulerMessage>(LINK_BUFFER);
        let address = address.to_owned();
        tokio::spawn(async move {
            loop {
                let frame: SchedulerFrame = match incoming.message().await {
                    Ok(Some(frame)) => frame,
                    Ok(None) => break,
                    Err(status) => {
                        tracing::warn!(%address, %status, "the scheduler stream ended");
                        break;
                    }
                };
                match SchedulerMessage::try_from(frame) {
                    Ok(message) => {
                        if to_worker.send(message).await.is_err() {
                            break;
                        }
                    }
                    Err(error) => {
                        tracing::error!(%address, %error, "undecodable frame from the scheduler; reconnecting");
                        break;
                    }
                }
            }
        });
        Ok(WorkerLink { outbound, inbound })
    }
}

/// An error and its sources, `outer: inner: root`: transport errors say little on
/// their own ("transport error").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The worker's messages as the request stream of frames.
fn tokio_stream_of(
    queue: mpsc::Receiver<WorkerMessage>,
) -> impl futures_util::Stream<Item = WorkerFrame> + Send + 'static {
    futures_util::stream::unfold(queue, |mut queue| async move {
        let message = queue.recv().await?;
        Some((WorkerFrame::from(message), queue))
    })
    .boxed()
}

impl Connector for GrpcConnector {
    async fn connect(&mut self) -> Result<WorkerLink, WorkerError> {
        let count = self.addresses.len();
        if count == 0 {
            return Err(WorkerError::Setup("no scheduler address given".into()));
        }
        let mut failures = Vec::new();
        for offset in 0..count {
            let index = (self.preferred + offset) % count;
            let address = self.addresses[index].clone();
            match self.open(&address).await {
                Ok(link) => {
                    self.preferred = index;
                    return Ok(link);
                }
                Err(WorkerError::Unreachable(reason)) => {
                    // A standby names the leader: go there at once, even if it is not
                    // among the configured addresses (it may have been advertised).
                    if let Some(leader) = leader_hint(&address, &reason)
                        && leader != address
                    {
                        match self.open(&leader).await {
                            Ok(link) => {
                                if let Some(position) =
                                    self.addresses.iter().position(|a| *a == leader)
                                {
                                    self.preferred = position;
                                }
                                return Ok(link);
                            }
                            Err(WorkerError::Unreachable(again)) => failures.push(again),
                            Err(other) => return Err(other),
                        }
                    }
                    failures.push(reason);
                }
                Err(other) => return Err(other),
            }
        }
        Err(WorkerError::Unreachable(failures.join("; ")))
    }
}

/// The leader's URL a standby named in its refusal (`… the leader is at HOST:PORT`),
/// with the scheme of the address that refused.
fn leader_hint(refused_by: &str, reason: &str) -> Option<String> {
    const MARK: &str = "the leader is at ";
    let at = reason.find(MARK)? + MARK.len();
    let host_port: String = reason[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ';' && *c != '"' && *c != ',')
        .collect();
    if host_port.is_empty() {
        return None;
    }
    let scheme = refused_by
        .split_once("://")
        .map_or("http", |(scheme, _)| scheme);
    Some(format!("{scheme}://{host_port}"))
}

/// Whether the answer came from something that does not speak the worker protocol: an
/// HTTP server without the gRPC route (a 404 page, a proxy) or another gRPC service.
fn is_not_a_gateway(status: &tonic::Status) -> bool {
    let message = status.message();
    status.code() == Code::Unimplemented
        || message.contains("invalid compression flag")
        || message.contains("invalid content type")
        || message.contains("HTTP status")
}

/// The first line of an answer, cut to a readable length.
fn short_answer(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default();
    let mut short: String = line.chars().take(160).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::leader_hint;

    #[test]
    fn a_standby_s_refusal_names_the_leader_with_the_same_scheme() {
        assert_eq!(
            leader_hint(
                "https://n2:7071",
                "n2: status: Unavailable, message: \"this scheduler is a standby; the leader is at n1:7071\""
            )
            .as_deref(),
            Some("https://n1:7071")
        );
        assert_eq!(leader_hint("http://n2:7071", "connection refused"), None);
    }
}
