-- Remote workers (issue: remote workers) and what each attempt ran on and used.

ALTER TABLE task_instances ADD COLUMN worker_id TEXT;
-- Why a queued attempt is not placed yet (e.g. no worker in its group has a GPU).
ALTER TABLE task_instances ADD COLUMN waiting_reason TEXT;
ALTER TABLE task_instances ADD COLUMN cpu_time_ms INTEGER;
ALTER TABLE task_instances ADD COLUMN peak_memory_bytes INTEGER;

-- Every worker that ever registered, by its stable id. The leader writes it; API nodes
-- read it (`orrery worker list`) and ask for drains through `drain_requested`.
CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    group_name TEXT NOT NULL,
    labels TEXT NOT NULL,
    slots INTEGER NOT NULL,
    cpu_millis INTEGER NOT NULL,
    memory_bytes INTEGER NOT NULL,
    gpus INTEGER NOT NULL,
    disk_bytes INTEGER NOT NULL,
    version TEXT NOT NULL,
    state TEXT NOT NULL,
    running INTEGER NOT NULL DEFAULT 0,
    registered_at TEXT NOT NULL,
    last_heartbeat_at TEXT NOT NULL,
    drain_requested INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX workers_by_name ON workers (name);
