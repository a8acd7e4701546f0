//! `Program`: what a `shell`, `command` or `python` task runs, before isolation wraps it.

use super::attempt_error::AttemptError;
use orrery_proto::PythonSource;

/// The program and arguments to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Program {
    pub(super) program: String,
    pub(super) args: Vec<String>,
    /// Set on top of the assignment's environment.
    pub(super) extra_env: Vec<(String, String)>,
    /// Whether `program` is a python task's interpreter, named so in a spawn error.
    pub(super) is_interpreter: bool,
}

impl Program {
    /// `bash -c script`.
    pub(super) fn shell(script: &str) -> Self {
        Self {
            program: "bash".to_owned(),
            args: vec!["-c".to_owned(), script.to_owned()],
            extra_env: Vec::new(),
            is_interpreter: false,
        }
    }

    /// argv\[0\] with the rest as arguments, no shell.
    pub(super) fn command(argv: &[String]) -> Result<Self, AttemptError> {
        let (program, args) = argv.split_first().ok_or(AttemptError::EmptyArgv)?;
        Ok(Self {
            program: program.clone(),
            args: args.to_vec(),
            extra_env: Vec::new(),
            is_interpreter: false,
        })
    }

    /// `interpreter -c script` or `interpreter file`, with the run's params as JSON in
    /// `ORRERY_PARAMS`.
    pub(super) fn python(
        interpreter: &str,
        source: &PythonSource,
        params_json: &str,
    ) -> Result<Self, AttemptError> {
        if interpreter.trim().is_empty() {
            return Err(AttemptError::EmptyInterpreter);
        }
        let args = match source {
            PythonSource::Inline(script) => vec!["-c".to_owned(), script.clone()],
            PythonSource::File(file) => vec![file.clone()],
        };
        Ok(Self {
            program: interpreter.to_owned(),
            args,
            extra_env: vec![("ORRERY_PARAMS".to_owned(), params_json.to_owned())],
            is_interpreter: true,
        })
    }
}
