//! What the figures were measured on.

use serde::Serialize;

/// The machine and build the harness runs on.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Machine {
    /// CPUs this process may use.
    pub(crate) cores: usize,
    pub(crate) arch: &'static str,
    pub(crate) os: &'static str,
    /// `release` or `debug`; debug figures are not comparable.
    pub(crate) profile: &'static str,
    /// UTC start time from `date -u`; left out if `date` is unavailable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) date: Option<String>,
}

impl Machine {
    pub(crate) fn probe() -> Self {
        Self {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            arch: std::env::consts::ARCH,
            os: std::env::consts::OS,
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            date: utc_date(),
        }
    }
}

/// The current UTC time as `date -u` prints it (ISO 8601). The harness reads no wall
/// clock itself: the project reads time only through its `Clock`, and a label for the
/// report does not warrant one.
fn utc_date() -> Option<String> {
    let output = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .ok()?;
    let date = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && !date.is_empty()).then_some(date)
}
