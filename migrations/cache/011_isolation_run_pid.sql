-- The process running an isolation run: a run still 'running' whose process is gone was
-- interrupted (killed, crashed), and is shown as such instead of running forever.
ALTER TABLE isolation_runs ADD COLUMN pid INTEGER;
