//! How a task runs around its command: trigger rules, retry policy and fan-out.

use serde::{Deserialize, Serialize};

pub(super) use crate::keyword::keyword_enum as spec_enum;

spec_enum! {
    /// When a task may start, given the final states of its upstream tasks. A task
    /// whose rule can no longer hold is skipped (or `upstream_failed` for the rules
    /// that want success); how that propagates is the scheduler's business.
    TriggerRule {
        /// Every upstream succeeded.
        AllSuccess => "all_success",
        /// Every upstream finished, whatever the outcome.
        AllDone => "all_done",
        /// Every upstream failed (failed, timed out, lost or upstream_failed).
        AllFailed => "all_failed",
        /// At least one upstream succeeded; starts as soon as one does.
        OneSuccess => "one_success",
        /// At least one upstream failed; starts as soon as one does.
        OneFailed => "one_failed",
        /// No upstream failed (succeeded or skipped).
        NoneFailed => "none_failed",
        /// No upstream failed and at least one succeeded.
        NoneFailedMinOneSuccess => "none_failed_min_one_success",
    }
    default AllSuccess
}

spec_enum! {
    /// How the wait between attempts grows.
    RetryBackoff {
        /// `retry_delay` every time.
        Fixed => "fixed",
        /// `retry_delay × 2^(attempt − 1)`, capped by `retry_max_delay`.
        Exponential => "exponential",
    }
    default Fixed
}

spec_enum! {
    /// An outcome of an attempt that may be retried.
    RetryOn {
        /// The process exited with a non-zero status (or the task failed otherwise).
        Failed => "failed",
        /// The attempt ran past its `timeout`.
        TimedOut => "timed_out",
        /// The worker running it went away.
        Lost => "lost",
    }
}

impl RetryOn {
    /// Every outcome, the default of `retry_on`.
    pub fn all() -> Vec<RetryOn> {
        RetryOn::ALL.to_vec()
    }
}

/// What a task fans out over: one mapped instance per item, which templates read as
/// `item` and `index`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ForEach {
    /// Items written in the spec.
    List(Vec<serde_json::Value>),
    /// A template rendered (or an expression evaluated, see
    /// [`crate::template::eval_expression`]) at run time to a list, such as
    /// `"{{ tasks.list.outputs.files | split(',') }}"`.
    Template(String),
}
