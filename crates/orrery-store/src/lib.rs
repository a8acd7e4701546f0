//! Orrery's persistence: the store is the source of truth. Only this crate knows SQL.
//! Operations are grouped per aggregate (jobs, runs, task attempts, logs, tokens,
//! audit); rows stay private and are returned as the record types in `records`.
//! Every operation works on SQLite and on PostgreSQL: the SQL is written once where
//! the dialects agree and run on either pool (`exec`), rows are read once (`row`).

mod access;
mod alert_configs;
mod alert_outbox;
mod alert_records;
mod audit;
mod calendars;
mod error;
mod exec;
mod fire_runs;
mod job_calls;
mod jobs;
mod leader;
mod lease;
mod login_failures;
mod logs;
mod migrate;
mod nodes;
mod postgres;
pub mod records;
mod request;
mod rerun;
mod row;
mod runs;
mod secrets;
mod sla_reads;
mod sqlite;
mod sso;
mod store;
mod tasks;
pub mod test_support;
mod tokens;
mod triggers;
mod views;
mod wake;
mod workers;

pub use access::NewUser;
pub use alert_configs::NewSilence;
pub use alert_outbox::{AlertPass, ONCE_KEY};
pub use alert_records::{
    AlertChange, AlertConfigRecord, AlertEventRecord, AlertEventStatus, AlertRecord,
    DeliveryResult, LabelMap, NewAlertEvent, NewNotification, NotificationRecord,
    NotificationState, SilenceRecord,
};
pub use audit::{AuditCheck, AuditFilter};
pub use calendars::{CalendarApplied, NewBackfill};
pub use error::StoreError;
pub use jobs::{ApplyOutcome, JobApply};
pub use leader::LeaderStore;
pub use lease::{Claim, Fence, Lease, SCHEDULER_LEASE};
pub use logs::LogOwner;
pub use nodes::NodeRecord;
pub use request::{RequestMeta, current_request, in_request};
pub use rerun::{KeptTask, TaskReset};
pub use runs::{NewRun, RunListFilter, RunSchedule};
pub use secrets::{Resealed, SealedSecret};
pub use sso::SsoSignIn;
pub use store::{Store, StoreOptions};
pub use tasks::RunUpdate;
pub use tokens::{NewToken, hash_secret};
pub use triggers::{FireOutcome, FiresStored, JobFires, JobTimer, PAUSED_REASON, PlannedFire};
pub use views::{ApiIntents, ApiReads, SchedulerReads};
pub use wake::WakeListener;
pub use workers::WorkerLiveness;
