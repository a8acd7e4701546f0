//! Deterministic scheduling decisions: no I/O, no clock reads, no async.

mod advance;
mod dispatch;
mod retry;

pub use advance::{advance_run, Decision, TaskView};
pub use dispatch::{place_tasks, Placement, WorkerCapacity};
pub use retry::next_retry_at;
