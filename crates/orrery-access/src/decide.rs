//! The one question every route asks: may this principal do this action in this
//! project?

use crate::action::{Action, Needs};
use crate::principal::Principal;
use crate::role::Role;

/// Why an action is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The caller has no role in the project: its objects answer as if they did not
    /// exist, so existence does not leak.
    #[error("not found")]
    Hidden,
    /// The caller sees the project but lacks the permission.
    #[error("missing permission {permission}{}", needs_text(*.needs))]
    Missing {
        permission: &'static str,
        /// The role that would grant it; `None` when only a cluster admin may.
        needs: Option<Role>,
    },
}

fn needs_text(needs: Option<Role>) -> String {
    match needs {
        Some(role) => format!(" (needs role {role} or higher in the project)"),
        None => " (needs a cluster admin)".to_owned(),
    }
}

/// Decides whether `principal` may do `action` on an object of `project` (`None` for
/// actions on the cluster).
pub fn decide(principal: &Principal, action: Action, project: Option<&str>) -> Result<(), Denied> {
    match action.needs() {
        Needs::SignedIn => Ok(()),
        Needs::ClusterAdmin if principal.is_cluster_admin() => Ok(()),
        Needs::ClusterAdmin => Err(Denied::Missing {
            permission: action.name(),
            needs: None,
        }),
        Needs::Role(needed) => {
            let Some(project) = project else {
                // A project action asked without a project: only the cluster's admins.
                return if principal.is_cluster_admin() {
                    Ok(())
                } else {
                    Err(Denied::Hidden)
                };
            };
            match principal.role_in(project) {
                None => Err(Denied::Hidden),
                Some(have) if have >= needed => Ok(()),
                Some(_) => Err(Denied::Missing {
                    permission: action.name(),
                    needs: Some(needed),
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::PrincipalKind;
    use std::collections::BTreeMap;

    fn member(project: &str, role: Role) -> Principal {
        Principal {
            actor: "user:ann".to_owned(),
            kind: PrincipalKind::User {
                user_id: 1,
                cluster_admin: false,
                roles: BTreeMap::from([(project.to_owned(), role)]),
            },
        }
    }

    #[test]
    fn each_role_may_do_exactly_the_actions_of_its_rank_and_below() {
        for role in Role::ALL {
            let principal = member("pay", role);
            for action in Action::ALL {
                let allowed = decide(&principal, action, Some("pay")).is_ok();
                let expected = match action.needs() {
                    Needs::SignedIn => true,
                    Needs::Role(needed) => role >= needed,
                    Needs::ClusterAdmin => false,
                };
                assert_eq!(allowed, expected, "{role} {action}");
            }
        }
    }

    #[test]
    fn another_projects_objects_are_hidden_not_forbidden() {
        let principal = member("pay", Role::Admin);
        assert_eq!(
            decide(&principal, Action::JobRead, Some("ml")),
            Err(Denied::Hidden)
        );
        let service = Principal {
            actor: "token:ci".to_owned(),
            kind: PrincipalKind::Service {
                project: "pay".to_owned(),
                role: Role::Editor,
            },
        };
        assert_eq!(
            decide(&service, Action::JobApply, Some("ml")),
            Err(Denied::Hidden)
        );
        assert_eq!(decide(&service, Action::JobApply, Some("pay")), Ok(()));
    }

    #[test]
    fn a_refusal_names_the_permission_and_the_role_that_grants_it() {
        let denied = decide(&member("pay", Role::Viewer), Action::JobApply, Some("pay"))
            .expect_err("a viewer cannot apply");
        assert_eq!(
            denied.to_string(),
            "missing permission job.apply (needs role editor or higher in the project)"
        );
        let denied = decide(&member("pay", Role::Admin), Action::ProjectCreate, None)
            .expect_err("only cluster admins create projects");
        assert_eq!(
            denied.to_string(),
            "missing permission project.create (needs a cluster admin)"
        );
    }

    #[test]
    fn cluster_admins_may_do_everything_and_legacy_api_tokens_edit_every_project() {
        let admin = Principal {
            actor: "token:bootstrap".to_owned(),
            kind: PrincipalKind::ClusterAdmin,
        };
        let editor = Principal {
            actor: "token:old".to_owned(),
            kind: PrincipalKind::ClusterEditor,
        };
        for action in Action::ALL {
            assert_eq!(decide(&admin, action, Some("any")), Ok(()), "{action}");
            let expected = match action.needs() {
                Needs::SignedIn => true,
                Needs::Role(needed) => needed <= Role::Editor,
                Needs::ClusterAdmin => false,
            };
            assert_eq!(
                decide(&editor, action, Some("any")).is_ok(),
                expected,
                "{action}"
            );
        }
    }
}
