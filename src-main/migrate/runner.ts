import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import { AppError } from '../../src-shared/result.ts';
import { backfillBatchSql, checkStoredPlan, sourceJoin, STATE_SCHEMA } from './planner.ts';
import type { MigrationPlan, MigrationProgress, PlanStep, RollbackResult, RunRecord, RunStatus, TablePlan, TableProgress, TableVerification, Verification } from '../../src-shared/migration.ts';
export type { MigrationProgress } from '../../src-shared/migration.ts';
import { connect, hasCompanyId, ident, isLockTimeout, retryOnLock } from './pg.ts';

/**
 * Runs a migration plan against the CRM's PostgreSQL, resumable after a crash: every step's state
 * lives in the target database (schema tenantscope_migration) and is written in the same
 * transaction as the change it records (a batch of the backfill and its last key, a DDL and its
 * "done"). CREATE INDEX CONCURRENTLY cannot run in a transaction: an invalid index left by a
 * crash is dropped and built again. One runner at a time, by an advisory lock held for the run.
 */

const S = STATE_SCHEMA;
const LOCK_KEY = 74_656_160; // any constant below 2^31 (pg_locks shows it as objid): one migration runner per database




/** Changed while a run goes on (the console's pause button, the throttle). */
export interface RunControl {
  paused: boolean;
  batchSize: number;
  delayMs: number;
}

export interface RunOptions {
  operator: string;
  /** a new plan to run; without it, the unfinished run is resumed */
  plan?: MigrationPlan;
  control?: RunControl;
  /** a batch should hold its row locks at most this long: larger ones shrink, shorter ones grow */
  maxBatchMs?: number;
  /** DDL retries when lock_timeout hits, before the run fails */
  lockRetries?: number;
  onProgress?: (p: MigrationProgress) => void;
  onLog?: (line: string) => void;
}

export interface TableSnapshot {
  rows: number;
  fingerprint: string;
  schema: unknown;
}




const STATE_DDL = `
CREATE SCHEMA IF NOT EXISTS ${S};
CREATE TABLE IF NOT EXISTS ${S}.runs (
  id bigserial PRIMARY KEY,
  started_by text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  status text NOT NULL,
  plan jsonb NOT NULL,
  before jsonb NOT NULL,
  verification jsonb,
  message text,
  rolled_back_by text,
  rolled_back_at timestamptz
);
CREATE TABLE IF NOT EXISTS ${S}.steps (
  run_id bigint NOT NULL REFERENCES ${S}.runs (id),
  n int NOT NULL,
  table_name text NOT NULL,
  kind text NOT NULL,
  status text NOT NULL DEFAULT 'pending',
  last_key text,
  rows_done bigint NOT NULL DEFAULT 0,
  rows_filled bigint NOT NULL DEFAULT 0,
  rows_total bigint,
  started_at timestamptz,
  finished_at timestamptz,
  message text,
  PRIMARY KEY (run_id, n)
);
CREATE TABLE IF NOT EXISTS ${S}.log (
  run_id bigint NOT NULL,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  message text NOT NULL
);`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pgCode = (e: unknown) => (e as { code?: string }).code;

async function ensureState(c: pg.Client): Promise<void> {
  // concurrent first runs: one creates, the other waits on the transaction-level lock
  await c.query('BEGIN');
  await c.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY + 1]);
  await c.query(STATE_DDL);
  await c.query('COMMIT');
}

async function stateExists(c: pg.Client): Promise<boolean> {
  return (await c.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [S])).rowCount === 1;
}

/** Order-independent hash of the table's other columns (the sum of a 64-bit hash of each row) and its row count. */
export async function fingerprint(c: pg.ClientBase | pg.Pool, t: Pick<TablePlan, 'table' | 'columns'>): Promise<{ rows: number; fingerprint: string }> {
  const row = `ROW(${t.columns.map((col) => `t.${ident(col)}`).join(', ')})::text`;
  const r = (await c.query<{ n: string; h: string }>(`SELECT count(*)::text AS n, coalesce(sum(hashtextextended(${row}, 7)::numeric), 0)::text AS h FROM ${ident(t.table)} t`)).rows[0]!;
  return { rows: Number(r.n), fingerprint: `${r.n}:${r.h}` };
}

