//! Test logging: server logs go to the test's output, and every ERROR is counted so
//! a test can fail when the server logged one it did not expect.

use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

static ERRORS: AtomicUsize = AtomicUsize::new(0);

/// ERROR events logged in this process so far.
pub fn errors_logged() -> usize {
    ERRORS.load(Ordering::SeqCst)
}

struct CountErrors;

impl<S: Subscriber> Layer<S> for CountErrors {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if *event.metadata().level() == Level::ERROR {
            ERRORS.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Installs the test subscriber once per process. `ORRERY_TEST_LOG` sets the filter
/// of what is printed (default `warn`); errors are counted whatever it says.
pub(crate) fn init_logging() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::new(
            std::env::var("ORRERY_TEST_LOG").unwrap_or_else(|_| "warn".to_owned()),
        );
        let printed = tracing_subscriber::fmt::layer()
            .with_test_writer()
            .with_filter(filter);
        let _ = tracing_subscriber::registry()
            .with(printed)
            .with(CountErrors)
            .try_init();
    });
}
