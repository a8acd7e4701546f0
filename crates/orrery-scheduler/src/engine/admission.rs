//! Concurrency policy: whether a new run of a job may start now, must wait, replaces
//! the active run, or is skipped.

/// A job's concurrency policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Concurrency {
    /// Any number of runs at once, up to `max_active_runs`; beyond it they wait.
    Allow,
    /// A fire while a run is active is skipped.
    Forbid,
    /// A fire cancels the active runs and starts anew.
    Replace,
    /// A fire while a run is active waits for it (bounded).
    Queue,
}

/// What to do with a new scheduled fire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Create the run; it starts when the job has room (see [`may_start`]).
    Create,
    /// Cancel the job's active runs, then create the run.
    ReplaceActive,
    /// Do not create a run; record the fire as skipped for this reason.
    Skip(String),
}

/// Decides a new fire given the job's runs that are running and waiting to start.
pub fn admit_fire(
    policy: Concurrency,
    running: usize,
    waiting: usize,
    max_waiting: usize,
) -> Admission {
    match policy {
        Concurrency::Forbid if running + waiting > 0 => Admission::Skip(format!(
            "concurrency forbid: {} run(s) of the job still active",
            running + waiting
        )),
        Concurrency::Replace if running + waiting > 0 => Admission::ReplaceActive,
        Concurrency::Allow | Concurrency::Queue if waiting >= max_waiting => {
            Admission::Skip(format!(
                "concurrency {}: {waiting} run(s) already waiting to start (the limit)",
                if policy == Concurrency::Queue {
                    "queue"
                } else {
                    "allow"
                }
            ))
        }
        _ => Admission::Create,
    }
}

/// Whether one more run of the job may start while `running` are running.
pub fn may_start(policy: Concurrency, running: usize, max_active_runs: u32) -> bool {
    let cap = match policy {
        Concurrency::Queue | Concurrency::Forbid | Concurrency::Replace => 1,
        Concurrency::Allow => max_active_runs as usize,
    };
    running < cap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbid_skips_while_active_and_records_why() {
        assert_eq!(admit_fire(Concurrency::Forbid, 0, 0, 10), Admission::Create);
        let skip = admit_fire(Concurrency::Forbid, 1, 0, 10);
        assert!(
            matches!(&skip, Admission::Skip(reason) if reason.contains("forbid")),
            "{skip:?}"
        );
    }

    #[test]
    fn replace_cancels_the_active_run() {
        assert_eq!(
            admit_fire(Concurrency::Replace, 1, 0, 10),
            Admission::ReplaceActive
        );
        assert_eq!(
            admit_fire(Concurrency::Replace, 0, 0, 10),
            Admission::Create
        );
    }

    #[test]
    fn queue_and_allow_wait_up_to_a_bound() {
        assert_eq!(admit_fire(Concurrency::Queue, 1, 3, 10), Admission::Create);
        assert!(matches!(
            admit_fire(Concurrency::Queue, 1, 10, 10),
            Admission::Skip(_)
        ));
        assert!(matches!(
            admit_fire(Concurrency::Allow, 16, 10, 10),
            Admission::Skip(_)
        ));
    }

    #[test]
    fn start_caps() {
        assert!(may_start(Concurrency::Queue, 0, 16));
        assert!(!may_start(Concurrency::Queue, 1, 16));
        assert!(may_start(Concurrency::Allow, 15, 16));
        assert!(!may_start(Concurrency::Allow, 16, 16));
    }
}
