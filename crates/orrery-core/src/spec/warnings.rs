//! Warnings about a valid spec: things that work but are unsafe, reported at apply
//! without refusing the spec.

use super::error::SpecError;
use super::job::JobSpec;
use super::task_kind::TaskKind;

/// Filters after which a param's value is safe inside shell code.
const SHELL_SAFE_FILTERS: [&str; 3] = ["shell_quote", "int", "float"];

/// Every place where a shell script (`shell` or `branch` task) writes a param into
/// its code without `| shell_quote`: a value holding `"; rm -rf ~; "` would run.
pub fn spec_warnings(spec: &JobSpec) -> Vec<SpecError> {
    let mut warnings = Vec::new();
    for (index, task) in spec.tasks.iter().enumerate() {
        let script = match &task.kind {
            TaskKind::Shell { script } | TaskKind::Branch { script } => script,
            _ => continue,
        };
        for param in unquoted_params(script) {
            let variable = super::params::param_env_name(&param);
            warnings.push(SpecError::at(
                format!("tasks[{index}].script"),
                format!(
                    "params.{param} is written into shell code unquoted, so a value with quotes or `;` runs as commands: use {{{{ params.{param} | shell_quote }}}} or \"${variable}\""
                ),
            ));
        }
    }
    warnings
}

/// The params read by `{{ … }}` expressions of `script` that pass through no
/// shell-safe filter, each once, in order of appearance.
fn unquoted_params(script: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut rest = script;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            break;
        };
        let expression = &after[..end];
        rest = &after[end + 2..];
        let filters: Vec<&str> = expression
            .split('|')
            .skip(1)
            .map(|filter| filter.trim().split('(').next().unwrap_or_default().trim())
            .collect();
        if filters.iter().any(|f| SHELL_SAFE_FILTERS.contains(f)) {
            continue;
        }
        for param in params_in(expression) {
            if !found.contains(&param) {
                found.push(param);
            }
        }
    }
    found
}

/// Names `x` of every `params.x` (or `params["x"]`) in an expression.
fn params_in(expression: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expression;
    while let Some(at) = rest.find("params") {
        let preceded_by_name = rest[..at]
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        let after = &rest[at + "params".len()..];
        rest = after;
        if preceded_by_name {
            continue;
        }
        let name: String = if let Some(dotted) = after.strip_prefix('.') {
            dotted
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        } else if let Some(indexed) = after
            .strip_prefix("[\"")
            .or_else(|| after.strip_prefix("['"))
        {
            indexed
                .chars()
                .take_while(|c| *c != '"' && *c != '\'')
                .collect()
        } else {
            continue;
        };
        if !name.is_empty() {
            names.push(name);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquoted_params_in_shell_code_are_found_once_each() {
        assert_eq!(
            unquoted_params(
                "echo \"{{ params.who }}\" {{ params.who }} {{ params['n-1'] }}\n\
                 echo {{ params.safe | shell_quote }} {{ params.count | int }} {{ run.id }}"
            ),
            vec!["who".to_owned(), "n-1".to_owned()]
        );
        assert!(unquoted_params("echo $ORRERY_PARAM_WHO {{ myparams.x }}").is_empty());
    }
}
