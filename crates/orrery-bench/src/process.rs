//! This process's resource use as Linux reports it in `/proc/self`: CPU time and
//! resident memory. The server runs in this process, so these cover the server (and
//! the harness's own, lighter, client side).

use crate::cpu_ticks::{CpuTicks, ticks_per_second};
use std::time::{Duration, Instant};

/// Resident set size now, in KiB (`VmRSS`); `None` off Linux.
pub(crate) fn rss_kib() -> Option<u64> {
    status_kib("VmRSS:")
}

/// Peak resident set size so far, in KiB (`VmHWM`); `None` off Linux.
pub(crate) fn peak_rss_kib() -> Option<u64> {
    status_kib("VmHWM:")
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_status_kib(&status, field)
}

fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with(field))?;
    line.trim_start_matches(field)
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// CPU time this process used between `start` and `share`.
pub(crate) struct CpuMeter {
    ticks_at_start: u64,
    started: Instant,
    ticks_per_second: u64,
}

impl CpuMeter {
    /// Starts measuring; `None` off Linux.
    pub(crate) fn start() -> Option<Self> {
        Some(Self {
            ticks_at_start: cpu_ticks()?,
            started: Instant::now(),
            ticks_per_second: ticks_per_second(),
        })
    }

    /// CPU time (user + system, all threads) since `start` divided by the wall time
    /// since then: 1.0 is one core busy all the time, 2.0 both cores of this machine.
    pub(crate) fn cores_used(&self) -> Option<f64> {
        let ticks = cpu_ticks()?.checked_sub(self.ticks_at_start)?;
        let cpu = ticks as f64 / self.ticks_per_second as f64;
        Some(
            cpu / self
                .started
                .elapsed()
                .max(Duration::from_millis(1))
                .as_secs_f64(),
        )
    }
}

/// `utime + stime` of this process in clock ticks.
fn cpu_ticks() -> Option<u64> {
    CpuTicks::of_self().map(|ticks| ticks.own)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_fields_in_kib() {
        let status = "Name:\torrery-bench\nVmPeak:\t  900000 kB\nVmHWM:\t   41236 kB\n\
                      VmRSS:\t   30000 kB\n";
        assert_eq!(parse_status_kib(status, "VmHWM:"), Some(41236));
        assert_eq!(parse_status_kib(status, "VmRSS:"), Some(30000));
        assert_eq!(parse_status_kib("Name:\tx\n", "VmRSS:"), None);
    }
}
