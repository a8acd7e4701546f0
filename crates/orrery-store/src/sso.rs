//! Users who sign in through OpenID Connect: the first sign-in creates the user (or
//! links a pre-created one that has no password), and every sign-in records the groups
//! the provider named, which give the user the roles of those groups' memberships.

use crate::access::{USER_COLUMNS, audit, user_from_row};
use crate::error::StoreError;
use crate::exec::on_tx;
use crate::records::UserRecord;
use crate::views::ApiIntents;
use chrono::{DateTime, Utc};

/// One sign-in as the provider vouched for it.
#[derive(Clone, Debug)]
pub struct SsoSignIn<'a> {
    /// The provider's issuer and the user's subject there (`issuer#sub`): what
    /// identifies the user, whatever their display name becomes.
    pub subject: &'a str,
    /// The user name to create the user under on their first sign-in.
    pub username: &'a str,
    pub groups: &'a [String],
}

impl ApiIntents {
    /// The user this sign-in is, created on the first one. A conflict when the name is
    /// taken by a user with a password or one linked to another subject: a provider
    /// account must never take over a local account by naming itself after it.
    pub async fn sso_sign_in(
        &self,
        sign_in: &SsoSignIn<'_>,
        now: DateTime<Utc>,
    ) -> Result<UserRecord, StoreError> {
        let groups = serde_json::to_string(sign_in.groups).map_err(|e| StoreError::Corrupt {
            what: "sso groups",
            message: e.to_string(),
        })?;
        let mut tx = self.store().write_tx().await?;
        let by_subject = format!("SELECT {USER_COLUMNS} FROM users WHERE sso_subject = $1");
        let known = on_tx!(&mut tx, |conn| {
            sqlx::query(sqlx::AssertSqlSafe(by_subject))
                .bind(sign_in.subject)
                .fetch_optional(&mut *conn)
                .await?
                .as_ref()
                .map(user_from_row)
                .transpose()?
        });
        if let Some(user) = known {
            set_groups(&mut tx, user.id, None, &groups).await?;
            tx.commit().await?;
            return Ok(user);
        }
        let by_name = format!("SELECT {USER_COLUMNS}, sso_subject FROM users WHERE name = $1");
        let named = on_tx!(&mut tx, |conn| {
            match sqlx::query(sqlx::AssertSqlSafe(by_name))
                .bind(sign_in.username)
                .fetch_optional(&mut *conn)
                .await?
            {
                Some(row) => {
                    use crate::row::StoreRow;
                    let subject: Option<String> = row.value(6)?;
                    Some((user_from_row(&row)?, subject))
                }
                None => None,
            }
        });
        let user = match named {
            Some((user, None)) if !user.has_password => {
                set_groups(&mut tx, user.id, Some(sign_in.subject), &groups).await?;
                let resource = format!("user/{}", user.name);
                audit(&mut tx, "sso", "user.link", &resource, now).await?;
                user
            }
            Some((user, _)) => {
                return Err(StoreError::Conflict {
                    message: format!(
                        "a user named {:?} already exists and signs in another way; \
                         a cluster admin can disable it, or the provider can give this \
                         account another name",
                        user.name
                    ),
                });
            }
            None => {
                let id: i64 = on_tx!(&mut tx, |conn| {
                    sqlx::query_scalar(
                        "INSERT INTO users (name, cluster_admin, created_at, sso_subject, sso_groups) \
                         VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    )
                    .bind(sign_in.username)
                    .bind(false)
                    .bind(now)
                    .bind(sign_in.subject)
                    .bind(&groups)
                    .fetch_one(&mut *conn)
                    .await?
                });
                let resource = format!("user/{}", sign_in.username);
                audit(&mut tx, "sso", "user.create", &resource, now).await?;
                UserRecord {
                    id,
                    name: sign_in.username.to_owned(),
                    cluster_admin: false,
                    has_password: false,
                    disabled_at: None,
                    created_at: now,
                }
            }
        };
        tx.commit().await?;
        Ok(user)
    }
}

/// Records a user's groups (and, when linking, their subject).
async fn set_groups(
    tx: &mut crate::exec::WriteTx,
    user_id: i64,
    subject: Option<&str>,
    groups: &str,
) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE users SET sso_groups = $1, sso_subject = COALESCE($2, sso_subject) WHERE id = $3",
        )
        .bind(groups)
        .bind(subject)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    });
    Ok(())
}
