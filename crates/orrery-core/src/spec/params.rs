//! Typed job params: their declaration and how a run's params are resolved from the
//! defaults and the values given when it starts.

use super::error::{SpecError, SpecErrors};
use super::job::JobSpec;
use super::names::suggest;
use super::policy::spec_enum;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

spec_enum! {
    /// The type of a typed param.
    ParamType {
        String => "string",
        /// A whole number (`i64` or `u64`).
        Int => "int",
        /// Any number.
        Number => "number",
        Bool => "bool",
        List => "list",
        Object => "object",
    }
}

impl ParamType {
    /// Whether `value` has this type as is (no coercion).
    pub fn matches(self, value: &Value) -> bool {
        match self {
            ParamType::String => value.is_string(),
            ParamType::Int => value.is_i64() || value.is_u64(),
            ParamType::Number => value.is_number(),
            ParamType::Bool => value.is_boolean(),
            ParamType::List => value.is_array(),
            ParamType::Object => value.is_object(),
        }
    }

    /// The type as a message reads it: "an int", "a list".
    pub(super) fn described(self) -> &'static str {
        match self {
            ParamType::String => "a string",
            ParamType::Int => "an int",
            ParamType::Number => "a number",
            ParamType::Bool => "a bool",
            ParamType::List => "a list",
            ParamType::Object => "an object",
        }
    }
}

/// A typed param, written `{type: int, required: false, default: 10, description: …}`.
///
/// Invariants of a parsed spec: `default` matches `kind`; a `required` param has no
/// default; the default is also in [`JobSpec::params`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    #[serde(rename = "type")]
    pub kind: ParamType,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `ORRERY_PARAM_<NAME>`: the param's name upper-cased, any character other than an
/// ASCII letter or digit as `_` (`who` → `ORRERY_PARAM_WHO`, `a-b` → `ORRERY_PARAM_A_B`).
pub fn param_env_name(name: &str) -> String {
    let suffix: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("ORRERY_PARAM_{suffix}")
}

/// The params of a run of `spec`: the defaults (plain ones and typed ones that have a
/// default) overlaid by `overrides`, every problem reported at once at `params.KEY`.
///
/// An override must name a declared param. A typed param's value must have its type,
/// with these coercions for values that arrive as text (from the CLI or a form) or as
/// a scalar where text is wanted:
/// - `int`: a string that parses as a whole number (`"10"` → `10`);
/// - `number`: a string that parses as a finite number (`"2.5"` → `2.5`);
/// - `bool`: the strings `"true"` and `"false"`;
/// - `string`: a number or a boolean, as its JSON text (`10` → `"10"`, since the CLI
///   sends `-p id=10` as a number);
/// - `list` and `object`: a string holding a JSON list or object.
///
/// `null` is never a valid value of a typed param. A required param without a value
/// is an error. Plain (untyped) params take any value as is.
pub fn resolve_params(
    spec: &JobSpec,
    overrides: &Map<String, Value>,
) -> Result<Map<String, Value>, SpecErrors> {
    let mut resolved: Map<String, Value> = spec
        .params
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    for (key, param) in &spec.param_types {
        if let (Some(default), false) = (&param.default, resolved.contains_key(key)) {
            resolved.insert(key.clone(), default.clone());
        }
    }

    let mut errors = Vec::new();
    for (key, value) in overrides {
        let path = format!("params.{key}");
        let declared = spec.params.contains_key(key) || spec.param_types.contains_key(key);
        if !declared {
            errors.push(SpecError::at(path, unknown_param_message(key, spec)));
            continue;
        }
        let value = match spec.param_types.get(key) {
            Some(param) => match coerce(param.kind, value) {
                Some(value) => value,
                None => {
                    errors.push(SpecError::at(
                        path,
                        format!(
                            "expected {}, found {}",
                            param.kind.described(),
                            describe_value(value)
                        ),
                    ));
                    continue;
                }
            },
            None => value.clone(),
        };
        resolved.insert(key.clone(), value);
    }
    for (key, param) in &spec.param_types {
        if param.required && !overrides.contains_key(key) {
            errors.push(SpecError::at(
                format!("params.{key}"),
                format!(
                    "missing required param {key:?} ({})",
                    param.kind.described()
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(resolved)
    } else {
        Err(SpecErrors(errors))
    }
}

fn unknown_param_message(key: &str, spec: &JobSpec) -> String {
    let mut declared: Vec<&str> = spec
        .params
        .keys()
        .chain(spec.param_types.keys())
        .map(String::as_str)
        .collect();
    declared.sort_unstable();
    declared.dedup();
    if declared.is_empty() {
        return format!("unknown param {key:?} (the job declares no params)");
    }
    let hint = suggest(key, declared.iter().copied())
        .map(|close| format!(", did you mean {close:?}?"))
        .unwrap_or_default();
    format!(
        "unknown param {key:?} (declared params: {}){hint}",
        declared.join(", ")
    )
}

/// `value` as a value of type `kind`, coerced as [`resolve_params`] documents.
fn coerce(kind: ParamType, value: &Value) -> Option<Value> {
    if kind.matches(value) {
        return Some(value.clone());
    }
    match (kind, value) {
        (ParamType::Int, Value::String(text)) => {
            let text = text.trim();
            text.parse::<i64>()
                .map(Value::from)
                .or_else(|_| text.parse::<u64>().map(Value::from))
                .ok()
        }
        (ParamType::Number, Value::String(text)) => {
            let text = text.trim();
            if let Ok(int) = text.parse::<i64>() {
                return Some(Value::from(int));
            }
            text.parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
        }
        (ParamType::Bool, Value::String(text)) => match text.trim() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        (ParamType::String, Value::Number(_) | Value::Bool(_)) => {
            Some(Value::String(value.to_string()))
        }
        (ParamType::List | ParamType::Object, Value::String(text)) => {
            serde_json::from_str::<Value>(text)
                .ok()
                .filter(|parsed| kind.matches(parsed))
        }
        _ => None,
    }
}

/// How a value reads in a message: its type, and the value itself when short.
fn describe_value(value: &Value) -> String {
    let kind = super::fields::describe(value);
    match value {
        Value::String(text) if text.chars().count() <= 40 => format!("{kind} {text:?}"),
        Value::Number(number) => format!("{kind} {number}"),
        Value::Bool(flag) => format!("{kind} {flag}"),
        _ => kind.to_owned(),
    }
}

#[cfg(test)]
#[path = "params_tests.rs"]
mod tests;
