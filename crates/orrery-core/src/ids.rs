//! Newtype ids for the stored aggregates, so a run id is never passed as a job id.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A job (all of its versions).
    JobId
);
id_type!(
    /// One execution of a job.
    RunId
);
id_type!(
    /// One attempt of one task of one run (a row per attempt).
    TaskInstanceId
);
