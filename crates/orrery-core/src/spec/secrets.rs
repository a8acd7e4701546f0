//! Secrets named by a spec: `{{ secrets.NAME }}` in any templated field of a task and
//! `env: {VAR: {secret: NAME}}` (read as that template). Applying a spec that names a
//! secret its project lacks is refused with the field's path.

use super::job::JobSpec;
use super::task_kind::TaskKind;
use super::task_spec::TaskSpec;
use crate::template::referenced_secrets;

/// Longest secret name.
const MAX_SECRET_NAME_LEN: usize = 64;

/// Checks a secret name: `[A-Za-z_][A-Za-z0-9_]*`, so that `secrets.NAME` reads it.
pub fn check_secret_name(name: &str) -> Result<(), String> {
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !starts_well
        || name.len() > MAX_SECRET_NAME_LEN
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(format!(
            "invalid secret name {name:?}: use 1 to {MAX_SECRET_NAME_LEN} letters, digits \
             and '_', not starting with a digit (templates read it as secrets.NAME)"
        ));
    }
    Ok(())
}

/// The template an env value `{secret: NAME}` stands for.
pub(super) fn secret_template(name: &str) -> String {
    format!("{{{{ secrets.{name} }}}}")
}

/// One secret a spec names, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretReference {
    /// The field's path (`tasks[0].env.DB_PASSWORD`).
    pub path: String,
    pub name: String,
}

impl TaskSpec {
    /// Every field of the task that templates render, with its path below the task
    /// (`script`, `env.VAR`, `command[1]`).
    pub fn templated_fields(&self) -> Vec<(String, &str)> {
        let mut fields: Vec<(String, &str)> = match &self.kind {
            TaskKind::Shell { script } | TaskKind::Branch { script } => {
                vec![("script".to_owned(), script.as_str())]
            }
            TaskKind::Command { command } => command
                .iter()
                .enumerate()
                .map(|(i, arg)| (format!("command[{i}]"), arg.as_str()))
                .collect(),
            TaskKind::Python { script, file } => script
                .iter()
                .map(|s| ("script".to_owned(), s.as_str()))
                .chain(file.iter().map(|f| ("file".to_owned(), f.as_str())))
                .collect(),
            TaskKind::Http {
                url, headers, body, ..
            } => std::iter::once(("url".to_owned(), url.as_str()))
                .chain(
                    headers
                        .iter()
                        .map(|(k, v)| (format!("headers.{k}"), v.as_str())),
                )
                .chain(body.iter().map(|b| ("body".to_owned(), b.as_str())))
                .collect(),
            TaskKind::Noop | TaskKind::Job { .. } => Vec::new(),
        };
        fields.extend(
            self.env
                .iter()
                .map(|(k, v)| (format!("env.{k}"), v.as_str())),
        );
        fields.extend(
            self.working_dir
                .iter()
                .map(|w| ("working_dir".to_owned(), w.as_str())),
        );
        fields
    }

    /// The secrets the task's templates read, by name.
    pub fn secret_names(&self) -> std::collections::BTreeSet<String> {
        self.templated_fields()
            .into_iter()
            .flat_map(|(_, text)| referenced_secrets(text))
            .collect()
    }
}

/// Every secret `spec` names, with the path of each field that names it.
pub fn secret_references(spec: &JobSpec) -> Vec<SecretReference> {
    let mut found = Vec::new();
    for (i, task) in spec.tasks.iter().enumerate() {
        for (field, text) in task.templated_fields() {
            for name in referenced_secrets(text) {
                found.push(SecretReference {
                    path: format!("tasks[{i}].{field}"),
                    name,
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{SpecFormat, parse_job_spec};
    use crate::template::{TemplateContext, TemplateError, render};

    #[test]
    fn a_spec_names_secrets_in_templates_and_env_with_their_paths() {
        let spec = parse_job_spec(
            "name: load\ntasks:\n  - name: copy\n    type: shell\n    script: 'psql \"{{ secrets.DB_URL }}\" -c \"select {{ params.n | default(1) }}\"'\n    env:\n      TOKEN: {secret: api_token}\n      PLAIN: hello\n",
            SpecFormat::Yaml,
        )
        .expect("valid");
        let task = &spec.tasks[0];
        assert_eq!(task.env["TOKEN"], "{{ secrets.api_token }}");
        let refs = secret_references(&spec);
        let summary: Vec<(&str, &str)> = refs
            .iter()
            .map(|r| (r.path.as_str(), r.name.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                ("tasks[0].script", "DB_URL"),
                ("tasks[0].env.TOKEN", "api_token")
            ]
        );
        assert_eq!(
            task.secret_names().into_iter().collect::<Vec<_>>(),
            ["DB_URL", "api_token"]
        );
    }

    #[test]
    fn bad_secret_references_are_refused_naming_the_field() {
        let errors = parse_job_spec(
            "name: load\ntasks:\n  - name: t\n    type: noop\n    env:\n      A: {secret: 'bad-name'}\n      B: {secret: x, other: 1}\n",
            SpecFormat::Yaml,
        )
        .expect_err("invalid");
        let paths: Vec<&str> = errors.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["tasks[0].env.A.secret", "tasks[0].env.B"]);
    }

    #[test]
    fn a_secret_renders_from_the_context_and_a_missing_one_is_named() {
        let mut ctx = TemplateContext::default();
        ctx.secrets.insert("token".to_owned(), "s3cr3t".to_owned());
        assert_eq!(
            render("Bearer {{ secrets.token }}", &ctx).expect("render"),
            "Bearer s3cr3t"
        );
        let error = render("{{ secrets.other }}", &ctx).expect_err("missing");
        assert!(matches!(error, TemplateError::Undefined { .. }), "{error}");
        assert!(!error.to_string().contains("s3cr3t"));
    }
}
