//! Per-project roles, each including the one before it.

use serde::{Deserialize, Serialize};

/// A role in one project. Ordered: a higher role may do everything a lower one may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads jobs, runs, logs and history.
    Viewer,
    /// + starts, cancels, reruns, retries and marks tasks, pauses, resumes, backfills.
    Operator,
    /// + applies and deletes jobs and calendars, sets secrets.
    Editor,
    /// + members, project tokens and project settings.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Operator, Role::Editor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    /// The role named `text`; `None` for anything else (stored rows written by a newer
    /// version included, which then grant nothing).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn roles_parse_from_their_names_and_order_by_power() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("owner"), None);
        assert!(Role::Viewer < Role::Operator);
        assert!(Role::Operator < Role::Editor);
        assert!(Role::Editor < Role::Admin);
    }
}
