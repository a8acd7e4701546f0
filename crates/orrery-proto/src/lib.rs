//! The protocol between the scheduler and its workers: the messages each side sends,
//! the protocol version, and their gRPC encoding. The embedded worker exchanges the
//! messages over in-process channels; a remote worker over the `WorkerGateway` gRPC
//! stream, converted at the edge by [`convert`].

pub mod convert;
mod messages;

/// Code generated from `proto/worker.proto` by `scripts/gen-proto` (committed, so a
/// build needs no `protoc`).
#[allow(
    clippy::all,
    clippy::pedantic,
    unreachable_pub,
    missing_docs,
    reason = "generated code"
)]
pub mod pb {
    include!("pb/orrery.worker.v1.rs");
}

pub use convert::DecodeError;
pub use messages::{
    Assignment, Capacity, ExecSpec, HttpRequest, Isolation, LogChunk, LogLine, LogStream,
    PythonSource, Register, Resources, SchedulerMessage, Shard, TaskFinished, TaskOutcome, TaskRef,
    TaskStarted, Usage, WorkerMessage,
};

/// Bumped on any incompatible change to the messages.
pub const PROTOCOL_VERSION: u32 = 1;

#[cfg(test)]
mod convert_tests;
