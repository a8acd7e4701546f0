//! Judging SLA deadlines as they fall due: the runs of each fire whose deadline
//! passed are read from the store, the state decides and raises `SlaMissed`, and the
//! alert is committed with the turn's other changes. A new term first watches again
//! the fires recorded in the last two days.

use super::driver::Driver;
use super::state::sla::{SLA_LOOKBACK, met};

impl Driver {
    /// Judges the deadlines due by now.
    pub(crate) async fn check_slas(&mut self) {
        let now = self.clock.now();
        // The schedules are read first: their specs say which jobs have SLAs.
        if !self.state.schedules.slas_loaded && self.state.schedules.jobs_synced_at.is_some() {
            match self.store.recent_fires(now - SLA_LOOKBACK).await {
                Ok(fires) => {
                    let mut jobs: Vec<_> = fires.iter().map(|(job_id, _)| *job_id).collect();
                    jobs.sort_unstable();
                    jobs.dedup();
                    self.load_specs(&jobs).await;
                    let zone = self.state.config.default_timezone;
                    for (job_id, nominal) in fires {
                        let spec = self
                            .state
                            .schedules
                            .triggers
                            .get(&job_id)
                            .and_then(|t| t.spec.clone());
                        if let Some(spec) = spec {
                            self.state
                                .schedules
                                .slas
                                .watch_fire(job_id, &spec, nominal, zone);
                        }
                    }
                    self.state.schedules.slas_loaded = true;
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot read recent fires for their SLAs; retrying");
                    return;
                }
            }
        }
        let due = self.state.schedules.slas.take_due(now);
        for watch in due {
            match self.store.fire_runs(watch.job_id, watch.logical_date).await {
                Ok(runs) => {
                    if !met(watch.kind, &runs, watch.due_at) {
                        self.state.raise_sla_missed(&watch, runs.len(), now);
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, job = %watch.spec.name, "cannot judge an SLA deadline; it is judged again next turn");
                    let zone = self.state.config.default_timezone;
                    self.state.schedules.slas.watch_fire(
                        watch.job_id,
                        &watch.spec,
                        watch.logical_date,
                        zone,
                    );
                    return;
                }
            }
        }
        metrics::gauge!("orrery_sla_deadlines_open").set(self.state.schedules.slas.len() as f64);
    }
}
