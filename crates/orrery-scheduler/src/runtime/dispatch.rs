//! Rendering placed tasks' assignments on the blocking pool, within a time budget,
//! and handing the results to the state.

use super::driver::Driver;
use super::state::render::AssignmentInputs;
use chrono::{DateTime, Utc};
use orrery_proto::Assignment;
use orrery_store::SealedSecret;
use std::collections::{BTreeMap, BTreeSet};

impl Driver {
    /// Renders the assignments `dispatch` queued, on the blocking pool and within
    /// `RENDER_TIME_BUDGET`, then assigns each task that rendered and fails each one
    /// that did not. Tasks not reached in time go back to the ready queue.
    pub(crate) async fn finish_assignments(&mut self, now: DateTime<Utc>) {
        let (pending, mut inputs): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.state.pending.to_render)
                .into_iter()
                .unzip();
        if pending.is_empty() {
            return;
        }
        self.provide_secrets(&mut inputs).await;
        let outcomes = render_all(inputs).await;
        self.state.place_rendered(pending, outcomes, now);
    }
}

impl Driver {
    /// Reads and opens the secrets each task's templates name, from its own project
    /// only; a task whose secret is missing or cannot be opened gets the reason (named,
    /// never the value) and fails instead of rendering.
    async fn provide_secrets(&self, inputs: &mut [AssignmentInputs]) {
        let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for input in inputs.iter() {
            if let Some((project, names)) = input.secrets_wanted() {
                wanted.entry(project.to_owned()).or_default().extend(names);
            }
        }
        if wanted.is_empty() {
            return;
        }
        let mut sealed: BTreeMap<(String, String), Result<SealedSecret, String>> = BTreeMap::new();
        for (project, names) in &wanted {
            let names: Vec<String> = names.iter().cloned().collect();
            match self.store.sealed_secrets(project, &names).await {
                Ok(found) => {
                    for (name, value) in found {
                        sealed.insert((project.clone(), name), Ok(value));
                    }
                }
                Err(error) => {
                    for name in names {
                        sealed.insert(
                            (project.clone(), name),
                            Err(format!("cannot read secrets: {error}")),
                        );
                    }
                }
            }
        }
        let keyring = self.state.config.keyring.clone();
        for input in inputs.iter_mut() {
            let Some((project, names)) = input
                .secrets_wanted()
                .map(|(project, names)| (project.to_owned(), names))
            else {
                continue;
            };
            let opened = names
                .iter()
                .map(|name| {
                    let sealed = match sealed.get(&(project.clone(), name.clone())) {
                        Some(Ok(sealed)) => sealed,
                        Some(Err(error)) => return Err(error.clone()),
                        None => {
                            return Err(format!(
                                "secret {name:?} does not exist in project {project:?}"
                            ));
                        }
                    };
                    let keyring = keyring.as_ref().ok_or_else(|| {
                        format!("secret {name:?} cannot be opened: this server has no secret key")
                    })?;
                    let value = keyring
                        .open(
                            &project,
                            name,
                            &orrery_access::Sealed {
                                key_id: sealed.key_id.clone(),
                                nonce: sealed.nonce.clone(),
                                ciphertext: sealed.ciphertext.clone(),
                            },
                        )
                        .map_err(|error| error.to_string())?;
                    Ok((name.clone(), value))
                })
                .collect::<Result<BTreeMap<String, String>, String>>();
            if let Err(reason) = &opened {
                tracing::warn!(project = %project, %reason, "a task's secret cannot be given to it");
            }
            input.provide_secrets(opened);
        }
    }
}

/// How long one pass may spend rendering assignments. Fuel bounds each template's
/// work; this bounds the wall-clock time the driver waits for them all.
const RENDER_TIME_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

/// Renders every pending assignment in order on the blocking pool; an entry is `None`
/// when the budget ran out before it was rendered. The one being rendered when time
/// ran out fails with a message that says so.
async fn render_all(inputs: Vec<AssignmentInputs>) -> Vec<Option<Result<Assignment, String>>> {
    let count = inputs.len();
    // Nothing to render (noop tasks, plain scripts): no hand-off to another thread.
    if !inputs.iter().any(AssignmentInputs::has_templates) {
        return inputs.iter().map(|input| Some(input.render())).collect();
    }
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let worker = tokio::task::spawn_blocking(move || {
        for (k, input) in inputs.iter().enumerate() {
            if sender.send((k, input.render())).is_err() {
                // The driver stopped waiting: leave the rest.
                return;
            }
        }
    });
    let mut results: Vec<Option<Result<Assignment, String>>> = (0..count).map(|_| None).collect();
    let deadline = tokio::time::Instant::now() + RENDER_TIME_BUDGET;
    let mut received = 0;
    while received < count {
        match tokio::time::timeout_at(deadline, receiver.recv()).await {
            Ok(Some((k, result))) => {
                if let Some(entry) = results.get_mut(k) {
                    *entry = Some(result);
                }
                received += 1;
            }
            Ok(None) => break,
            Err(_) => {
                // The template being rendered now took the whole budget.
                if let Some(entry) = results.get_mut(received) {
                    *entry = Some(Err(format!(
                        "rendering the task's templates took longer than {}s; \
                         simplify its loops",
                        RENDER_TIME_BUDGET.as_secs()
                    )));
                }
                break;
            }
        }
    }
    drop(receiver);
    if received == count {
        let _ = worker.await;
    }
    results
}
