//! Waiting for a condition with a deadline instead of a fixed sleep.

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `condition` every 20 ms until it returns `Some`, panicking with `what` after
/// `timeout`.
pub fn eventually<T>(what: &str, timeout: Duration, mut condition: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = condition() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        #[allow(clippy::disallowed_methods)] // the one sanctioned wait in blocking tests
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Like [`eventually`] for async conditions.
pub async fn eventually_async<T, F, Fut>(what: &str, timeout: Duration, mut condition: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = condition().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
