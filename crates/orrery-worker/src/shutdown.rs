//! Waiting on the shutdown flag without mistaking a dropped sender for a request.

use tokio::sync::watch;

/// Resolves once the flag is `true`; never resolves if the sender is gone, because
/// nobody can ask for a shutdown any more.
pub(crate) async fn wait_for_shutdown(shutdown: &mut watch::Receiver<bool>) {
    if shutdown.wait_for(|requested| *requested).await.is_err() {
        std::future::pending::<()>().await;
    }
}
