//! `RunningAttempts`: the attempts in flight, each a tokio task with a way to cancel it.

use crate::executor::CancelSignal;
use crate::results::failed_without_process;
use orrery_core::clock::Clock;
use orrery_proto::{TaskFinished, TaskRef};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::{Id, JoinSet};

/// Attempts that run right now. Dropping this aborts them, and an aborted attempt kills
/// its process group on the way out.
pub(crate) struct RunningAttempts {
    clock: Arc<dyn Clock>,
    tasks: JoinSet<TaskFinished>,
    by_task_id: HashMap<Id, TaskRef>,
    cancels: HashMap<TaskRef, watch::Sender<bool>>,
}

impl RunningAttempts {
    pub(crate) fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            tasks: JoinSet::new(),
            by_task_id: HashMap::new(),
            cancels: HashMap::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.cancels.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.cancels.is_empty()
    }

    /// The attempts in flight, for a re-registration.
    pub(crate) fn refs(&self) -> impl Iterator<Item = TaskRef> + '_ {
        self.cancels.keys().copied()
    }

    pub(crate) fn contains(&self, task: &TaskRef) -> bool {
        self.cancels.contains_key(task)
    }

    /// Spawns `run(cancel)` as the attempt `task`.
    pub(crate) fn start<F, Fut>(&mut self, task: TaskRef, run: F)
    where
        F: FnOnce(CancelSignal) -> Fut,
        Fut: Future<Output = TaskFinished> + Send + 'static,
    {
        let (cancel_sender, cancel_receiver) = watch::channel(false);
        let handle = self.tasks.spawn(run(CancelSignal::new(cancel_receiver)));
        self.by_task_id.insert(handle.id(), task);
        self.cancels.insert(task, cancel_sender);
    }

    /// Asks the attempt to stop; false if no such attempt runs.
    pub(crate) fn cancel(&self, task: &TaskRef) -> bool {
        match self.cancels.get(task) {
            Some(sender) => {
                sender.send_replace(true);
                true
            }
            None => false,
        }
    }

    pub(crate) fn cancel_all(&self) {
        for sender in self.cancels.values() {
            sender.send_replace(true);
        }
    }

    /// The next attempt to end, `None` if none runs. An attempt that panicked is
    /// reported as failed, so its slot is freed and the scheduler hears of it.
    pub(crate) async fn next_finished(&mut self) -> Option<TaskFinished> {
        loop {
            let (task_id, finished) = match self.tasks.join_next_with_id().await? {
                Ok((task_id, finished)) => (task_id, Ok(finished)),
                Err(join_error) => (join_error.id(), Err(join_error)),
            };
            // Every spawned task is recorded, so a miss only follows `abort_all`.
            let Some(task) = self.by_task_id.remove(&task_id) else {
                continue;
            };
            self.cancels.remove(&task);
            return Some(match finished {
                Ok(finished) => finished,
                Err(join_error) => {
                    tracing::error!(?task, %join_error, "an attempt's executor crashed");
                    let error = format!("the worker's executor crashed: {join_error}");
                    failed_without_process(task, error, None, self.clock.now())
                }
            });
        }
    }

    /// Aborts every attempt and waits until they are gone (their process groups killed).
    pub(crate) async fn abort_all(&mut self) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        self.by_task_id.clear();
        self.cancels.clear();
    }
}
