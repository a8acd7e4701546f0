//! What the scheduler reads to judge SLA deadlines: the recent fires of scheduled
//! jobs (to watch again after a leader change) and the runs of one fire.

use crate::error::StoreError;
use crate::exec::on_pool;
use crate::row::StoreRow;
use crate::views::SchedulerReads;
use chrono::{DateTime, Utc};
use orrery_core::ids::JobId;
use orrery_core::state::RunState;

impl SchedulerReads {
    /// Fires since `since` that made a run or should have (`fired`, `missed`,
    /// `skipped_overlap`), by job and nominal time.
    pub async fn recent_fires(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(JobId, DateTime<Utc>)>, StoreError> {
        on_pool!(self.store(), |pool| {
            sqlx::query(
                "SELECT job_id, nominal_at FROM occurrences WHERE nominal_at >= $1 \
                 AND outcome IN ('fired', 'missed', 'skipped_overlap') ORDER BY nominal_at",
            )
            .bind(since)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| Ok((JobId(row.value(0)?), row.value(1)?)))
            .collect()
        })
    }

    /// The runs of one fire of a job (its first run, reruns, backfill runs): state and
    /// start time of each.
    pub async fn fire_runs(
        &self,
        job_id: JobId,
        logical_date: DateTime<Utc>,
    ) -> Result<Vec<(RunState, Option<DateTime<Utc>>)>, StoreError> {
        on_pool!(self.store(), |pool| {
            sqlx::query(
                "SELECT state, started_at FROM runs WHERE job_id = $1 AND logical_date = $2",
            )
            .bind(job_id.0)
            .bind(logical_date)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| {
                let state: String = row.value(0)?;
                let state = RunState::parse(&state).ok_or_else(|| StoreError::Corrupt {
                    what: "run state",
                    message: format!("unknown value {state:?}"),
                })?;
                Ok((state, row.value(1)?))
            })
            .collect()
        })
    }
}
