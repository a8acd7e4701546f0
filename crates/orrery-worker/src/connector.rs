//! `Connector`: how a worker (re)opens its link to a scheduler.

use crate::error::WorkerError;
use crate::link::WorkerLink;
use std::future::Future;

/// Opens links to a scheduler. The worker calls it again after a link is lost, with a
/// growing delay between failures, and keeps its running attempts meanwhile.
pub trait Connector: Send {
    /// A fresh link; an error is logged and retried.
    fn connect(&mut self) -> impl Future<Output = Result<WorkerLink, WorkerError>> + Send;
}
