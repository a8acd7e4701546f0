//! Templating of task fields (`{{ params.region }}`, `{{ run.id }}`) and evaluation of
//! expressions (`when:` conditions, `for_each:` lists) with minijinja.

use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, context};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// What a template can see: `params.*`, `run.id`, `job.name`, `task.name`,
/// `task.attempt`, and `tasks.NAME.outputs.KEY` and `tasks.NAME.state` of the task's
/// upstream tasks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TemplateContext {
    pub params: serde_json::Map<String, serde_json::Value>,
    pub run_id: i64,
    pub job_name: String,
    pub task_name: String,
    pub attempt: u32,
    /// Outputs of the tasks this one depends on (directly or not), by task name.
    pub upstream_outputs: BTreeMap<String, BTreeMap<String, String>>,
    /// Outputs of each mapped instance of the fan-out tasks this one depends on, in
    /// index order, by task name: `tasks.NAME.outputs_list[i].KEY`.
    pub upstream_mapped_outputs: BTreeMap<String, Vec<BTreeMap<String, String>>>,
    /// States of the tasks this one depends on (`success`, `failed`, `skipped`, …, as
    /// [`crate::state::TaskState::as_str`] writes them), by task name.
    pub upstream_states: BTreeMap<String, String>,
    /// For a mapped instance of a fan-out task: its item of the list, and its index.
    pub item: Option<serde_json::Value>,
    pub index: Option<u32>,
    /// The run's logical date (the fire time, or the start time of a manual run), in
    /// the schedule's zone so that `date` filters give local dates.
    pub logical_date: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// The period the run covers: from the previous fire to this one.
    pub data_interval_start: Option<chrono::DateTime<chrono::FixedOffset>>,
    pub data_interval_end: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// The values of the secrets the task's templates read (`secrets.NAME`), and no
    /// others.
    pub secrets: BTreeMap<String, String>,
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
    /// The template did more work or produced more text than a task's templates may
    /// (see [`TEMPLATE_FUEL`] and [`MAX_RENDERED_BYTES`]).
    #[error("template error{}: {message}", on_line(*line))]
    TooCostly {
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
            ErrorKind::OutOfFuel => TemplateError::TooCostly {
                line,
                message: format!(
                    "the template needs more work than a task's templates may do \
                     ({TEMPLATE_FUEL} steps); simplify its loops"
                ),
            },
            _ => TemplateError::Render { line, message },
        }
    }
}

/// The work one render or expression may do, in minijinja's fuel: about one unit per
/// instruction and per 64 bytes of data created. A million is ample for real scripts
/// (the examples use a few hundred) and ends a runaway loop within a fraction of a
/// second, and caps the memory it can take near 64 MiB.
pub const TEMPLATE_FUEL: u64 = 1_000_000;

/// The longest text a template may render to: a script or field larger than this is
/// a mistake, and it would travel in every assignment.
pub const MAX_RENDERED_BYTES: usize = 1024 * 1024;

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
        // Templates are user input: bounded work and nesting, whatever they say.
        env.set_fuel(Some(TEMPLATE_FUEL));
        env.set_recursion_limit(64);
        env.add_filter("date", format_date);
        env.add_filter("shell_quote", shell_quote);
        env.add_filter("tojson", to_json);
        // Shell scripts and JSON expect `true`/`false`, not Python's `True`/`False`.
        env.set_formatter(|out, state, value| {
            if value.kind() == minijinja::value::ValueKind::Bool {
                out.write_str(if value.is_true() { "true" } else { "false" })
                    .map_err(|_| minijinja::Error::new(ErrorKind::WriteFailure, "cannot write"))
            } else {
                minijinja::escape_formatter(out, state, value)
            }
        });
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

/// `{{ params.who | shell_quote }}`: the value as one shell word, in single quotes
/// (a `'` inside becomes `'\''`), so nothing in it is run as shell code.
fn shell_quote(value: Value) -> String {
    let text = match value.as_str() {
        Some(text) => text.to_owned(),
        None => value.to_string(),
    };
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// `{{ params.rows | tojson }}`: the value as JSON text.
fn to_json(value: Value) -> Result<String, minijinja::Error> {
    serde_json::to_string(&value).map_err(|e| {
        minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("tojson: the value has no JSON form ({e})"),
        )
    })
}

