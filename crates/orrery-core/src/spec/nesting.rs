//! A bound on how deeply a YAML document nests, checked on the raw text before it is
//! parsed: the parser takes time and stack that grow with the nesting, so a small body
//! of `[[[[…` must be refused before it reaches it.

use super::error::SpecError;

/// Deeper than any real spec (they nest a handful of levels), shallow enough that the
/// parser stays fast.
pub(crate) const MAX_NESTING: usize = 64;

/// Refuses text whose flow collections (`[`, `{`) or compact block sequences
/// (`- - - x`) nest deeper than [`MAX_NESTING`], naming the line. Quoted strings,
/// comments and block scalars (`script: |`) are text, not structure, and are skipped.
pub(crate) fn check_nesting(text: &str) -> Result<(), SpecError> {
    let mut flow_depth: usize = 0;
    // Indentation of the line that opened a block scalar; lines indented deeper are
    // its text.
    let mut block_scalar_parent: Option<usize> = None;
    let mut quote: Option<char> = None;
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let indent = line.len() - line.trim_start_matches(' ').len();
        if let Some(parent) = block_scalar_parent {
            if line.trim().is_empty() || indent > parent {
                continue;
            }
            block_scalar_parent = None;
        }
        if quote.is_none() && flow_depth == 0 {
            let mut rest = line.trim_start();
            let mut compact = 0;
            while let Some(after) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("-\t")) {
                compact += 1;
                rest = after.trim_start();
            }
            if compact > MAX_NESTING {
                return Err(too_deep(line_no));
            }
        }
        let mut previous = ' ';
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match quote {
                Some('\'') => {
                    if c == '\'' {
                        if chars.peek() == Some(&'\'') {
                            chars.next();
                        } else {
                            quote = None;
                        }
                    }
                }
                Some(_) => {
                    if c == '\\' {
                        chars.next();
                    } else if c == '"' {
                        quote = None;
                    }
                }
                None => match c {
                    '#' if previous.is_whitespace() => break,
                    '"' | '\'' if previous.is_whitespace() || "[{,:".contains(previous) => {
                        quote = Some(c);
                    }
                    '[' | '{' => {
                        flow_depth += 1;
                        if flow_depth > MAX_NESTING {
                            return Err(too_deep(line_no));
                        }
                    }
                    ']' | '}' => flow_depth = flow_depth.saturating_sub(1),
                    _ => {}
                },
            }
            previous = c;
        }
        if quote.is_none() && flow_depth == 0 && opens_block_scalar(line) {
            block_scalar_parent = Some(indent);
        }
    }
    Ok(())
}

/// Whether `line` ends with a block scalar indicator (`|`, `>`, with optional chomping
/// and indentation indicators), possibly followed by a comment.
fn opens_block_scalar(line: &str) -> bool {
    let code = match line.find(" #") {
        Some(at) => &line[..at],
        None => line,
    };
    let Some(last_word) = code.split_whitespace().last() else {
        return false;
    };
    let mut chars = last_word.chars();
    matches!(chars.next(), Some('|' | '>'))
        && chars.all(|c| c == '-' || c == '+' || c.is_ascii_digit())
}

fn too_deep(line: usize) -> SpecError {
    SpecError::syntax(
        Some(line),
        None,
        format!("the document nests deeper than {MAX_NESTING} levels"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_flow_collections_are_refused_with_their_line() {
        let text = format!("name: x\ntasks: {}", "[".repeat(200_000));
        let error = check_nesting(&text).expect_err("too deep");
        assert_eq!(error.line, Some(2));
        assert!(check_nesting(&format!("a: {}", "- ".repeat(100))).is_ok());
        assert!(check_nesting(&"- ".repeat(100)).is_err());
    }

    #[test]
    fn brackets_in_text_are_not_structure() {
        let text = format!(
            "name: x\ntasks:\n  - name: t\n    script: |\n      echo {}\n      if [ -f x ]; then :; fi\n    env: {{A: \"{}\"}}\n# {}\n",
            "[".repeat(100),
            "{".repeat(100),
            "[".repeat(100),
        );
        assert_eq!(check_nesting(&text), Ok(()));
    }
}
