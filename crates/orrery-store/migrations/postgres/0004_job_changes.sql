-- A counter that every change to a job's version, pause flag or deletion moves, in
-- the same transaction. A trigger moves it, so no writer can forget to. The scheduler
-- reads it on each poll and scans the jobs only when it moved: an idle scheduler's
-- cost does not grow with the number of jobs.

CREATE TABLE change_counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

INSERT INTO change_counters (name, value) VALUES ('jobs', 0);

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