/// The secrets `template` reads as `secrets.NAME`; none when it does not compile.
pub fn referenced_secrets(template: &str) -> std::collections::BTreeSet<String> {
    if !is_template(template) || !template.contains("secrets") {
        return std::collections::BTreeSet::new();
    }
    let Ok(compiled) = environment().template_from_str(template) else {
        return std::collections::BTreeSet::new();
    };
    compiled
        .undeclared_variables(true)
        .into_iter()
        .filter_map(|name| name.strip_prefix("secrets.").map(str::to_owned))
        .map(|name| name.split('.').next().unwrap_or_default().to_owned())
        .filter(|name| !name.is_empty())
        .collect()
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

/// `{name: {outputs: {...}, state: "...", outputs_list: [...]}}`, the shape templates
/// read as `tasks.NAME.outputs.KEY`, `tasks.NAME.state` and, for a fan-out task,
/// `tasks.NAME.outputs_list[i].KEY`. A task with a state but no outputs
/// gets empty outputs, so `tasks.NAME.outputs.KEY` names the missing key.
fn upstream_tasks(ctx: &TemplateContext) -> serde_json::Map<String, serde_json::Value> {
    let mut tasks = serde_json::Map::new();
    let names = ctx
        .upstream_outputs
        .keys()
        .chain(ctx.upstream_states.keys())
        .chain(ctx.upstream_mapped_outputs.keys());
    for name in names {
        if tasks.contains_key(name) {
            continue;
        }
        let mut task = serde_json::Map::new();
        let outputs = ctx.upstream_outputs.get(name).map(|outputs| {
            outputs
                .iter()
                .map(|(key, value)| (key.clone(), serde_json::Value::from(value.as_str())))
                .collect()
        });
        task.insert(
            "outputs".to_owned(),
            serde_json::Value::Object(outputs.unwrap_or_default()),
        );
        if let Some(state) = ctx.upstream_states.get(name) {
            task.insert("state".to_owned(), serde_json::Value::from(state.as_str()));
        }
        if let Some(instances) = ctx.upstream_mapped_outputs.get(name) {
            let list = instances
                .iter()
                .map(|outputs| {
                    serde_json::Value::Object(
                        outputs
                            .iter()
                            .map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str())))
                            .collect(),
                    )
                })
                .collect();
            task.insert("outputs_list".to_owned(), serde_json::Value::Array(list));
        }
        tasks.insert(name.clone(), serde_json::Value::Object(task));
    }
    tasks
}

/// Everything a template or an expression can read.
fn values(ctx: &TemplateContext) -> Value {
    let base = context! {
        params => Value::from(Serde(&ctx.params)),
        run => context! { id => ctx.run_id },
        job => context! { name => ctx.job_name.as_str() },
        task => context! { name => ctx.task_name.as_str(), attempt => ctx.attempt },
        tasks => Value::from(Serde(upstream_tasks(ctx))),
        logical_date => ctx.logical_date.map(|t| t.to_rfc3339()),
        data_interval_start => ctx.data_interval_start.map(|t| t.to_rfc3339()),
        data_interval_end => ctx.data_interval_end.map(|t| t.to_rfc3339()),
        secrets => Value::from(Serde(&ctx.secrets)),
    };
    // `item` and `index` exist only in mapped instances, so elsewhere they are
    // undefined (an error) rather than silently empty.
    match &ctx.item {
        Some(item) => context! { item => Value::from(Serde(item)), index => ctx.index, ..base },
        None => base,
    }
}

/// Renders `template` against `ctx`; an unknown variable is an error that names it.
pub fn render(template: &str, ctx: &TemplateContext) -> Result<String, TemplateError> {
    if !is_template(template) {
        return Ok(template.to_owned());
    }
    let compiled = environment()
        .template_from_str(template)
        .map_err(|error| TemplateError::from_minijinja(&error))?;
    let rendered = compiled
        .render(values(ctx))
        .map_err(|error| TemplateError::from_minijinja(&error))?;
    if rendered.len() > MAX_RENDERED_BYTES {
        return Err(TemplateError::TooCostly {
            line: None,
            message: format!(
                "the template rendered {} bytes; at most {MAX_RENDERED_BYTES} are allowed",
                rendered.len()
            ),
        });
    }
    Ok(rendered)
}

/// The expression inside `text`: `text` trimmed, without the `{{ ... }}` (or
/// `{{- ... -}}`) around it when the author wrapped the whole expression in one.
/// `"{{ a }} and {{ b }}"` is left as is (and does not compile as an expression).
pub fn expression_source(text: &str) -> &str {
    let trimmed = text.trim();
    let Some(inner) = trimmed
        .strip_prefix("{{")
        .and_then(|rest| rest.strip_suffix("}}"))
    else {
        return trimmed;
    };
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    if inner.contains("{{") || inner.contains("}}") {
        return trimmed;
    }
    inner.trim()
}

