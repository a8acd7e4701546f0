-- Alerting. Receivers and alert routes are applied like jobs: the validated document
-- as canonical JSON, one row per (project, kind, name).
CREATE TABLE alert_configs (
    project TEXT NOT NULL REFERENCES projects (name),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (project, kind, name)
);

-- What the scheduler raised, written in the transaction of the change that caused it
-- (`firing`: one alert; `resolve_job`: a success of the job resolves its alerts). The
-- leader's alert loop routes them in `seq` order from the cursor in alert_router.
CREATE TABLE alert_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    status TEXT NOT NULL,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    at TEXT NOT NULL
);

-- Every alert, one row per firing: repeats of a firing alert update it; a resolution
-- ends it, and a later firing of the same labels is a new row.
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    alertname TEXT NOT NULL,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    resolved_at TEXT
);
CREATE UNIQUE INDEX alerts_firing ON alerts (project, fingerprint) WHERE resolved_at IS NULL;
CREATE INDEX alerts_by_project ON alerts (project, id);

-- The router's groups and how far it has read alert_events, saved in the transaction
-- that writes the notifications a pass produced: a crash replays from the cursor.
CREATE TABLE alert_router (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    cursor INTEGER NOT NULL,
    state TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- The outbox: one row per message to a receiver, delivered by the leader. The dedup
-- key goes to the receiver with the message, so a resend after a crash is recognised.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    receiver TEXT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    response TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX notifications_due ON notifications (state, next_attempt_at);
CREATE INDEX notifications_by_project ON notifications (project, id);

-- Silences mute matching alerts from starts_at until ends_at (or until expired).
CREATE TABLE silences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL REFERENCES projects (name),
    matchers TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    comment TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX silences_by_project ON silences (project, ends_at);

-- SLA misses already raised, by key (job, logical date or run, and which deadline):
-- a deadline is alerted once, whichever leader evaluates it, however often.
CREATE TABLE sla_misses (
    key TEXT PRIMARY KEY,
    raised_at TEXT NOT NULL
);
