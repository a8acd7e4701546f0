//! The actions the API offers and what each needs: a role in the object's project,
//! a cluster admin, or only a signed-in principal.

use crate::role::Role;

/// What an action needs of its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// Any principal that signed in (cluster health, the worker list).
    SignedIn,
    /// At least this role in the object's project.
    Role(Role),
    /// A cluster admin: the bootstrap token or a user made one.
    ClusterAdmin,
}

/// One thing a caller can ask the API to do. Its name is the permission a refusal
/// names (`job.apply`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    ProjectRead,
    JobRead,
    RunRead,
    RunStart,
    RunCancel,
    RunRerun,
    TaskRetry,
    TaskMark,
    JobPause,
    JobBackfill,
    JobApply,
    JobDelete,
    CalendarApply,
    ProjectUpdate,
    MemberManage,
    ProjectTokenManage,
    ProjectCreate,
    ProjectDelete,
    UserManage,
    UserTokenManage,
    WorkerManage,
    WorkerTokenManage,
    ClusterRead,
    WorkerRead,
    AuditRead,
    ClusterAudit,
    SecretList,
    SecretSet,
    SecretRotate,
    AlertRead,
    AlertOperate,
    AlertConfigure,
}

impl Action {
    /// Every action, for tables and exhaustive tests.
    pub const ALL: [Action; 32] = [
        Action::ProjectRead,
        Action::JobRead,
        Action::RunRead,
        Action::RunStart,
        Action::RunCancel,
        Action::RunRerun,
        Action::TaskRetry,
        Action::TaskMark,
        Action::JobPause,
        Action::JobBackfill,
        Action::JobApply,
        Action::JobDelete,
        Action::CalendarApply,
        Action::ProjectUpdate,
        Action::MemberManage,
        Action::ProjectTokenManage,
        Action::ProjectCreate,
        Action::ProjectDelete,
        Action::UserManage,
        Action::UserTokenManage,
        Action::WorkerManage,
        Action::WorkerTokenManage,
        Action::ClusterRead,
        Action::WorkerRead,
        Action::AuditRead,
        Action::ClusterAudit,
        Action::SecretList,
        Action::SecretSet,
        Action::SecretRotate,
        Action::AlertRead,
        Action::AlertOperate,
        Action::AlertConfigure,
    ];

    /// The permission's name, as a refusal and the audit log say it.
    pub fn name(self) -> &'static str {
        match self {
            Action::ProjectRead => "project.read",
            Action::JobRead => "job.read",
            Action::RunRead => "run.read",
            Action::RunStart => "run.start",
            Action::RunCancel => "run.cancel",
            Action::RunRerun => "run.rerun",
            Action::TaskRetry => "task.retry",
            Action::TaskMark => "task.mark",
            Action::JobPause => "job.pause",
            Action::JobBackfill => "job.backfill",
            Action::JobApply => "job.apply",
            Action::JobDelete => "job.delete",
            Action::CalendarApply => "calendar.apply",
            Action::ProjectUpdate => "project.update",
            Action::MemberManage => "member.manage",
            Action::ProjectTokenManage => "token.project",
            Action::ProjectCreate => "project.create",
            Action::ProjectDelete => "project.delete",
            Action::UserManage => "user.manage",
            Action::UserTokenManage => "token.user",
            Action::WorkerManage => "worker.manage",
            Action::WorkerTokenManage => "token.worker",
            Action::ClusterRead => "cluster.read",
            Action::WorkerRead => "worker.read",
            Action::AuditRead => "audit.read",
            Action::ClusterAudit => "audit.cluster",
            Action::SecretList => "secret.list",
            Action::SecretSet => "secret.set",
            Action::SecretRotate => "secret.rotate",
            Action::AlertRead => "alert.read",
            Action::AlertOperate => "alert.operate",
            Action::AlertConfigure => "alert.configure",
        }
    }

    /// What the action needs of its caller.
    pub fn needs(self) -> Needs {
        match self {
            Action::ProjectRead
            | Action::JobRead
            | Action::RunRead
            | Action::SecretList
            | Action::AlertRead => Needs::Role(Role::Viewer),
            Action::RunStart
            | Action::RunCancel
            | Action::RunRerun
            | Action::TaskRetry
            | Action::TaskMark
            | Action::JobPause
            | Action::JobBackfill
            | Action::AlertOperate => Needs::Role(Role::Operator),
            Action::JobApply
            | Action::JobDelete
            | Action::CalendarApply
            | Action::SecretSet
            | Action::AlertConfigure => Needs::Role(Role::Editor),
            Action::ProjectUpdate
            | Action::MemberManage
            | Action::ProjectTokenManage
            | Action::AuditRead => Needs::Role(Role::Admin),
            Action::ProjectCreate
            | Action::ProjectDelete
            | Action::UserManage
            | Action::UserTokenManage
            | Action::WorkerManage
            | Action::WorkerTokenManage
            | Action::ClusterAudit
            | Action::SecretRotate => Needs::ClusterAdmin,
            Action::ClusterRead | Action::WorkerRead => Needs::SignedIn,
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
