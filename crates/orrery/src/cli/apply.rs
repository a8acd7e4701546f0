//! `orrery apply -f PATH`: applies one spec file or every spec in a directory.

use super::args::{ApplyArgs, GlobalArgs, OutputFormat};
use super::{connect, output};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub(crate) async fn apply(global: &GlobalArgs, args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let mut files = spec_files(&args.path)?;
    // Calendars first: jobs in the same directory may exclude them.
    files.sort_by_key(|file| !is_calendar(file));
    let client = connect::client(global)?;
    let mut results = Vec::new();
    let mut failures = 0;
    for file in &files {
        let shown = file.display().to_string();
        let text = std::fs::read_to_string(file).with_context(|| format!("read {shown}"))?;
        let format = if file.extension().is_some_and(|e| e == "json") {
            "json"
        } else {
            "yaml"
        };
        match client.apply(&text, format).await {
            Ok(result) => results.push((shown, result)),
            Err(error) if error.problem().is_some() => {
                failures += 1;
                eprintln!("{shown}: {error}");
            }
            Err(error) => return Err(error.into()),
        }
    }
    match global.output {
        OutputFormat::Json => {
            let values: Vec<_> = results
                .iter()
                .map(|(file, r)| serde_json::json!({"file": file, "result": r}))
                .collect();
            output::json(&values)?;
        }
        OutputFormat::Table if !results.is_empty() => output::apply_results(&results),
        OutputFormat::Table => {}
    }
    if failures > 0 {
        eprintln!("{failures} of {} spec(s) were not applied", files.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The file itself, or the `*.yaml|*.yml|*.json` files of a directory, sorted.
fn spec_files(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let metadata = std::fs::metadata(path).with_context(|| format!("read {}", path.display()))?;
    if !metadata.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).with_context(|| format!("list {}", path.display()))? {
        let entry = entry.with_context(|| format!("list {}", path.display()))?;
        let file = entry.path();
        let is_spec = file
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"));
        if is_spec && file.is_file() {
            files.push(file);
        }
    }
    files.sort();
    if files.is_empty() {
        anyhow::bail!("{} holds no *.yaml, *.yml or *.json spec", path.display());
    }
    Ok(files)
}

/// Whether the file holds a `kind: Calendar` document (a cheap textual check; the
/// server parses it properly).
fn is_calendar(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| {
        text.lines().any(|line| {
            let line = line.trim().trim_start_matches('{').trim();
            line.starts_with("kind: Calendar")
                || line.starts_with("\"kind\": \"Calendar\"")
                || line.starts_with("kind: \"Calendar\"")
        })
    })
}
