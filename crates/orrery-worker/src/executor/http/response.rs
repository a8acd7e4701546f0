//! Reading a response: its body up to a limit, and the `status`, `body` and
//! `header.NAME` outputs made from it.

use reqwest::header::HeaderMap;
use std::collections::BTreeMap;

/// The start of a response body.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct BodyPrefix {
    /// At most the limit it was read with.
    pub(super) bytes: Vec<u8>,
    /// Whether the body went on past the limit (the rest was not read).
    pub(super) truncated: bool,
}

/// Reads the body until its end or until more than `limit` bytes came, so memory stays
/// bounded whatever the server sends.
pub(super) async fn read_body_prefix(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<BodyPrefix, reqwest::Error> {
    let mut prefix = BodyPrefix::default();
    while let Some(chunk) = response.chunk().await? {
        let room = limit - prefix.bytes.len();
        if chunk.len() > room {
            prefix.bytes.extend_from_slice(&chunk[..room]);
            prefix.truncated = true;
            break;
        }
        prefix.bytes.extend_from_slice(&chunk);
    }
    Ok(prefix)
}

/// `status`, `body` (its first `max_body_bytes` bytes as text) and one
/// `header.<lowercase name>` per response header, repeated headers joined by `, `.
pub(super) fn response_outputs(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    max_body_bytes: usize,
) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    outputs.insert("status".to_owned(), status.to_string());
    outputs.insert("body".to_owned(), body_text(body, max_body_bytes));
    for name in headers.keys() {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect();
        outputs.insert(format!("header.{}", name.as_str()), values.join(", "));
    }
    outputs
}

/// The first `max_bytes` bytes as text: a character cut by the limit is left out, and
/// bytes that are not UTF-8 become U+FFFD.
pub(super) fn body_text(body: &[u8], max_bytes: usize) -> String {
    let mut kept = &body[..body.len().min(max_bytes)];
    if kept.len() < body.len()
        && let Err(error) = std::str::from_utf8(kept)
        && error.error_len().is_none()
    {
        kept = &kept[..error.valid_up_to()];
    }
    String::from_utf8_lossy(kept).into_owned()
}

/// A reqwest error's causes, innermost last (`tcp connect error: Connection refused (os
/// error 111)`), without the wrappers that add nothing: reqwest's own text, which
/// repeats the url, and hyper's `client error (Connect)`.
pub(super) fn describe_error(error: &reqwest::Error) -> String {
    let mut causes: Vec<String> = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.starts_with("client error (") && causes.last() != Some(&text) {
            causes.push(text);
        }
        source = cause.source();
    }
    if causes.is_empty() {
        error.to_string()
    } else {
        causes.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn body_text_keeps_whole_characters_under_the_cap() {
        assert_eq!(body_text(b"hello", 10), "hello");
        assert_eq!(body_text(b"hello", 3), "hel");
        assert_eq!(body_text("héllo".as_bytes(), 2), "h");
        assert_eq!(body_text("héllo".as_bytes(), 3), "hé");
        assert_eq!(body_text(b"a\xffb", 10), "a\u{fffd}b");
        assert_eq!(body_text(b"", 0), "");
    }

    #[test]
    fn outputs_hold_status_body_and_every_header() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("text/plain"));
        headers.append("set-cookie", HeaderValue::from_static("a=1"));
        headers.append("set-cookie", HeaderValue::from_static("b=2"));
        let outputs = response_outputs(201, &headers, b"created!", 7);
        let expected: BTreeMap<String, String> = [
            ("status", "201"),
            ("body", "created"),
            ("header.content-type", "text/plain"),
            ("header.set-cookie", "a=1, b=2"),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
        assert_eq!(outputs, expected);
    }
}
