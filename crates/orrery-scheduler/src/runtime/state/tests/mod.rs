//! State tests without a database: feed events, assert effects.

mod fires;
mod harness;
mod retries;
mod runs;
mod workers;