/** Columns, indexes, constraints and triggers of a table, as the catalogs say. */
export async function schemaSnapshot(c: pg.ClientBase | pg.Pool, table: string): Promise<unknown> {
  return (await c.query<{ s: unknown }>(`
    SELECT json_build_object(
      'columns', (SELECT json_agg(json_build_array(a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)) ORDER BY a.attnum)
                  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                  WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped),
      'indexes', (SELECT json_agg(pg_get_indexdef(indexrelid) ORDER BY pg_get_indexdef(indexrelid)) FROM pg_index WHERE indrelid = $1::regclass),
      'constraints', (SELECT json_agg(conname || ' ' || pg_get_constraintdef(oid) ORDER BY conname) FROM pg_constraint WHERE conrelid = $1::regclass),
      'triggers', (SELECT json_agg(tgname ORDER BY tgname) FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal)
    ) AS s`, [table])).rows[0]!.s;
}

interface LoadedRun {
  id: number;
  status: RunStatus;
  plan: MigrationPlan;
  before: Record<string, TableSnapshot>;
  steps: Map<number, { status: string; lastKey: string | null; rowsDone: number; rowsTotal: number | null }>;
}

async function loadRun(c: pg.Client, id: number): Promise<LoadedRun> {
  const r = (await c.query(`SELECT id, status, plan, before FROM ${S}.runs WHERE id = $1`, [id])).rows[0];
  if (!r) throw new AppError('not-found', `There is no migration run ${id} in this database.`);
  const steps = new Map<number, { status: string; lastKey: string | null; rowsDone: number; rowsTotal: number | null }>();
  for (const s of (await c.query(`SELECT n, status, last_key, rows_done::float8 AS rows_done, rows_total::float8 AS rows_total FROM ${S}.steps WHERE run_id = $1`, [id])).rows) {
    steps.set(s.n, { status: s.status, lastKey: s.last_key, rowsDone: s.rows_done, rowsTotal: s.rows_total });
  }
  // what is read back from the database is checked before anything of it runs
  checkStoredPlan(r.plan as MigrationPlan, Number(r.id), { steps: false });
  return { id: Number(r.id), status: r.status, plan: r.plan, before: r.before, steps };
}

/** The newest run that is not finished (running after a crash, paused, or failed), if any. */
export async function unfinishedRun(c: pg.Client): Promise<number | null> {
  if (!(await stateExists(c))) return null;
  const r = (await c.query(`SELECT id FROM ${S}.runs WHERE status IN ('running', 'paused', 'failed') ORDER BY id DESC LIMIT 1`)).rows[0];
  return r ? Number(r.id) : null;
}

async function takeLock(c: pg.Client): Promise<void> {
  const got = (await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [LOCK_KEY])).rows[0]!.ok;
  if (got) return;
  const holder = (await c.query<{ pid: number; app: string }>(`SELECT l.pid, a.application_name AS app FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.objid = $1 LIMIT 1`, [LOCK_KEY])).rows[0];
  throw new AppError('conflict', `Another migration runner is working on this database${holder ? ` (backend ${holder.pid}, ${holder.app || 'no name'})` : ''}. Wait for it, or pause it from where it runs.`);
}

class Runner {
  private readonly startedAt = Date.now();
  private progress: MigrationProgress;
  private readonly rates = new Map<string, { t0: number; d0: number }>();
  private readonly doneAtStart: number;
  /** the batch size and pause in use now (the throttle moves them) */
  private size: number;
  private delay: number;

  constructor(
    private readonly c: pg.Client,
    private readonly monitor: pg.Client,
    private readonly run: LoadedRun,
    private readonly opts: RunOptions,
    private readonly control: RunControl,
  ) {
    const plan = run.plan;
    this.progress = {
      runId: run.id, status: 'running', batchSize: control.batchSize, delayMs: control.delayMs, message: null,
      tables: plan.tables.map((t) => {
        const steps = plan.steps.filter((s) => s.table === t.table);
        const allDone = steps.every((s) => run.steps.get(s.n)?.status !== 'pending');
        const bf = steps.find((s) => s.kind === 'backfill');
        const st = bf ? run.steps.get(bf.n) : undefined;
        return { table: t.table, phase: t.phase, status: allDone ? 'done' : 'pending', step: null, done: st?.rowsDone ?? 0, total: st?.rowsTotal ?? t.rows, rate: 0, etaSeconds: null };
      }),
      overall: { done: 0, total: 0, rate: 0, etaSeconds: null, steps: plan.steps.length, stepsDone: [...run.steps.values()].filter((s) => s.status !== 'pending').length },
    };
    this.doneAtStart = this.progress.tables.reduce((a, t) => a + t.done, 0);
    this.size = control.batchSize;
    this.delay = control.delayMs;
  }

