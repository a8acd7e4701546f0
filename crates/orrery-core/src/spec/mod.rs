//! Job specs: the validated shape of a job, parsed from YAML or JSON with every
//! problem reported at once and located by field path (and line for syntax errors).

mod calendar;
mod diff;
mod document;
mod error;
mod fields;
mod handlers;
mod http;
mod job;
mod kind;
mod names;
mod nesting;
mod params;
mod params_read;
mod parse;
mod placement;
mod policy;
mod quantity;
mod schedule;
mod secrets;
mod task;
mod task_kind;
mod task_placement;
mod task_policy;
mod task_resources;
mod task_spec;
mod validate;
mod warnings;

pub use crate::calendar::{CalendarSpec, DateRange};
pub use crate::schedule::ScheduleSpec;
pub use diff::spec_diff;
pub use error::{SpecError, SpecErrors};
pub(crate) use job::sort_keys;
pub use job::{DEFAULT_PROJECT, JobSpec};
pub use names::check_name;
pub(crate) use names::suggest as suggest_word;
pub use params::{ParamSpec, ParamType, param_env_name, resolve_params};
pub use parse::{SpecDocument, SpecFormat, parse_document, parse_job_spec};
pub use placement::{DispatchMode, IsolationMode, ResourceRequest, WorkerSelector};
pub use policy::{ForEach, RetryBackoff, RetryOn, TriggerRule};
pub use quantity::{format_bytes, parse_cpu_millis, parse_memory};
pub use secrets::{SecretReference, check_secret_name, secret_references};
pub use task_kind::{ExpectJson, HTTP_METHODS, TaskKind};
pub use task_spec::{MAX_PRIORITY, MIN_PRIORITY, TaskSpec};
pub use warnings::spec_warnings;
