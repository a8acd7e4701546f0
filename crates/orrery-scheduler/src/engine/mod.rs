//! Deterministic scheduling decisions: no I/O, no clock reads, no async.

mod admission;
mod advance;
mod dispatch;
mod fires;
mod retry;
mod wheel;

pub use admission::{Admission, Concurrency, admit_fire, may_start};
pub use advance::{Decision, Rule, RunShape, TaskView, advance_run, advance_run_with};
pub use dispatch::{Placement, TaskNeeds, WorkerOffer, place_tasks};
pub use fires::{FirePlan, LateCause, Misfire, plan_due_fires};
pub use retry::next_retry_at;
pub use wheel::TimerWheel;
