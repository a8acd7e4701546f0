//! Orrery's domain: ids, job specs and their validation, run and task state machines,
//! DAG analysis and templating. No I/O, no async runtime, never reads the clock.

pub mod clock;
pub mod dag;
pub mod duration;
pub mod ids;
pub mod spec;
pub mod state;
pub mod template;
