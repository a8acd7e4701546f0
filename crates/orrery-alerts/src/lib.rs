//! Alerting: the alerts the scheduler raises and the router that turns them into
//! notifications, Alertmanager's model as pure functions of (alerts, silences, routes,
//! now): a route tree picks receivers, alerts are grouped, inhibited and silenced, and
//! each group is flushed on its own timers (wait, interval, repeat).

mod alert;
mod alert_loop;
pub mod channels;
mod delivery;
mod group;
mod inhibit;
mod labels;
pub mod message;
pub mod payload;
mod route;
mod route_spec;
mod routing;
mod silence;
mod snapshot;

pub use alert::{Alert, AlertName, Severity};
pub use alert_loop::{AlertLoopConfig, run_alert_loop};
pub use delivery::{MAX_ATTEMPTS, backoff, open_sealed, resolve_target, result_of};
pub use group::{GroupKey, Notification, Router};
pub use inhibit::{InhibitRule, builtin_inhibit_rules, inhibited};
pub use labels::{Labels, Matchers, fingerprint, labels};
pub use route::{Route, RouteMatch, RouteTimings};
pub use route_spec::router_config;
pub use silence::Silence;
pub use snapshot::{GroupSnapshot, RouterSnapshot};
