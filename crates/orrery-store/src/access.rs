//! Tenancy and access as stored: projects, users and their roles per project
//! (members). Every change is audited in its own transaction.

use crate::audit::{AuditEntry, write_audit};
use crate::error::StoreError;
use crate::exec::{WriteTx, on_pool, on_tx};
use crate::records::{MemberRecord, ProjectRecord, UserRecord};
use crate::row::StoreRow;
use crate::views::{ApiIntents, ApiReads};
use chrono::{DateTime, Utc};

const PROJECT_COLUMNS: &str = "name, description, created_at, created_by";
pub(crate) const USER_COLUMNS: &str =
    "id, name, cluster_admin, password_hash IS NOT NULL, disabled_at, created_at";
const MEMBER_COLUMNS: &str = "project, subject_kind, subject, role, added_at";

/// A user to create.
#[derive(Clone, Debug)]
pub struct NewUser<'a> {
    pub name: &'a str,
    /// An argon2id PHC string; `None` for a user who signs in only through SSO.
    pub password_hash: Option<&'a str>,
    pub cluster_admin: bool,
}

impl ApiReads {
    /// Every project, by name.
    pub async fn list_projects(&self) -> Result<Vec<ProjectRecord>, StoreError> {
        let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects ORDER BY name");
        on_pool!(self.store(), |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await?
                .iter()
                .map(project_from_row)
                .collect()
        })
    }

    /// One project.
    pub async fn get_project(&self, name: &str) -> Result<Option<ProjectRecord>, StoreError> {
        let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE name = $1");
        on_pool!(self.store(), |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(name)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(project_from_row)
                .transpose()
        })
    }

    /// Every user, by name.
    pub async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY name");
        on_pool!(self.store(), |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await?
                .iter()
                .map(user_from_row)
                .collect()
        })
    }

    /// One user by name.
    pub async fn find_user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.user_with_hash(name).await?.map(|(user, _)| user))
    }

    /// One user by name with its stored password hash, for signing in.
    pub async fn user_with_hash(
        &self,
        name: &str,
    ) -> Result<Option<(UserRecord, Option<String>)>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE name = $1");
        on_pool!(self.store(), |pool| {
            match sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(name)
                .fetch_optional(pool)
                .await?
            {
                Some(row) => Ok(Some((user_from_row(&row)?, row.value(6)?))),
                None => Ok(None),
            }
        })
    }

    /// A project's members, users first, by name.
    pub async fn list_members(&self, project: &str) -> Result<Vec<MemberRecord>, StoreError> {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE project = $1 ORDER BY subject_kind DESC, subject"
        );
        on_pool!(self.store(), |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(project)
                .fetch_all(pool)
                .await?
                .iter()
                .map(member_from_row)
                .collect()
        })
    }

    /// The roles of a user, directly and through `groups`, as (project, role) pairs
    /// (a project may appear more than once; the caller keeps the highest role).
    pub async fn roles_of(
        &self,
        user: &str,
        groups: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut roles: Vec<(String, String)> = on_pool!(self.store(), |pool| {
            sqlx::query_as(
                "SELECT project, role FROM members WHERE subject_kind = 'user' AND subject = $1",
            )
            .bind(user)
            .fetch_all(pool)
            .await?
        });
        for group in groups {
            let by_group: Vec<(String, String)> = on_pool!(self.store(), |pool| {
                sqlx::query_as(
                    "SELECT project, role FROM members WHERE subject_kind = 'group' AND subject = $1",
                )
                .bind(group)
                .fetch_all(pool)
                .await?
            });
            roles.extend(by_group);
        }
        Ok(roles)
    }
}

impl ApiIntents {
    /// Creates a project; a conflict when the name is taken.
    pub async fn create_project(
        &self,
        name: &str,
        description: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<ProjectRecord, StoreError> {
        let mut tx = self.store().write_tx().await?;
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "INSERT INTO projects (name, description, created_at, created_by) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(name)
            .bind(description)
            .bind(now)
            .bind(actor)
            .execute(&mut *conn)
            .await?;
        });
        audit(
            &mut tx,
            actor,
            "project.create",
            &format!("project/{name}"),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(ProjectRecord {
            name: name.to_owned(),
            description: description.to_owned(),
            created_at: now,
            created_by: actor.to_owned(),
        })
    }

