//! `Expectations`: whether a response meets the request's `expect_status` and
//! `expect_json`, decided without any I/O.

use super::error::HttpError;
use super::json_path::JsonPath;
use orrery_proto::HttpRequest;
use serde_json::Value;

/// Longest rendering of an unexpected JSON value in an error, in characters.
const MAX_FOUND_CHARS: usize = 200;

/// What an acceptable response looks like.
#[derive(Clone, Debug)]
pub(super) struct Expectations {
    /// Accepted status codes; empty means any 2xx.
    statuses: Vec<u16>,
    json: Option<JsonExpectation>,
}

/// `expect_json`: the value at `path` must equal `expected`.
#[derive(Clone, Debug)]
struct JsonExpectation {
    path_text: String,
    path: JsonPath,
    expected: Value,
}

impl Expectations {
    /// Reads the request's expectations; a malformed JSON path is refused here, before
    /// anything is sent.
    pub(super) fn from_request(request: &HttpRequest) -> Result<Self, HttpError> {
        let json = match &request.expect_json {
            None => None,
            Some((path_text, expected)) => {
                let path =
                    JsonPath::parse(path_text).map_err(|source| HttpError::InvalidJsonPath {
                        path: path_text.clone(),
                        source,
                    })?;
                Some(JsonExpectation {
                    path_text: path_text.clone(),
                    path,
                    expected: expected.clone(),
                })
            }
        };
        Ok(Self {
            statuses: request.expect_status.clone(),
            json,
        })
    }

    /// Whether the whole body is needed to decide.
    pub(super) fn checks_body(&self) -> bool {
        self.json.is_some()
    }

    pub(super) fn check_status(&self, status: u16) -> Result<(), HttpError> {
        let accepted = if self.statuses.is_empty() {
            (200..300).contains(&status)
        } else {
            self.statuses.contains(&status)
        };
        if accepted {
            Ok(())
        } else {
            Err(HttpError::UnexpectedStatus {
                expected: describe_statuses(&self.statuses),
                got: status,
            })
        }
    }

    /// Checks `expect_json` against the complete body.
    pub(super) fn check_body(&self, body: &[u8]) -> Result<(), HttpError> {
        let Some(expectation) = &self.json else {
            return Ok(());
        };
        let document: Value = serde_json::from_slice(body).map_err(|error| HttpError::NotJson {
            message: error.to_string(),
        })?;
        let found = expectation
            .path
            .find(&document)
            .ok_or_else(|| HttpError::PathNotFound {
                path: expectation.path_text.clone(),
            })?;
        if json_equals(found, &expectation.expected) {
            Ok(())
        } else {
            Err(HttpError::Mismatch {
                path: expectation.path_text.clone(),
                found: shortened(found.to_string()),
                expected: shortened(expectation.expected.to_string()),
            })
        }
    }
}

/// `2xx`, `200`, `200 or 204`, `200, 201 or 204`.
fn describe_statuses(statuses: &[u16]) -> String {
    match statuses {
        [] => "2xx".to_owned(),
        [only] => only.to_string(),
        [rest @ .., last] => {
            let rest: Vec<String> = rest.iter().map(u16::to_string).collect();
            format!("{} or {last}", rest.join(", "))
        }
    }
}

/// JSON equality where numbers compare by value, so `200` equals `200.0`; everything
/// else must match exactly, including types (`"200"` is not `200`).
fn json_equals(found: &Value, expected: &Value) -> bool {
    match (found, expected) {
        (Value::Number(found), Value::Number(expected)) => {
            match (found.as_i64(), expected.as_i64()) {
                (Some(found), Some(expected)) => found == expected,
                _ => match (found.as_u64(), expected.as_u64()) {
                    (Some(found), Some(expected)) => found == expected,
                    _ => found.as_f64() == expected.as_f64(),
                },
            }
        }
        (Value::Array(found), Value::Array(expected)) => {
            found.len() == expected.len()
                && found
                    .iter()
                    .zip(expected)
                    .all(|(found, expected)| json_equals(found, expected))
        }
        (Value::Object(found), Value::Object(expected)) => {
            found.len() == expected.len()
                && found.iter().all(|(key, found)| {
                    expected
                        .get(key)
                        .is_some_and(|expected| json_equals(found, expected))
                })
        }
        _ => found == expected,
    }
}

fn shortened(text: String) -> String {
    match text.char_indices().nth(MAX_FOUND_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
