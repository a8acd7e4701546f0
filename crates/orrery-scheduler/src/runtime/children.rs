//! Starting child runs: the store part of a sub-workflow task — reading the child's
//! job and creating its run, as the state planned it.

use super::driver::Driver;
use super::state::children::ChildPlan;
use chrono::{DateTime, Utc};
use orrery_core::ids::RunId;
use orrery_core::spec::{SpecFormat, parse_job_spec};
use orrery_store::{NewRun, RunSchedule};

impl Driver {
    /// Starts a child run for each sub-workflow task the dispatcher set aside: the
    /// state plans it, the store creates it, the state records the outcome.
    pub(crate) async fn start_children(&mut self, now: DateTime<Utc>) {
        for (run_id, idx) in std::mem::take(&mut self.state.pending.children_to_start) {
            let started = match self.state.plan_child(run_id, idx) {
                Ok(plan) => self.create_child(plan, now).await,
                Err(message) => Err(message),
            };
            self.state.child_started(run_id, idx, started, now);
        }
    }

    /// Creates the child run `plan` describes, with its job's latest spec.
    async fn create_child(&self, plan: ChildPlan, now: DateTime<Utc>) -> Result<RunId, String> {
        let ChildPlan {
            project,
            job,
            params,
            parent,
        } = plan;
        let child_job = self
            .store
            .find_job(&project, &job)
            .await
            .map_err(|e| format!("cannot read job {job:?}: {e}"))?
            .ok_or_else(|| format!("job {job:?} does not exist in project {project:?}"))?;
        let child_spec = parse_job_spec(&child_job.latest_spec, SpecFormat::Json)
            .map_err(|e| format!("the spec of job {job:?} does not parse: {e}"))?;
        let child_params = orrery_core::spec::resolve_params(&child_spec, &params)
            .map_err(|e| format!("params for job {job:?} are not valid: {e}"))?;
        let task_names: Vec<String> = child_spec.tasks.iter().map(|t| t.name.clone()).collect();
        let new = NewRun {
            job_id: child_job.id,
            job_version: child_job.latest_version,
            trigger: orrery_core::state::RunTrigger::Parent,
            params: &child_params,
            logical_date: None,
            schedule: RunSchedule {
                parent: Some(parent),
                ..RunSchedule::default()
            },
            task_names: &task_names,
            actor: "scheduler",
            now,
            request: None,
            project: None,
        };
        self.store
            .create_child_run(&new)
            .await
            .map_err(|e| format!("cannot start a run of job {job:?}: {e}"))
    }
}
