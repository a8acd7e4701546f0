//! Errors a client call can end with.

use crate::types::Problem;

/// Why a call failed: the server said no (with its problem document), or it could
/// not be reached or understood.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error status and a problem document.
    #[error("{}", render_problem(.0))]
    Api(Box<Problem>),
    /// The request could not be sent or the answer not read. The cause is the source,
    /// not part of the message, so a printed chain names it once.
    #[error("cannot reach the Orrery server at {url}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The answer was not what the API promises.
    #[error("unexpected answer from {url}: {message}")]
    Protocol { url: String, message: String },
}

impl ClientError {
    /// The problem document when the server refused the call.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ClientError::Api(problem) => Some(problem),
            _ => None,
        }
    }
}

fn render_problem(problem: &Problem) -> String {
    let mut text = format!("{} ({}): {}", problem.title, problem.code, problem.detail);
    for error in &problem.errors {
        text.push_str("\n  ");
        match (error.line, error.column) {
            (Some(line), Some(column)) => {
                text.push_str(&format!("line {line}, column {column}: "));
            }
            _ if !error.path.is_empty() => {
                text.push_str(&error.path);
                text.push_str(": ");
            }
            _ => {}
        }
        text.push_str(&error.message);
    }
    text
}
