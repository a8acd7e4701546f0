//! `ChannelConnector`: links handed over one by one through a channel (tests, and any
//! caller that builds its own links).

use crate::connector::Connector;
use crate::error::WorkerError;
use crate::link::WorkerLink;
use tokio::sync::mpsc;

/// Each `connect` takes the next link from the channel; once the sending side is gone
/// there are no more schedulers to reach.
#[derive(Debug)]
pub struct ChannelConnector {
    links: mpsc::Receiver<WorkerLink>,
}

impl ChannelConnector {
    pub fn new(links: mpsc::Receiver<WorkerLink>) -> Self {
        Self { links }
    }
}

impl Connector for ChannelConnector {
    async fn connect(&mut self) -> Result<WorkerLink, WorkerError> {
        match self.links.recv().await {
            Some(link) => Ok(link),
            None => Err(WorkerError::Unreachable("no more links".to_owned())),
        }
    }
}
