//! `LineSplitter`: cuts a byte stream into lines with bounded memory, marking long lines.

/// Appended to a line cut at the length limit.
pub(crate) const TRUNCATED_SUFFIX: &str = " …[line truncated]";

/// Splits bytes on `\n` (dropping a `\r` before it) and converts each line to text
/// lossily. A line longer than the limit is emitted cut at the limit (on a character
/// boundary) with `TRUNCATED_SUFFIX`, and the rest of it is skipped up to the next
/// newline; at most one line's worth of bytes is ever held.
#[derive(Debug)]
pub(crate) struct LineSplitter {
    max_line_bytes: usize,
    partial: Vec<u8>,
    /// The current line was already emitted truncated; skip to its newline.
    skipping: bool,
}

impl LineSplitter {
    pub(crate) fn new(max_line_bytes: usize) -> Self {
        Self {
            max_line_bytes,
            partial: Vec::new(),
            skipping: false,
        }
    }

    /// Feeds the next bytes, appending every line they complete to `lines`.
    pub(crate) fn feed(&mut self, mut bytes: &[u8], lines: &mut Vec<String>) {
        while let Some(newline) = bytes.iter().position(|byte| *byte == b'\n') {
            self.append(&bytes[..newline], lines);
            self.end_line(lines);
            bytes = &bytes[newline + 1..];
        }
        self.append(bytes, lines);
    }

    /// The stream ended: a last line without a newline is emitted as it is.
    pub(crate) fn finish(&mut self, lines: &mut Vec<String>) {
        if !self.skipping && !self.partial.is_empty() {
            lines.push(String::from_utf8_lossy(&self.partial).into_owned());
        }
        self.partial.clear();
        self.skipping = false;
    }

    /// Bytes held for the line in progress (never more than the limit).
    #[cfg(test)]
    pub(crate) fn buffered_len(&self) -> usize {
        self.partial.len()
    }

    fn append(&mut self, segment: &[u8], lines: &mut Vec<String>) {
        if self.skipping || segment.is_empty() {
            return;
        }
        let room = self.max_line_bytes.saturating_sub(self.partial.len());
        if segment.len() <= room {
            self.partial.extend_from_slice(segment);
            return;
        }
        self.partial.extend_from_slice(&segment[..room]);
        // Do not split a UTF-8 sequence: back off over the bytes of a character whose
        // continuation bytes fall past the cut.
        let mut end = self.partial.len();
        let mut next_byte = segment[room];
        for _ in 0..3 {
            if !is_continuation_byte(next_byte) || end == 0 {
                break;
            }
            end -= 1;
            next_byte = self.partial[end];
        }
        let mut line = String::from_utf8_lossy(&self.partial[..end]).into_owned();
        line.push_str(TRUNCATED_SUFFIX);
        lines.push(line);
        self.partial.clear();
        self.skipping = true;
    }

    fn end_line(&mut self, lines: &mut Vec<String>) {
        if self.skipping {
            self.skipping = false;
            return;
        }
        let line = self.partial.strip_suffix(b"\r").unwrap_or(&self.partial);
        lines.push(String::from_utf8_lossy(line).into_owned());
        self.partial.clear();
    }
}

fn is_continuation_byte(byte: u8) -> bool {
    byte & 0b1100_0000 == 0b1000_0000
}

#[cfg(test)]
#[path = "line_splitter_tests.rs"]
mod tests;
