//! Checks of names given in requests, shared by the token, project and user handlers.

use orrery_client::types::FieldError;

/// Longest token or user name.
const MAX_NAME_CHARS: usize = 64;

/// What is wrong with a token name (1 to 64 of `A-Z a-z 0-9 _ . -`), if anything.
pub(crate) fn name_problem(name: &str) -> Option<String> {
    charset_problem(name, "A-Z a-z 0-9 _ . -", |c| {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
    })
}

/// What is wrong with a user name (1 to 64 of `A-Z a-z 0-9 _ . @ -`), if anything.
pub(crate) fn user_name_problem(name: &str) -> Option<String> {
    charset_problem(name, "A-Z a-z 0-9 _ . @ -", |c| {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-')
    })
}

/// What is wrong with a project name (the rule specs' `project:` follows), if
/// anything.
pub(crate) fn project_name_problem(name: &str) -> Option<String> {
    orrery_core::spec::check_name(name).err()
}

fn charset_problem(name: &str, allowed: &str, ok: impl Fn(char) -> bool) -> Option<String> {
    if name.is_empty() {
        return Some(format!("required: 1 to {MAX_NAME_CHARS} of {allowed}"));
    }
    let n_chars = name.chars().count();
    if n_chars > MAX_NAME_CHARS {
        return Some(format!("{n_chars} characters; at most {MAX_NAME_CHARS}"));
    }
    name.chars()
        .find(|c| !ok(*c))
        .map(|bad| format!("{bad:?} is not allowed; use {allowed}"))
}

pub(crate) fn field_error(path: &str, message: String) -> FieldError {
    FieldError {
        path: path.to_owned(),
        message,
        line: None,
        column: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_against_their_character_sets() {
        assert_eq!(name_problem("ci-deploy.v2"), None);
        assert!(name_problem("").is_some());
        assert!(name_problem("a b").is_some_and(|p| p.contains("' '")));
        assert!(name_problem(&"x".repeat(65)).is_some());
        assert_eq!(user_name_problem("ann@example.com"), None);
        assert_eq!(project_name_problem("team-a"), None);
        assert!(project_name_problem("Team").is_some());
        assert!(project_name_problem("-team").is_some());
    }
}
