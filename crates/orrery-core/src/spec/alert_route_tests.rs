//! `kind: AlertRoute` documents: the issue's example reads whole, and mistakes are
//! reported all at once with their field paths.

use crate::spec::{SpecFormat, parse_alert_route};
use std::time::Duration;

const EXAMPLE: &str = r#"
kind: AlertRoute
name: default
project: payments
route:
  receiver: audit-hook
  group_by: [job]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  send_resolved: true
  routes:
    - {matchers: {severity: critical}, receiver: oncall-dingtalk, continue: true}
    - {matchers: {alertname: SlaMissed}, receiver: oncall-mail}
inhibit:
  - {source_matchers: {alertname: WorkerLost}, target_matchers: {alertname: TaskFailed}, equal: [worker]}
"#;

fn problems(text: &str) -> Vec<(String, String)> {
    parse_alert_route(text, SpecFormat::Yaml)
        .expect_err("invalid")
        .0
        .into_iter()
        .map(|e| (e.path, e.message))
        .collect()
}

#[test]
fn the_example_reads_whole() {
    let spec = parse_alert_route(EXAMPLE, SpecFormat::Yaml).expect("valid");
    assert_eq!(
        (spec.name.as_str(), spec.project.as_str()),
        ("default", "payments")
    );
    let root = &spec.route;
    assert_eq!(root.receiver.as_deref(), Some("audit-hook"));
    assert_eq!(root.group_by.as_deref(), Some(&["job".to_owned()][..]));
    assert_eq!(root.group_wait, Some(Duration::from_secs(30)));
    assert_eq!(root.repeat_interval, Some(Duration::from_secs(4 * 3600)));
    assert_eq!(root.send_resolved, Some(true));
    assert_eq!(root.routes.len(), 2);
    assert!(root.routes[0].continue_matching);
    assert_eq!(
        root.routes[1].matchers.get("alertname").map(String::as_str),
        Some("SlaMissed")
    );
    assert_eq!(root.routes[1].group_wait, None, "left to the parent");
    assert_eq!(spec.inhibit.len(), 1);
    assert_eq!(spec.inhibit[0].equal, ["worker"]);
}

#[test]
fn every_mistake_is_named_by_its_path() {
    let found = problems(
        r#"
kind: AlertRoute
name: default
route:
  matchers: {job: x}
  group_wait: soon
  repeat_interval: 10s
  routes:
    - {matchers: {"bad-label": x}, receiver: a, contineu: true}
    - {group_by: [job, 7]}
inhibit:
  - {source_matchers: {}, target_matchers: {alertname: TaskFailed}}
"#,
    );
    let paths: Vec<&str> = found.iter().map(|(path, _)| path.as_str()).collect();
    for expected in [
        "route.receiver",
        "route.matchers",
        "route.group_wait",
        "route.repeat_interval",
        "route.routes[0].matchers.bad-label",
        "route.routes[0].contineu",
        "route.routes[1].group_by[1]",
        "inhibit[0].source_matchers",
    ] {
        assert!(
            paths.contains(&expected),
            "{expected} missing from {found:?}"
        );
    }
    let unknown = found
        .iter()
        .find(|(path, _)| path == "route.routes[0].contineu")
        .map(|(_, message)| message.as_str())
        .unwrap_or_default();
    assert!(unknown.contains("did you mean \"continue\""), "{unknown}");
}

#[test]
fn a_tree_too_deep_is_refused_not_walked() {
    let mut text = String::from("kind: AlertRoute\nname: deep\nroute:\n  receiver: r\n");
    let mut indent = String::from("  ");
    for _ in 0..12 {
        text.push_str(&format!("{indent}routes:\n{indent}  - receiver: r\n"));
        indent.push_str("    ");
    }
    let found = problems(&text);
    assert!(
        found
            .iter()
            .any(|(_, message)| message.contains("nest at most")),
        "{found:?}"
    );
}
