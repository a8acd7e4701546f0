//! Tests of the `$ORRERY_OUTPUT` parser.

use super::*;

fn check(input: &str, expected: Result<&[(&str, &str)], OutputError>) {
    let expected = expected.map(|pairs| {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect::<BTreeMap<_, _>>()
    });
    assert_eq!(
        parse_outputs(input.as_bytes()),
        expected,
        "input: {input:?}"
    );
}

#[test]
fn key_value_lines_are_parsed() {
    check("", Ok(&[]));
    check("a=1\nb=two words\n", Ok(&[("a", "1"), ("b", "two words")]));
    check(
        "  key.name-x_1 = v=w \r\n",
        Ok(&[("key.name-x_1", " v=w ")]),
    );
    check("a=1\na=2", Ok(&[("a", "2")]));
    check("empty=", Ok(&[("empty", "")]));
}

#[test]
fn one_json_object_is_parsed_with_non_strings_as_their_json_text() {
    check(
        "\n  {\"rows\": 3, \"name\": \"a b\", \"ok\": true, \"none\": null,\n\"list\": [1, \"x\"], \"nested\": {\"k\": 1.5}}\n",
        Ok(&[
            ("rows", "3"),
            ("name", "a b"),
            ("ok", "true"),
            ("none", "null"),
            ("list", "[1,\"x\"]"),
            ("nested", "{\"k\":1.5}"),
        ]),
    );
    check("{}", Ok(&[]));
}

#[test]
fn a_bad_json_object_is_refused_with_the_parser_message() {
    let error = parse_outputs(b"{\"a\": 1,}").expect_err("trailing comma");
    assert!(
        matches!(&error, OutputError::NotJsonObject { message } if message.contains("line 1")),
        "{error:?}"
    );
    assert!(matches!(
        parse_outputs(b"{\"a\": 1} {\"b\": 2}"),
        Err(OutputError::NotJsonObject { .. })
    ));
    check(
        "{\"bad key\": 1}",
        Err(OutputError::InvalidJsonKey {
            key: "bad key".to_owned(),
        }),
    );
}

#[test]
fn blank_lines_and_comments_are_skipped() {
    check("\n   \n# a=b\n  # note\nx=1\n\n", Ok(&[("x", "1")]));
}

#[test]
fn bad_lines_name_their_line_number() {
    check(
        "a=1\nno equals\n",
        Err(OutputError::MissingEquals { line: 2 }),
    );
    check(
        "=1",
        Err(OutputError::InvalidKey {
            line: 1,
            key: String::new(),
        }),
    );
    check(
        "a=1\n\n1abc=2",
        Err(OutputError::InvalidKey {
            line: 3,
            key: "1abc".to_owned(),
        }),
    );
    check(
        "bad key=2",
        Err(OutputError::InvalidKey {
            line: 1,
            key: "bad key".to_owned(),
        }),
    );
    assert_eq!(
        parse_outputs(b"a=1\nb=\xff\n"),
        Err(OutputError::NotUtf8 { line: 2 })
    );
}

#[test]
fn errors_read_as_sentences() {
    assert_eq!(
        OutputError::TooLarge {
            size: 2_000_000,
            cap: 1_048_576
        }
        .to_string(),
        "output file is 2000000 bytes, over the 1048576-byte cap"
    );
    assert_eq!(
        OutputError::MissingEquals { line: 4 }.to_string(),
        "output file line 4: expected key=value"
    );
}

#[test]
fn a_file_over_the_cap_is_refused_and_a_missing_file_has_no_outputs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("output");
    assert_eq!(read_outputs(&path, 10), Ok(BTreeMap::new()));
    std::fs::write(&path, "k=0123456789\n").expect("write output file");
    assert_eq!(
        read_outputs(&path, 10),
        Err(OutputError::TooLarge { size: 13, cap: 10 })
    );
    assert_eq!(read_outputs(&path, 13).map(|outputs| outputs.len()), Ok(1));
}
