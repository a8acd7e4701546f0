//! Typed readers over a JSON value that record every problem with its field path.

use super::error::{SpecError, SpecErrors};
use super::names::{check_name, suggest};
use crate::duration::HumanDuration;
use crate::template;
use serde_json::{Map, Value};

/// The problems found so far, in the order the document was walked (a mapping's keys
/// in sorted order, as `serde_json::Map` keeps them).
#[derive(Debug, Default)]
pub(super) struct Problems(Vec<SpecError>);

impl Problems {
    pub(super) fn push(&mut self, path: &str, message: impl Into<String>) {
        self.0.push(SpecError::at(path, message));
    }

    pub(super) fn count(&self) -> usize {
        self.0.len()
    }

    pub(super) fn into_vec(self) -> Vec<SpecError> {
        self.0
    }

    /// What a document's reading came to: the value when nothing was wrong, else every
    /// problem (or, if a reader gave up without naming one, that `what` is invalid).
    pub(super) fn finish<T>(self, read: Option<T>, what: &str) -> Result<T, SpecErrors> {
        match read {
            Some(value) if self.count() == 0 => Ok(value),
            _ => {
                let mut errors = self.into_vec();
                if errors.is_empty() {
                    errors.push(SpecError::at("", format!("{what} is invalid")));
                }
                Err(SpecErrors(errors))
            }
        }
    }

    /// Adds problems recorded aside, after those found so far.
    pub(super) fn append(&mut self, later: Problems) {
        self.0.extend(later.0);
    }

    pub(super) fn wrong_type(&mut self, path: &str, expected: &str, found: &Value) {
        self.push(
            path,
            format!("expected {expected}, found {}", describe(found)),
        );
    }

    pub(super) fn mapping<'v>(
        &mut self,
        value: &'v Value,
        path: &str,
    ) -> Option<&'v Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            other => {
                self.wrong_type(path, "a mapping", other);
                None
            }
        }
    }

    pub(super) fn list<'v>(&mut self, value: &'v Value, path: &str) -> Option<&'v [Value]> {
        match value {
            Value::Array(items) => Some(items),
            other => {
                self.wrong_type(path, "a list", other);
                None
            }
        }
    }

    pub(super) fn string<'v>(&mut self, value: &'v Value, path: &str) -> Option<&'v str> {
        match value {
            Value::String(text) => Some(text),
            other => {
                self.wrong_type(path, "a string", other);
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, value: &Value, path: &str) -> Option<bool> {
        match value {
            Value::Bool(flag) => Some(*flag),
            other => {
                self.wrong_type(path, "true or false", other);
                None
            }
        }
    }

    /// A whole number within `min..=max`.
    pub(super) fn integer(&mut self, value: &Value, path: &str, min: i64, max: i64) -> Option<i64> {
        let expected = format!("a whole number from {min} to {max}");
        let Value::Number(number) = value else {
            self.wrong_type(path, &expected, value);
            return None;
        };
        let whole = number
            .as_i64()
            .map(i128::from)
            .or_else(|| number.as_u64().map(i128::from));
        match whole {
            Some(whole) if whole < i128::from(min) => {
                self.push(path, format!("must be at least {min}, found {number}"));
                None
            }
            Some(whole) if whole > i128::from(max) => {
                self.push(path, format!("must be at most {max}, found {number}"));
                None
            }
            Some(whole) => i64::try_from(whole).ok(),
            None => {
                self.push(path, format!("expected {expected}, found {number}"));
                None
            }
        }
    }

    /// One of a fixed set of words (`trigger_rule: all_done`), suggesting a close one.
    /// `what` names the kind of word in the message: "unknown trigger rule \"x\"".
    pub(super) fn keyword<T: Copy>(
        &mut self,
        value: &Value,
        path: &str,
        what: &str,
        all: &[T],
        name: fn(T) -> &'static str,
    ) -> Option<T> {
        let text = self.string(value, path)?;
        if let Some(found) = all
            .iter()
            .copied()
            .find(|candidate| name(*candidate) == text)
        {
            return Some(found);
        }
        let names: Vec<&str> = all.iter().copied().map(name).collect();
        let hint = suggest(text, names.iter().copied())
            .map(|close| format!(", did you mean {close:?}?"))
            .unwrap_or_default();
        self.push(
            path,
            format!(
                "unknown {what} {text:?} (one of {}){hint}",
                names.join(", ")
            ),
        );
        None
    }

    /// A string, or a number or boolean written without quotes (`LANG: 1`, `[sleep, 5]`).
    pub(super) fn scalar_string(&mut self, value: &Value, path: &str) -> Option<String> {
        match value {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            Value::Bool(flag) => Some(flag.to_string()),
            other => {
                self.wrong_type(path, "a string", other);
                None
            }
        }
    }

    /// A job, project or task name.
    pub(super) fn name(&mut self, value: &Value, path: &str) -> Option<String> {
        let text = self.string(value, path)?;
        match check_name(text) {
            Ok(()) => Some(text.to_owned()),
            Err(message) => {
                self.push(path, message);
                None
            }
        }
    }

    pub(super) fn duration(&mut self, value: &Value, path: &str) -> Option<HumanDuration> {
        let Value::String(text) = value else {
            self.wrong_type(path, "a duration string like \"30s\"", value);
            return None;
        };
        match text.parse::<HumanDuration>() {
            Ok(duration) => Some(duration),
            Err(error) => {
                self.push(path, error.to_string());
                None
            }
        }
    }

    /// Records a template syntax error in a templated field.
    pub(super) fn template(&mut self, text: &str, path: &str) {
        if let Err(error) = template::check_syntax(text) {
            self.push(path, error.to_string());
        }
    }

    /// The value of a required field; a missing field or `null` is a problem.
    pub(super) fn required<'v>(
        &mut self,
        map: &'v Map<String, Value>,
        path: &str,
        key: &str,
        hint: &str,
    ) -> Option<&'v Value> {
        let value = optional(map, key);
        if value.is_none() {
            self.push(
                &child(path, key),
                format!("missing required field {key:?}{hint}"),
            );
        }
        value
    }

    /// Reports every key of `map` that is not in `known`, suggesting a close one.
    pub(super) fn unknown_fields(&mut self, map: &Map<String, Value>, path: &str, known: &[&str]) {
        for key in map.keys().filter(|key| !known.contains(&key.as_str())) {
            let message = match suggest(key, known.iter().copied()) {
                Some(close) => format!("unknown field {key:?}, did you mean {close:?}?"),
                None => format!(
                    "unknown field {key:?} (expected one of: {})",
                    known.join(", ")
                ),
            };
            self.push(&child(path, key), message);
        }
    }
}

