//! The scheduler's runtime: one tokio task (the driver) owns the hot state of every
//! active run and every connected worker, and carries the engine's decisions out.
//! Changes are committed to the store before anything is sent to a worker.

mod children;
mod clock_offset;
mod connections;
mod dispatch;
mod driver;
mod election;
mod fires;
mod handle;
mod handoff;
mod liveness;
mod log_writer;
mod loop_beat;
mod nodes;
mod sla;
mod state;
mod take_up;
mod triggers;
mod worker_events;

pub use election::SCHEDULER_LEASE;
pub use handle::{
    Leadership, SchedulerConfig, SchedulerHandle, spawn_node_reporter, spawn_scheduler,
};
pub use handoff::HandedRun;
pub use loop_beat::LoopBeat;
pub use nodes::NodeIdentity;
