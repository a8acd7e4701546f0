//! Who a request comes from, as resolved from its credential.

use crate::role::Role;
use std::collections::BTreeMap;

/// The caller of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// How the audit log names it: `token:NAME` or `user:NAME`.
    pub actor: String,
    pub kind: PrincipalKind,
}

/// What kind of caller, with what it carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    /// The bootstrap admin token: everything.
    ClusterAdmin,
    /// A user signed in, or a personal token carrying the user's roles.
    User {
        user_id: i64,
        cluster_admin: bool,
        /// The user's role in each project it is a member of (directly or by group;
        /// the highest wins).
        roles: BTreeMap<String, Role>,
    },
    /// A project's service token (a CI pipeline): one role in one project.
    Service { project: String, role: Role },
    /// An `api` token from before projects had members: `editor` in every project.
    ClusterEditor,
}

impl Principal {
    /// True for the bootstrap token and users made cluster admins.
    pub fn is_cluster_admin(&self) -> bool {
        matches!(
            self.kind,
            PrincipalKind::ClusterAdmin
                | PrincipalKind::User {
                    cluster_admin: true,
                    ..
                }
        )
    }

    /// The caller's role in `project`; `None` when it has none there (the project's
    /// objects are then invisible to it).
    pub fn role_in(&self, project: &str) -> Option<Role> {
        if self.is_cluster_admin() {
            return Some(Role::Admin);
        }
        match &self.kind {
            PrincipalKind::User { roles, .. } => roles.get(project).copied(),
            PrincipalKind::Service { project: own, role } => (own == project).then_some(*role),
            PrincipalKind::ClusterEditor => Some(Role::Editor),
            PrincipalKind::ClusterAdmin => Some(Role::Admin),
        }
    }

    /// The projects the caller can see, or `None` when it sees every project.
    pub fn visible_projects(&self) -> Option<Vec<String>> {
        if self.is_cluster_admin() {
            return None;
        }
        match &self.kind {
            PrincipalKind::User { roles, .. } => Some(roles.keys().cloned().collect()),
            PrincipalKind::Service { project, .. } => Some(vec![project.clone()]),
            PrincipalKind::ClusterEditor | PrincipalKind::ClusterAdmin => None,
        }
    }
}
