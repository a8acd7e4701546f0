//! Misfire handling: given the nominal fires that came due (oldest first), which run
//! and which are recorded as missed. A fire later than the misfire threshold counts as
//! missed (the scheduler was down, busy or the job paused) and the job's policy decides.

use chrono::{DateTime, Utc};

/// What to do with fires missed beyond the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Misfire {
    /// Run none of them.
    Skip,
    /// Run only the latest.
    RunOnce,
    /// Run them all, oldest first, up to a cap.
    RunAll { max_catchup: u32 },
}

/// Why fires were late.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LateCause {
    /// The scheduler was not running (or was too busy).
    Downtime,
    /// The job was paused.
    Paused,
}

/// The fate of one due fire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FirePlan {
    Run,
    /// Not run; `paused` says whether to record it as `paused` rather than `missed`.
    Drop {
        paused: bool,
        reason: String,
    },
}

/// Plans every due fire. `due` must be sorted oldest first and all `<= now`.
pub fn plan_due_fires(
    due: &[DateTime<Utc>],
    now: DateTime<Utc>,
    threshold: chrono::Duration,
    policy: Misfire,
    cause: LateCause,
) -> Vec<FirePlan> {
    let late: Vec<bool> = due.iter().map(|at| now - *at > threshold).collect();
    let n_late = late.iter().filter(|l| **l).count();
    let paused = cause == LateCause::Paused;
    let why = if paused {
        "the job was paused"
    } else {
        "the scheduler was not running"
    };
    let mut seen_late = 0;
    due.iter()
        .zip(&late)
        .map(|(at, is_late)| {
            if !is_late {
                return FirePlan::Run;
            }
            seen_late += 1;
            let late_by = format_late(now - *at);
            match policy {
                Misfire::Skip => FirePlan::Drop {
                    paused,
                    reason: format!("missed by {late_by} because {why}; misfire policy skip"),
                },
                Misfire::RunOnce if seen_late == n_late => FirePlan::Run,
                Misfire::RunOnce => FirePlan::Drop {
                    paused,
                    reason: format!(
                        "missed by {late_by} because {why}; misfire policy run_once ran only the latest missed fire"
                    ),
                },
                Misfire::RunAll { max_catchup } if seen_late <= max_catchup as usize => FirePlan::Run,
                Misfire::RunAll { max_catchup } => FirePlan::Drop {
                    paused,
                    reason: format!(
                        "missed by {late_by} because {why}; misfire policy run_all catches up at most {max_catchup} fires"
                    ),
                },
            }
        })
        .collect()
}

fn format_late(late: chrono::Duration) -> String {
    let seconds = late.num_seconds();
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s => format!("{}h{}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }

    fn runs(plans: &[FirePlan]) -> Vec<bool> {
        plans.iter().map(|p| *p == FirePlan::Run).collect()
    }

    const THRESHOLD: chrono::Duration = chrono::Duration::seconds(60);

    #[test]
    fn on_time_fires_always_run() {
        let due = [at(0), at(1), at(2)];
        for policy in [
            Misfire::Skip,
            Misfire::RunOnce,
            Misfire::RunAll { max_catchup: 1 },
        ] {
            let plans = plan_due_fires(&due, at(30), THRESHOLD, policy, LateCause::Downtime);
            assert_eq!(runs(&plans), vec![true, true, true], "{policy:?}");
        }
    }

    #[test]
    fn three_hours_down_with_each_policy() {
        // Hourly fires at 0h, 1h, 2h missed; 3h is on time.
        let due = [at(0), at(3600), at(7200), at(10800)];
        let now = at(10800 + 5);
        let skip = plan_due_fires(&due, now, THRESHOLD, Misfire::Skip, LateCause::Downtime);
        assert_eq!(runs(&skip), vec![false, false, false, true]);
        let once = plan_due_fires(&due, now, THRESHOLD, Misfire::RunOnce, LateCause::Downtime);
        assert_eq!(runs(&once), vec![false, false, true, true]);
        let all = plan_due_fires(
            &due,
            now,
            THRESHOLD,
            Misfire::RunAll { max_catchup: 100 },
            LateCause::Downtime,
        );
        assert_eq!(runs(&all), vec![true, true, true, true]);
        let capped = plan_due_fires(
            &due,
            now,
            THRESHOLD,
            Misfire::RunAll { max_catchup: 2 },
            LateCause::Downtime,
        );
        assert_eq!(
            runs(&capped),
            vec![true, true, false, true],
            "oldest first up to the cap"
        );
    }

    #[test]
    fn dropped_fires_say_why() {
        let plans = plan_due_fires(
            &[at(0)],
            at(3 * 3600),
            THRESHOLD,
            Misfire::Skip,
            LateCause::Paused,
        );
        match &plans[0] {
            FirePlan::Drop { paused, reason } => {
                assert!(paused);
                assert!(
                    reason.contains("3h0m") && reason.contains("paused"),
                    "{reason}"
                );
            }
            other => panic!("expected a drop, got {other:?}"),
        }
    }

    #[test]
    fn nothing_due_nothing_planned() {
        assert!(
            plan_due_fires(&[], at(0), THRESHOLD, Misfire::RunOnce, LateCause::Downtime).is_empty()
        );
    }
}
