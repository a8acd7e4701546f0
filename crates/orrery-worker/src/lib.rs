//! Orrery's worker: registers with the scheduler, runs assigned task attempts in their
//! own process groups, streams their logs and reports results until acknowledged.

mod attempts;
mod channel_connector;
mod config;
mod connector;
mod error;
mod executor;
mod gpus;
mod grpc_connector;
mod identity;
mod isolation;
mod link;
mod register;
mod results;
mod shutdown;
mod stale_attempts;
mod unacked;
mod work_dir_lock;
mod worker;

pub use channel_connector::ChannelConnector;
pub use config::WorkerConfig;
pub use connector::Connector;
pub use error::WorkerError;
pub use grpc_connector::GrpcConnector;
pub use link::WorkerLink;
pub use worker::run_worker;
