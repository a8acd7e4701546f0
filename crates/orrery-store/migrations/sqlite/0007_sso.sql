-- Users who sign in through OpenID Connect: the provider's issuer and subject that
-- identify them (never reassigned to another user), and the groups the provider named
-- at their latest sign-in (a JSON array), which give them the roles of group members.
ALTER TABLE users ADD COLUMN sso_subject TEXT;
ALTER TABLE users ADD COLUMN sso_groups TEXT NOT NULL DEFAULT '[]';
CREATE UNIQUE INDEX users_sso_subject ON users (sso_subject);
