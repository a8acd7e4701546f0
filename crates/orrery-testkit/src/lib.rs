//! Test helpers shared by the integration tests: an in-process `TestServer` on an
//! ephemeral port with a temporary data directory, a client for it, and
//! `eventually` for waiting on a condition without sleeping blindly.

mod binary;
mod certs;
mod eventually;
mod http_server;
mod logging;
mod receiver;
mod server;
mod smtp;

pub use binary::{BinaryServer, Stopped};
pub use certs::TestCertificates;
pub use eventually::{eventually, eventually_async};
pub use http_server::{Scripted, ScriptedHttpServer};
pub use logging::errors_logged;
pub use receiver::{AlertReceiver, Received, Vendor};
pub use server::{TestServer, wait_for_run_end};
pub use smtp::SmtpServer;

/// The repository's root, to find `examples/`.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default()
}