  private log(line: string): void {
    this.opts.onLog?.(line);
    void this.c.query(`INSERT INTO ${S}.log (run_id, message) VALUES ($1, $2)`, [this.run.id, line]).catch(() => {});
  }

  private emit(): void {
    const p = this.progress;
    const done = p.tables.reduce((a, t) => a + Math.min(t.done, t.total), 0);
    const total = p.tables.reduce((a, t) => a + t.total, 0);
    // rows a second over the whole run so far (steps without rows included): what the ETA should assume
    const elapsed = (Date.now() - this.startedAt) / 1000;
    const rate = elapsed > 1 ? (done - this.doneAtStart) / elapsed : p.tables.reduce((a, t) => a + (t.status === 'running' ? t.rate : 0), 0);
    p.overall = { ...p.overall, done, total, rate, etaSeconds: rate > 0 ? (total - done) / rate : null };
    p.batchSize = this.size;
    p.delayMs = this.delay;
    this.opts.onProgress?.(structuredClone(p));
  }

  private tp(table: string): TableProgress {
    return this.progress.tables.find((t) => t.table === table)!;
  }

  /** A DDL (with its state update) in one transaction, retried while lock_timeout hits. */
  private async ddl(step: PlanStep, body: (c: pg.Client) => Promise<string | void>): Promise<void> {
    const retries = this.opts.lockRetries ?? 30;
    const note = await retryOnLock(retries, async () => {
      await this.c.query('BEGIN');
      try {
        await this.c.query(`SET LOCAL lock_timeout = '${this.run.plan.options.lockTimeoutMs}ms'`);
        const skipped = await body(this.c);
        await this.c.query(`UPDATE ${S}.steps SET status = $3, finished_at = clock_timestamp(), message = $4 WHERE run_id = $1 AND n = $2`, [this.run.id, step.n, skipped ? 'skipped' : 'done', skipped ?? null]);
        await this.c.query('COMMIT');
        return skipped;
      } catch (e) {
        await this.c.query('ROLLBACK').catch(() => {});
        throw e;
      }
    }, (n, wait) => this.log(`${step.table}: ${step.kind} waited ${this.run.plan.options.lockTimeoutMs} ms for a lock others hold; retry ${n}/${retries} in ${Math.round(wait)} ms`));
    if (note) this.log(`${step.table}: ${step.kind} skipped: ${note}`);
  }

