//! `LoopBeat`: when the scheduler's loop last turned, so `/readyz` can report a leader
//! whose loop is stuck (a store call that never returns, work that never yields).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Shared between the driver (which beats once per turn of its loop) and readers.
#[derive(Clone, Debug)]
pub struct LoopBeat {
    origin: Instant,
    /// Milliseconds since `origin` of the last beat, or `IDLE` when no driver runs.
    last: Arc<AtomicU64>,
}

const IDLE: u64 = u64::MAX;

impl Default for LoopBeat {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
            last: Arc::new(AtomicU64::new(IDLE)),
        }
    }
}

impl LoopBeat {
    /// The loop turned.
    pub(crate) fn beat(&self) {
        let elapsed = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(IDLE - 1);
        self.last.store(elapsed, Ordering::Relaxed);
    }

    /// No driver runs on this node (it stands by, or stopped).
    pub(crate) fn idle(&self) {
        self.last.store(IDLE, Ordering::Relaxed);
    }

    /// How long the running driver's loop has not turned; `None` when none runs here.
    pub fn silent_for(&self) -> Option<Duration> {
        let last = self.last.load(Ordering::Relaxed);
        if last == IDLE {
            return None;
        }
        let now = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(IDLE - 1);
        Some(Duration::from_millis(now.saturating_sub(last)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_measured_only_while_a_driver_runs() {
        let beat = LoopBeat::default();
        assert_eq!(beat.silent_for(), None);
        beat.beat();
        assert!(
            beat.silent_for()
                .is_some_and(|d| d < Duration::from_secs(60))
        );
        // A beat from long ago reads as a long silence.
        beat.last.store(0, Ordering::Relaxed);
        let origin_age = beat.origin.elapsed();
        assert!(
            beat.silent_for()
                .is_some_and(|d| d + Duration::from_millis(1) >= origin_age)
        );
        beat.idle();
        assert_eq!(beat.silent_for(), None);
    }
}
