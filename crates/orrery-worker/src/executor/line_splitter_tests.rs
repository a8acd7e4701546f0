//! Tests of `LineSplitter`.

use super::*;

/// Feeds `chunks` one after the other, then ends the stream.
fn split(max_line_bytes: usize, chunks: &[&[u8]]) -> Vec<String> {
    let mut splitter = LineSplitter::new(max_line_bytes);
    let mut lines = Vec::new();
    for chunk in chunks {
        splitter.feed(chunk, &mut lines);
        assert!(splitter.buffered_len() <= max_line_bytes);
    }
    splitter.finish(&mut lines);
    lines
}

fn truncated(text: &str) -> String {
    format!("{text}{TRUNCATED_SUFFIX}")
}

#[test]
fn lines_split_on_newlines_across_chunks() {
    assert_eq!(split(100, &[b"a\nb", b"c\n", b"\nd"]), ["a", "bc", "", "d"]);
    assert_eq!(split(100, &[b"crlf\r\n", b"x\r", b"\n"]), ["crlf", "x"]);
    assert_eq!(split(100, &[b""]), Vec::<String>::new());
    assert_eq!(split(100, &[b"\n"]), [""]);
}

#[test]
fn invalid_utf8_is_replaced() {
    assert_eq!(split(100, &[b"a\xffb\n"]), ["a\u{fffd}b"]);
}

#[test]
fn long_lines_are_cut_and_their_rest_skipped() {
    assert_eq!(split(4, &[b"abcd\n"]), ["abcd"]);
    assert_eq!(
        split(4, &[b"abcdef\nxy\n"]),
        [truncated("abcd"), "xy".to_owned()]
    );
    assert_eq!(
        split(4, &[b"ab", b"cd", b"ef", b"gh\n", b"z"]),
        [truncated("abcd"), "z".to_owned()]
    );
    // A truncated last line without a newline is not emitted twice.
    assert_eq!(split(4, &[b"abcdefgh"]), [truncated("abcd")]);
}

#[test]
fn cuts_fall_on_character_boundaries() {
    // "aé" is 61 C3 A9; a cut after three bytes would fall inside "é" if it came later.
    assert_eq!(split(2, &["aé\n".as_bytes()]), [truncated("a")]);
    assert_eq!(split(3, &["aéb\n".as_bytes()]), [truncated("aé")]);
    assert_eq!(split(3, &["a€\n".as_bytes()]), [truncated("a")]);
}

#[test]
fn memory_stays_bounded_for_a_huge_line() {
    let chunk = vec![b'x'; 8192];
    let mut splitter = LineSplitter::new(1000);
    let mut lines = Vec::new();
    for _ in 0..1000 {
        splitter.feed(&chunk, &mut lines);
        assert!(splitter.buffered_len() <= 1000);
    }
    splitter.feed(b"\nnext\n", &mut lines);
    assert_eq!(lines, [truncated(&"x".repeat(1000)), "next".to_owned()]);
}
