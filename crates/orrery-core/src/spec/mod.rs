//! Job specs: the validated shape of a job, parsed from YAML or JSON with every
//! problem reported at once and located by field path (and line for syntax errors).

mod document;
mod error;
mod fields;
mod job;
mod names;
mod parse;
mod task;
mod validate;

pub use error::{SpecError, SpecErrors};
pub use job::{DEFAULT_PROJECT, JobSpec, TaskKind, TaskSpec};
pub use parse::{SpecFormat, parse_job_spec};
