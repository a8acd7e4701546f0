-- A manual run of a scheduled job takes the logical date of the latest due fire
-- (or one given by hand), which a scheduled run may also have: only scheduled fires
-- and backfills are one run per (job, logical date).
DROP INDEX runs_one_per_fire;
CREATE UNIQUE INDEX runs_one_per_fire ON runs (job_id, logical_date)
    WHERE rerun_of IS NULL AND trigger IN ('schedule', 'backfill');
