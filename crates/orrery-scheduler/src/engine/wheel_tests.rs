//! The wheel alone, and the wheel driving compiled schedules through simulated time.

use super::*;
use orrery_core::duration::HumanDuration;
use orrery_core::schedule::{ScheduleSpec, Trigger, compile};
use std::time::Duration;

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
}

#[test]
fn keys_pop_in_time_order_and_rearming_replaces() {
    let mut wheel = TimerWheel::default();
    wheel.arm(1, at(30));
    wheel.arm(2, at(10));
    wheel.arm(3, at(20));
    wheel.arm(1, at(5));
    assert_eq!(wheel.len(), 3);
    assert_eq!(wheel.next_deadline(), Some(at(5)));
    assert_eq!(wheel.pop_due(at(20)), vec![1, 2, 3]);
    assert!(wheel.is_empty());
    wheel.arm(4, at(50));
    wheel.disarm(4);
    wheel.disarm(99);
    assert_eq!(wheel.pop_due(at(100)), Vec::<i32>::new());
}

/// Drives `n_jobs` every-second schedules through `seconds` of simulated time, one
/// tick per second, and checks every job fired exactly once per second, in order.
fn simulate(n_jobs: usize, seconds: i64) {
    let spec = ScheduleSpec::new(Trigger::Every(HumanDuration(Duration::from_secs(1))));
    let schedule = compile(&spec, chrono_tz::Tz::UTC).expect("compiles");
    let start = at(0);
    let mut wheel = TimerWheel::default();
    let mut expected: Vec<DateTime<Utc>> = Vec::with_capacity(n_jobs);
    for job in 0..n_jobs {
        let first = schedule.next_after(start).expect("fires");
        wheel.arm(job, first);
        expected.push(first);
    }
    let mut fires = 0_u64;
    for tick in 1..=seconds {
        let now = start + chrono::Duration::seconds(tick);
        let due = wheel.pop_due(now);
        assert_eq!(due.len(), n_jobs, "every job fires each second (t={tick})");
        for job in due {
            let fire = expected[job];
            assert_eq!(fire, now, "job {job} fired for {fire} at {now}");
            let next = schedule.next_after(now).expect("fires again");
            assert!(next > fire, "fires move forward");
            expected[job] = next;
            wheel.arm(job, next);
            fires += 1;
        }
    }
    assert_eq!(fires, n_jobs as u64 * seconds as u64);
}

/// 36 million fires: about a minute in a debug build.
#[test]
fn ten_thousand_every_second_jobs_fire_once_per_second_for_a_simulated_hour() {
    simulate(10_000, 3600);
}
