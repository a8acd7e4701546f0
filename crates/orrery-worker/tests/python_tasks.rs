//! `python` attempts as real processes: inline and file scripts, `ORRERY_PARAMS`,
//! outputs (including one JSON object) and a missing interpreter.

mod common;

use common::{Harness, python, python_with};
use orrery_proto::{LogStream, PythonSource, TaskOutcome};
use std::collections::BTreeMap;

/// Whether `python3` runs here; when it does not, the test says it is skipped.
async fn python3_available(test: &str) -> bool {
    let probe = tokio::process::Command::new("python3")
        .arg("--version")
        .output()
        .await;
    let available = probe.is_ok_and(|output| output.status.success());
    if !available {
        eprintln!("SKIPPED {test}: python3 is not installed on this host");
    }
    available
}

fn inline(script: &str) -> PythonSource {
    PythonSource::Inline(script.to_owned())
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

#[tokio::test]
async fn an_inline_script_prints_reads_its_params_and_writes_outputs() {
    if !python3_available("an_inline_script_prints_reads_its_params_and_writes_outputs").await {
        return;
    }
    let mut harness = Harness::start(|_| {}).await;
    let script = r#"
import json, os, sys
params = json.loads(os.environ["ORRERY_PARAMS"])
print("hello from python")
print("limit is", params["limit"], file=sys.stderr)
with open(os.environ["ORRERY_OUTPUT"], "a") as out:
    out.write(f"rows={params['limit'] * 2}\n")
    out.write(f"date={params['date']}\n")
"#;
    let attempt = harness
        .run(python(
            1,
            inline(script),
            r#"{"date": "2026-03-01", "limit": 21}"#,
        ))
        .await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Succeeded, "{attempt:?}");
    assert_eq!(finished.exit_code, Some(0));
    assert_eq!(attempt.stdout(), ["hello from python"]);
    assert_eq!(attempt.text(LogStream::Stderr), ["limit is 21"]);
    assert_eq!(
        finished.outputs,
        map(&[("rows", "42"), ("date", "2026-03-01")])
    );
    assert!(
        attempt
            .started
            .as_ref()
            .is_some_and(|started| started.pid.is_some())
    );
}

#[tokio::test]
async fn one_json_object_in_the_output_file_becomes_the_outputs() {
    if !python3_available("one_json_object_in_the_output_file_becomes_the_outputs").await {
        return;
    }
    let mut harness = Harness::start(|_| {}).await;
    let script = r#"
import json, os
with open(os.environ["ORRERY_OUTPUT"], "w") as out:
    json.dump({"files": "a.csv,b.csv", "count": 2, "ok": True, "meta": {"k": [1]}}, out, indent=2)
"#;
    let attempt = harness.run(python(1, inline(script), "{}")).await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Succeeded, "{attempt:?}");
    assert_eq!(
        finished.outputs,
        map(&[
            ("files", "a.csv,b.csv"),
            ("count", "2"),
            ("ok", "true"),
            ("meta", r#"{"k":[1]}"#),
        ])
    );
}

#[tokio::test]
async fn a_script_file_runs_and_a_raised_exception_fails_the_attempt() {
    if !python3_available("a_script_file_runs_and_a_raised_exception_fails_the_attempt").await {
        return;
    }
    let mut harness = Harness::start(|_| {}).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("job.py");
    std::fs::write(
        &file,
        "import os, sys\nprint(sys.argv[0].endswith('job.py'), os.environ['ORRERY_PARAMS'])\nraise SystemExit(4)\n",
    )
    .expect("write script");
    let source = PythonSource::File(file.display().to_string());
    let attempt = harness.run(python(1, source, r#"{"a": 1}"#)).await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Failed);
    assert_eq!(finished.exit_code, Some(4));
    assert_eq!(attempt.stdout(), [r#"True {"a": 1}"#]);

    let attempt = harness
        .run(python(2, inline("raise ValueError('bad row')"), "{}"))
        .await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Failed);
    assert_eq!(finished.exit_code, Some(1));
    assert_eq!(
        attempt.text(LogStream::Stderr).last().copied(),
        Some("ValueError: bad row")
    );
}

#[tokio::test]
async fn a_bad_json_output_file_fails_with_the_parser_message() {
    if !python3_available("a_bad_json_output_file_fails_with_the_parser_message").await {
        return;
    }
    let mut harness = Harness::start(|_| {}).await;
    let script = r#"
import os
open(os.environ["ORRERY_OUTPUT"], "w").write('{"a": 1,}')
"#;
    let attempt = harness.run(python(1, inline(script), "{}")).await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Failed);
    assert_eq!(finished.exit_code, Some(0));
    let error = finished.error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("output file starts with '{' but is not a JSON object: "),
        "{error}"
    );
}

#[tokio::test]
async fn a_missing_interpreter_fails_naming_it() {
    let mut harness = Harness::start(|_| {}).await;
    let attempt = harness
        .run(python_with(
            1,
            "orrery-no-such-python",
            inline("print(1)"),
            "{}",
        ))
        .await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Failed);
    assert_eq!(finished.exit_code, None);
    assert!(attempt.started.is_none());
    assert_eq!(
        finished.error.as_deref(),
        Some(
            r#"cannot start the python interpreter "orrery-no-such-python": No such file or directory (os error 2)"#
        )
    );

    let attempt = harness
        .run(python_with(2, " ", inline("print(1)"), "{}"))
        .await;
    assert_eq!(
        attempt.finished().error.as_deref(),
        Some("the python interpreter is empty")
    );
}
