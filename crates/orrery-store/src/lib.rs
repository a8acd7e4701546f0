//! Orrery's persistence: the store is the source of truth. Only this crate knows SQL.
//! Operations are grouped per aggregate (jobs, runs, task attempts, logs, tokens,
//! audit); rows stay private and are returned as the record types in `records`.

mod audit;
mod calendars;
mod error;
mod jobs;
mod logs;
pub mod records;
mod rerun;
mod runs;
mod sqlite;
mod tasks;
mod tokens;
mod triggers;
mod workers;

pub use calendars::NewBackfill;
pub use error::StoreError;
pub use jobs::{ApplyOutcome, JobApply};
pub use logs::LogOwner;
pub use rerun::{KeptTask, TaskReset};
pub use runs::{NewRun, RunListFilter, RunSchedule};
pub use sqlite::Store;
pub use tasks::RunUpdate;
pub use tokens::hash_secret;
pub use triggers::{FireOutcome, FiresStored, JobFires, PlannedFire};
pub use workers::WorkerLiveness;
