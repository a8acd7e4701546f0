//! Why a schedule cannot be compiled.

/// A schedule that cannot produce fire times. The spec parser reports the same
/// problems with the same paths, so this only happens to a spec that bypassed it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// A field is invalid.
    #[error("{path}: {message}")]
    Invalid {
        /// Field path such as `schedule.cron`.
        path: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl ScheduleError {
    pub(super) fn invalid(path: &'static str, message: impl Into<String>) -> Self {
        ScheduleError::Invalid {
            path,
            message: message.into(),
        }
    }
}
