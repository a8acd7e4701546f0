//! Job specs: the validated shape of a job, parsed from YAML or JSON with every
//! problem reported at once and located by field path (and line for syntax errors).

mod calendar;
mod document;
mod error;
mod fields;
mod job;
mod names;
mod parse;
mod schedule;
mod task;
mod validate;

pub use crate::calendar::{CalendarSpec, DateRange};
pub use crate::schedule::ScheduleSpec;
pub use error::{SpecError, SpecErrors};
pub(crate) use job::sort_keys;
pub use job::{DEFAULT_PROJECT, JobSpec, TaskKind, TaskSpec};
pub(crate) use names::suggest as suggest_word;
pub use parse::{SpecDocument, SpecFormat, parse_document, parse_job_spec};