/// The head of a resource document: its mapping, `name` and `project` (`default`
/// when left out); fields outside `known` are reported.
pub(super) struct DocumentHead<'v> {
    pub(super) map: &'v Map<String, Value>,
    pub(super) name: Option<String>,
    pub(super) project: Option<String>,
}

impl Problems {
    /// Reads the head every resource document (calendar, receiver, route) shares.
    pub(super) fn document_head<'v>(
        &mut self,
        document: &'v Value,
        known: &[&str],
    ) -> Option<DocumentHead<'v>> {
        let map = self.mapping(document, "")?;
        self.unknown_fields(map, "", known);
        let name = self
            .required(map, "", "name", "")
            .and_then(|value| self.name(value, "name"));
        let project = match optional(map, "project") {
            Some(value) => self.name(value, "project"),
            None => Some(super::job::DEFAULT_PROJECT.to_owned()),
        };
        Some(DocumentHead { map, name, project })
    }
}

/// The value of an optional field; `null` (an empty YAML value) counts as absent.
pub(super) fn optional<'v>(map: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    map.get(key).filter(|value| !value.is_null())
}

/// Path of a field: `tasks[0]` + `env` → `tasks[0].env`; keys that are not plain
/// identifiers are quoted: `env["MY VAR"]`.
pub(super) fn child(path: &str, key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (true, false) => format!("[{key:?}]"),
        (false, true) => format!("{path}.{key}"),
        (false, false) => format!("{path}[{key:?}]"),
    }
}

/// Path of a list item: `tasks` + 2 → `tasks[2]`.
pub(super) fn item(path: &str, idx: usize) -> String {
    format!("{path}[{idx}]")
}

/// How a value's type reads in a message.
pub(super) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}
