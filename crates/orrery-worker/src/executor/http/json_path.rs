//! `JsonPath`: the small JSON path language of `expect_json` (`$`, `.key`, `['key']`,
//! `[index]`; no wildcards, filters or slices) and its lookup in a JSON value.

use serde_json::Value;

/// A parsed path: the steps from the root (`$`) to one value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct JsonPath {
    steps: Vec<Step>,
}

/// One step down from a value.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    /// A member of an object: `.key` or `['key']`.
    Key(String),
    /// An element of an array, from 0: `[3]`.
    Index(usize),
}

/// Why a path does not parse; `position` is a byte offset in the path.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(super) enum JsonPathError {
    #[error("a JSON path starts with '$'")]
    MissingRoot,
    #[error("empty key after '.' at position {position}")]
    EmptyKey { position: usize },
    #[error("unterminated '[' at position {position}")]
    Unterminated { position: usize },
    #[error("invalid index {text:?} at position {position} (expected a number or a quoted key)")]
    InvalidIndex { position: usize, text: String },
    #[error("unexpected {found:?} at position {position} (expected '.' or '[')")]
    Unexpected { position: usize, found: char },
}

impl JsonPath {
    /// Parses `$` followed by any number of `.key`, `['key']`, `["key"]` and `[index]`
    /// steps. A dotted key runs to the next `.` or `[`; a quoted key may contain
    /// anything, with `\` escaping the quote or a backslash.
    pub(super) fn parse(path: &str) -> Result<Self, JsonPathError> {
        let rest = path.strip_prefix('$').ok_or(JsonPathError::MissingRoot)?;
        let mut parser = Parser {
            text: rest,
            offset: 1,
        };
        let mut steps = Vec::new();
        while let Some(step) = parser.next_step()? {
            steps.push(step);
        }
        Ok(Self { steps })
    }

    /// The value the path leads to, `None` if a step finds no such key or element (or
    /// meets a value of the wrong kind).
    pub(super) fn find<'value>(&self, root: &'value Value) -> Option<&'value Value> {
        self.steps
            .iter()
            .try_fold(root, |value, step| match (step, value) {
                (Step::Key(key), Value::Object(members)) => members.get(key),
                (Step::Index(index), Value::Array(elements)) => elements.get(*index),
                _ => None,
            })
    }
}

/// What remains of the path after `$`, and where that is in the whole path.
struct Parser<'path> {
    text: &'path str,
    offset: usize,
}

impl Parser<'_> {
    fn next_step(&mut self) -> Result<Option<Step>, JsonPathError> {
        let Some(first) = self.text.chars().next() else {
            return Ok(None);
        };
        match first {
            '.' => self.dotted_key().map(Some),
            '[' => self.bracket().map(Some),
            found => Err(JsonPathError::Unexpected {
                position: self.offset,
                found,
            }),
        }
    }

    /// `.key`, the text is at the dot.
    fn dotted_key(&mut self) -> Result<Step, JsonPathError> {
        let key_text = &self.text[1..];
        let key_len = key_text.find(['.', '[']).unwrap_or(key_text.len());
        if key_len == 0 {
            return Err(JsonPathError::EmptyKey {
                position: self.offset,
            });
        }
        let key = key_text[..key_len].to_owned();
        self.advance(1 + key_len);
        Ok(Step::Key(key))
    }

    /// `['key']`, `["key"]` or `[index]`, the text is at the `[`.
    fn bracket(&mut self) -> Result<Step, JsonPathError> {
        let start = self.offset;
        let inner = &self.text[1..];
        match inner.chars().next() {
            Some(quote @ ('\'' | '"')) => {
                let (key, quoted_len) = quoted(&inner[1..], quote)
                    .ok_or(JsonPathError::Unterminated { position: start })?;
                if !inner[1 + quoted_len..].starts_with(']') {
                    return Err(JsonPathError::Unterminated { position: start });
                }
                self.advance(1 + 1 + quoted_len + 1);
                Ok(Step::Key(key))
            }
            _ => {
                let close = inner
                    .find(']')
                    .ok_or(JsonPathError::Unterminated { position: start })?;
                let text = &inner[..close];
                let index = parse_index(text).ok_or_else(|| JsonPathError::InvalidIndex {
                    position: start + 1,
                    text: text.to_owned(),
                })?;
                self.advance(1 + close + 1);
                Ok(Step::Index(index))
            }
        }
    }

    fn advance(&mut self, len: usize) {
        self.text = &self.text[len..];
        self.offset += len;
    }
}

/// Reads a quoted key up to its closing `quote`; returns the key and the length of the
/// text consumed, closing quote included. `None` if the quote is never closed.
fn quoted(text: &str, quote: char) -> Option<(String, usize)> {
    let mut key = String::new();
    let mut chars = text.char_indices();
    while let Some((position, c)) = chars.next() {
        match c {
            '\\' => key.push(chars.next()?.1),
            c if c == quote => return Some((key, position + c.len_utf8())),
            c => key.push(c),
        }
    }
    None
}

/// A plain decimal index: digits only, no sign or spaces.
fn parse_index(text: &str) -> Option<usize> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
#[path = "json_path_tests.rs"]
mod tests;
