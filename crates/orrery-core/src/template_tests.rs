//! Tests of rendering, syntax checks and condition evaluation.

use super::*;

#[test]
fn logical_dates_format_with_the_date_filter() {
    let rendered = render(
        "{{ logical_date | date('%Y%m%d') }} {{ logical_date | date }}",
        &context(),
    );
    assert_eq!(rendered.ok().as_deref(), Some("20260308 2026-03-08"));
    let bad = render("{{ logical_date | date('%Q') }}", &context());
    assert!(matches!(bad, Err(TemplateError::Render { .. })), "{bad:?}");
}

#[test]
fn upstream_outputs_are_visible() {
    let rendered = render("rows={{ tasks.extract.outputs.rows }}", &context());
    assert_eq!(rendered.ok().as_deref(), Some("rows=42"));
    let missing = render("{{ tasks.load.outputs.rows }}", &context());
    assert!(
        matches!(missing, Err(TemplateError::Undefined { .. })),
        "{missing:?}"
    );
}

fn context() -> TemplateContext {
    let mut params = serde_json::Map::new();
    params.insert("region".into(), "cn".into());
    params.insert("shards".into(), serde_json::json!([1, 2]));
    let mut upstream_outputs = BTreeMap::new();
    upstream_outputs.insert(
        "extract".to_owned(),
        BTreeMap::from([("rows".to_owned(), "42".to_owned())]),
    );
    let upstream_states = BTreeMap::from([
        ("extract".to_owned(), "success".to_owned()),
        ("check".to_owned(), "failed".to_owned()),
    ]);
    TemplateContext {
        secrets: BTreeMap::new(),
        upstream_outputs,
        upstream_states,
        upstream_mapped_outputs: BTreeMap::from([(
            "process".to_owned(),
            vec![
                BTreeMap::from([("out".to_owned(), "a".to_owned())]),
                BTreeMap::from([("out".to_owned(), "b".to_owned())]),
            ],
        )]),
        item: None,
        index: None,
        logical_date: chrono::DateTime::parse_from_rfc3339("2026-03-08T02:30:00Z").ok(),
        data_interval_start: None,
        data_interval_end: None,
        params,
        run_id: 42,
        job_name: "etl-daily".into(),
        task_name: "extract".into(),
        attempt: 2,
    }
}

#[test]
fn renders_params_and_run_fields() {
    let rendered = render(
        "{{ job.name }}/{{ task.name }}#{{ task.attempt }} run {{ run.id }} \
         in {{ params.region }} over {{ params.shards | length }} shards",
        &context(),
    );
    assert_eq!(
        rendered,
        Ok("etl-daily/extract#2 run 42 in cn over 2 shards".to_owned())
    );
}

#[test]
fn keeps_trailing_newlines_and_does_not_escape() {
    let rendered = render("echo \"<{{ params.region }}>\" & true\n", &context());
    assert_eq!(rendered, Ok("echo \"<cn>\" & true\n".to_owned()));
}

#[test]
fn plain_text_renders_to_itself() {
    let text = "echo { not a template } $HOME }}";
    assert!(!is_template(text));
    assert_eq!(render(text, &context()), Ok(text.to_owned()));
    assert_eq!(check_syntax(text), Ok(()));
}

#[test]
fn an_undefined_variable_is_an_error_that_names_it() {
    let error = render("line one\n{{ params.nope }}", &context()).expect_err("undefined");
    let TemplateError::Undefined { line, .. } = &error else {
        panic!("expected an undefined error, got {error:?}");
    };
    assert_eq!(*line, Some(2));
    let message = error.to_string();
    assert!(message.contains("params.nope"), "{message}");
    assert!(message.contains("on line 2"), "{message}");

    let error = render("{{ nope }}", &context()).expect_err("undefined");
    assert!(error.to_string().contains("nope"), "{error}");
}

