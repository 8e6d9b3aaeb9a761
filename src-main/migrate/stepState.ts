import type pg from 'pg';
import { STATE_SCHEMA as S } from './sql.ts';

/** Step bookkeeping, each in the caller's transaction when it has one. */
export const stepState = {
  started: (c: pg.ClientBase, runId: number, n: number) =>
    c.query(`UPDATE ${S}.steps SET started_at = coalesce(started_at, clock_timestamp()) WHERE run_id = $1 AND n = $2`, [runId, n]),
  finished: (c: pg.ClientBase, runId: number, n: number, skipped: string | null = null) =>
    c.query(`UPDATE ${S}.steps SET status = $3, finished_at = clock_timestamp(), message = $4 WHERE run_id = $1 AND n = $2`, [
      runId,
      n,
      skipped ? 'skipped' : 'done',
      skipped,
    ]),
  total: (c: pg.ClientBase, runId: number, n: number, rows: number) =>
    c.query(`UPDATE ${S}.steps SET rows_total = $3 WHERE run_id = $1 AND n = $2`, [runId, n, rows]),
  batch: (c: pg.ClientBase, runId: number, n: number, lastKey: string | null, seen: number, filled: number) =>
    c.query(
      `UPDATE ${S}.steps SET last_key = coalesce($3, last_key), rows_done = rows_done + $4, rows_filled = rows_filled + $5 WHERE run_id = $1 AND n = $2`,
      [runId, n, lastKey, seen, filled],
    ),
};
