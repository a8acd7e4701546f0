//! A validated `kind: AlertRoute` spec as the router takes it.

use crate::inhibit::InhibitRule;
use crate::labels::Matchers;
use crate::route::Route;
use chrono::TimeDelta;
use orrery_core::spec::{AlertRouteSpec, InhibitSpec, RouteSpec};

/// The route tree and inhibit rules of a project's `AlertRoute`.
pub fn router_config(spec: &AlertRouteSpec) -> (Route, Vec<InhibitRule>) {
    (
        route_of(&spec.route),
        spec.inhibit.iter().map(inhibit_rule_of).collect(),
    )
}

fn route_of(spec: &RouteSpec) -> Route {
    // Validation bounds every duration far below TimeDelta's range.
    let delta = |d: std::time::Duration| TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX);
    Route {
        matchers: Matchers(spec.matchers.clone()),
        receiver: spec.receiver.clone(),
        group_by: spec.group_by.clone(),
        group_wait: spec.group_wait.map(delta),
        group_interval: spec.group_interval.map(delta),
        repeat_interval: spec.repeat_interval.map(delta),
        send_resolved: spec.send_resolved,
        continue_matching: spec.continue_matching,
        routes: spec.routes.iter().map(route_of).collect(),
    }
}

fn inhibit_rule_of(spec: &InhibitSpec) -> InhibitRule {
    InhibitRule {
        source_matchers: Matchers(spec.source_matchers.clone()),
        target_matchers: Matchers(spec.target_matchers.clone()),
        equal: spec.equal.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::labels;
    use orrery_core::spec::{SpecFormat, parse_alert_route};

    #[test]
    fn a_spec_routes_as_written() {
        let spec = parse_alert_route(
            "kind: AlertRoute\nname: default\nroute:\n  receiver: hook\n  group_wait: 10s\n  routes:\n    - {matchers: {severity: critical}, receiver: ding, continue: true}\n    - {matchers: {alertname: SlaMissed}, receiver: mail}\n",
            SpecFormat::Yaml,
        )
        .expect("valid");
        let (route, inhibit) = router_config(&spec);
        assert!(inhibit.is_empty());
        let found = route.matches(&labels([
            ("alertname", "SlaMissed"),
            ("severity", "critical"),
        ]));
        let receivers: Vec<&str> = found.iter().map(|m| m.receiver.as_str()).collect();
        assert_eq!(receivers, ["ding", "mail"]);
        assert!(
            found
                .iter()
                .all(|m| m.timings.group_wait == TimeDelta::seconds(10))
        );
    }
}