/// Checks that `text` compiles as an expression (after [`expression_source`]), without
/// evaluating it; the error carries the parser's message.
pub fn check_expression(text: &str) -> Result<(), TemplateError> {
    compile_expression(expression_source(text)).map(|_| ())
}

fn compile_expression(source: &str) -> Result<minijinja::Expression<'_, '_>, TemplateError> {
    if source.is_empty() {
        return Err(TemplateError::Syntax {
            line: None,
            message: "the expression is empty".to_owned(),
        });
    }
    if is_template(source) {
        return Err(TemplateError::Syntax {
            line: None,
            message: "expected a single expression (such as \
                      `tasks.a.outputs.n | int > 0`), not template text"
                .to_owned(),
        });
    }
    environment().compile_expression(source).map_err(|error| {
        match TemplateError::from_minijinja(&error) {
            // Every parse failure of an expression is a syntax error, whatever kind
            // minijinja gives it.
            TemplateError::Render { line, message }
            | TemplateError::Undefined { line, message } => TemplateError::Syntax { line, message },
            syntax => syntax,
        }
    })
}

/// Evaluates an expression (`tasks.extract.outputs.rows | int > 0`, with or without
/// `{{ }}` around it) to a minijinja value; an undefined result is an error naming
/// the expression, as in templates.
fn eval(text: &str, ctx: &TemplateContext) -> Result<Value, TemplateError> {
    let source = expression_source(text);
    let value = compile_expression(source)?
        .eval(values(ctx))
        .map_err(|error| TemplateError::from_minijinja(&error))?;
    if value.is_undefined() {
        return Err(TemplateError::Undefined {
            line: None,
            message: format!("`{source}` is undefined"),
        });
    }
    Ok(value)
}

/// Evaluates a `when:` condition: true when the result is truthy (a non-zero number,
/// a non-empty string or collection, `true`). An unknown variable or output is an
/// error that names it; so is an operation on the wrong type (`"a" > 1`).
pub fn eval_condition(expr: &str, ctx: &TemplateContext) -> Result<bool, TemplateError> {
    eval(expr, ctx).map(|value| value.is_true())
}

/// Evaluates an expression to JSON (`for_each: "{{ tasks.list.outputs.files |
/// split(',') }}"` gives a list). Undefined values are errors, as in templates.
pub fn eval_expression(
    expr: &str,
    ctx: &TemplateContext,
) -> Result<serde_json::Value, TemplateError> {
    let value = eval(expr, ctx)?;
    serde_json::to_value(&value).map_err(|error| TemplateError::Render {
        line: None,
        message: format!("the result cannot be read as data: {error}"),
    })
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;

/// Renders a value passed on to another job: text that is one lone `{{ expr }}`
/// keeps the expression's type (`{{ params.limit }}` stays a number, a bool stays a
/// bool); any other text renders to a string.
pub fn render_value(text: &str, ctx: &TemplateContext) -> Result<serde_json::Value, TemplateError> {
    let trimmed = text.trim();
    let lone = trimmed
        .strip_prefix("{{")
        .and_then(|rest| rest.strip_suffix("}}"))
        .filter(|inner| !inner.contains("{{") && !inner.contains("}}"));
    match lone {
        Some(expression) => {
            let value = eval(expression, ctx)?;
            serde_json::to_value(&value).map_err(|e| TemplateError::Render {
                line: None,
                message: format!("`{expression}` has no JSON form: {e}"),
            })
        }
        None => render(text, ctx).map(serde_json::Value::String),
    }
}

#[cfg(test)]
mod render_value_tests {
    use super::*;

    #[test]
    fn a_lone_expression_keeps_its_type() {
        let mut ctx = TemplateContext::default();
        ctx.params.insert("fail".into(), serde_json::json!(false));
        ctx.params.insert("n".into(), serde_json::json!(3));
        assert_eq!(
            render_value("{{ params.fail }}", &ctx).ok(),
            Some(serde_json::json!(false))
        );
        assert_eq!(
            render_value(" {{ params.n + 1 }} ", &ctx).ok(),
            Some(serde_json::json!(4))
        );
        assert_eq!(
            render_value("n={{ params.n }}", &ctx).ok(),
            Some(serde_json::json!("n=3"))
        );
        assert_eq!(
            render("{{ params.fail }}", &ctx).ok().as_deref(),
            Some("false")
        );
    }
}
