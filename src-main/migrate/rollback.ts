import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import type { RollbackResult } from '../../src-shared/migration.ts';
import { AppError } from '../../src-shared/result.ts';
import { retryOnLock, underLockTimeout } from './pg.ts';
import { ident, onTarget, type PgTarget } from '../pgdb/target.ts';
import { STATE_SCHEMA } from './sql.ts';
import { currentPhase } from './rlsPhase.ts';
import { latestRun, loadRun, logLine, setRunStatus, takeLock, type LoadedRun } from './state.ts';
import { stepKind } from './steps/registry.ts';
import type { Undo } from './steps/types.ts';
import { fingerprint, schemaSnapshot } from './verify.ts';

/** One undo under lock_timeout, retried while it hits (CONCURRENTLY ones outside a transaction). */
function undoOne(c: pg.ClientBase, u: Undo, lockTimeoutMs: number, retries: number, log: (line: string) => void): Promise<unknown> {
  return retryOnLock(
    retries,
    () => underLockTimeout(c, lockTimeoutMs, u.inTransaction, (tx) => tx.query(u.sql)),
    (n) => log(`${u.what}: waited for a lock others hold; retry ${n}`),
  );
}

/** The undo of every step of the run, last step first (children before parents); a column only where the run added it. */
function undos(run: LoadedRun): Array<{ table: string; undo: Undo }> {
  const added = new Set(
    run.plan.steps.filter((s) => s.kind === 'add-column' && ['done', 'skipped'].includes(run.steps.get(s.n)?.status ?? '')).map((s) => s.table),
  );
  const byTable = new Map(run.plan.tables.map((t) => [t.table, t]));
  return [...run.plan.steps].reverse().flatMap((s) => {
    const u = stepKind(s.kind).undo(byTable.get(s.table)!, { addedColumn: added.has(s.table), stateSchema: STATE_SCHEMA });
    return u ? [{ table: s.table, undo: u }] : [];
  });
}

/**
 * Removes exactly what a run added, each step undone by its own kind in reverse: its NOT NULL
 * checks, foreign keys, indexes, triggers and functions, and the company_id columns it added.
 * Every object has the name the plan checked was free, so nothing else is touched. Then compares
 * every table's schema and data with before the run.
 */
export async function rollbackMigration(
  db: PgTarget | string,
  opts: { runId?: number; operator: string; lockRetries?: number; onLog?: (line: string) => void },
): Promise<RollbackResult> {
  return onTarget(db, (target) => rollbackOn(target, opts));
}

async function rollbackOn(
  target: PgTarget,
  opts: { runId?: number; operator: string; lockRetries?: number; onLog?: (line: string) => void },
): Promise<RollbackResult> {
  // this session holds the advisory lock and the search_path: it is closed, never pooled again
  const c = await target.client('tenantscope-rollback');
  const log = (line: string) => {
    opts.onLog?.(line);
  };
  try {
    await takeLock(c);
    const run = await loadRun(c, await latestRun(c, opts.runId));
    if (run.status === 'rolled-back') throw new AppError('conflict', `Run ${run.id} is rolled back already.`);
    // the policies read company_id: dropping the column under them would fail half-way through the undo
    const rls = await currentPhase(c);
    const under = rls?.tables.filter((t) => run.plan.tables.some((p) => p.table === t)) ?? [];
    if (under.length)
      throw new AppError(
        'conflict',
        `Row-level security phase ${rls!.id} reads company_id on ${under.length} of this run's tables (${under.slice(0, 5).join(', ')}${under.length > 5 ? ', …' : ''}). Nothing was changed: roll the phase back first (\`tenantscope migrate rollback --rls\` does both).`,
      );
    await c.query(`SET search_path TO ${ident(run.plan.schema)}`);
    let table: string | null = null;
    for (const { table: of, undo } of undos(run)) {
      if (table !== null && of !== table) log(`${table}: rolled back`);
      table = of;
      await undoOne(c, undo, run.plan.options.lockTimeoutMs, opts.lockRetries ?? 30, log);
    }
    if (table) log(`${table}: rolled back`);
    const tables: RollbackResult['tables'] = [];
    for (const t of run.plan.tables) {
      const before = run.before[t.table]!;
      const now = await schemaSnapshot(c, t.table);
      const fp = await fingerprint(c, t);
      tables.push({ table: t.table, schemaEqual: isDeepStrictEqual(now, before.schema), fingerprintEqual: fp.fingerprint === before.fingerprint });
    }
    const ok = tables.every((t) => t.schemaEqual && t.fingerprintEqual);
    await setRunStatus(
      c,
      run.id,
      'rolled-back',
      ok ? 'rolled back: schema and fingerprints as before' : 'rolled back; the tables differ from before (the application wrote to them meanwhile)',
      { rolledBackBy: opts.operator },
    );
    await logLine(c, run.id, `rolled back by ${opts.operator}`);
    return { runId: run.id, tables, ok };
  } finally {
    c.release(true);
  }
}
