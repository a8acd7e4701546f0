//! `LogSink`: hides the attempt's secret values, timestamps captured lines, enforces
//! the log cap and ships them in chunks.

use super::AttemptContext;
use orrery_core::mask::Masker;
use orrery_proto::{LogChunk, LogLine, LogStream, TaskRef, WorkerMessage};

/// A chunk is also sent once its text reaches this size, so a batch of long lines does
/// not pile up in memory.
const MAX_CHUNK_BYTES: usize = 1024 * 1024;

/// Decides which lines fit under an attempt's log cap. The first line that does not
/// fit closes the budget: later lines are dropped too, so the kept log has no holes.
#[derive(Debug)]
pub(crate) struct LogBudget {
    cap: u64,
    captured: u64,
    dropped: u64,
    closed: bool,
}

impl LogBudget {
    pub(crate) fn new(cap: u64) -> Self {
        Self {
            cap,
            captured: 0,
            dropped: 0,
            closed: false,
        }
    }

    /// Whether a line of `len` bytes is kept; counts it either way.
    pub(crate) fn admit(&mut self, len: usize) -> bool {
        let len = u64::try_from(len).unwrap_or(u64::MAX);
        if !self.closed && self.captured.saturating_add(len) <= self.cap {
            self.captured += len;
            return true;
        }
        self.closed = true;
        self.dropped = self.dropped.saturating_add(len);
        false
    }

    /// The system line that ends a capped log, if anything was dropped.
    pub(crate) fn marker(&self) -> Option<String> {
        self.closed.then(|| {
            format!(
                "[log truncated: {} bytes over the {}-byte cap were dropped]",
                self.dropped, self.cap
            )
        })
    }
}

/// Collects an attempt's lines and sends them as `LogChunk`s, in order.
pub(super) struct LogSink {
    task: TaskRef,
    context: AttemptContext,
    budget: LogBudget,
    batch: Vec<LogLine>,
    batch_bytes: usize,
    /// The secret values given to the attempt: no line leaves the worker with one.
    masker: Masker,
}

impl LogSink {
    pub(super) fn new(task: TaskRef, context: AttemptContext, mask: &[String]) -> Self {
        let budget = LogBudget::new(context.config.max_log_bytes);
        Self {
            task,
            context,
            budget,
            batch: Vec::new(),
            batch_bytes: 0,
            masker: Masker::new(mask),
        }
    }

    /// Adds a captured line (if it fits the cap), sending the batch when it is full.
    /// Secret values in it are replaced by `***` first.
    pub(super) async fn push(&mut self, stream: LogStream, text: String) {
        let text = if self.masker.is_empty() {
            text
        } else {
            self.masker.mask(&text)
        };
        if self.budget.admit(text.len()) {
            self.add(stream, text);
            let full_lines = self.batch.len() >= self.context.config.log_batch_lines.max(1);
            if full_lines || self.batch_bytes >= MAX_CHUNK_BYTES {
                self.flush().await;
            }
        }
    }

    /// Sends what is batched.
    pub(super) async fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let lines = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        let chunk = LogChunk {
            task: self.task,
            lines,
        };
        self.context.send(WorkerMessage::LogChunk(chunk)).await;
    }

    /// Adds the truncation marker if the cap was hit, and sends the rest.
    pub(super) async fn finish(mut self) {
        if let Some(marker) = self.budget.marker() {
            self.add(LogStream::System, marker);
        }
        self.flush().await;
    }

    fn add(&mut self, stream: LogStream, text: String) {
        self.batch_bytes += text.len();
        self.batch.push(LogLine {
            at: self.context.clock.now(),
            stream,
            text,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_keeps_lines_until_one_does_not_fit_then_drops_the_rest() {
        let mut budget = LogBudget::new(10);
        assert!(budget.admit(4));
        assert!(budget.admit(6));
        assert_eq!(budget.marker(), None);
        assert!(!budget.admit(1));
        assert!(!budget.admit(0));
        assert!(!budget.admit(5));
        assert_eq!(
            budget.marker().as_deref(),
            Some("[log truncated: 6 bytes over the 10-byte cap were dropped]")
        );
    }

    #[test]
    fn a_line_that_overflows_closes_the_budget_even_if_later_ones_would_fit() {
        let mut budget = LogBudget::new(10);
        assert!(budget.admit(8));
        assert!(!budget.admit(3));
        assert!(!budget.admit(1));
        assert_eq!(
            budget.marker().as_deref(),
            Some("[log truncated: 4 bytes over the 10-byte cap were dropped]")
        );
    }
}
