//! Spec problems, each located by field path (and by line and column for syntax errors).

use std::fmt;

/// One problem found in a spec.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SpecError {
    /// Field path such as `tasks[1].timeout` or `tasks[2].depends_on[0]`; empty for a
    /// problem with the whole document (a syntax error, a document that is not a mapping).
    pub path: String,
    /// What is wrong, phrased for the person who wrote the spec.
    pub message: String,
    /// 1-based line of a syntax error.
    pub line: Option<usize>,
    /// 1-based column of a syntax error.
    pub column: Option<usize>,
}

impl SpecError {
    /// A problem with the value at `path`.
    pub fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        SpecError {
            path: path.into(),
            message: message.into(),
            line: None,
            column: None,
        }
    }

    /// A syntax error at a 1-based position of the text.
    pub fn syntax(line: Option<usize>, column: Option<usize>, message: impl Into<String>) -> Self {
        SpecError {
            path: String::new(),
            message: message.into(),
            line,
            column,
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "line {line}, column {column}: ")?,
            (Some(line), None) => write!(f, "line {line}: ")?,
            _ if !self.path.is_empty() => write!(f, "{}: ", self.path)?,
            _ => {}
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in a spec, field by field with job-wide checks (names,
/// references, cycles) last; never empty when returned as an error. Displays one
/// problem per line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct SpecErrors(pub Vec<SpecError>);

impl SpecErrors {
    /// The problems.
    pub fn iter(&self) -> std::slice::Iter<'_, SpecError> {
        self.0.iter()
    }

    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no problem (never the case for a returned error).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<SpecError> for SpecErrors {
    fn from(error: SpecError) -> Self {
        SpecErrors(vec![error])
    }
}

impl<'a> IntoIterator for &'a SpecErrors {
    type Item = &'a SpecError;
    type IntoIter = std::slice::Iter<'a, SpecError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (idx, error) in self.0.iter().enumerate() {
            if idx > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_one_problem_per_line() {
        let errors = SpecErrors(vec![
            SpecError::at("tasks[1].timeout", "expected a duration string"),
            SpecError::syntax(Some(3), Some(7), "did not find expected key"),
            SpecError::at("", "the document is empty"),
        ]);
        assert_eq!(
            errors.to_string(),
            "tasks[1].timeout: expected a duration string\n\
             line 3, column 7: did not find expected key\n\
             the document is empty"
        );
    }
}
