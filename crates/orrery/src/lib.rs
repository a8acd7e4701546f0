//! Process wiring for the `orrery` binary: the server configuration and the
//! all-in-one server (API, scheduler and embedded worker in one process).

pub mod config;
mod data_dir;
mod embedded;
mod gateway;
pub mod metrics;
mod secret_key;
pub mod server;
mod sso;
mod token;
mod wake;

pub use config::ServerConfig;
pub use server::{RunningServer, ServerError, start_server};
