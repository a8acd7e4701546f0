-- A counter that every change to a job's version, pause flag or deletion moves, in
-- the same transaction. Triggers move it, so no writer can forget to. The scheduler
-- reads it on each poll and scans the jobs only when it moved: an idle scheduler's
-- cost does not grow with the number of jobs.

CREATE TABLE change_counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

INSERT INTO change_counters (name, value) VALUES ('jobs', 0);

CREATE TRIGGER jobs_inserted_count AFTER INSERT ON jobs
BEGIN
    UPDATE change_counters SET value = value + 1 WHERE name = 'jobs';
END;

CREATE TRIGGER jobs_updated_count AFTER UPDATE OF latest_version, paused, deleted_at ON jobs
BEGIN
    UPDATE change_counters SET value = value + 1 WHERE name = 'jobs';
END;

CREATE TRIGGER jobs_deleted_count AFTER DELETE ON jobs
BEGIN
    UPDATE change_counters SET value = value + 1 WHERE name = 'jobs';
END;
