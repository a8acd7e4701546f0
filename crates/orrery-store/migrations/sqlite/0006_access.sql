-- Projects are tenants; local users; their roles per project; tokens that belong to a
-- user (personal) or to a project with a role (service).
CREATE TABLE projects (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);
INSERT INTO projects (name, created_at, created_by)
    VALUES ('default', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'orrery');
-- Projects named by jobs stored before projects were tenants keep working.
INSERT OR IGNORE INTO projects (name, created_at, created_by)
    SELECT DISTINCT project, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'orrery' FROM jobs;

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    -- An argon2id PHC string; NULL for users who only sign in through SSO.
    password_hash TEXT,
    cluster_admin INTEGER NOT NULL DEFAULT 0,
    disabled_at TEXT,
    created_at TEXT NOT NULL
);

-- A user's (or an SSO group's) role in a project.
CREATE TABLE members (
    project TEXT NOT NULL REFERENCES projects (name),
    subject_kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    role TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (project, subject_kind, subject)
);
CREATE INDEX members_by_subject ON members (subject_kind, subject);

ALTER TABLE api_tokens ADD COLUMN user_id INTEGER REFERENCES users (id);
ALTER TABLE api_tokens ADD COLUMN project TEXT;
ALTER TABLE api_tokens ADD COLUMN role TEXT;
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
ALTER TABLE api_tokens ADD COLUMN revoked_at TEXT;
ALTER TABLE api_tokens ADD COLUMN last_used_at TEXT;
ALTER TABLE api_tokens ADD COLUMN created_by TEXT;

-- The audit log names the project, the request and the client, and is hash-chained:
-- each row stores the previous row's hash and the SHA-256 of that and its content.
ALTER TABLE audit_log ADD COLUMN project TEXT;
ALTER TABLE audit_log ADD COLUMN request_id TEXT;
ALTER TABLE audit_log ADD COLUMN client_address TEXT;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE INDEX audit_log_by_project ON audit_log (project, id);

-- A project's secrets, sealed (AES-256-GCM, bound to project and name) under the key
-- named by key_id; the value itself is never stored in the clear.
CREATE TABLE secrets (
    project TEXT NOT NULL REFERENCES projects (name),
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    ciphertext TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (project, name)
);

-- Which jobs each live job starts as sub-workflows (`type: job` tasks), kept with the
-- job's latest version so the apply transaction can refuse a loop without reading
-- every spec of the project.
CREATE TABLE job_calls (
    project TEXT NOT NULL,
    caller TEXT NOT NULL,
    callee TEXT NOT NULL,
    PRIMARY KEY (project, caller, callee)
);
INSERT OR IGNORE INTO job_calls (project, caller, callee)
    SELECT j.project, j.name, json_extract(t.value, '$.job')
    FROM jobs j
    JOIN job_versions v ON v.job_id = j.id AND v.version = j.latest_version,
    json_each(v.spec, '$.tasks') t
    WHERE j.deleted_at IS NULL AND json_extract(t.value, '$.type') = 'job';

-- Failed sign-ins per username (known or not), shared by every API node: a username
-- that keeps failing waits longer before its next try. Rows older than the longest
-- wait are forgotten as new failures arrive.
CREATE TABLE login_failures (
    username TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_at TEXT NOT NULL
);
CREATE INDEX login_failures_by_time ON login_failures (last_at);
