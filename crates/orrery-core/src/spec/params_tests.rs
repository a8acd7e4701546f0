//! Tests of resolving a run's params against the job's declarations.

use super::*;
use crate::spec::{SpecFormat, parse_job_spec};
use serde_json::json;

const PARAMS: &str = "
name: j
params:
  region: cn
  date: {type: string, required: true, description: The day to load}
  limit: {type: int, default: 10}
  ratio: {type: number}
  dry_run: {type: bool, default: false}
  tables: {type: list, default: [a]}
  options: {type: object}
tasks: [{name: t, type: noop}]
";

/// Resolves `overrides` (a JSON object) against [`PARAMS`]: the resolved params or
/// the problems, one `path: message` per entry.
#[track_caller]
fn check(overrides: serde_json::Value, expected: Result<serde_json::Value, &[&str]>) {
    let spec = parse_job_spec(PARAMS, SpecFormat::Yaml).expect("valid spec");
    let Value::Object(overrides) = overrides else {
        panic!("overrides must be an object");
    };
    let actual = resolve_params(&spec, &overrides)
        .map(Value::Object)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>());
    let expected = expected.map_err(|lines| {
        lines
            .iter()
            .map(|line| (*line).to_owned())
            .collect::<Vec<_>>()
    });
    assert_eq!(actual, expected, "overrides: {overrides:?}");
}

#[test]
fn defaults_are_overlaid_by_overrides() {
    check(
        json!({"date": "2026-03-08"}),
        Ok(json!({
            "region": "cn", "date": "2026-03-08", "limit": 10, "dry_run": false, "tables": ["a"],
        })),
    );
    check(
        json!({
            "date": "d", "region": "us", "limit": 500, "ratio": 0.5, "dry_run": true,
            "tables": [], "options": {"x": 1},
        }),
        Ok(json!({
            "region": "us", "date": "d", "limit": 500, "ratio": 0.5, "dry_run": true,
            "tables": [], "options": {"x": 1},
        })),
    );
    // A plain param takes any value.
    check(
        json!({"date": "d", "region": [1, 2]}),
        Ok(json!({
            "region": [1, 2], "date": "d", "limit": 10, "dry_run": false, "tables": ["a"],
        })),
    );
}

#[test]
fn text_is_coerced_to_the_declared_type() {
    check(
        json!({
            "date": 20260308, "limit": "25", "ratio": "2.5", "dry_run": "true",
            "tables": "[\"x\", \"y\"]", "options": "{\"k\": 1}",
        }),
        Ok(json!({
            "region": "cn", "date": "20260308", "limit": 25, "ratio": 2.5, "dry_run": true,
            "tables": ["x", "y"], "options": {"k": 1},
        })),
    );
    check(
        json!({"date": true, "ratio": "7", "limit": " -3 "}),
        Ok(json!({
            "region": "cn", "date": "true", "limit": -3, "ratio": 7, "dry_run": false,
            "tables": ["a"],
        })),
    );
}

#[test]
fn every_bad_param_is_reported() {
    check(
        json!({
            "limit": "ten", "ratio": "nan", "dry_run": "yes", "tables": "[1", "options": [1],
            "regoin": "x", "zzz": 1, "date": null,
        }),
        Err(&[
            "params.date: expected a string, found null",
            "params.dry_run: expected a bool, found a string \"yes\"",
            "params.limit: expected an int, found a string \"ten\"",
            "params.options: expected an object, found a list",
            "params.ratio: expected a number, found a string \"nan\"",
            r#"params.regoin: unknown param "regoin" (declared params: date, dry_run, limit, options, ratio, region, tables), did you mean "region"?"#,
            "params.tables: expected a list, found a string \"[1\"",
            r#"params.zzz: unknown param "zzz" (declared params: date, dry_run, limit, options, ratio, region, tables)"#,
        ]),
    );
    check(
        json!({"limit": 1.5}),
        Err(&[
            "params.limit: expected an int, found a number 1.5",
            r#"params.date: missing required param "date" (a string)"#,
        ]),
    );
}

#[test]
fn a_job_without_params_takes_none() {
    let spec = parse_job_spec("name: j\ntasks: [{name: t, type: noop}]", SpecFormat::Yaml)
        .expect("valid spec");
    assert_eq!(resolve_params(&spec, &Map::new()), Ok(Map::new()));
    let overrides = json!({"x": 1});
    let errors =
        resolve_params(&spec, overrides.as_object().expect("object")).expect_err("unknown");
    assert_eq!(
        errors.to_string(),
        r#"params.x: unknown param "x" (the job declares no params)"#
    );
}

#[test]
fn hand_built_specs_use_typed_defaults_missing_from_params() {
    let mut spec = parse_job_spec(PARAMS, SpecFormat::Yaml).expect("valid spec");
    spec.params.remove("limit");
    let overrides = json!({"date": "d"});
    let resolved = resolve_params(&spec, overrides.as_object().expect("object")).expect("valid");
    assert_eq!(resolved.get("limit"), Some(&json!(10)));
}
