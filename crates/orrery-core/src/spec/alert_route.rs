//! Validation of a `kind: AlertRoute` document: a project's route tree (which
//! receivers get which alerts, grouped and timed how) and its inhibit rules.

use super::error::SpecErrors;
use super::fields::{Problems, child, item, optional};
use crate::duration::HumanDuration;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

const DOCUMENT_FIELDS: &[&str] = &["kind", "name", "project", "route", "inhibit"];
const ROUTE_FIELDS: &[&str] = &[
    "matchers",
    "receiver",
    "group_by",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "send_resolved",
    "continue",
    "routes",
];
const INHIBIT_FIELDS: &[&str] = &["source_matchers", "target_matchers", "equal"];

/// Bounds on what one document may hold.
const MAX_DEPTH: usize = 10;
const MAX_ROUTES: usize = 500;
const MAX_INHIBIT_RULES: usize = 100;
const MAX_LABELS: usize = 32;

/// A project's alert routing, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertRouteSpec {
    pub name: String,
    pub project: String,
    pub route: RouteSpec,
    pub inhibit: Vec<InhibitSpec>,
}

/// One route; settings left out are the parent's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteSpec {
    pub matchers: BTreeMap<String, String>,
    pub receiver: Option<String>,
    pub group_by: Option<Vec<String>>,
    pub group_wait: Option<Duration>,
    pub group_interval: Option<Duration>,
    pub repeat_interval: Option<Duration>,
    pub send_resolved: Option<bool>,
    pub continue_matching: bool,
    pub routes: Vec<RouteSpec>,
}

/// An inhibit rule: a firing source mutes targets that agree on `equal`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InhibitSpec {
    pub source_matchers: BTreeMap<String, String>,
    pub target_matchers: BTreeMap<String, String>,
    pub equal: Vec<String>,
}

impl AlertRouteSpec {
    /// The document as canonical JSON, which `parse_document` reads back as the same.
    pub fn to_canonical_json(&self) -> String {
        let inhibit: Vec<Value> = self
            .inhibit
            .iter()
            .map(|rule| {
                json!({
                    "source_matchers": rule.source_matchers,
                    "target_matchers": rule.target_matchers,
                    "equal": rule.equal,
                })
            })
            .collect();
        json!({
            "kind": "AlertRoute",
            "name": self.name,
            "project": self.project,
            "route": route_json(&self.route),
            "inhibit": inhibit,
        })
        .to_string()
    }
}

fn route_json(route: &RouteSpec) -> Value {
    let mut map = Map::new();
    if !route.matchers.is_empty() {
        map.insert("matchers".to_owned(), json!(route.matchers));
    }
    if let Some(receiver) = &route.receiver {
        map.insert("receiver".to_owned(), json!(receiver));
    }
    if let Some(group_by) = &route.group_by {
        map.insert("group_by".to_owned(), json!(group_by));
    }
    for (key, duration) in [
        ("group_wait", route.group_wait),
        ("group_interval", route.group_interval),
        ("repeat_interval", route.repeat_interval),
    ] {
        if let Some(duration) = duration {
            map.insert(key.to_owned(), json!(HumanDuration(duration).to_string()));
        }
    }
    if let Some(send_resolved) = route.send_resolved {
        map.insert("send_resolved".to_owned(), json!(send_resolved));
    }
    if route.continue_matching {
        map.insert("continue".to_owned(), json!(true));
    }
    if !route.routes.is_empty() {
        let routes: Vec<Value> = route.routes.iter().map(route_json).collect();
        map.insert("routes".to_owned(), Value::Array(routes));
    }
    Value::Object(map)
}

/// Checks a parsed `AlertRoute` document, reporting every problem at once.
pub(super) fn validate_alert_route(document: &Value) -> Result<AlertRouteSpec, SpecErrors> {
    let mut problems = Problems::default();
    let read = read_document(document, &mut problems);
    problems.finish(read, "the alert route")
}

fn read_document(document: &Value, problems: &mut Problems) -> Option<AlertRouteSpec> {
    let head = problems.document_head(document, DOCUMENT_FIELDS)?;
    let (map, name, project) = (head.map, head.name, head.project);
    let mut n_routes = 0;
    let route = problems
        .required(map, "", "route", " (the root route, with its receiver)")
        .and_then(|value| read_route(value, "route", 0, &mut n_routes, problems));
    if let Some(root) = &route {
        if root.receiver.is_none() {
            problems.push(
                "route.receiver",
                "the root route needs a receiver: it takes every alert no other route takes",
            );
        }
        if !root.matchers.is_empty() {
            problems.push(
                "route.matchers",
                "the root route takes every alert; put matchers on routes under it",
            );
        }
        if root.continue_matching {
            problems.push(
                "route.continue",
                "the root route has no siblings to continue to",
            );
        }
    }
    let inhibit = match optional(map, "inhibit") {
        Some(value) => read_inhibit(value, problems)?,
        None => Vec::new(),
    };
    Some(AlertRouteSpec {
        name: name?,
        project: project?,
        route: route?,
        inhibit,
    })
}

