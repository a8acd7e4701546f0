//! CPU time of a process and of the children it waited for, as Linux counts it in
//! `/proc/<pid>/stat`, in clock ticks.

use std::ops::Add;

/// Clock ticks a process has used so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CpuTicks {
    /// `utime + stime`: all threads of the process itself.
    pub(crate) own: u64,
    /// `cutime + cstime`: its children, once it has waited for them.
    pub(crate) children: u64,
}

impl CpuTicks {
    /// This process's ticks; `None` off Linux.
    pub(crate) fn of_self() -> Option<Self> {
        Self::parse(&std::fs::read_to_string("/proc/self/stat").ok()?)
    }

    /// Process `pid`'s ticks; `None` off Linux or once it has been reaped.
    pub(crate) fn of_process(pid: u32) -> Option<Self> {
        Self::parse(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
    }

    /// The ticks used since `earlier` (zero where a counter went backwards).
    pub(crate) fn since(self, earlier: Self) -> Self {
        Self {
            own: self.own.saturating_sub(earlier.own),
            children: self.children.saturating_sub(earlier.children),
        }
    }

    /// Fields 14 to 17 (utime, stime, cutime, cstime) of `stat`. The command name
    /// (field 2) is in parentheses and may hold spaces, so fields are counted after its
    /// closing one.
    fn parse(stat: &str) -> Option<Self> {
        let after_name = &stat[stat.rfind(')')? + 1..];
        let mut fields = after_name
            .split_whitespace()
            .skip(11)
            .map(|field| field.parse::<u64>().ok());
        let mut next = || fields.next().flatten();
        let (utime, stime, cutime, cstime) = (next()?, next()?, next()?, next()?);
        Some(Self {
            own: utime + stime,
            children: cutime + cstime,
        })
    }
}

impl Add for CpuTicks {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            own: self.own + other.own,
            children: self.children + other.children,
        }
    }
}

/// `getconf CLK_TCK`, the unit of `/proc/<pid>/stat` times; 100 if unavailable (the
/// value on every common Linux build). It spawns `getconf`, so read it outside spans
/// whose CPU is measured.
pub(crate) fn ticks_per_second() -> u64 {
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
    fn reads_own_and_children_ticks_after_the_command_name() {
        let stat = "4242 (orrery bench) S 1 4242 4242 0 -1 4194560 900 0 0 0 \
                    150 25 7 3 20 0 9 0 1000 123456 789";
        assert_eq!(
            CpuTicks::parse(stat),
            Some(CpuTicks {
                own: 175,
                children: 10
            })
        );
        assert_eq!(CpuTicks::parse("garbage"), None);
    }

    #[test]
    fn since_subtracts_without_going_below_zero() {
        let later = CpuTicks {
            own: 10,
            children: 2,
        };
        let earlier = CpuTicks {
            own: 4,
            children: 5,
        };
        assert_eq!(
            later.since(earlier),
            CpuTicks {
                own: 6,
                children: 0
            }
        );
    }
}
