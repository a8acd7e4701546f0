//! The scheduler: `engine` decides (pure functions from state and events to
//! decisions), `runtime` carries the decisions out against the store and the workers.

pub mod engine;
mod error;
pub mod gateway;
pub mod runtime;

pub use error::SchedulerError;
pub use gateway::worker_gateway;
pub use runtime::{
    HandedRun, Leadership, LoopBeat, NodeIdentity, SCHEDULER_LEASE, SchedulerConfig,
    SchedulerHandle, spawn_node_reporter, spawn_scheduler,
};
