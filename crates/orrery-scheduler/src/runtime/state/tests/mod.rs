//! State tests without a database: feed events, assert effects.

mod harness;
mod retries;
mod runs;
mod workers;
