//! Orrery's worker: registers with the scheduler, runs assigned task attempts in their
//! own process groups, streams their logs and reports results until acknowledged.

mod attempts;
mod config;
mod error;
mod executor;
mod link;
mod register;
mod results;
mod shutdown;
mod stale_attempts;
mod unacked;
mod worker;

pub use config::WorkerConfig;
pub use error::WorkerError;
pub use link::WorkerLink;
pub use worker::run_worker;