#[test]
fn syntax_errors_carry_the_line() {
    let error = check_syntax("ok\n{{ params.region ").expect_err("unclosed");
    let TemplateError::Syntax { line, .. } = &error else {
        panic!("expected a syntax error, got {error:?}");
    };
    assert_eq!(*line, Some(2));
    assert!(
        error
            .to_string()
            .starts_with("template syntax error on line 2: "),
        "{error}"
    );
    assert_eq!(check_syntax("{% if true %}x{% endif %}"), Ok(()));
    let error = check_syntax("echo ${#names[@]}").expect_err("comment");
    assert!(error.to_string().contains("{% raw %}"), "{error}");
    assert_eq!(
        check_syntax("{% raw %}echo ${#names[@]}{% endraw %}"),
        Ok(())
    );
    assert!(matches!(
        render("{% for %}", &context()),
        Err(TemplateError::Syntax { .. })
    ));
}

#[test]
fn upstream_states_sit_next_to_outputs() {
    let rendered = render(
        "{{ tasks.extract.state }} {{ tasks.extract.outputs.rows }} {{ tasks.check.state }} \
         {{ tasks.check.outputs | length }}",
        &context(),
    );
    assert_eq!(rendered.ok().as_deref(), Some("success 42 failed 0"));
    let missing = render("{{ tasks.check.outputs.rows }}", &context());
    assert!(
        matches!(missing, Err(TemplateError::Undefined { .. })),
        "{missing:?}"
    );
}

#[test]
fn expressions_lose_the_braces_around_them() {
    assert_eq!(expression_source("  a > 1 "), "a > 1");
    assert_eq!(expression_source("{{ a > 1 }}"), "a > 1");
    assert_eq!(expression_source(" {{- a -}} "), "a");
    assert_eq!(
        expression_source("{{ a }} and {{ b }}"),
        "{{ a }} and {{ b }}"
    );
    assert_eq!(
        check_expression("{{ tasks.x.outputs.rows | int > 0 }}"),
        Ok(())
    );
    assert_eq!(check_expression("params.a == 'x' and not params.b"), Ok(()));
    for bad in [
        "",
        "{{ }}",
        "a >",
        "{{ a }} and {{ b }}",
        "{% if a %}1{% endif %}",
        "a b",
    ] {
        let error = check_expression(bad).expect_err(bad);
        assert!(
            matches!(error, TemplateError::Syntax { .. }),
            "{bad}: {error:?}"
        );
    }
    assert_eq!(
        check_expression("a >").map_err(|e| e.to_string()),
        Err(
            "template syntax error on line 1: unexpected end of input, expected expression"
                .to_owned()
        )
    );
}

/// Evaluates `expr` against the test context: `Ok(truthiness)` or the error's text.
#[track_caller]
fn check_condition(expr: &str, expected: Result<bool, &str>) {
    let actual = eval_condition(expr, &context()).map_err(|error| error.to_string());
    assert_eq!(actual, expected.map_err(str::to_owned), "{expr}");
}

