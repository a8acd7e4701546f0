//! Entry points of spec parsing: text in a format, to a valid document ([`JobSpec`],
//! [`CalendarSpec`]) or every problem.

use super::alert_route::{AlertRouteSpec, validate_alert_route};
use super::calendar::validate_calendar;
use super::document::{read_json, read_yaml};
use super::error::{SpecError, SpecErrors};
use super::job::JobSpec;
use super::receiver::{ReceiverSpec, validate_receiver};
use super::validate::validate_document;
use crate::calendar::CalendarSpec;
use serde_json::Value;

/// Document kinds `parse_document` accepts, as written in `kind:`.
const DOCUMENT_KINDS: &[&str] = &["Job", "Calendar", "Receiver", "AlertRoute"];

/// The text format of a spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpecFormat {
    Yaml,
    Json,
}

impl SpecFormat {
    /// The format a file name's extension implies (`.yaml`, `.yml`, `.json`, any case).
    pub fn from_path(path: &str) -> Option<SpecFormat> {
        let (_, extension) = path.rsplit_once('.')?;
        match extension.to_ascii_lowercase().as_str() {
            "yaml" | "yml" => Some(SpecFormat::Yaml),
            "json" => Some(SpecFormat::Json),
            _ => None,
        }
    }
}

/// Parses and validates a job spec, reporting every problem at once: a syntax error
/// with its line and column, otherwise each invalid field with its path.
pub fn parse_job_spec(text: &str, format: SpecFormat) -> Result<JobSpec, SpecErrors> {
    validate_document(&read_text(text, format)?)
}

/// A valid spec document of any kind.
#[derive(Clone, Debug, PartialEq)]
// One document is parsed per apply and consumed at once; boxing the job would only
// add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum SpecDocument {
    Job(JobSpec),
    Calendar(CalendarSpec),
    Receiver(ReceiverSpec),
    AlertRoute(AlertRouteSpec),
}

impl SpecDocument {
    /// The document's `kind:` as written (`Job`, `Calendar`).
    pub fn kind(&self) -> &'static str {
        match self {
            SpecDocument::Job(_) => "Job",
            SpecDocument::Calendar(_) => "Calendar",
            SpecDocument::Receiver(_) => "Receiver",
            SpecDocument::AlertRoute(_) => "AlertRoute",
        }
    }

    /// The document's name.
    pub fn name(&self) -> &str {
        match self {
            SpecDocument::Job(job) => &job.name,
            SpecDocument::Calendar(calendar) => &calendar.name,
            SpecDocument::Receiver(receiver) => &receiver.name,
            SpecDocument::AlertRoute(route) => &route.name,
        }
    }

    /// The project the document belongs to.
    pub fn project(&self) -> &str {
        match self {
            SpecDocument::Job(job) => &job.project,
            SpecDocument::Calendar(calendar) => &calendar.project,
            SpecDocument::Receiver(receiver) => &receiver.project,
            SpecDocument::AlertRoute(route) => &route.project,
        }
    }

    /// The document's canonical JSON, which `parse_document` reads back as the same
    /// document.
    pub fn to_canonical_json(&self) -> String {
        match self {
            SpecDocument::Job(job) => job.to_canonical_json(),
            SpecDocument::Calendar(calendar) => calendar.to_canonical_json(),
            SpecDocument::Receiver(receiver) => receiver.to_canonical_json(),
            SpecDocument::AlertRoute(route) => route.to_canonical_json(),
        }
    }
}

/// Parses and validates a document of any kind, chosen by its `kind:` field (a job
/// when it has none), reporting every problem at once like [`parse_job_spec`].
pub fn parse_document(text: &str, format: SpecFormat) -> Result<SpecDocument, SpecErrors> {
    let document = read_text(text, format)?;
    let kind = match &document {
        Value::Object(map) => map.get("kind").and_then(Value::as_str),
        _ => None,
    };
    match kind {
        None | Some("Job") => validate_document(&document).map(SpecDocument::Job),
        Some("Calendar") => validate_calendar(&document).map(SpecDocument::Calendar),
        Some("Receiver") => validate_receiver(&document).map(SpecDocument::Receiver),
        Some("AlertRoute") => validate_alert_route(&document).map(SpecDocument::AlertRoute),
        Some(other) => {
            let expected = DOCUMENT_KINDS
                .iter()
                .map(|kind| format!("{kind:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            let hint = super::names::suggest(other, DOCUMENT_KINDS.iter().copied())
                .map(|close| format!(", did you mean {close:?}?"))
                .unwrap_or_default();
            Err(SpecError::at(
                "kind",
                format!("unsupported kind {other:?} (expected one of {expected}){hint}"),
            )
            .into())
        }
    }
}

/// Parses and validates a `kind: AlertRoute` document (a project's alert routing),
/// reporting every problem at once.
pub fn parse_alert_route(text: &str, format: SpecFormat) -> Result<AlertRouteSpec, SpecErrors> {
    let document = read_text(text, format)?;
    if let Value::Object(map) = &document
        && map.get("kind").and_then(Value::as_str) != Some("AlertRoute")
    {
        return Err(SpecError::at("kind", "expected kind: AlertRoute").into());
    }
    validate_alert_route(&document)
}

fn read_text(text: &str, format: SpecFormat) -> Result<Value, SpecErrors> {
    match format {
        SpecFormat::Yaml => read_yaml(text),
        SpecFormat::Json => read_json(text),
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "canonical_tests.rs"]
mod canonical_tests;
