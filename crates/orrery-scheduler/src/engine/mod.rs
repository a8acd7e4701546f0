//! Deterministic scheduling decisions: no I/O, no clock reads, no async.

mod advance;
mod dispatch;
mod retry;

pub use advance::{Decision, TaskView, advance_run};
pub use dispatch::{Placement, WorkerCapacity, place_tasks};
pub use retry::next_retry_at;
