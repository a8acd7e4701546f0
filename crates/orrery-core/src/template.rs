//! Templating of task fields (`{{ params.region }}`, `{{ run.id }}`) with minijinja.

use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, context};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// What a template can see: `params.*`, `run.id`, `job.name`, `task.name`,
/// `task.attempt`, and `tasks.NAME.outputs.KEY` of the task's upstream tasks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TemplateContext {
    pub params: serde_json::Map<String, serde_json::Value>,
    pub run_id: i64,
    pub job_name: String,
    pub task_name: String,
    pub attempt: u32,
    /// Outputs of the tasks this one depends on (directly or not), by task name.
    pub upstream_outputs: BTreeMap<String, BTreeMap<String, String>>,
    /// The run's logical date (the fire time, or the start time of a manual run), in
    /// the schedule's zone so that `date` filters give local dates.
    pub logical_date: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// The period the run covers: from the previous fire to this one.
    pub data_interval_start: Option<chrono::DateTime<chrono::FixedOffset>>,
    pub data_interval_end: Option<chrono::DateTime<chrono::FixedOffset>>,
}

/// Why a template could not be compiled or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template is malformed; found when a spec is applied.
    #[error("template syntax error{}: {message}", on_line(*line))]
    Syntax {
        line: Option<usize>,
        message: String,
    },
    /// The template uses a variable or attribute the context does not have.
    #[error("template error{}: {message}", on_line(*line))]
    Undefined {
        line: Option<usize>,
        message: String,
    },
    /// Any other failure while rendering (a bad filter argument, a type mismatch).
    #[error("template error{}: {message}", on_line(*line))]
    Render {
        line: Option<usize>,
        message: String,
    },
}

fn on_line(line: Option<usize>) -> String {
    line.map(|line| format!(" on line {line}"))
        .unwrap_or_default()
}

impl TemplateError {
    fn from_minijinja(error: &minijinja::Error) -> Self {
        let line = error.line();
        let message = error
            .detail()
            .map(str::to_owned)
            .unwrap_or_else(|| error.kind().to_string());
        match error.kind() {
            ErrorKind::SyntaxError | ErrorKind::BadEscape => {
                TemplateError::Syntax { line, message }
            }
            ErrorKind::UndefinedError => TemplateError::Undefined { line, message },
            _ => TemplateError::Render { line, message },
        }
    }
}

/// Whether `text` holds template markup; plain text renders to itself.
pub fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// The shared environment: strict undefined values, no auto-escaping (the output is a
/// shell script or an argv, not HTML) and trailing newlines kept (scripts end in one).
fn environment() -> &'static Environment<'static> {
    static ENVIRONMENT: OnceLock<Environment<'static>> = OnceLock::new();
    ENVIRONMENT.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_debug(true);
        env.add_filter("date", format_date);
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build();
        // The default delimiters always build; keep the default syntax if that changes.
        if let Ok(syntax) = syntax {
            env.set_syntax(syntax);
        }
        env
    })
}

/// `{{ logical_date | date("%Y%m%d") }}`: formats an RFC 3339 timestamp with a
/// strftime pattern (default `%Y-%m-%d`).
fn format_date(value: String, pattern: Option<String>) -> Result<String, minijinja::Error> {
    let at = chrono::DateTime::parse_from_rfc3339(&value).map_err(|e| {
        minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("date: {value:?} is not an RFC 3339 timestamp ({e})"),
        )
    })?;
    let pattern = pattern.unwrap_or_else(|| "%Y-%m-%d".to_owned());
    let items: Vec<chrono::format::Item<'_>> =
        chrono::format::StrftimeItems::new(&pattern).collect();
    if items.contains(&chrono::format::Item::Error) {
        return Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("date: {pattern:?} is not a valid strftime pattern"),
        ));
    }
    Ok(at.format_with_items(items.into_iter()).to_string())
}

/// Checks that `template` compiles, without rendering it.
pub fn check_syntax(template: &str) -> Result<(), TemplateError> {
    if !is_template(template) {
        return Ok(());
    }
    environment()
        .template_from_str(template)
        .map(|_| ())
        .map_err(|error| match TemplateError::from_minijinja(&error) {
            TemplateError::Syntax { line, mut message } if template.contains("{#") => {
                // Shell's `${#var}` opens a template comment; say how to keep it.
                message.push_str(
                    " (\"{#\" starts a template comment; to keep it as text, wrap the \
                     text in {% raw %}...{% endraw %})",
                );
                TemplateError::Syntax { line, message }
            }
            other => other,
        })
}

/// `{name: {outputs: {...}}}`, the shape templates read as `tasks.NAME.outputs.KEY`.
fn upstream_tasks(
    outputs: &BTreeMap<String, BTreeMap<String, String>>,
) -> BTreeMap<&str, BTreeMap<&'static str, &BTreeMap<String, String>>> {
    outputs
        .iter()
        .map(|(name, outputs)| (name.as_str(), BTreeMap::from([("outputs", outputs)])))
        .collect()
}

/// Renders `template` against `ctx`; an unknown variable is an error that names it.
pub fn render(template: &str, ctx: &TemplateContext) -> Result<String, TemplateError> {
    if !is_template(template) {
        return Ok(template.to_owned());
    }
    let compiled = environment()
        .template_from_str(template)
        .map_err(|error| TemplateError::from_minijinja(&error))?;
    let values = context! {
        params => Value::from(Serde(&ctx.params)),
        run => context! { id => ctx.run_id },
        job => context! { name => ctx.job_name.as_str() },
        task => context! { name => ctx.task_name.as_str(), attempt => ctx.attempt },
        tasks => Value::from(Serde(upstream_tasks(&ctx.upstream_outputs))),
        logical_date => ctx.logical_date.map(|t| t.to_rfc3339()),
        data_interval_start => ctx.data_interval_start.map(|t| t.to_rfc3339()),
        data_interval_end => ctx.data_interval_end.map(|t| t.to_rfc3339()),
    };
    compiled
        .render(values)
        .map_err(|error| TemplateError::from_minijinja(&error))
}

#[cfg(test)]
mod tests {
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
        TemplateContext {
            upstream_outputs,
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
}
