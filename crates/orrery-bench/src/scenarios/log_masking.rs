//! `log-masking`: a shell task printing 100 MB in 100-byte lines, with and without a
//! secret to hide in its output, run alternately; the ratio of their durations is
//! what masking costs end to end (pipe, line splitting, masking, shipping).

use crate::cli::Args;
use crate::harness::BenchServer;
use crate::measurement::Rows;
use crate::stats::median;
use anyhow::Context;
use std::num::NonZeroU32;

const SCENARIO: &str = "log-masking";
const RUNS: usize = 3;
const PRINT: &str = "head -c 100000000 /dev/zero | tr '\\\\0' x | fold -w 99";

pub(crate) async fn run(args: &Args) -> anyhow::Result<Vec<crate::measurement::Measurement>> {
    let slots = NonZeroU32::new(2).context("slots")?;
    let server = BenchServer::start(slots, args.run_wait()).await?;
    server
        .client()
        .set_secret("default", "bench_secret", "not-in-the-output-0123456789")
        .await
        .context("set the secret")?;
    server
        .apply(&format!(
            "name: print-plain\ntasks:\n  - {{name: t, type: shell, script: \"{PRINT}\"}}\n"
        ))
        .await?;
    server
        .apply(&format!(
            "name: print-masked\ntasks:\n  - name: t\n    type: shell\n    script: \"{PRINT}\"\n    env: {{S: {{secret: bench_secret}}}}\n"
        ))
        .await?;
    let (mut plain, mut masked) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        for (job, into) in [("print-plain", &mut plain), ("print-masked", &mut masked)] {
            let finished = server.run_to_end(job).await?;
            anyhow::ensure!(finished.run.state == "success", "{job} did not succeed");
            into.push(finished.wall.as_secs_f64() * 1000.0);
        }
    }
    let mut rows = Rows::new(SCENARIO, format!("100 MB of output, median of {RUNS}"));
    let (plain, masked) = (median(&plain), median(&masked));
    rows.add("unmasked", plain, "ms");
    rows.add("masked", masked, "ms");
    rows.add("masked_over_unmasked", masked / plain, "x");
    server.stop().await?;
    Ok(rows.into_vec())
}
