import type pg from 'pg';

/** What the runner, its steps and rollback share: lock_timeout and its retries. (Opening the database: pgdb/target.ts.) */

export async function hasCompanyId(c: pg.ClientBase, schema: string, table: string): Promise<boolean> {
  return (
    (await c.query(`SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = 'company_id'`, [schema, table]))
      .rowCount === 1
  );
}

const LOCK_NOT_AVAILABLE = '55P03';
export const isLockTimeout = (e: unknown) => (e as { code?: string }).code === LOCK_NOT_AVAILABLE;

/**
 * Runs `attempt` until it does not hit lock_timeout, at most `tries` times, backing off (with
 * jitter) between tries: DDL waits for the application's locks, never the other way round.
 */
export async function retryOnLock<T>(tries: number, attempt: () => Promise<T>, onRetry: (n: number, waitMs: number) => void): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      if (!isLockTimeout(e) || n >= tries) throw e;
      const wait = Math.min(200 * 2 ** Math.min(n, 6), 10_000) * (0.75 + Math.random() / 2);
      onRetry(n, wait);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/**
 * `fn` under lock_timeout: in a transaction with SET LOCAL (committed, or rolled back on any
 * error), or, for what cannot run in one (CREATE/DROP INDEX CONCURRENTLY), with the session's
 * setting reset afterwards.
 */
export async function underLockTimeout<T>(c: pg.ClientBase, lockTimeoutMs: number, transaction: boolean, fn: (c: pg.ClientBase) => Promise<T>): Promise<T> {
  if (!transaction) {
    try {
      await c.query(`SET lock_timeout = '${lockTimeoutMs}ms'`);
      return await fn(c);
    } finally {
      await c.query('RESET lock_timeout').catch(() => {});
    }
  }
  await c.query('BEGIN');
  try {
    await c.query(`SET LOCAL lock_timeout = '${lockTimeoutMs}ms'`);
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  }
}
