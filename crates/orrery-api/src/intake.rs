//! Group commit of run starts: requests that arrive while a batch is being written
//! share the next transaction, so many clients starting runs at once cost one commit
//! per batch instead of one each. A request is answered only once its batch is
//! committed: an accepted run is a stored run.

use crate::error::ApiError;
use orrery_core::ids::{JobId, RunId, TaskInstanceId};
use orrery_core::state::RunTrigger;
use orrery_store::{ApiIntents, NewRun, RunSchedule, StoreError};
use tokio::sync::{mpsc, oneshot};

/// Most runs written in one transaction.
const MAX_BATCH: usize = 512;

/// Most requests waiting for the writer; further ones wait to be queued.
const QUEUE: usize = 4096;

/// A run to start, owned so that it can wait in the queue.
#[derive(Clone, Debug)]
pub(crate) struct RunIntent {
    pub(crate) job_id: JobId,
    pub(crate) job_version: u32,
    pub(crate) trigger: RunTrigger,
    pub(crate) params: serde_json::Map<String, serde_json::Value>,
    pub(crate) logical_date: Option<chrono::DateTime<chrono::Utc>>,
    pub(crate) schedule: RunSchedule,
    pub(crate) task_names: Vec<String>,
    pub(crate) actor: String,
    pub(crate) now: chrono::DateTime<chrono::Utc>,
    /// The request that asked, for the run's audit row (written in the batch's task).
    pub(crate) request: Option<orrery_store::RequestMeta>,
    /// The job's project, for the run's audit row.
    pub(crate) project: Option<String>,
}

impl RunIntent {
    fn as_new_run(&self) -> NewRun<'_> {
        NewRun {
            job_id: self.job_id,
            job_version: self.job_version,
            trigger: self.trigger,
            params: &self.params,
            logical_date: self.logical_date,
            schedule: self.schedule,
            task_names: &self.task_names,
            actor: &self.actor,
            now: self.now,
            request: self.request.as_ref(),
            project: self.project.as_deref(),
        }
    }
}

/// The run and its first attempts' ids, in task order.
pub(crate) type Created = (RunId, Vec<TaskInstanceId>);

struct Request {
    intent: RunIntent,
    reply: oneshot::Sender<Result<Created, StoreError>>,
}

/// The handlers' end of the run writer.
#[derive(Clone, Debug)]
pub struct RunIntake {
    requests: mpsc::Sender<Request>,
}

impl RunIntake {
    /// Starts the writer on `store`; it stops when every handle is dropped.
    pub fn spawn(store: ApiIntents) -> Self {
        let (requests, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(store, receiver));
        Self { requests }
    }

    /// Stores a run (queued, with its pending first attempts) in the next batch.
    pub(crate) async fn create(&self, intent: RunIntent) -> Result<Created, ApiError> {
        let (reply, answer) = oneshot::channel();
        // The writer stops only with the process.
        let stopped = || ApiError::Unavailable("the run writer stopped".to_owned());
        self.requests
            .send(Request { intent, reply })
            .await
            .map_err(|_| stopped())?;
        Ok(answer.await.map_err(|_| stopped())??)
    }
}

async fn write_batches(store: ApiIntents, mut receiver: mpsc::Receiver<Request>) {
    let mut batch: Vec<Request> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = receiver.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        write_batch(&store, std::mem::take(&mut batch)).await;
    }
}

/// Writes a batch in one transaction; when that fails and the batch holds more than
/// one run, each is written alone, so one bad run fails only its own request.
async fn write_batch(store: &ApiIntents, batch: Vec<Request>) {
    let runs: Vec<NewRun<'_>> = batch.iter().map(|r| r.intent.as_new_run()).collect();
    let written = store.create_runs(&runs).await;
    drop(runs);
    match written {
        Ok(created) => {
            for (request, created) in batch.into_iter().zip(created) {
                let _ = request
                    .reply
                    .send(created.ok_or_else(|| conflict(&request.intent)));
            }
        }
        Err(error) if batch.len() == 1 => {
            if let Some(request) = batch.into_iter().next() {
                let _ = request.reply.send(Err(error));
            }
        }
        Err(error) => {
            tracing::warn!(%error, runs = batch.len(), "a batch of run starts failed; writing each alone");
            for request in batch {
                let alone = store
                    .create_runs(std::slice::from_ref(&request.intent.as_new_run()))
                    .await
                    .and_then(|mut created| {
                        created
                            .pop()
                            .flatten()
                            .ok_or_else(|| conflict(&request.intent))
                    });
                let _ = request.reply.send(alone);
            }
        }
    }
}

fn conflict(intent: &RunIntent) -> StoreError {
    StoreError::Conflict {
        message: format!(
            "job {} already has a run for logical date {:?}",
            intent.job_id, intent.logical_date
        ),
    }
}
