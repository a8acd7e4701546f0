//! Reading and parsing the `$ORRERY_OUTPUT` file (`key=value` lines or one JSON object)
//! after an attempt.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::Path;

/// Why the output file cannot be used; each fails the attempt.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum OutputError {
    #[error("output file is {size} bytes, over the {cap}-byte cap")]
    TooLarge { size: u64, cap: u64 },
    #[error("cannot read the output file: {0}")]
    Read(String),
    #[error("output file line {line} is not valid UTF-8")]
    NotUtf8 { line: usize },
    #[error("output file line {line}: expected key=value")]
    MissingEquals { line: usize },
    #[error("output file line {line}: invalid key {key:?} (keys match [A-Za-z_][A-Za-z0-9_.-]*)")]
    InvalidKey { line: usize, key: String },
    #[error("output file starts with '{{' but is not a JSON object: {message}")]
    NotJsonObject { message: String },
    #[error("output file JSON object: invalid key {key:?} (keys match [A-Za-z_][A-Za-z0-9_.-]*)")]
    InvalidJsonKey { key: String },
}

/// Reads the output file, refusing one larger than `cap` bytes. A missing file (the
/// task removed it) means no outputs.
pub(crate) fn read_outputs(path: &Path, cap: u64) -> Result<BTreeMap<String, String>, OutputError> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(error) => return Err(OutputError::Read(error.to_string())),
    };
    let too_large = |size| OutputError::TooLarge { size, cap };
    let size = file
        .metadata()
        .map_err(|error| OutputError::Read(error.to_string()))?
        .len();
    if size > cap {
        return Err(too_large(size));
    }
    // Read at most one byte past the cap, in case something still writes to the file.
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|error| OutputError::Read(error.to_string()))?;
    let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if read > cap {
        return Err(too_large(read));
    }
    parse_outputs(&bytes)
}

/// Parses the output file: one JSON object if its content starts with `{`, otherwise
/// `key=value` lines.
pub(crate) fn parse_outputs(bytes: &[u8]) -> Result<BTreeMap<String, String>, OutputError> {
    if bytes.trim_ascii_start().starts_with(b"{") {
        parse_json_object(bytes)
    } else {
        parse_key_value_lines(bytes)
    }
}

/// One JSON object: string values are taken as they are, any other value as its JSON
/// text (`3`, `true`, `null`, `[1,2]`), so downstream templates see what was written.
fn parse_json_object(bytes: &[u8]) -> Result<BTreeMap<String, String>, OutputError> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(bytes)
        .map_err(|error| OutputError::NotJsonObject {
            message: error.to_string(),
        })?;
    object
        .into_iter()
        .map(|(key, value)| {
            if !is_valid_key(&key) {
                return Err(OutputError::InvalidJsonKey { key });
            }
            let value = match value {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
            Ok((key, value))
        })
        .collect()
}

/// `key=value` lines: blank lines and `#` comments are skipped, the key is trimmed, the
/// value is the rest of the line after the first `=`, later keys win.
fn parse_key_value_lines(bytes: &[u8]) -> Result<BTreeMap<String, String>, OutputError> {
    let mut outputs = BTreeMap::new();
    for (index, raw_line) in bytes.split(|byte| *byte == b'\n').enumerate() {
        let line_number = index + 1;
        let line = std::str::from_utf8(raw_line)
            .map_err(|_| OutputError::NotUtf8 { line: line_number })?;
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim_start();
        if trimmed.trim_end().is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(OutputError::MissingEquals { line: line_number });
        };
        let key = key.trim();
        if !is_valid_key(key) {
            return Err(OutputError::InvalidKey {
                line: line_number,
                key: key.to_owned(),
            });
        }
        outputs.insert(key.to_owned(), value.to_owned());
    }
    Ok(outputs)
}

/// `[A-Za-z_][A-Za-z0-9_.-]*`.
fn is_valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

#[cfg(test)]
#[path = "outputs_tests.rs"]
mod tests;
