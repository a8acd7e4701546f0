//! `orrery apply -f PATH`: applies one spec file or every spec in a directory.

use super::args::{ApplyArgs, GlobalArgs, OutputFormat};
use super::{connect, output};
use anyhow::Context;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub(crate) async fn apply(global: &GlobalArgs, args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let documents = read_documents(&args.path)?;
    let client = connect::client(global)?;
    let mut results = Vec::new();
    let mut failures = 0;
    for document in &documents {
        let shown = &document.shown;
        match client.apply(&document.text, document.format).await {
            Ok(result) => {
                for warning in &result.warnings {
                    eprintln!("{shown}: warning: {}: {}", warning.path, warning.message);
                }
                results.push((shown.clone(), result));
            }
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
        eprintln!("{failures} of {} spec(s) were not applied", documents.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// One spec to apply: its text, its format and how to name it in messages.
struct Document {
    shown: String,
    text: String,
    format: &'static str,
}

/// The documents of `path`: a file, every spec file of a directory, or standard
/// input for `-`. A YAML file may hold several documents separated by `---`.
/// Calendars come first, since jobs beside them may exclude them.
fn read_documents(path: &Path) -> anyhow::Result<Vec<Document>> {
    let sources: Vec<(String, String, &'static str)> = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("read the specs from standard input")?;
        let format = if text.trim_start().starts_with('{') {
            "json"
        } else {
            "yaml"
        };
        vec![("<stdin>".to_owned(), text, format)]
    } else {
        let mut sources = Vec::new();
        for file in spec_files(path)? {
            let shown = file.display().to_string();
            let text = std::fs::read_to_string(&file).with_context(|| format!("read {shown}"))?;
            let format = if file.extension().is_some_and(|e| e == "json") {
                "json"
            } else {
                "yaml"
            };
            sources.push((shown, text, format));
        }
        sources
    };
    let mut documents = Vec::new();
    for (shown, text, format) in sources {
        let parts = if format == "yaml" {
            split_yaml_documents(&text)
        } else {
            vec![text]
        };
        let several = parts.len() > 1;
        for (index, part) in parts.into_iter().enumerate() {
            documents.push(Document {
                shown: if several {
                    format!("{shown} (document {})", index + 1)
                } else {
                    shown.clone()
                },
                text: part,
                format,
            });
        }
    }
    // What others name goes first: calendars (jobs exclude them), receivers (routes
    // send to them), routes, then jobs.
    documents.sort_by_key(|document| kind_rank(&document.text));
    Ok(documents)
}

/// The documents of a YAML stream (`---` lines between them); documents holding only
/// comments or blank lines are dropped. A stream without separators is one document.
fn split_yaml_documents(text: &str) -> Vec<String> {
    let mut documents = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let is_separator = line == "---" || line.starts_with("--- ") || line == "...";
        if is_separator {
            documents.push(std::mem::take(&mut current));
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    documents.push(current);
    let meaningful = |document: &String| {
        document
            .lines()
            .any(|line| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
    };
    let kept: Vec<String> = documents.into_iter().filter(meaningful).collect();
    if kept.is_empty() {
        // Let the server say what is wrong with an empty document.
        return vec![text.to_owned()];
    }
    kept
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

/// Whether the text is a `kind: Calendar` document (a cheap textual check; the server
/// parses it properly).
fn kind_rank(text: &str) -> u8 {
    let kind = text.lines().find_map(|line| {
        let line = line.trim().trim_start_matches('{').trim();
        let rest = line
            .strip_prefix("kind:")
            .or_else(|| line.strip_prefix("\"kind\":"))?;
        let value = rest.split([',', '}', '#']).next().unwrap_or_default();
        Some(value.trim().trim_matches(['"', '\'']).to_owned())
    });
    match kind.as_deref() {
        Some("Calendar") => 0,
        Some("Receiver") => 1,
        Some("AlertRoute") => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_yaml_stream_splits_into_its_documents() {
        let stream = "# jobs\n---\nname: a\n---\n# only a comment\n---\nname: b\n...\n";
        assert_eq!(
            split_yaml_documents(stream),
            vec!["name: a\n".to_owned(), "name: b\n".to_owned()]
        );
        assert_eq!(
            split_yaml_documents("name: a\n"),
            vec!["name: a\n".to_owned()]
        );
    }
}
