-- Remote workers (issue: remote workers) and what each attempt ran on and used.
-- The same schema as migrations/sqlite/0002_workers.sql in PostgreSQL types.

ALTER TABLE task_instances ADD COLUMN worker_id TEXT;
-- Why a queued attempt is not placed yet (e.g. no worker in its group has a GPU).
ALTER TABLE task_instances ADD COLUMN waiting_reason TEXT;
ALTER TABLE task_instances ADD COLUMN cpu_time_ms BIGINT;
ALTER TABLE task_instances ADD COLUMN peak_memory_bytes BIGINT;

-- Every worker that ever registered, by its stable id. The leader writes it; API nodes
-- read it (`orrery worker list`) and ask for drains through `drain_requested`.
CREATE TABLE workers (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    group_name TEXT NOT NULL,
    labels TEXT NOT NULL,
    slots BIGINT NOT NULL,
    cpu_millis BIGINT NOT NULL,
    memory_bytes BIGINT NOT NULL,
    gpus BIGINT NOT NULL,
    disk_bytes BIGINT NOT NULL,
    version TEXT NOT NULL,
    state TEXT NOT NULL,
    running BIGINT NOT NULL DEFAULT 0,
    registered_at TIMESTAMPTZ NOT NULL,
    last_heartbeat_at TIMESTAMPTZ NOT NULL,
    drain_requested BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE INDEX workers_by_name ON workers (name);
