-- What the scheduler's polls need to stay cheap however many jobs and runs there are.
--
-- Counters that move, in the same transaction, whenever something the scheduler must
-- notice changes: `jobs` on every change to a job's version, pause flag or deletion;
-- `runs_reopened` when an ended run becomes active again (its id is older than the
-- new runs the scheduler looks for). Triggers move them, so no writer can forget to.
-- A poll that reads the same count has nothing to scan.

CREATE TABLE change_counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

INSERT INTO change_counters (name, value) VALUES ('jobs', 0), ('runs_reopened', 0);

CREATE FUNCTION count_job_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE change_counters SET value = value + 1 WHERE name = 'jobs';
    RETURN NULL;
END;
$$;

-- Once per statement: a statement changing many jobs moves the counter once.
CREATE TRIGGER jobs_changed_count
AFTER INSERT OR DELETE OR UPDATE OF latest_version, paused, deleted_at ON jobs
FOR EACH STATEMENT EXECUTE FUNCTION count_job_change();

CREATE FUNCTION count_run_reopened() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE change_counters SET value = value + 1 WHERE name = 'runs_reopened';
    RETURN NULL;
END;
$$;

CREATE TRIGGER runs_reopened_count
AFTER UPDATE OF state ON runs
FOR EACH ROW
WHEN (OLD.state IN ('success', 'failed', 'cancelled') AND NEW.state IN ('queued', 'running'))
EXECUTE FUNCTION count_run_reopened();

-- Active runs whose cancel was requested: read on every poll without scanning every
-- active run.
CREATE INDEX runs_cancel_pending ON runs (id)
WHERE cancel_requested = TRUE AND state IN ('queued', 'running');