    /// Changes a project's description; `None` when there is no such project.
    pub async fn update_project(
        &self,
        name: &str,
        description: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ProjectRecord>, StoreError> {
        let mut tx = self.store().write_tx().await?;
        let sql = format!(
            "UPDATE projects SET description = $1 WHERE name = $2 RETURNING {PROJECT_COLUMNS}"
        );
        let updated = on_tx!(&mut tx, |conn| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(description)
                .bind(name)
                .fetch_optional(&mut *conn)
                .await?
                .as_ref()
                .map(project_from_row)
                .transpose()?
        });
        if updated.is_none() {
            return Ok(None);
        }
        audit(
            &mut tx,
            actor,
            "project.update",
            &format!("project/{name}"),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Deletes a project with its members and service tokens; refused (a conflict)
    /// while it has live jobs. `false` when there is no such project.
    pub async fn delete_project(
        &self,
        name: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.store().write_tx().await?;
        let jobs: i64 = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM jobs WHERE project = $1 AND deleted_at IS NULL",
            )
            .bind(name)
            .fetch_one(&mut *conn)
            .await?
        });
        if jobs > 0 {
            return Err(StoreError::Conflict {
                message: format!("project {name:?} still has {jobs} job(s); delete them first"),
            });
        }
        let deleted = on_tx!(&mut tx, |conn| {
            sqlx::query("DELETE FROM members WHERE project = $1")
                .bind(name)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $1 WHERE project = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(name)
            .execute(&mut *conn)
            .await?;
            sqlx::query("DELETE FROM projects WHERE name = $1")
                .bind(name)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        if deleted == 0 {
            return Ok(false);
        }
        audit(
            &mut tx,
            actor,
            "project.delete",
            &format!("project/{name}"),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Creates a user; a conflict when the name is taken.
    pub async fn create_user(
        &self,
        user: &NewUser<'_>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<UserRecord, StoreError> {
        let mut tx = self.store().write_tx().await?;
        let id: i64 = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar(
                "INSERT INTO users (name, password_hash, cluster_admin, created_at) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(user.name)
            .bind(user.password_hash)
            .bind(user.cluster_admin)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?
        });
        audit(
            &mut tx,
            actor,
            "user.create",
            &format!("user/{}", user.name),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(UserRecord {
            id,
            name: user.name.to_owned(),
            cluster_admin: user.cluster_admin,
            has_password: user.password_hash.is_some(),
            disabled_at: None,
            created_at: now,
        })
    }

    /// Disables a user: its tokens and sessions stop working at once. `false` when
    /// there is no such enabled user.
    pub async fn disable_user(
        &self,
        name: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.store().write_tx().await?;
        let changed = on_tx!(&mut tx, |conn| {
            sqlx::query("UPDATE users SET disabled_at = $1 WHERE name = $2 AND disabled_at IS NULL")
                .bind(now)
                .bind(name)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        if changed == 0 {
            return Ok(false);
        }
        audit(&mut tx, actor, "user.disable", &format!("user/{name}"), now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Gives a user or group a role in a project, replacing any role it had there.
    pub async fn set_member(&self, member: &MemberRecord, actor: &str) -> Result<(), StoreError> {
        let mut tx = self.store().write_tx().await?;
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "INSERT INTO members (project, subject_kind, subject, role, added_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project, subject_kind, subject) \
                 DO UPDATE SET role = excluded.role",
            )
            .bind(&member.project)
            .bind(&member.subject_kind)
            .bind(&member.subject)
            .bind(&member.role)
            .bind(member.added_at)
            .execute(&mut *conn)
            .await?;
        });
        let resource = format!(
            "member/{}/{}/{}",
            member.project, member.subject_kind, member.subject
        );
        audit(&mut tx, actor, "member.set", &resource, member.added_at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes a user's or group's role in a project away; `false` when it had none.
    pub async fn remove_member(
        &self,
        project: &str,
        subject_kind: &str,
        subject: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.store().write_tx().await?;
        let removed = on_tx!(&mut tx, |conn| {
            sqlx::query(
                "DELETE FROM members WHERE project = $1 AND subject_kind = $2 AND subject = $3",
            )
            .bind(project)
            .bind(subject_kind)
            .bind(subject)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        if removed == 0 {
            return Ok(false);
        }
        let resource = format!("member/{project}/{subject_kind}/{subject}");
        audit(&mut tx, actor, "member.remove", &resource, now).await?;
        tx.commit().await?;
        Ok(true)
    }
}

pub(crate) async fn audit(
    tx: &mut WriteTx,
    actor: &str,
    action: &str,
    resource: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    write_audit(
        tx,
        &AuditEntry::new(actor, action, resource, None, None),
        now,
    )
    .await
}

fn project_from_row(row: &impl StoreRow) -> Result<ProjectRecord, StoreError> {
    Ok(ProjectRecord {
        name: row.value(0)?,
        description: row.value(1)?,
        created_at: row.value(2)?,
        created_by: row.value(3)?,
    })
}

pub(crate) fn user_from_row(row: &impl StoreRow) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: row.value(0)?,
        name: row.value(1)?,
        cluster_admin: row.value(2)?,
        has_password: row.value(3)?,
        disabled_at: row.value(4)?,
        created_at: row.value(5)?,
    })
}

fn member_from_row(row: &impl StoreRow) -> Result<MemberRecord, StoreError> {
    Ok(MemberRecord {
        project: row.value(0)?,
        subject_kind: row.value(1)?,
        subject: row.value(2)?,
        role: row.value(3)?,
        added_at: row.value(4)?,
    })
}
