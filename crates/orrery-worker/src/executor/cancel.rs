//! `CancelSignal`: how an attempt learns that the scheduler or the worker wants it stopped.

use tokio::sync::watch;

/// The receiving half of an attempt's cancel flag.
#[derive(Debug)]
pub(crate) struct CancelSignal {
    receiver: watch::Receiver<bool>,
}

impl CancelSignal {
    pub(crate) fn new(receiver: watch::Receiver<bool>) -> Self {
        Self { receiver }
    }

    /// Resolves once cancellation is requested. If the sender is gone the attempt is
    /// being torn down by dropping, so this never resolves.
    pub(crate) async fn cancelled(&mut self) {
        if self
            .receiver
            .wait_for(|cancelled| *cancelled)
            .await
            .is_err()
        {
            std::future::pending::<()>().await;
        }
    }
}
