//! The protocol between the scheduler and its workers: the messages each side sends
//! and the protocol version. Transport-free here (the embedded worker exchanges these
//! over in-process channels); a gRPC transport carries the same messages for remote
//! workers.

mod messages;

pub use messages::{
    Assignment, ExecSpec, HttpRequest, LogChunk, LogLine, LogStream, PythonSource, Register,
    SchedulerMessage, TaskFinished, TaskOutcome, TaskRef, TaskStarted, WorkerMessage,
};

/// Bumped on any incompatible change to the messages.
pub const PROTOCOL_VERSION: u32 = 1;
