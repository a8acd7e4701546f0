//! State tests without a database: feed events, assert effects.

mod alerts;
mod fires;
mod harness;
mod retries;
mod runs;
mod workers;
