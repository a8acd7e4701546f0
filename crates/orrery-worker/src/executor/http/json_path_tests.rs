//! Tests of the `expect_json` path language.

use super::*;
use serde_json::json;

fn document() -> Value {
    json!({
        "status": "ok",
        "count": 3,
        "items": [{"id": 7, "tags": ["a", "b"]}, {"id": 8}],
        "odd key.with[chars]": {"it's": true},
        "": "empty",
        "nothing": null
    })
}

/// Looks `path` up in `document()`: `Ok(Some(value))` found, `Ok(None)` not found.
fn check(path: &str, expected: Result<Option<Value>, JsonPathError>) {
    let document = document();
    let found = JsonPath::parse(path).map(|parsed| parsed.find(&document).cloned());
    assert_eq!(found, expected, "path: {path:?}");
}

#[test]
fn paths_lead_to_their_values() {
    check("$", Ok(Some(document())));
    check("$.status", Ok(Some(json!("ok"))));
    check("$['status']", Ok(Some(json!("ok"))));
    check("$[\"count\"]", Ok(Some(json!(3))));
    check("$.items[0].id", Ok(Some(json!(7))));
    check("$.items[0].tags[1]", Ok(Some(json!("b"))));
    check("$['items'][1]['id']", Ok(Some(json!(8))));
    check("$['odd key.with[chars]']['it\\'s']", Ok(Some(json!(true))));
    check("$['']", Ok(Some(json!("empty"))));
    check("$.nothing", Ok(Some(Value::Null)));
    check("$.items[0]", Ok(Some(json!({"id": 7, "tags": ["a", "b"]}))));
}

#[test]
fn missing_keys_and_elements_and_wrong_kinds_are_not_found() {
    check("$.missing", Ok(None));
    check("$.items[2]", Ok(None));
    check("$.items[1].tags", Ok(None));
    check("$.status.length", Ok(None));
    check("$.count[0]", Ok(None));
    check("$[0]", Ok(None));
    check("$.items.0", Ok(None));
    check("$.nothing.x", Ok(None));
}

#[test]
fn malformed_paths_say_what_and_where() {
    check("status", Err(JsonPathError::MissingRoot));
    check("", Err(JsonPathError::MissingRoot));
    check("$.", Err(JsonPathError::EmptyKey { position: 1 }));
    check("$.a..b", Err(JsonPathError::EmptyKey { position: 3 }));
    check("$.a[", Err(JsonPathError::Unterminated { position: 3 }));
    check("$['a'", Err(JsonPathError::Unterminated { position: 1 }));
    check("$['a]", Err(JsonPathError::Unterminated { position: 1 }));
    check("$['a'x]", Err(JsonPathError::Unterminated { position: 1 }));
    check(
        "$[*]",
        Err(JsonPathError::InvalidIndex {
            position: 2,
            text: "*".to_owned(),
        }),
    );
    check(
        "$.items[-1]",
        Err(JsonPathError::InvalidIndex {
            position: 8,
            text: "-1".to_owned(),
        }),
    );
    check(
        "$.items[]",
        Err(JsonPathError::InvalidIndex {
            position: 8,
            text: String::new(),
        }),
    );
    check(
        "$status",
        Err(JsonPathError::Unexpected {
            position: 1,
            found: 's',
        }),
    );
    check(
        "$.a[0]x",
        Err(JsonPathError::Unexpected {
            position: 6,
            found: 'x',
        }),
    );
}

#[test]
fn errors_read_as_sentences() {
    assert_eq!(
        JsonPathError::InvalidIndex {
            position: 2,
            text: "*".to_owned()
        }
        .to_string(),
        "invalid index \"*\" at position 2 (expected a number or a quoted key)"
    );
    assert_eq!(
        JsonPathError::MissingRoot.to_string(),
        "a JSON path starts with '$'"
    );
}
