//! Watching a running attempt: its exit, its timeout and cancels, and stopping its group.

use super::CancelSignal;
use super::exit::Ending;
use super::process_group::ProcessGroup;
use nix::sys::signal::Signal;
use std::time::Duration;

/// When and how an attempt's process group is stopped.
#[derive(Clone, Copy, Debug)]
pub(super) struct StopPolicy {
    /// The assignment's limit, if it has one.
    pub(super) timeout: Option<Duration>,
    /// Between SIGTERM and SIGKILL.
    pub(super) kill_grace: Duration,
}

/// Waits for the group leader to exit, the timeout or a cancel; on the latter two,
/// stops the group with SIGTERM and, after the grace period, SIGKILL. Returns once the
/// leader has exited; it is left unreaped so its group id stays reserved.
pub(super) async fn supervise(
    group: &ProcessGroup,
    policy: StopPolicy,
    mut cancel: CancelSignal,
) -> Ending {
    let mut leader_exit = group.wait_for_leader_exit();
    let deadline = async {
        match policy.timeout {
            Some(timeout) => tokio::time::sleep(timeout).await,
            None => std::future::pending().await,
        }
    };
    let ending = tokio::select! {
        _ = &mut leader_exit => return Ending::Exited,
        () = deadline => Ending::TimedOut(policy.timeout.unwrap_or_default()),
        () = cancel.cancelled() => Ending::Cancelled,
    };
    group.signal(Signal::SIGTERM);
    if tokio::time::timeout(policy.kill_grace, &mut leader_exit)
        .await
        .is_err()
    {
        group.signal(Signal::SIGKILL);
        let _ = leader_exit.await;
    }
    ending
}
