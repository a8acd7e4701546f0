//! The REST API's serializable types and a typed async client for it, used by the
//! CLI, the tests and users.

mod access;
mod alerts;
mod client;
mod error;
pub mod types;

pub use access::AuditQuery;
pub use client::{Client, LogStreamEvent, RunFilter};
pub use error::ClientError;