#[test]
fn conditions_are_truthy_or_fail_naming_what_is_missing() {
    check_condition("{{ tasks.extract.outputs.rows | int > 0 }}", Ok(true));
    check_condition("tasks.extract.outputs.rows | int > 100", Ok(false));
    check_condition("tasks.extract.state == 'success'", Ok(true));
    check_condition("tasks.check.state == 'success'", Ok(false));
    check_condition("params.region", Ok(true));
    check_condition("params.shards", Ok(true));
    check_condition("params.shards | length == 3", Ok(false));
    check_condition("''", Ok(false));
    check_condition("0", Ok(false));
    check_condition("none", Ok(false));
    check_condition("task.attempt > 1 and run.id == 42", Ok(true));
    check_condition("logical_date | date == '2026-03-08'", Ok(true));

    let error =
        eval_condition("tasks.load.outputs.rows == '1'", &context()).expect_err("undefined");
    assert!(
        matches!(error, TemplateError::Undefined { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "template error on line 1: `tasks.load` is undefined"
    );
    let error = eval_condition("params.nope", &context()).expect_err("undefined");
    assert!(error.to_string().contains("params.nope"), "{error}");
    let error = eval_condition("{{ nope }}", &context()).expect_err("undefined");
    assert_eq!(error.to_string(), "template error: `nope` is undefined");

    // Comparing across types is allowed (ordered by type) and is no error.
    check_condition("params.region > 1", Ok(true));
    let error = eval_condition("params.region + 1 > 0", &context()).expect_err("type error");
    assert!(matches!(error, TemplateError::Render { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "template error on line 1: tried to use + operator on unsupported types string and number"
    );
    let error = eval_condition("params.region | int + 'x'", &context()).expect_err("type error");
    assert!(matches!(error, TemplateError::Render { .. }), "{error:?}");
    let error = eval_condition("a >", &context()).expect_err("syntax");
    assert!(matches!(error, TemplateError::Syntax { .. }), "{error:?}");
}

#[test]
fn expressions_evaluate_to_data() {
    let mut ctx = context();
    ctx.upstream_outputs.insert(
        "list".to_owned(),
        BTreeMap::from([("files".to_owned(), "a.csv,b.csv".to_owned())]),
    );
    assert_eq!(
        eval_expression("{{ tasks.list.outputs.files | split(',') }}", &ctx),
        Ok(serde_json::json!(["a.csv", "b.csv"]))
    );
    assert_eq!(
        eval_expression("params.shards", &ctx),
        Ok(serde_json::json!([1, 2]))
    );
    assert!(matches!(
        eval_expression("params.nope", &ctx),
        Err(TemplateError::Undefined { .. })
    ));
}

#[test]
fn mapped_instances_see_their_item_and_index() {
    let mut ctx = context();
    ctx.item = Some(serde_json::json!({"file": "a.csv"}));
    ctx.index = Some(3);
    assert_eq!(
        render("{{ index }}:{{ item.file }}", &ctx).ok().as_deref(),
        Some("3:a.csv")
    );
    let plain = render("{{ item }}", &context());
    assert!(
        plain.is_err(),
        "item is undefined outside a fan-out: {plain:?}"
    );
}

#[test]
fn a_runaway_loop_runs_out_of_fuel_quickly() {
    let started = std::time::Instant::now();
    let nested = "{% for a in range(10000) %}{% for b in range(10000) %}{% for c in range(10000) %}x{% endfor %}{% endfor %}{% endfor %}";
    let error = render(nested, &TemplateContext::default()).expect_err("out of fuel");
    assert!(
        matches!(error, TemplateError::TooCostly { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("simplify its loops"), "{error}");
    // Not a timing assertion on speed, only that it ended: an unbounded loop would not.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn huge_output_is_refused() {
    let error = render("{{ 'x' * 2000000 }}", &TemplateContext::default()).expect_err("too large");
    assert!(
        matches!(error, TemplateError::TooCostly { .. }),
        "{error:?}"
    );
}

#[test]
fn an_ordinary_loop_renders() {
    let text = render(
        "{% for i in range(1000) %}{{ i }},{% endfor %}",
        &TemplateContext::default(),
    )
    .expect("renders");
    assert!(text.ends_with("999,"));
}

#[test]
fn shell_quote_makes_one_inert_word() {
    let mut ctx = TemplateContext::default();
    ctx.params
        .insert("who".into(), serde_json::json!("x\"; id; echo 'y"));
    ctx.params.insert("n".into(), serde_json::json!(3));
    assert_eq!(
        render("echo {{ params.who | shell_quote }}", &ctx)
            .ok()
            .as_deref(),
        Some("echo 'x\"; id; echo '\\''y'")
    );
    assert_eq!(
        render("{{ params.n | shell_quote }}", &ctx).ok().as_deref(),
        Some("'3'")
    );
}

#[test]
fn tojson_writes_json() {
    let mut ctx = TemplateContext::default();
    ctx.params
        .insert("rows".into(), serde_json::json!({"a": [1, "two"]}));
    assert_eq!(
        render("{{ params.rows | tojson }}", &ctx).ok().as_deref(),
        Some(r#"{"a":[1,"two"]}"#)
    );
}

#[test]
fn mapped_instances_outputs_are_a_list_in_index_order() {
    let rendered = render(
        "{% for o in tasks.process.outputs_list %}{{ o.out }};{% endfor %} {{ tasks.process.outputs_list | map(attribute='out') | join(',') }}",
        &context(),
    );
    assert_eq!(
        rendered.as_deref().map_err(ToString::to_string),
        Ok("a;b; a,b")
    );
}
