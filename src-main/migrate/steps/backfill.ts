import type { PlanStep, TablePlan } from '../../../src-shared/migration.ts';
import { isLockTimeout, underLockTimeout } from '../pg.ts';
import { ident } from '../../pgdb/target.ts';
import { backfillBatchSql, sourceJoin } from '../sql.ts';
import { stepState } from '../stepState.ts';
import type { StepState } from '../state.ts';
import type { StepContext, StepKindDef } from './types.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The backfill: batches by primary-key range, each committed with its last key, throttled so
 * that the application never waits long on it; then a sweep for rows the walk passed that the
 * trigger did not see.
 */
export const backfill: StepKindDef = {
  kind: 'backfill',
  applies: () => true,
  make: (t) => ({
    sql: `-- one batch ($1 rows after the key $2); the runner repeats it from the last key done until the table is walked\n${backfillBatchSql(t, false)};`,
    locks: 'row locks on one batch, for the length of the batch (the runner shrinks batches when others wait)',
  }),
  run: async (ctx, step, t) => {
    const state = ctx.run.steps.get(step.n)!;
    const prog = ctx.progressOf(t.table);
    if (state.rowsTotal === null) {
      state.rowsTotal = Number((await ctx.c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${ident(t.table)}`)).rows[0]!.n);
      await stepState.total(ctx.c, ctx.run.id, step.n, state.rowsTotal);
    }
    prog.total = Math.max(state.rowsTotal, state.rowsDone);
    prog.done = state.rowsDone;
    if ((await walk(ctx, step, t, state)) === 'paused') return 'paused';
    await sweep(ctx, t);
    await stepState.finished(ctx.c, ctx.run.id, step.n);
    prog.done = prog.total = Math.max(prog.total, state.rowsDone);
    return 'done';
  },
  // the values go with the column
  undo: () => null,
};

/** Batch after batch from the last key done, until a batch comes back short. */
async function walk(ctx: StepContext, step: PlanStep, t: TablePlan, state: StepState): Promise<'walked' | 'paused'> {
  const prog = ctx.progressOf(t.table);
  const rate0 = { t0: Date.now(), d0: state.rowsDone };
  const maxBatchMs = ctx.opts.maxBatchMs ?? 100;
  let lastEmit = 0;
  for (;;) {
    if (ctx.control.paused) return 'paused';
    if ((await ctx.health.clear(t.table, ctx)) === 'paused') return 'paused';
    // the operator's batch size is the ceiling and their pause the floor; the runner moves between
    ctx.throttle.size = Math.max(1, Math.min(ctx.throttle.size, ctx.control.batchSize));
    ctx.throttle.delay = Math.max(ctx.throttle.delay, ctx.control.delayMs);
    const size = ctx.throttle.size;
    const t0 = performance.now();
    const r = await oneBatch(ctx, step, t, state, size, maxBatchMs);
    if (r === 'lock-timeout') continue;
    const ms = performance.now() - t0;
    state.rowsDone += r.seen;
    if (r.last_key !== null) state.lastKey = r.last_key;
    adapt(ctx, t, size, ms, r.blocked, maxBatchMs);
    const secs = (Date.now() - rate0.t0) / 1000;
    prog.done = state.rowsDone;
    prog.total = Math.max(prog.total, state.rowsDone);
    prog.rate = secs > 0 ? (state.rowsDone - rate0.d0) / secs : 0;
    prog.etaSeconds = prog.rate > 0 ? Math.max(0, prog.total - prog.done) / prog.rate : null;
    if (r.seen < size) return 'walked';
    if (Date.now() - lastEmit > 200) {
      lastEmit = Date.now();
      ctx.emit();
    }
    if (ctx.throttle.delay > 0) await sleep(ctx.throttle.delay);
  }
}

/** One batch with its state, in one transaction; while it runs, a look for sessions waiting on its locks. */
async function oneBatch(
  ctx: StepContext,
  step: PlanStep,
  t: TablePlan,
  state: StepState,
  size: number,
  maxBatchMs: number,
): Promise<{ last_key: string | null; seen: number; filled: number; blocked: number } | 'lock-timeout'> {
  const { c } = ctx;
  let blocked = 0;
  const ourPid = (c as unknown as { processID?: number }).processID;
  const probe = setTimeout(
    () => {
      void ctx.monitor
        .query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND $1 = ANY(pg_blocking_pids(pid))`, [ourPid])
        .then(
          (r) => {
            blocked = r.rows[0]!.n;
          },
          () => {},
        );
    },
    Math.max(5, maxBatchMs / 2),
  );
  try {
    const r = await underLockTimeout(c, Math.max(maxBatchMs * 5, 500), true, async (tx) => {
      const got = (await tx.query(backfillBatchSql(t, state.lastKey === null), state.lastKey === null ? [size] : [size, state.lastKey])).rows[0] as {
        last_key: string | null;
        seen: number;
        filled: number;
      };
      await stepState.batch(tx, ctx.run.id, step.n, got.last_key, got.seen, got.filled);
      return got;
    });
    return { ...r, blocked };
  } catch (e) {
    if (!isLockTimeout(e)) throw e;
    // the application holds rows of this batch: take smaller bites, and leave it room
    ctx.throttle.size = Math.max(50, Math.floor(size / 2));
    ctx.throttle.delay = Math.min(Math.max(ctx.throttle.delay * 2, 50), 2000);
    ctx.log(`${t.table}: a batch waited on rows the application holds; next ${ctx.throttle.size} rows, pause ${ctx.throttle.delay} ms`);
    await sleep(ctx.throttle.delay);
    return 'lock-timeout';
  } finally {
    clearTimeout(probe);
  }
}

/** The throttle: shrink when a batch holds its locks too long or made others wait, grow back when it is quick. */
function adapt(ctx: StepContext, t: TablePlan, size: number, ms: number, blocked: number, maxBatchMs: number): void {
  const th = ctx.throttle;
  if (ms > maxBatchMs || blocked > 0) {
    th.size = Math.max(50, Math.floor(size * Math.min(0.5, maxBatchMs / ms)));
    if (blocked > 0) th.delay = Math.min(1000, Math.max(10, th.delay * 2));
    ctx.log(
      `${t.table}: batch of ${size} took ${Math.round(ms)} ms${blocked ? `, ${blocked} sessions waited on it` : ''}; next ${th.size} rows${th.delay ? `, pause ${th.delay} ms` : ''}`,
    );
  } else if (ms < maxBatchMs / 2) {
    th.size = Math.min(ctx.control.batchSize, Math.ceil(size * 1.25));
    th.delay = Math.max(ctx.control.delayMs, Math.floor(th.delay / 2));
  }
}

/** Rows still NULL that could be filled (written in ways the trigger did not see), in batches. */
async function sweep(ctx: StepContext, t: TablePlan): Promise<void> {
  const T = ident(t.table);
  const K = ident(t.key);
  const { from: src, on } = sourceJoin(t.derivation, 't');
  for (;;) {
    const n =
      (
        await ctx.c.query(
          `WITH b AS (SELECT t.${K} AS k FROM ${T} t JOIN ${src} ON ${on} WHERE t.company_id IS NULL AND s.company_id IS NOT NULL LIMIT $1)
      UPDATE ${T} t SET company_id = s.company_id FROM ${src} WHERE t.${K} IN (SELECT k FROM b) AND t.company_id IS NULL AND ${on}`,
          [ctx.throttle.size],
        )
      ).rowCount ?? 0;
    if (n) ctx.log(`${t.table}: the sweep filled ${n} rows the walk had passed`);
    if (n < ctx.throttle.size) break;
  }
}
