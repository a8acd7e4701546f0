//! Validation of an `http` task's fields.

use super::fields::{Problems, child, item, optional};
use super::kind::KindFields;
use super::names::suggest;
use super::task_kind::{ExpectJson, HTTP_METHODS, TaskKind};
use crate::template::is_template;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

const EXPECT_JSON_FIELDS: &[&str] = &["path", "equals"];

/// Reads method, url, headers, body, expect_status and expect_json.
pub(super) fn read_http(
    map: &Map<String, Value>,
    path: &str,
    problems: &mut Problems,
    missing: &mut Problems,
) -> Option<TaskKind> {
    let fields = KindFields { map, path };
    let method = match optional(map, "method") {
        Some(value) => read_method(value, &child(path, "method"), problems),
        None => Some("GET".to_owned()),
    };
    let url = fields
        .required_text("url", "http", problems, missing)
        .and_then(|url| {
            let url_path = child(path, "url");
            // A templated URL is checked once rendered, by the executor.
            let plain_http = url.starts_with("http://") || url.starts_with("https://");
            if !plain_http && !is_template(&url) {
                problems.push(
                    &url_path,
                    format!("expected an http:// or https:// URL, found {url:?}"),
                );
                return None;
            }
            Some(url)
        });
    let headers = match optional(map, "headers") {
        Some(value) => read_headers(value, &child(path, "headers"), problems),
        None => Some(BTreeMap::new()),
    };
    let body = match optional(map, "body") {
        Some(value) => {
            let body_path = child(path, "body");
            problems.string(value, &body_path).map(|text| {
                problems.template(text, &body_path);
                Some(text.to_owned())
            })
        }
        None => Some(None),
    };
    let expect_status = match optional(map, "expect_status") {
        Some(value) => read_expect_status(value, &child(path, "expect_status"), problems),
        None => Some(Vec::new()),
    };
    let expect_json = match optional(map, "expect_json") {
        Some(value) => read_expect_json(value, &child(path, "expect_json"), problems).map(Some),
        None => Some(None),
    };
    Some(TaskKind::Http {
        method: method?,
        url: url?,
        headers: headers?,
        body: body?,
        expect_status: expect_status?,
        expect_json: expect_json?,
    })
}

/// A method in any case, stored in upper case.
fn read_method(value: &Value, path: &str, problems: &mut Problems) -> Option<String> {
    let text = problems.string(value, path)?;
    let upper = text.to_ascii_uppercase();
    if HTTP_METHODS.contains(&upper.as_str()) {
        return Some(upper);
    }
    let hint = suggest(&upper, HTTP_METHODS.iter().copied())
        .map(|close| format!(", did you mean {close:?}?"))
        .unwrap_or_default();
    problems.push(
        path,
        format!(
            "unknown HTTP method {text:?} (one of {}){hint}",
            HTTP_METHODS.join(", ")
        ),
    );
    None
}

/// Header names are HTTP tokens; values are single-line templated text.
fn read_headers(
    value: &Value,
    path: &str,
    problems: &mut Problems,
) -> Option<BTreeMap<String, String>> {
    let map = problems.mapping(value, path)?;
    let n_before = problems.count();
    let mut headers = BTreeMap::new();
    for (name, value) in map {
        let header_path = child(path, name);
        let same_name = headers
            .keys()
            .find(|known: &&String| known.eq_ignore_ascii_case(name));
        if let Some(known) = same_name {
            problems.push(
                &header_path,
                format!(
                    "duplicate header {name:?}: header names ignore case and {known:?} is \
                     already set"
                ),
            );
        }
        if !is_header_name(name) {
            problems.push(
                &header_path,
                format!(
                    "invalid header name {name:?}: use letters, digits and \
                     !#$%&'*+-.^_`|~, without spaces"
                ),
            );
        }
        let Some(text) = problems.scalar_string(value, &header_path) else {
            continue;
        };
        if text.contains(['\r', '\n']) {
            problems.push(&header_path, "a header value must be a single line");
        }
        problems.template(&text, &header_path);
        headers.insert(name.clone(), text);
    }
    (problems.count() == n_before).then_some(headers)
}

/// Whether `name` is an HTTP token (RFC 9110, section 5.6.2).
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

/// A list of distinct status codes, each from 100 to 599.
fn read_expect_status(value: &Value, path: &str, problems: &mut Problems) -> Option<Vec<u16>> {
    let items = problems.list(value, path)?;
    let n_before = problems.count();
    let mut statuses: Vec<u16> = Vec::with_capacity(items.len());
    for (status_idx, status) in items.iter().enumerate() {
        let status_path = item(path, status_idx);
        let Some(status) = problems
            .integer(status, &status_path, 100, 599)
            .and_then(|status| u16::try_from(status).ok())
        else {
            continue;
        };
        if let Some(first_idx) = statuses.iter().position(|known| *known == status) {
            problems.push(
                &status_path,
                format!("duplicate status {status} (already listed at expect_status[{first_idx}])"),
            );
        }
        statuses.push(status);
    }
    // Order does not matter; sorted, the same statuses give the same canonical text.
    statuses.sort_unstable();
    (problems.count() == n_before).then_some(statuses)
}

/// `{path: "$.status", equals: "ok"}`; `equals: null` expects a JSON null.
fn read_expect_json(value: &Value, path: &str, problems: &mut Problems) -> Option<ExpectJson> {
    let map = problems.mapping(value, path)?;
    problems.unknown_fields(map, path, EXPECT_JSON_FIELDS);
    let json_path_path = child(path, "path");
    let json_path = problems
        .required(map, path, "path", " (such as \"$.status\")")
        .and_then(|value| problems.string(value, &json_path_path))
        .and_then(|text| {
            if !text.starts_with('$') {
                problems.push(
                    &json_path_path,
                    format!("must start with \"$\" (such as \"$.status\"), found {text:?}"),
                );
                return None;
            }
            Some(text.to_owned())
        });
    let equals = map.get("equals").cloned();
    if equals.is_none() {
        problems.push(
            &child(path, "equals"),
            "missing required field \"equals\" (the value expected at the path)",
        );
    }
    Some(ExpectJson {
        path: json_path?,
        equals: equals?,
    })
}
