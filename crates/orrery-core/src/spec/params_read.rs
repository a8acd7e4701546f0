//! Validation of a job's `params:`: plain defaults and typed declarations.

use super::fields::{Problems, child, describe, optional};
use super::names::suggest;
use super::params::{ParamSpec, ParamType};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

const PARAM_FIELDS: &[&str] = &["type", "required", "default", "description"];

/// The defaults and the typed declarations of `params:`.
#[derive(Debug, Default)]
pub(super) struct Params {
    pub(super) defaults: BTreeMap<String, Value>,
    pub(super) types: BTreeMap<String, ParamSpec>,
}

/// Reads `params:`: a value that is a mapping with a `type` key declares a typed param;
/// any other value is a plain default.
pub(super) fn read_params(value: &Value, path: &str, problems: &mut Problems) -> Option<Params> {
    let map = problems.mapping(value, path)?;
    let n_before = problems.count();
    let mut params = Params::default();
    for (key, value) in map {
        let param_path = child(path, key);
        match value {
            Value::Object(declaration) if declaration.contains_key("type") => {
                let Some(param) = read_param_spec(declaration, &param_path, problems) else {
                    continue;
                };
                if let Some(default) = &param.default {
                    params.defaults.insert(key.clone(), default.clone());
                }
                params.types.insert(key.clone(), param);
            }
            plain => {
                params.defaults.insert(key.clone(), plain.clone());
            }
        }
    }
    (problems.count() == n_before).then_some(params)
}

fn read_param_spec(
    map: &Map<String, Value>,
    path: &str,
    problems: &mut Problems,
) -> Option<ParamSpec> {
    let n_before = problems.count();
    problems.unknown_fields(map, path, PARAM_FIELDS);
    let type_path = child(path, "type");
    let kind = optional(map, "type")
        .and_then(|value| problems.string(value, &type_path))
        .and_then(|text| {
            let kind = ParamType::from_name(text);
            if kind.is_none() {
                let hint = suggest(text, ParamType::ALL.iter().map(|kind| kind.as_str()))
                    .map(|close| format!(", did you mean {close:?}?"))
                    .unwrap_or_else(|| {
                        " (a plain default that is a mapping with a \"type\" key is written \
                         {type: object, default: {...}})"
                            .to_owned()
                    });
                let names: Vec<&str> = ParamType::ALL.iter().map(|kind| kind.as_str()).collect();
                problems.push(
                    &type_path,
                    format!(
                        "unknown param type {text:?} (one of {}){hint}",
                        names.join(", ")
                    ),
                );
            }
            kind
        });
    if optional(map, "type").is_none() {
        problems.push(
            &type_path,
            "must not be empty (one of string, int, number, bool, list, object)",
        );
    }
    let required_path = child(path, "required");
    let required = optional(map, "required")
        .and_then(|value| problems.boolean(value, &required_path))
        .unwrap_or(false);
    let default_path = child(path, "default");
    let default = optional(map, "default").cloned();
    if let (Some(kind), Some(default)) = (kind, &default)
        && !kind.matches(default)
    {
        problems.push(
            &default_path,
            format!("expected {}, found {}", kind.described(), describe(default)),
        );
    }
    if required && default.is_some() {
        problems.push(
            &required_path,
            "a required param cannot have a default (drop \"required\" or the default)",
        );
    }
    let description = optional(map, "description")
        .and_then(|value| problems.string(value, &child(path, "description")))
        .map(str::to_owned);
    if problems.count() > n_before {
        return None;
    }
    Some(ParamSpec {
        kind: kind?,
        required,
        default,
        description,
    })
}
