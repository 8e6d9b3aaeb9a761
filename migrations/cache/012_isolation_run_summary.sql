-- What an isolation run's summary says, kept with the run: how long it took and what its cleanup
-- removed or left (the verdict counts come from its results), so a reloaded run reads as it did live.
ALTER TABLE isolation_runs ADD COLUMN seconds REAL;
ALTER TABLE isolation_runs ADD COLUMN cleanup TEXT;
