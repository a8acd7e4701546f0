//! The gRPC gateway for remote workers: authenticates each `Session` stream with a
//! worker token, then bridges it to the driver exactly like the embedded worker's
//! in-process link, so both speak one protocol through one code path.

use crate::runtime::SchedulerHandle;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use orrery_proto::pb::worker_gateway_server::{WorkerGateway, WorkerGatewayServer};
use orrery_proto::pb::{SchedulerFrame, WorkerFrame};
use orrery_proto::{SchedulerMessage, WorkerMessage};
use orrery_store::Store;
use tonic::{Request, Response, Status, Streaming};

/// Token kinds allowed to connect workers.
const WORKER_TOKEN_KINDS: [&str; 2] = ["worker", "admin"];

/// Serves `WorkerGateway.Session`.
#[derive(Clone)]
pub struct Gateway {
    scheduler: SchedulerHandle,
    store: Store,
    /// For token expiry.
    clock: std::sync::Arc<dyn orrery_core::clock::Clock>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("scheduler", &self.scheduler)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// The gateway as a tonic service, ready for `Server::builder().add_service(..)`.
pub fn worker_gateway(
    scheduler: SchedulerHandle,
    store: Store,
    clock: std::sync::Arc<dyn orrery_core::clock::Clock>,
) -> WorkerGatewayServer<Gateway> {
    WorkerGatewayServer::new(Gateway {
        scheduler,
        store,
        clock,
    })
}

impl Gateway {
    async fn authenticate<T>(&self, request: &Request<T>) -> Result<String, Status> {
        let missing = || {
            Status::unauthenticated(
                "a worker token is required: create one with `orrery token create --kind worker` and pass it with --token",
            )
        };
        let header = request
            .metadata()
            .get("authorization")
            .ok_or_else(missing)?
            .to_str()
            .map_err(|_| missing())?;
        let secret = header.strip_prefix("Bearer ").ok_or_else(missing)?;
        match self.store.find_token(secret.trim()).await {
            Ok(Some(token)) if !token.is_live(self.clock.now()) => Err(Status::unauthenticated(
                "the worker token is not valid (unknown, expired or revoked)",
            )),
            Ok(Some(token)) if WORKER_TOKEN_KINDS.contains(&token.kind.as_str()) => Ok(token.name),
            Ok(Some(token)) => Err(Status::permission_denied(format!(
                "token {:?} is a {} token; workers need a worker token (`orrery token create --kind worker`)",
                token.name, token.kind
            ))),
            Ok(None) => Err(Status::unauthenticated(
                "the worker token is not valid (unknown, expired or revoked)",
            )),
            Err(error) => Err(Status::unavailable(format!(
                "cannot check the worker token: {error}"
            ))),
        }
    }
}

impl Gateway {
    /// A standby takes no workers: it answers with the leader's gateway address so
    /// the worker can go there (it also tries its other `--scheduler` addresses).
    async fn refuse_unless_leader(&self) -> Result<(), Status> {
        let leadership = self.scheduler.leadership();
        if leadership.leader {
            return Ok(());
        }
        // A node without a scheduler (API only) learns the holder from the store.
        let holder = match leadership.holder {
            Some(holder) => Some(holder),
            None => self
                .store
                .lease(crate::runtime::SCHEDULER_LEASE)
                .await
                .ok()
                .flatten()
                .filter(|lease| lease.expires_at > lease.db_now)
                .map(|lease| lease.holder),
        };
        let leader = match &holder {
            Some(holder) => self
                .store
                .cluster_nodes()
                .await
                .ok()
                .and_then(|nodes| nodes.into_iter().find(|n| &n.holder == holder))
                .and_then(|node| node.grpc_address),
            None => None,
        };
        Err(Status::unavailable(match leader {
            Some(address) => format!("this scheduler is a standby; the leader is at {address}"),
            None => {
                "this scheduler is a standby and no leader is known yet; retry shortly".to_owned()
            }
        }))
    }
}

#[tonic::async_trait]
impl WorkerGateway for Gateway {
    type SessionStream = BoxStream<'static, Result<SchedulerFrame, Status>>;

    async fn session(
        &self,
        request: Request<Streaming<WorkerFrame>>,
    ) -> Result<Response<Self::SessionStream>, Status> {
        let token = self.authenticate(&request).await?;
        self.refuse_unless_leader().await?;
        let peer = request
            .remote_addr()
            .map_or_else(|| "?".to_owned(), |addr| addr.to_string());
        tracing::info!(%peer, %token, "worker stream opened");
        let (to_scheduler, from_scheduler) = self.scheduler.connect_worker();
        let mut incoming = request.into_inner();
        tokio::spawn(async move {
            loop {
                let frame = match incoming.message().await {
                    Ok(Some(frame)) => frame,
                    Ok(None) => break,
                    Err(status) => {
                        tracing::info!(%peer, %status, "worker stream ended");
                        break;
                    }
                };
                match WorkerMessage::try_from(frame) {
                    Ok(message) => {
                        if to_scheduler.send(message).await.is_err() {
                            break;
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%peer, %error, "closing a worker stream that sent an undecodable frame");
                        break;
                    }
                }
            }
            // Dropping `to_scheduler` tells the driver the link closed.
        });
        let outgoing = futures_util::stream::unfold(from_scheduler, |mut from_scheduler| async {
            let message: SchedulerMessage = from_scheduler.recv().await?;
            Some((Ok(SchedulerFrame::from(message)), from_scheduler))
        })
        .boxed();
        Ok(Response::new(outgoing))
    }
}