fn read_route(
    value: &Value,
    path: &str,
    depth: usize,
    n_routes: &mut usize,
    problems: &mut Problems,
) -> Option<RouteSpec> {
    *n_routes += 1;
    if depth > MAX_DEPTH || *n_routes > MAX_ROUTES {
        problems.push(
            path,
            format!("routes nest at most {MAX_DEPTH} deep and number at most {MAX_ROUTES}"),
        );
        return None;
    }
    let map = problems.mapping(value, path)?;
    problems.unknown_fields(map, path, ROUTE_FIELDS);
    let matchers = match optional(map, "matchers") {
        Some(value) => read_matchers(value, &child(path, "matchers"), problems)?,
        None => BTreeMap::new(),
    };
    let receiver =
        optional(map, "receiver").and_then(|v| problems.name(v, &child(path, "receiver")));
    let group_by = optional(map, "group_by")
        .and_then(|v| read_label_names(v, &child(path, "group_by"), problems));
    let duration =
        |key: &str, (minimum, maximum): (Duration, Duration), problems: &mut Problems| {
            let path = child(path, key);
            let duration = optional(map, key).and_then(|v| problems.duration(v, &path))?;
            if duration.as_std() < minimum || duration.as_std() > maximum {
                problems.push(
                    &path,
                    format!(
                        "{duration} is out of range: from {} to {}",
                        HumanDuration(minimum),
                        HumanDuration(maximum)
                    ),
                );
                return None;
            }
            Some(duration.as_std())
        };
    const HOUR: u64 = 3600;
    let group_wait = duration(
        "group_wait",
        (Duration::ZERO, Duration::from_secs(HOUR)),
        problems,
    );
    let group_interval = duration(
        "group_interval",
        (Duration::from_secs(1), Duration::from_secs(24 * HOUR)),
        problems,
    );
    let repeat_interval = duration(
        "repeat_interval",
        (Duration::from_secs(60), Duration::from_secs(30 * 24 * HOUR)),
        problems,
    );
    let send_resolved = optional(map, "send_resolved")
        .and_then(|v| problems.boolean(v, &child(path, "send_resolved")));
    let continue_matching = optional(map, "continue")
        .and_then(|v| problems.boolean(v, &child(path, "continue")))
        .unwrap_or(false);
    let mut routes = Vec::new();
    if let Some(children) =
        optional(map, "routes").and_then(|v| problems.list(v, &child(path, "routes")))
    {
        for (idx, child_value) in children.iter().enumerate() {
            let child_path = item(&child(path, "routes"), idx);
            if let Some(route) = read_route(child_value, &child_path, depth + 1, n_routes, problems)
            {
                routes.push(route);
            }
        }
    }
    Some(RouteSpec {
        matchers,
        receiver,
        group_by,
        group_wait,
        group_interval,
        repeat_interval,
        send_resolved,
        continue_matching,
        routes,
    })
}

fn read_inhibit(value: &Value, problems: &mut Problems) -> Option<Vec<InhibitSpec>> {
    let rules = problems.list(value, "inhibit")?;
    if rules.len() > MAX_INHIBIT_RULES {
        problems.push(
            "inhibit",
            format!(
                "lists {} rules; the limit is {MAX_INHIBIT_RULES}",
                rules.len()
            ),
        );
        return None;
    }
    let mut read = Vec::new();
    for (idx, rule) in rules.iter().enumerate() {
        let path = item("inhibit", idx);
        let Some(map) = problems.mapping(rule, &path) else {
            continue;
        };
        problems.unknown_fields(map, &path, INHIBIT_FIELDS);
        let side = |key: &str, problems: &mut Problems| {
            let value = problems.required(map, &path, key, " (label: value pairs)")?;
            let matchers = read_matchers(value, &child(&path, key), problems)?;
            if matchers.is_empty() {
                problems.push(
                    &child(&path, key),
                    "needs at least one label: an empty set would match every alert",
                );
                return None;
            }
            Some(matchers)
        };
        let source_matchers = side("source_matchers", problems);
        let target_matchers = side("target_matchers", problems);
        let equal = match optional(map, "equal") {
            Some(value) => read_label_names(value, &child(&path, "equal"), problems),
            None => Some(Vec::new()),
        };
        if let (Some(source_matchers), Some(target_matchers), Some(equal)) =
            (source_matchers, target_matchers, equal)
        {
            read.push(InhibitSpec {
                source_matchers,
                target_matchers,
                equal,
            });
        }
    }
    Some(read)
}

/// `{label: value, …}`: values are strings (numbers and booleans read as text).
fn read_matchers(
    value: &Value,
    path: &str,
    problems: &mut Problems,
) -> Option<BTreeMap<String, String>> {
    let map: &Map<String, Value> = problems.mapping(value, path)?;
    if map.len() > MAX_LABELS {
        problems.push(
            path,
            format!("names {} labels; the limit is {MAX_LABELS}", map.len()),
        );
        return None;
    }
    let mut matchers = BTreeMap::new();
    for (label, value) in map {
        let label_path = child(path, label);
        if let Some(problem) = label_name_problem(label) {
            problems.push(&label_path, problem);
            continue;
        }
        if let Some(value) = problems.scalar_string(value, &label_path) {
            matchers.insert(label.clone(), value);
        }
    }
    Some(matchers)
}

fn read_label_names(value: &Value, path: &str, problems: &mut Problems) -> Option<Vec<String>> {
    let names = problems.list(value, path)?;
    if names.len() > MAX_LABELS {
        problems.push(
            path,
            format!("lists {} labels; the limit is {MAX_LABELS}", names.len()),
        );
        return None;
    }
    let mut read = Vec::new();
    for (idx, name) in names.iter().enumerate() {
        let name_path = item(path, idx);
        let Some(text) = problems.string(name, &name_path) else {
            continue;
        };
        match label_name_problem(text) {
            Some(problem) => problems.push(&name_path, problem),
            None => read.push(text.to_owned()),
        }
    }
    Some(read)
}

/// Label names are Prometheus's: a letter or `_`, then letters, digits or `_`.
fn label_name_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if first_ok && rest_ok && name.len() <= 64 {
        None
    } else {
        Some(format!(
            "{name:?} is not a label name: a letter or _, then letters, digits or _ (at most 64)"
        ))
    }
}

#[cfg(test)]
#[path = "alert_route_tests.rs"]
mod tests;
