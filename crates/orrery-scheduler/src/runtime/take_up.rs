//! Reading runs from the store: new ones and ones interrupted by a restart, with their
//! attempts, specs and followed child runs, for the state to take up.

use super::driver::Driver;
use super::state::take_up::{StoredRun, followed_child};
use orrery_core::spec::{SpecFormat, parse_job_spec};
use orrery_core::state::RunState;
use orrery_store::RunUpdate;
use orrery_store::records::RunRecord;
use std::collections::HashMap;
use std::sync::Arc;

impl Driver {
    /// Reads what changed among active runs: takes up new ones and carries out cancel
    /// requests. Only runs created since the last read (and pending cancels) are read,
    /// so a poll stays cheap with a large backlog; all active runs are read at start
    /// and when an ended run was reopened.
    pub(crate) async fn sync_with_store(&mut self) {
        let reopened = match self.store.runs_reopened_count().await {
            Ok(count) => Some(count),
            Err(error) => {
                tracing::warn!(%error, "cannot read the reopened-runs count; reading every active run");
                None
            }
        };
        let complete = reopened.is_none() || reopened != self.state.runs.reopened_seen;
        let read = if complete {
            self.store.active_runs().await
        } else {
            self.store
                .active_runs_after(self.state.runs.seen_up_to)
                .await
        };
        let active = match read {
            Ok(active) => active,
            Err(error) => {
                tracing::error!(%error, "cannot read active runs");
                return;
            }
        };
        let newest = active.iter().map(|r| r.id).max();
        let mut take_up_failed = false;
        for record in active {
            let cancel = record.cancel_requested;
            let id = record.id;
            match self.state.runs.map.get_mut(&id) {
                Some(run) => {
                    if cancel && !run.record.cancel_requested {
                        run.record.cancel_requested = true;
                        self.state.cancel_run(id, self.clock.now());
                    }
                }
                None => {
                    if let Err(error) = self.take_up_run(record).await {
                        tracing::error!(run = %id, %error, "cannot take up run");
                        take_up_failed = true;
                        continue;
                    }
                    if cancel {
                        self.state.cancel_run(id, self.clock.now());
                    }
                }
            }
        }
        if take_up_failed {
            // Read every active run next time, so the run is tried again.
            self.state.runs.reopened_seen = None;
        } else {
            if let Some(newest) = newest {
                self.state.runs.seen_up_to = self.state.runs.seen_up_to.max(newest);
            }
            self.state.runs.reopened_seen = reopened;
        }
    }

    /// Loads a run into memory: gathers what the state needs from the store (its spec,
    /// its attempts, the state of child runs its sub-workflow tasks follow), then lets
    /// the state take it up.
    pub(crate) async fn take_up_run(
        &mut self,
        record: RunRecord,
    ) -> Result<(), orrery_store::StoreError> {
        let now = self.clock.now();
        // A fired run's spec is the one its trigger holds; others are read and parsed.
        let cached = self
            .state
            .schedules
            .triggers
            .get(&record.job_id)
            .filter(|t| t.version == record.job_version)
            .and_then(|t| t.spec.clone());
        let parsed = match cached {
            Some(spec) => Ok(spec),
            None => {
                let spec_text = self
                    .store
                    .job_version_spec(record.job_id, record.job_version)
                    .await?;
                parse_job_spec(&spec_text, SpecFormat::Json).map(Arc::new)
            }
        };
        let spec = match parsed {
            Ok(spec) => spec,
            Err(errors) => {
                tracing::error!(run = %record.id, %errors, "stored spec no longer parses; failing the run");
                self.state.pending.run_updates.push(RunUpdate {
                    id: record.id,
                    state: RunState::Failed,
                    started_at: record.started_at.or(Some(now)),
                    finished_at: Some(now),
                });
                return Ok(());
            }
        };
        if let Some(backfill) = record.backfill_id
            && !self.state.runs.backfill_parallelism.contains_key(&backfill)
        {
            let parallelism = self.store.backfill_parallelism(backfill).await?;
            self.state
                .runs
                .backfill_parallelism
                .insert(backfill, parallelism);
        }
        let stored = self.store.run_tasks(record.id).await?;
        let mut children = HashMap::new();
        for child in stored.iter().filter_map(followed_child) {
            if let Some(run) = self.store.get_run(child).await? {
                children.insert(child, run.state);
            }
        }
        self.state.take_up(
            StoredRun {
                record,
                spec,
                tasks: stored,
                children,
            },
            now,
        );
        Ok(())
    }
}
