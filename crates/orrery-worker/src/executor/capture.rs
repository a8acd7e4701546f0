//! Reading a child's stdout and stderr concurrently into a `LogSink`, line by line.

use super::line_splitter::LineSplitter;
use super::log_sink::LogSink;
use orrery_proto::LogStream;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::oneshot;
use tokio::time::{Instant, MissedTickBehavior, interval_at};

/// Pipes are read in chunks of this size, so memory does not depend on line length.
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// A child's output pipes (either may be missing if it was not piped).
pub(super) struct Pipes<StdoutPipe, StderrPipe> {
    pub(super) stdout: Option<StdoutPipe>,
    pub(super) stderr: Option<StderrPipe>,
}

/// Settings of one capture.
pub(super) struct CaptureSettings {
    pub(super) max_line_bytes: usize,
    pub(super) flush_interval: Duration,
}

/// Reads both pipes until both reach end of file or `stop` fires (or its sender is
/// dropped), sending batches at least every flush interval. Pipes are drained even past
/// the log cap so the child never blocks on a full pipe.
pub(super) async fn capture<StdoutPipe, StderrPipe>(
    pipes: Pipes<StdoutPipe, StderrPipe>,
    mut sink: LogSink,
    settings: CaptureSettings,
    mut stop: oneshot::Receiver<()>,
) where
    StdoutPipe: AsyncRead + Unpin,
    StderrPipe: AsyncRead + Unpin,
{
    let mut stdout = PipeReader::new(pipes.stdout, settings.max_line_bytes);
    let mut stderr = PipeReader::new(pipes.stderr, settings.max_line_bytes);
    let flush_interval = settings.flush_interval.max(Duration::from_millis(1));
    let mut flush_ticker = interval_at(Instant::now() + flush_interval, flush_interval);
    flush_ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    while stdout.is_open() || stderr.is_open() {
        let (stream, lines) = tokio::select! {
            _ = &mut stop => break,
            lines = stdout.next_lines(), if stdout.is_open() => (LogStream::Stdout, lines),
            lines = stderr.next_lines(), if stderr.is_open() => (LogStream::Stderr, lines),
            _ = flush_ticker.tick() => {
                sink.flush().await;
                continue;
            }
        };
        for line in lines {
            sink.push(stream, line).await;
        }
    }
    for line in stdout.finish() {
        sink.push(LogStream::Stdout, line).await;
    }
    for line in stderr.finish() {
        sink.push(LogStream::Stderr, line).await;
    }
    sink.finish().await;
}

/// One pipe and the line in progress on it.
struct PipeReader<R> {
    pipe: Option<R>,
    buffer: Box<[u8]>,
    splitter: LineSplitter,
}

impl<R: AsyncRead + Unpin> PipeReader<R> {
    fn new(pipe: Option<R>, max_line_bytes: usize) -> Self {
        Self {
            pipe,
            buffer: vec![0; READ_CHUNK_BYTES].into_boxed_slice(),
            splitter: LineSplitter::new(max_line_bytes),
        }
    }

    fn is_open(&self) -> bool {
        self.pipe.is_some()
    }

    /// Reads once and returns the lines completed, including the last one at end of
    /// file. Cancel-safe: nothing is consumed unless the read completes.
    async fn next_lines(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        let Some(pipe) = self.pipe.as_mut() else {
            return lines;
        };
        match pipe.read(&mut self.buffer).await {
            Ok(0) => self.close(&mut lines),
            Ok(read) => self.splitter.feed(&self.buffer[..read], &mut lines),
            Err(error) => {
                tracing::debug!(%error, "cannot read a task's output pipe; treating it as closed");
                self.close(&mut lines);
            }
        }
        lines
    }

    fn close(&mut self, lines: &mut Vec<String>) {
        self.pipe = None;
        self.splitter.finish(lines);
    }

    /// The line in progress when reading stopped early.
    fn finish(mut self) -> Vec<String> {
        let mut lines = Vec::new();
        self.splitter.finish(&mut lines);
        lines
    }
}
