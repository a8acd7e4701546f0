//! Reads spec text (YAML or JSON) into a JSON value, locating syntax errors.

use super::error::{SpecError, SpecErrors};
use super::fields;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Parses YAML text into a value. Anchors, aliases and merge keys (`<<: *defaults`)
/// are resolved; scalar mapping keys (`1:`, `true:`) become strings.
pub(super) fn read_yaml(text: &str) -> Result<Value, SpecErrors> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(SpecError::at("", "the document is empty").into());
    }
    super::nesting::check_nesting(text)?;
    let mut yaml: yaml_serde::Value = yaml_serde::from_str(text).map_err(|error| {
        let location = error.location();
        let line = location.as_ref().map(|l| l.line());
        let column = location.as_ref().map(|l| l.column());
        let mut message = error.to_string();
        if line.is_some_and(|line| starts_with_reserved_indicator(text, line)) {
            message.push_str(
                " (a value starting with @ or * must be quoted in YAML, e.g. cron: \"@daily\")",
            );
        }
        syntax_error(message, line, column)
    })?;
    yaml.apply_merge()
        .map_err(|error| syntax_error(error.to_string(), None, None))?;
    let mut problems = Vec::new();
    let value = yaml_to_json(yaml, "", &mut problems);
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(SpecErrors(problems))
    }
}

/// Whether the value on 1-based `line` of `text` starts with `@` or `*`, which YAML
/// reads as a reserved indicator or an alias: a cron expression left unquoted.
fn starts_with_reserved_indicator(text: &str, line: usize) -> bool {
    let Some(line_text) = line.checked_sub(1).and_then(|idx| text.lines().nth(idx)) else {
        return false;
    };
    line_text
        .split_once(": ")
        .is_some_and(|(_, value)| value.trim_start().starts_with(['@', '*']))
}

/// Converts a YAML value, recording what JSON cannot hold at its path.
fn yaml_to_json(yaml: yaml_serde::Value, path: &str, problems: &mut Vec<SpecError>) -> Value {
    use yaml_serde::Value as Yaml;
    match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(flag) => Value::Bool(flag),
        Yaml::Number(number) => {
            let json = if let Some(int) = number.as_i64() {
                Some(Number::from(int))
            } else if let Some(uint) = number.as_u64() {
                Some(Number::from(uint))
            } else {
                number.as_f64().and_then(Number::from_f64)
            };
            json.map(Value::Number).unwrap_or_else(|| {
                problems.push(SpecError::at(
                    path,
                    format!("unsupported number {number} (not finite)"),
                ));
                Value::Null
            })
        }
        Yaml::String(text) => Value::String(text),
        Yaml::Sequence(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(idx, item)| yaml_to_json(item, &fields::item(path, idx), problems))
                .collect(),
        ),
        Yaml::Mapping(mapping) => {
            let mut entries = Map::new();
            for (key, value) in mapping {
                let key = match key {
                    Yaml::String(text) => text,
                    Yaml::Bool(flag) => flag.to_string(),
                    Yaml::Number(number) => number.to_string(),
                    Yaml::Null => "null".to_owned(),
                    Yaml::Sequence(_) | Yaml::Mapping(_) | Yaml::Tagged(_) => {
                        problems.push(SpecError::at(path, "mapping keys must be plain strings"));
                        continue;
                    }
                };
                let value_path = fields::child(path, &key);
                if entries.contains_key(&key) {
                    problems.push(SpecError::at(value_path, format!("duplicate key {key:?}")));
                    continue;
                }
                let value = yaml_to_json(value, &value_path, problems);
                entries.insert(key, value);
            }
            Value::Object(entries)
        }
        Yaml::Tagged(tagged) => {
            problems.push(SpecError::at(
                path,
                format!("YAML tags such as {} are not supported", tagged.tag),
            ));
            Value::Null
        }
    }
}

/// Parses JSON text into a value.
pub(super) fn read_json(text: &str) -> Result<Value, SpecErrors> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(SpecError::at("", "the document is empty").into());
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    Document::deserialize(&mut deserializer)
        .and_then(|document| deserializer.end().map(|()| document.0))
        .map_err(|error| {
            let known = |n: usize| (error.line() > 0).then_some(n);
            syntax_error(
                error.to_string(),
                known(error.line()),
                known(error.column()),
            )
            .into()
        })
}

/// Builds the error, dropping the parser's own " at line L column C" suffix since the
/// position is reported in its own fields.
fn syntax_error(message: String, line: Option<usize>, column: Option<usize>) -> SpecError {
    let message = match (line, column) {
        (Some(line), Some(column)) => {
            message.replacen(&format!(" at line {line} column {column}"), "", 1)
        }
        _ => message,
    };
    SpecError::syntax(line, column, message)
}

/// A JSON value built straight from the JSON parser, rejecting repeated keys (which
/// `serde_json::Value` would silently overwrite) with their position.
struct Document(Value);

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DocumentVisitor).map(Document)
    }
}

struct DocumentVisitor;

impl<'de> Visitor<'de> for DocumentVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-compatible value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        Number::from_f64(value)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("unsupported number {value} (not finite)")))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Document::deserialize(deserializer).map(|document| document.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(Document(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if entries.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            let Document(value) = map.next_value()?;
            entries.insert(key, value);
        }
        Ok(Value::Object(entries))
    }
}
