//! Orrery's domain: ids, job specs and their validation, schedules and calendars, run
//! and task state machines, DAG analysis and templating. No I/O, no async runtime,
//! never reads the clock.

pub mod calendar;
pub mod clock;
pub mod dag;
pub mod duration;
pub mod hex;
pub mod ids;
pub mod keyword;
pub mod mask;
pub mod rerun;
pub mod retry;
pub mod schedule;
pub mod spec;
pub mod state;
pub mod sub_workflow;
pub mod template;
