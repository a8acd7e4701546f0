//! This process's resource use as Linux reports it in `/proc/self`: CPU time and
//! resident memory. The server runs in this process, so these cover the server (and
//! the harness's own, lighter, client side).

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
            ticks_per_second: clock_ticks_per_second(),
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

/// `utime + stime` of this process in clock ticks, from `/proc/self/stat`.
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_stat_ticks(&stat)
}

/// Fields 14 (utime) and 15 (stime) of `stat`. The command name (field 2) is in
/// parentheses and may hold spaces, so fields are counted after its closing one.
fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// `getconf CLK_TCK`, the unit of `/proc/self/stat` times; 100 if unavailable (the
/// value on every common Linux build).
fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .filter(|ticks| *ticks > 0)
        .unwrap_or(100)
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

    #[test]
    fn adds_user_and_system_ticks_after_the_command_name() {
        let stat = "4242 (orrery bench) S 1 4242 4242 0 -1 4194560 900 0 0 0 \
                    150 25 0 0 20 0 9 0 1000 123456 789";
        assert_eq!(parse_stat_ticks(stat), Some(175));
        assert_eq!(parse_stat_ticks("garbage"), None);
    }
}
