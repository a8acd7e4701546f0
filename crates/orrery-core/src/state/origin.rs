//! What started a run, and what became of a nominal fire: keywords stored and shown as
//! written, typed everywhere else.

use crate::keyword::keyword_enum;

keyword_enum! {
    /// What started a run.
    RunTrigger {
        /// `orrery run start` or `POST /jobs/{name}/runs`.
        Manual => "manual",
        /// A fire of the job's schedule.
        Schedule => "schedule",
        /// A fire time of a backfill.
        Backfill => "backfill",
        /// An explicit rerun of an earlier run.
        Rerun => "rerun",
        /// A `type: job` task of a parent run (a sub-workflow).
        Parent => "parent",
    }
}

keyword_enum! {
    /// What became of one nominal fire of a schedule (the occurrence ledger).
    FireFate {
        /// It started a run.
        Fired => "fired",
        /// Late past the misfire threshold and dropped by the misfire policy.
        Missed => "missed",
        /// Dropped by the concurrency policy (`forbid`, or too many waiting).
        SkippedOverlap => "skipped_overlap",
        /// On a date of an `exclude:` calendar.
        Excluded => "excluded",
        /// The job was paused.
        Paused => "paused",
    }
}
