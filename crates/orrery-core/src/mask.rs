//! Hiding secret values in text a task produced (its output, an error about it): every
//! occurrence of a value, and of its base64 forms, becomes `***`.

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine;

/// What a hidden value is replaced with.
pub const MASK: &str = "***";

/// Replaces secret values in text; built once per attempt, used per line.
#[derive(Clone, Debug)]
pub struct Masker {
    /// `None` when there is nothing to hide.
    matcher: Option<AhoCorasick>,
}

impl Masker {
    /// A masker for `values` (empty values are ignored).
    pub fn new(values: &[String]) -> Self {
        let mut patterns: Vec<String> = Vec::new();
        for value in values.iter().filter(|v| !v.is_empty()) {
            patterns.push(value.clone());
            for engine in [
                &base64::engine::general_purpose::STANDARD,
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ] {
                let encoded = engine.encode(value.as_bytes());
                // With its padding where it ends the text, without where it does not
                // (the longest match wins).
                patterns.push(encoded.trim_end_matches('=').to_owned());
                patterns.push(encoded);
            }
        }
        patterns.retain(|p| !p.is_empty());
        patterns.sort();
        patterns.dedup();
        let matcher = (!patterns.is_empty())
            .then(|| {
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&patterns)
                    .ok()
            })
            .flatten();
        Self { matcher }
    }

    /// Whether there is anything to hide.
    pub fn is_empty(&self) -> bool {
        self.matcher.is_none()
    }

    /// `text` with every value replaced by `***`.
    pub fn mask(&self, text: &str) -> String {
        match &self.matcher {
            None => text.to_owned(),
            Some(matcher) => {
                let replacements = vec![MASK; matcher.patterns_len()];
                matcher.replace_all(text, &replacements)
            }
        }
    }

    /// Like [`mask`](Self::mask) for bytes that may not be UTF-8.
    pub fn mask_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        match &self.matcher {
            None => bytes.to_vec(),
            Some(matcher) => {
                let replacements = vec![MASK.as_bytes(); matcher.patterns_len()];
                matcher.replace_all_bytes(bytes, &replacements)
            }
        }
    }
}

/// `text` with every one of `values` (and their base64 forms) replaced by `***`.
pub fn mask(text: &str, values: &[String]) -> String {
    if values.is_empty() {
        return text.to_owned();
    }
    Masker::new(values).mask(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_their_base64_forms_are_hidden_wherever_they_appear() {
        let masker = Masker::new(&["hunter2".to_owned(), String::new()]);
        assert_eq!(
            masker.mask("password=hunter2; again:hunter2hunter2"),
            "password=***; again:******"
        );
        let b64 = base64::engine::general_purpose::STANDARD.encode("hunter2");
        assert!(b64.ends_with('='), "{b64}");
        assert_eq!(masker.mask(&format!("auth {b64} end")), "auth *** end");
        assert_eq!(masker.mask("nothing here"), "nothing here");
        assert_eq!(masker.mask_bytes(b"x hunter2 \xff"), b"x *** \xff".to_vec());
        assert!(Masker::new(&[]).is_empty());
    }

    #[test]
    fn the_longest_value_wins_where_two_overlap() {
        let masker = Masker::new(&["abc".to_owned(), "abcdef".to_owned()]);
        assert_eq!(masker.mask("xabcdefx abcx"), "x***x ***x");
    }
}
