//! Log capture limits: long lines, the per-attempt cap and batching.

mod common;

use common::{Harness, shell};
use orrery_proto::{LogStream, TaskOutcome};

const TRUNCATED_SUFFIX: &str = " …[line truncated]";

#[tokio::test]
async fn a_huge_line_without_newline_becomes_one_truncated_line() {
    let mut harness = Harness::start(|config| config.max_line_bytes = 1000).await;
    let script = "head -c 10000000 /dev/zero | tr '\\0' x; echo after >&2";
    let attempt = harness.run(shell(1, script)).await;
    assert_eq!(attempt.finished().outcome, TaskOutcome::Succeeded);
    let expected = format!("{}{TRUNCATED_SUFFIX}", "x".repeat(1000));
    assert_eq!(attempt.stdout(), [expected]);
    assert_eq!(attempt.text(LogStream::Stderr), ["after"]);
    assert!(attempt.text(LogStream::System).is_empty());
}

#[tokio::test]
async fn output_over_the_log_cap_is_dropped_with_one_marker() {
    let cap: u64 = 1024 * 1024;
    let mut harness = Harness::start(|config| config.max_log_bytes = cap).await;
    // 20 000 lines of 999 characters (1000 bytes with the newline): 20 MB.
    let script = "yes \"$(head -c 999 /dev/zero | tr '\\0' y)\" | head -n 20000; echo done";
    let attempt = harness.run(shell(1, script)).await;
    assert_eq!(attempt.finished().outcome, TaskOutcome::Succeeded);

    let captured: usize = attempt
        .lines
        .iter()
        .filter(|line| line.stream != LogStream::System)
        .map(|line| line.text.len())
        .sum();
    assert!(captured as u64 <= cap, "{captured} bytes captured");
    assert!(captured as u64 > cap - 1000, "{captured} bytes captured");
    assert!(!attempt.stdout().contains(&"done"));

    let system = attempt.text(LogStream::System);
    let kept_lines = attempt.stdout().len();
    let dropped = (20_000 - kept_lines) * 999 + "done".len();
    let marker = format!("[log truncated: {dropped} bytes over the {cap}-byte cap were dropped]");
    assert_eq!(system, [marker.as_str()]);
    assert_eq!(
        attempt.lines.last().map(|line| line.stream),
        Some(LogStream::System)
    );
}

#[tokio::test]
async fn lines_are_sent_in_batches_of_at_most_the_batch_size() {
    let mut harness = Harness::start(|config| config.log_batch_lines = 10).await;
    let attempt = harness.run(shell(1, "seq 1 95")).await;
    let expected: Vec<String> = (1..=95).map(|n| n.to_string()).collect();
    assert_eq!(attempt.stdout(), expected);
    assert!(
        attempt
            .chunk_sizes
            .iter()
            .all(|size| (1..=10).contains(size))
    );
    assert!(attempt.chunk_sizes.len() >= 10, "{:?}", attempt.chunk_sizes);
}
