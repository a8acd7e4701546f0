//! The one place that reads the wall clock; everything else is handed a `Clock`.

use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};

/// Where code that must know the time asks for it, so tests can move time by hand.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The real wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the single sanctioned read of the wall clock
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

type Listener = Box<dyn Fn() + Send + Sync>;

/// A clock that only moves when told; listeners run after every move so runtimes
/// waiting for a deadline re-check it.
#[derive(Clone)]
pub struct ManualClock {
    inner: Arc<ManualInner>,
}

struct ManualInner {
    now: Mutex<DateTime<Utc>>,
    listeners: Mutex<Vec<Listener>>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            inner: Arc::new(ManualInner {
                now: Mutex::new(start),
                listeners: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Moves the clock forward and wakes listeners.
    pub fn advance(&self, by: chrono::Duration) {
        {
            let mut now = self.inner.now.lock().unwrap_or_else(|e| e.into_inner());
            *now += by;
        }
        let listeners = self
            .inner
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for listener in listeners.iter() {
            listener();
        }
    }

    /// Registers a callback run after each `advance`.
    pub fn on_advance(&self, listener: impl Fn() + Send + Sync + 'static) {
        self.inner
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Box::new(listener));
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.inner.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}
