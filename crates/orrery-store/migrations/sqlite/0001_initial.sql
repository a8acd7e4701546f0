-- Jobs, their versions, runs, task attempts, logs, tokens and the audit log.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    latest_version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    -- Set by `orrery job pause` (or a spec's `schedule.paused`); stops scheduled fires.
    paused INTEGER NOT NULL DEFAULT 0
);
-- A name is unique among live jobs of a project; deleted jobs keep their runs.
CREATE UNIQUE INDEX jobs_live_name ON jobs (project, name) WHERE deleted_at IS NULL;

CREATE TABLE job_versions (
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    version INTEGER NOT NULL,
    spec TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (job_id, version)
);

CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    job_version INTEGER NOT NULL,
    state TEXT NOT NULL,
    trigger TEXT NOT NULL,
    params TEXT NOT NULL,
    -- Set for scheduled and backfilled runs; the unique key makes a second run for one
    -- fire impossible, whichever node or process tries.
    logical_date TEXT,
    scheduled_at TEXT,
    data_interval_start TEXT,
    data_interval_end TEXT,
    backfill_id INTEGER,
    -- Set on an explicit rerun of an earlier run (same logical date, new attempt).
    rerun_of INTEGER REFERENCES runs (id),
    -- A sub-workflow's parent run and the task in it that started this run.
    parent_run_id INTEGER REFERENCES runs (id),
    parent_task_id INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
);
-- One run per (job, logical date) whoever fires it; only an explicit rerun adds another.
CREATE UNIQUE INDEX runs_one_per_fire ON runs (job_id, logical_date) WHERE rerun_of IS NULL;
CREATE INDEX runs_by_state ON runs (state);
CREATE INDEX runs_by_job ON runs (job_id, id);

CREATE TABLE task_instances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs (id),
    task_name TEXT NOT NULL,
    task_idx INTEGER NOT NULL,
    -- For a fan-out (for_each) task: which mapped instance; NULL for ordinary tasks
    -- and for the fan-out's own row.
    map_index INTEGER,
    attempt INTEGER NOT NULL,
    state TEXT NOT NULL,
    fence INTEGER NOT NULL DEFAULT 0,
    worker TEXT,
    exit_code INTEGER,
    outputs TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    queued_at TEXT,
    started_at TEXT,
    finished_at TEXT,
    retry_at TEXT,
    UNIQUE (run_id, task_name, attempt)
);
CREATE INDEX task_instances_by_run ON task_instances (run_id);

CREATE TABLE task_logs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL,
    task_instance_id INTEGER NOT NULL,
    task_name TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at TEXT NOT NULL,
    stream TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX task_logs_by_run ON task_logs (run_id, seq);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    resource TEXT NOT NULL,
    before_version INTEGER,
    after_version INTEGER
);

-- Where each scheduled job's timer stands. `version` is the job version the schedule
-- was read from; `next_fire_at` NULL means the schedule has no more fires.
CREATE TABLE job_triggers (
    job_id INTEGER PRIMARY KEY REFERENCES jobs (id),
    version INTEGER NOT NULL,
    next_fire_at TEXT,
    updated_at TEXT NOT NULL
);

-- The occurrence ledger: what became of every nominal fire of every job.
CREATE TABLE occurrences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    nominal_at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    run_id INTEGER,
    reason TEXT,
    recorded_at TEXT NOT NULL,
    UNIQUE (job_id, nominal_at)
);

CREATE TABLE calendars (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (project, name)
);

CREATE TABLE backfills (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    range_start TEXT NOT NULL,
    range_end TEXT NOT NULL,
    parallelism INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);
