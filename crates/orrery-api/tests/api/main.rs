//! Component tests of the API: the real router served on a local port, over a real
//! SQLite store in a temporary directory, called through `orrery-client` and raw HTTP.

mod access;
mod cluster;
mod harness;
mod openapi;
mod pool;
mod problems;
mod run_starts;
mod sessions;
mod tenancy;
mod tokens;
mod workers;
