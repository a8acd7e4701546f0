//! A unified diff of two versions of a job spec, written as YAML with keys in a fixed
//! order, so `job diff` and the console show what changed line by line.

/// The diff from `old` to `new` (canonical specs as JSON), empty when they are equal.
pub fn spec_diff(
    old: &serde_json::Value,
    new: &serde_json::Value,
    old_label: &str,
    new_label: &str,
) -> String {
    let (old, new) = (as_yaml(old), as_yaml(new));
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(old_label, new_label)
        .to_string()
}

fn as_yaml(value: &serde_json::Value) -> String {
    // A JSON value always has a YAML form; the JSON text stands in if not.
    yaml_serde::to_string(value).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::spec_diff;

    #[test]
    fn a_changed_field_shows_as_one_removed_and_one_added_line() {
        let old = serde_json::json!({"name": "etl", "tasks": [{"name": "a", "type": "noop"}], "timeout": "1h"});
        let new = serde_json::json!({"name": "etl", "tasks": [{"name": "a", "type": "noop"}], "timeout": "2h"});
        let diff = spec_diff(&old, &new, "etl version 1", "etl version 2");
        assert!(
            diff.starts_with("--- etl version 1\n+++ etl version 2\n"),
            "{diff}"
        );
        assert!(diff.contains("\n-timeout: 1h\n"), "{diff}");
        assert!(diff.contains("\n+timeout: 2h\n"), "{diff}");
        assert_eq!(spec_diff(&old, &old, "a", "b"), "");
    }
}