  private async backfill(step: PlanStep, t: TablePlan): Promise<'done' | 'paused'> {
    const c = this.c;
    const state = this.run.steps.get(step.n)!;
    const prog = this.tp(t.table);
    if (state.rowsTotal === null) {
      state.rowsTotal = Number((await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${ident(t.table)}`)).rows[0]!.n);
      await c.query(`UPDATE ${S}.steps SET rows_total = $3 WHERE run_id = $1 AND n = $2`, [this.run.id, step.n, state.rowsTotal]);
    }
    prog.total = Math.max(state.rowsTotal, state.rowsDone);
    prog.done = state.rowsDone;
    this.rates.set(t.table, { t0: Date.now(), d0: state.rowsDone });
    const T = ident(t.table);
    const K = ident(t.key);
    const { from: src, on } = sourceJoin(t.derivation, 't');
    const maxBatchMs = this.opts.maxBatchMs ?? 100;
    let lastEmit = 0;
    for (;;) {
      if (this.control.paused) return 'paused';
      // the operator's batch size is the ceiling and their pause the floor; the runner moves between
      this.size = Math.max(1, Math.min(this.size, this.control.batchSize));
      this.delay = Math.max(this.delay, this.control.delayMs);
      const size = this.size;
      const t0 = performance.now();
      // while the batch runs, look once for sessions waiting on locks it holds
      let blocked = 0;
      const ourPid = (c as unknown as { processID?: number }).processID;
      const probe = setTimeout(() => {
        void this.monitor.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND $1 = ANY(pg_blocking_pids(pid))`, [ourPid]).then((r) => { blocked = r.rows[0]!.n; }, () => {});
      }, Math.max(5, maxBatchMs / 2));
      let r: { last_key: string | null; seen: number; filled: number };
      try {
        await c.query('BEGIN');
        await c.query(`SET LOCAL lock_timeout = '${Math.max(maxBatchMs * 5, 500)}ms'`);
        r = (await c.query(backfillBatchSql(t, state.lastKey === null), state.lastKey === null ? [size] : [size, state.lastKey])).rows[0];
        await c.query(`UPDATE ${S}.steps SET last_key = coalesce($3, last_key), rows_done = rows_done + $4, rows_filled = rows_filled + $5 WHERE run_id = $1 AND n = $2`,
          [this.run.id, step.n, r.last_key, r.seen, r.filled]);
        await c.query('COMMIT');
      } catch (e) {
        clearTimeout(probe);
        await c.query('ROLLBACK').catch(() => {});
        if (!isLockTimeout(e)) throw e;
        // the application holds rows of this batch: take smaller bites, and leave it room
        this.size = Math.max(50, Math.floor(size / 2));
        this.delay = Math.min(Math.max(this.delay * 2, 50), 2000);
        this.log(`${t.table}: a batch waited on rows the application holds; next ${this.size} rows, pause ${this.delay} ms`);
        await sleep(this.delay);
        continue;
      }
      clearTimeout(probe);
      const ms = performance.now() - t0;
      state.rowsDone += r.seen;
      if (r.last_key !== null) state.lastKey = r.last_key;
      // throttle: shrink when a batch holds its locks too long or made others wait, grow back when it is quick
      if (ms > maxBatchMs || blocked > 0) {
        this.size = Math.max(50, Math.floor(size * Math.min(0.5, maxBatchMs / ms)));
        if (blocked > 0) this.delay = Math.min(1000, Math.max(10, this.delay * 2));
        this.log(`${t.table}: batch of ${size} took ${Math.round(ms)} ms${blocked ? `, ${blocked} sessions waited on it` : ''}; next ${this.size} rows${this.delay ? `, pause ${this.delay} ms` : ''}`);
      } else if (ms < maxBatchMs / 2) {
        this.size = Math.min(this.control.batchSize, Math.ceil(size * 1.25));
        this.delay = Math.max(this.control.delayMs, Math.floor(this.delay / 2));
      }
      const rate0 = this.rates.get(t.table)!;
      const secs = (Date.now() - rate0.t0) / 1000;
      prog.done = state.rowsDone;
      prog.total = Math.max(prog.total, state.rowsDone);
      prog.rate = secs > 0 ? (state.rowsDone - rate0.d0) / secs : 0;
      prog.etaSeconds = prog.rate > 0 ? Math.max(0, prog.total - prog.done) / prog.rate : null;
      if (r.seen < size) break;
      if (Date.now() - lastEmit > 200) { lastEmit = Date.now(); this.emit(); }
      if (this.delay > 0) await sleep(this.delay);
    }
    // the sweep: rows still NULL that could be filled (written in ways the trigger did not see), in batches
    for (;;) {
      const n = (await c.query(`WITH b AS (SELECT t.${K} AS k FROM ${T} t JOIN ${src} ON ${on} WHERE t.company_id IS NULL AND s.company_id IS NOT NULL LIMIT $1)
        UPDATE ${T} t SET company_id = s.company_id FROM ${src} WHERE t.${K} IN (SELECT k FROM b) AND t.company_id IS NULL AND ${on}`, [this.size])).rowCount ?? 0;
      if (n) this.log(`${t.table}: the sweep filled ${n} rows the walk had passed`);
      if (n < this.size) break;
    }
    await c.query(`UPDATE ${S}.steps SET status = 'done', finished_at = clock_timestamp() WHERE run_id = $1 AND n = $2`, [this.run.id, step.n]);
    prog.done = prog.total = Math.max(prog.total, state.rowsDone);
    return 'done';
  }

  /** CREATE INDEX CONCURRENTLY cannot run in a transaction: an invalid index a crash or a lock timeout left is dropped and built again. */
  private async index(step: PlanStep, t: TablePlan): Promise<void> {
    const name = t.names.index;
    const retries = this.opts.lockRetries ?? 30;
    await retryOnLock(retries, async () => {
      const found = (await this.c.query<{ valid: boolean }>(`SELECT x.indisvalid AS valid FROM pg_class i JOIN pg_index x ON x.indexrelid = i.oid JOIN pg_namespace n ON n.oid = i.relnamespace WHERE n.nspname = $1 AND i.relname = $2`, [this.run.plan.schema, name])).rows[0];
      if (found?.valid) return;
      if (found) {
        this.log(`${t.table}: dropping the invalid index ${name} an interrupted build left`);
        await this.c.query(`DROP INDEX CONCURRENTLY IF EXISTS ${ident(name)}`);
      }
      try {
        await this.c.query(`SET lock_timeout = '${this.run.plan.options.lockTimeoutMs}ms'`);
        await this.c.query(step.sql);
      } finally {
        await this.c.query('RESET lock_timeout').catch(() => {});
      }
    }, (n) => this.log(`${t.table}: the index build waited for a lock; retry ${n}/${retries}`));
    await this.c.query(`UPDATE ${S}.steps SET status = 'done', finished_at = clock_timestamp() WHERE run_id = $1 AND n = $2`, [this.run.id, step.n]);
  }

  async go(): Promise<RunStatus> {
    const { plan } = this.run;
    await this.c.query(`UPDATE ${S}.runs SET status = 'running', message = NULL WHERE id = $1`, [this.run.id]);
    this.emit();
    for (const step of plan.steps) {
      const state = this.run.steps.get(step.n)!;
      if (state.status === 'done' || state.status === 'skipped') continue;
      if (this.control.paused) return this.pause();
      const t = plan.tables.find((x) => x.table === step.table)!;
      const prog = this.tp(t.table);
      prog.status = 'running';
      prog.step = step.kind;
      this.emit();
      const started = performance.now();
      await this.c.query(`UPDATE ${S}.steps SET started_at = coalesce(started_at, clock_timestamp()) WHERE run_id = $1 AND n = $2`, [this.run.id, step.n]);
      switch (step.kind) {
        case 'backfill':
          if ((await this.backfill(step, t)) === 'paused') return this.pause();
          break;
        case 'index':
          await this.index(step, t);
          break;
        default:
          // the step's SQL as the plan shows it, after the checks that can skip it
          await this.ddl(step, async (c) => {
            if (step.kind === 'add-column' && (await hasCompanyId(c, this.run.plan.schema, t.table))) {
              throw new AppError('conflict', `${t.table} has a company_id column this run did not add (someone added it after the plan was made). Make a new plan.`);
            }
            if (step.kind === 'check') {
              const nulls = Number((await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${ident(t.table)} WHERE company_id IS NULL`)).rows[0]!.n);
              if (nulls) return `${nulls} orphans have no company: NOT NULL would fail their updates`;
            }
            if (step.kind === 'check-validate' && !(await c.query(`SELECT 1 FROM pg_constraint WHERE conname = $1 AND conrelid = $2::regclass`, [t.names.check, t.table])).rowCount) {
              return 'no NOT NULL check to validate (orphans)';
            }
            await c.query(step.sql);
          });
      }
      state.status = 'done';
      this.progress.overall.stepsDone++;
      this.log(`${t.table}: ${step.kind} done in ${Math.round(performance.now() - started)} ms`);
      const last = plan.steps.filter((s) => s.table === t.table).at(-1)!;
      if (last.n === step.n) { prog.status = 'done'; prog.step = null; prog.rate = 0; prog.etaSeconds = 0; }
      this.emit();
    }
    return 'done';
  }

  private async pause(): Promise<RunStatus> {
    await this.c.query(`UPDATE ${S}.runs SET status = 'paused' WHERE id = $1`, [this.run.id]);
    this.log('paused: run it again to resume where it stopped');
    this.progress.status = 'paused';
    for (const t of this.progress.tables) if (t.status === 'running') { t.status = 'pending'; t.rate = 0; }
    this.emit();
    return 'paused';
  }

  finalEmit(status: RunStatus, message: string | null): void {
    this.progress.status = status;
    this.progress.message = message;
    this.emit();
  }
}

/**
 * Runs a new plan, or resumes the unfinished run. Returns when it is done (verified), paused, or
 * failed (the error says why; the state stays, and running again resumes).
 */
export async function runMigration(databaseUrl: string, opts: RunOptions): Promise<{ runId: number; status: RunStatus; verification: Verification | null }> {
  const c = await connect(databaseUrl, 'tenantscope-migrate');
  let monitor: pg.Client | null = null;
  try {
    await takeLock(c);
    await ensureState(c);
    const pending = await unfinishedRun(c);
    let runId: number;
    if (opts.plan) {
      if (pending !== null) throw new AppError('conflict', `Migration run ${pending} is not finished: resume it (run without a new plan) or roll it back first.`);
      const plan = opts.plan;
      if (!plan.tables.length) throw new AppError('invalid-input', 'The plan has no table to migrate.');
      opts.onLog?.(`fingerprinting ${plan.tables.length} tables before the run`);
      const before: Record<string, TableSnapshot> = {};
      for (const t of plan.tables) {
        if (await hasCompanyId(c, plan.schema, t.table)) {
          throw new AppError('conflict', `${t.table} has company_id already: the plan is out of date. Make a new plan.`);
        }
        before[t.table] = { ...(await fingerprint(c, t)), schema: await schemaSnapshot(c, t.table) };
      }
      await c.query('BEGIN');
      runId = Number((await c.query(`INSERT INTO ${S}.runs (started_by, status, plan, before) VALUES ($1, 'running', $2, $3) RETURNING id`, [opts.operator, JSON.stringify(plan), JSON.stringify(before)])).rows[0].id);
      for (const s of plan.steps) await c.query(`INSERT INTO ${S}.steps (run_id, n, table_name, kind) VALUES ($1, $2, $3, $4)`, [runId, s.n, s.table, s.kind]);
      await c.query('COMMIT');
      opts.onLog?.(`run ${runId} started by ${opts.operator}: ${plan.tables.length} tables, ${plan.steps.length} steps`);
    } else {
      if (pending === null) throw new AppError('not-found', 'There is no unfinished migration run to resume: make a plan and run it.');
      runId = pending;
      opts.onLog?.(`resuming run ${runId}`);
    }
    const run = await loadRun(c, runId);
    // the steps about to run are the ones their tables make, whatever the state tables now say
    checkStoredPlan(run.plan, run.id);
    await c.query(`SET search_path TO ${ident(run.plan.schema)}`);
    monitor = await connect(databaseUrl, 'tenantscope-migrate-monitor');
    const control = opts.control ?? { paused: false, batchSize: run.plan.options.batchSize, delayMs: 0 };
    const runner = new Runner(c, monitor, run, opts, control);
    let status: RunStatus;
    try {
      status = await runner.go();
    } catch (e) {
      const message = e instanceof AppError ? e.message : `${(e as Error).message}${pgCode(e) ? ` (PostgreSQL ${pgCode(e)})` : ''}`;
      await c.query('ROLLBACK').catch(() => {});
      await c.query(`UPDATE ${S}.runs SET status = 'failed', message = $2 WHERE id = $1`, [runId, message]).catch(() => {});
      runner.finalEmit('failed', message);
      throw e instanceof AppError ? new AppError(e.code, `Run ${runId} stopped: ${message} Everything done so far stays; run again to resume.`) : new AppError('internal', `Run ${runId} stopped: ${message}. Everything done so far stays; run again to resume.`);
    }
    if (status === 'paused') return { runId, status, verification: null };
    const verification = await verifyWith(c, run);
    await c.query(`UPDATE ${S}.runs SET status = 'done', finished_at = clock_timestamp(), verification = $2, message = $3 WHERE id = $1`, [runId, JSON.stringify(verification), verification.ok ? 'verified' : 'verification found problems']);
    runner.finalEmit('done', verification.ok ? 'verified' : 'verification found problems');
    return { runId, status: 'done', verification };
  } finally {
    await monitor?.end().catch(() => {});
    await c.end().catch(() => {});
  }
}

async function verifyWith(c: pg.Client, run: LoadedRun): Promise<Verification> {
  const tables: TableVerification[] = [];
  for (const t of run.plan.tables) {
    const T = ident(t.table);
    const hasColumn = await hasCompanyId(c, run.plan.schema, t.table);
    const fp = await fingerprint(c, t);
    const before = run.before[t.table]!;
    const problems: string[] = [];
    let missing = fp.rows;
    let orphans = { count: 0, ids: [] as string[] };
    let fillableMissing = 0;
    let mismatched = 0;
    let index: TableVerification['index'] = 'missing';
    let foreignKey: TableVerification['foreignKey'] = 'missing';
    let notNull: TableVerification['notNull'] = run.plan.options.notNull ? 'missing' : 'skipped';
    if (hasColumn) {
      // the company each row's owner or parent has, joined once
      const src = sourceJoin(t.derivation, 't');
      const derived = src.value;
      const r = (await c.query<{ missing: string; orphans: string; fillable: string; mismatched: string; ids: string[] | null }>(`
        SELECT count(*) FILTER (WHERE t.company_id IS NULL)::text AS missing,
               count(*) FILTER (WHERE t.company_id IS NULL AND ${derived} IS NULL)::text AS orphans,
               count(*) FILTER (WHERE t.company_id IS NULL AND ${derived} IS NOT NULL)::text AS fillable,
               count(*) FILTER (WHERE t.company_id IS NOT NULL AND ${derived} IS NOT NULL AND t.company_id <> ${derived})::text AS mismatched,
               (array_agg(t.${ident(t.key)}::text ORDER BY t.${ident(t.key)}) FILTER (WHERE t.company_id IS NULL AND ${derived} IS NULL))[1:100] AS ids
        FROM ${T} t LEFT JOIN ${src.from} ON ${src.on}`)).rows[0]!;
      missing = Number(r.missing);
      orphans = { count: Number(r.orphans), ids: r.ids ?? [] };
      fillableMissing = Number(r.fillable);
      mismatched = Number(r.mismatched);
      const ix = (await c.query<{ valid: boolean }>(`SELECT x.indisvalid AS valid FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = $1::regclass AND i.relname = $2`, [t.table, t.names.index])).rows[0];
      index = ix ? (ix.valid ? 'valid' : 'invalid') : 'missing';
      const cons = new Map((await c.query<{ conname: string; convalidated: boolean }>(`SELECT conname, convalidated FROM pg_constraint WHERE conrelid = $1::regclass`, [t.table])).rows.map((x) => [x.conname, x.convalidated]));
      foreignKey = cons.has(t.names.fk) ? (cons.get(t.names.fk) ? 'validated' : 'not-valid') : 'missing';
      if (run.plan.options.notNull) notNull = cons.has(t.names.check) ? (cons.get(t.names.check) ? 'validated' : 'not-valid') : orphans.count ? 'skipped' : 'missing';
    }
    if (!hasColumn) problems.push('no company_id column');
    if (fillableMissing) problems.push(`${fillableMissing} rows miss company_id though their ${t.derivation.kind} has one`);
    if (mismatched) problems.push(`${mismatched} rows have a company_id other than their ${t.derivation.kind}'s`);
    if (index !== 'valid') problems.push(`index ${t.names.index} ${index}`);
    if (foreignKey !== 'validated') problems.push(`foreign key ${t.names.fk} ${foreignKey}`);
    if (notNull === 'missing' || notNull === 'not-valid') problems.push(`NOT NULL check ${notNull}`);
    const equal = fp.fingerprint === before.fingerprint;
    tables.push({
      table: t.table, hasColumn, rows: fp.rows, missing, orphans, fillableMissing, mismatched, index, foreignKey, notNull,
      fingerprint: { before: before.fingerprint, now: fp.fingerprint, rowsBefore: before.rows, equal },
      ok: problems.length === 0, problems,
    });
  }
  const fingerprintsEqual = tables.every((t) => t.fingerprint.equal);
  return { runId: run.id, ok: tables.every((t) => t.ok) && fingerprintsEqual, fingerprintsEqual, tables };
}

async function latestRun(c: pg.Client, runId?: number): Promise<number> {
  if (runId !== undefined) return runId;
  if (!(await stateExists(c))) throw new AppError('not-found', 'No migration has run on this database yet.');
  const r = (await c.query(`SELECT id FROM ${S}.runs ORDER BY id DESC LIMIT 1`)).rows[0];
  if (!r) throw new AppError('not-found', 'No migration has run on this database yet.');
  return Number(r.id);
}

/** Verification of a run (the latest by default): columns filled but for the orphans, index, foreign key, fingerprints. */
export async function verifyMigration(databaseUrl: string, runId?: number): Promise<Verification> {
  const c = await connect(databaseUrl, 'tenantscope-verify');
  try {
    const run = await loadRun(c, await latestRun(c, runId));
    await c.query(`SET search_path TO ${ident(run.plan.schema)}`);
    return await verifyWith(c, run);
  } finally {
    await c.end().catch(() => {});
  }
}


/**
 * Removes exactly what a run added: its NOT NULL checks, foreign keys, indexes, triggers and
 * functions, and the company_id columns it added (children first). Every object has the name the
 * plan checked was free, so nothing else is touched. DDL runs under lock_timeout with retries.
 */
export async function rollbackMigration(databaseUrl: string, opts: { runId?: number; operator: string; lockRetries?: number; onLog?: (line: string) => void }): Promise<RollbackResult> {
  const c = await connect(databaseUrl, 'tenantscope-rollback');
  const log = (line: string) => { opts.onLog?.(line); };
  try {
    await takeLock(c);
    const run = await loadRun(c, await latestRun(c, opts.runId));
    if (run.status === 'rolled-back') throw new AppError('conflict', `Run ${run.id} is rolled back already.`);
    await c.query(`SET search_path TO ${ident(run.plan.schema)}`);
    const lt = run.plan.options.lockTimeoutMs;
    const retry = (what: string, sqlText: string, inTx = true) => retryOnLock(opts.lockRetries ?? 30, async () => {
      try {
        if (inTx) {
          await c.query('BEGIN');
          await c.query(`SET LOCAL lock_timeout = '${lt}ms'`);
          await c.query(sqlText);
          await c.query('COMMIT');
        } else {
          await c.query(`SET lock_timeout = '${lt}ms'`);
          await c.query(sqlText);
        }
      } catch (e) {
        if (inTx) await c.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        if (!inTx) await c.query('RESET lock_timeout').catch(() => {});
      }
    }, (n) => log(`${what}: waited for a lock others hold; retry ${n}`));
    const added = new Set(run.plan.steps.filter((s) => s.kind === 'add-column' && ['done', 'skipped'].includes(run.steps.get(s.n)?.status ?? '')).map((s) => s.table));
    for (const t of [...run.plan.tables].reverse()) {
      const T = ident(t.table);
      await retry(`${t.table}: drop checks and foreign key`, `ALTER TABLE ${T} DROP CONSTRAINT IF EXISTS ${ident(t.names.check)}, DROP CONSTRAINT IF EXISTS ${ident(t.names.fk)}`);
      await retry(`${t.table}: drop index`, `DROP INDEX CONCURRENTLY IF EXISTS ${ident(t.names.index)}`, false);
      await retry(`${t.table}: drop trigger`, `DROP TRIGGER IF EXISTS ${ident(t.names.trigger)} ON ${T}; DROP FUNCTION IF EXISTS ${S}.${ident(t.names.fn)}()`);
      if (added.has(t.table)) await retry(`${t.table}: drop company_id`, `ALTER TABLE ${T} DROP COLUMN IF EXISTS company_id`);
      log(`${t.table}: rolled back`);
    }
    const tables: RollbackResult['tables'] = [];
    for (const t of run.plan.tables) {
      const before = run.before[t.table]!;
      const now = await schemaSnapshot(c, t.table);
      const fp = await fingerprint(c, t);
      tables.push({ table: t.table, schemaEqual: isDeepStrictEqual(now, before.schema), fingerprintEqual: fp.fingerprint === before.fingerprint });
    }
    const ok = tables.every((t) => t.schemaEqual && t.fingerprintEqual);
    await c.query(`UPDATE ${S}.runs SET status = 'rolled-back', rolled_back_by = $2, rolled_back_at = now(), message = $3 WHERE id = $1`, [run.id, opts.operator, ok ? 'rolled back: schema and fingerprints as before' : 'rolled back; the tables differ from before (the application wrote to them meanwhile)']);
    await c.query(`INSERT INTO ${S}.log (run_id, message) VALUES ($1, $2)`, [run.id, `rolled back by ${opts.operator}`]);
    return { runId: run.id, tables, ok };
  } finally {
    await c.end().catch(() => {});
  }
}

/** Every run recorded in the database, newest first: who, when, what, how it ended. */
export async function migrationRuns(databaseUrl: string): Promise<RunRecord[]> {
  const c = await connect(databaseUrl, 'tenantscope-runs');
  try {
    if (!(await stateExists(c))) return [];
    const { rows } = await c.query(`SELECT r.id, r.started_by, r.started_at, r.finished_at, r.status, r.message, r.rolled_back_by,
        ARRAY(SELECT jsonb_array_elements(r.plan->'tables')->>'table') AS tables, (SELECT coalesce(sum((x->>'rows')::bigint), 0) FROM jsonb_array_elements(r.plan->'tables') x)::float8 AS rows
      FROM ${S}.runs r ORDER BY r.id DESC LIMIT 200`);
    return rows.map((r) => ({ id: Number(r.id), startedBy: r.started_by, startedAt: new Date(r.started_at).toISOString(), finishedAt: r.finished_at ? new Date(r.finished_at).toISOString() : null, status: r.status, tables: r.tables, rows: r.rows, message: r.message, rolledBackBy: r.rolled_back_by }));
  } finally {
    await c.end().catch(() => {});
  }
}

/** The run's log, oldest first (the last `limit` lines). */
export async function migrationLog(databaseUrl: string, runId: number, limit = 500): Promise<{ at: string; message: string }[]> {
  const c = await connect(databaseUrl, 'tenantscope-runs');
  try {
    if (!(await stateExists(c))) return [];
    const { rows } = await c.query(`SELECT at, message FROM (SELECT at, message FROM ${S}.log WHERE run_id = $1 ORDER BY at DESC LIMIT $2) x ORDER BY at`, [runId, limit]);
    return rows.map((r) => ({ at: new Date(r.at).toISOString(), message: r.message }));
  } finally {
    await c.end().catch(() => {});
  }
}
