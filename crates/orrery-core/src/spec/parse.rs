//! Entry point of spec parsing: text in a format, to a valid [`JobSpec`] or every problem.

use super::document::{read_json, read_yaml};
use super::error::SpecErrors;
use super::job::JobSpec;
use super::validate::validate_document;

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
    let document = match format {
        SpecFormat::Yaml => read_yaml(text),
        SpecFormat::Json => read_json(text),
    }?;
    validate_document(&document)
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
