import type pg from 'pg';
import type { MigrationPlan, MigrationProgress, PlanStep, RunRecord, RunStatus, TableProgress, Verification } from '../../src-shared/migration.ts';
import { AppError } from '../../src-shared/result.ts';
import { hasCompanyId, retryOnLock, underLockTimeout } from './pg.ts';
import { ident, onTarget, type PgTarget } from '../pgdb/target.ts';
import { checkStoredPlan } from './storedPlan.ts';
import { takeBackup } from './backup.ts';
import { HealthWatch } from './health.ts';
import {
  ensureState,
  loadRun,
  logLine,
  readBackup,
  setBackup,
  readLog,
  readRuns,
  recordRun,
  setRunStatus,
  takeLock,
  unfinishedRun,
  type LoadedRun,
  type TableSnapshot,
} from './state.ts';
import { stepState } from './stepState.ts';
import { stepKind } from './steps/registry.ts';
import type { RunControl, RunOptions, StepContext } from './steps/types.ts';
import { fingerprint, schemaSnapshot, verifyWith } from './verify.ts';

export type { MigrationProgress } from '../../src-shared/migration.ts';
export type { RunControl, RunOptions } from './steps/types.ts';
export { fingerprint, schemaSnapshot, verifyMigration } from './verify.ts';
export { rollbackMigration } from './rollback.ts';
export { unfinishedRun } from './state.ts';

/**
 * Runs a migration plan against the CRM's PostgreSQL, resumable after a crash: every step's state
 * lives in the target database (state.ts) and is written in the same transaction as the change it
 * records (a batch of the backfill and its last key, a DDL and its "done"). Each step runs as its
 * kind says (steps/); one runner at a time, by an advisory lock held for the run.
 */

const pgCode = (e: unknown) => (e as { code?: string }).code;

/** The run in hand: its progress, its throttle, and the context its steps run in. */
class Runner implements StepContext {
  private readonly startedAt = Date.now();
  private readonly progress: MigrationProgress;
  private readonly doneAtStart: number;
  throttle: { size: number; delay: number };
  readonly health: HealthWatch;

  constructor(
    readonly c: pg.ClientBase,
    readonly monitor: pg.ClientBase,
    readonly run: LoadedRun,
    readonly opts: RunOptions,
    readonly control: RunControl,
  ) {
    const plan = run.plan;
    this.progress = {
      runId: run.id,
      status: 'running',
      batchSize: control.batchSize,
      delayMs: control.delayMs,
      message: null,
      health: null,
      tables: plan.tables.map((t) => {
        const steps = plan.steps.filter((s) => s.table === t.table);
        const allDone = steps.every((s) => run.steps.get(s.n)?.status !== 'pending');
        const bf = steps.find((s) => s.kind === 'backfill');
        const st = bf ? run.steps.get(bf.n) : undefined;
        return {
          table: t.table,
          phase: t.phase,
          status: allDone ? 'done' : 'pending',
          step: null,
          done: st?.rowsDone ?? 0,
          total: st?.rowsTotal ?? t.rows,
          rate: 0,
          etaSeconds: null,
        };
      }),
      overall: {
        done: 0,
        total: 0,
        rate: 0,
        etaSeconds: null,
        steps: plan.steps.length,
        stepsDone: [...run.steps.values()].filter((s) => s.status !== 'pending').length,
      },
    };
    this.doneAtStart = this.progress.tables.reduce((a, t) => a + t.done, 0);
    this.throttle = { size: control.batchSize, delay: control.delayMs };
    const pidOf = (x: pg.ClientBase) => (x as unknown as { processID?: number }).processID ?? 0;
    this.health = new HealthWatch(monitor, [pidOf(c), pidOf(monitor)], plan.schema, { ...opts.health, thresholds: plan.options.health });
  }

  log(line: string): void {
    this.opts.onLog?.(line);
    void logLine(this.c, this.run.id, line).catch(() => {});
  }

  emit(): void {
    const p = this.progress;
    const done = p.tables.reduce((a, t) => a + Math.min(t.done, t.total), 0);
    const total = p.tables.reduce((a, t) => a + t.total, 0);
    // rows a second over the whole run so far (steps without rows included): what the ETA should assume
    const elapsed = (Date.now() - this.startedAt) / 1000;
    const rate = elapsed > 1 ? (done - this.doneAtStart) / elapsed : p.tables.reduce((a, t) => a + (t.status === 'running' ? t.rate : 0), 0);
    p.overall = { ...p.overall, done, total, rate, etaSeconds: rate > 0 ? (total - done) / rate : null };
    p.batchSize = this.throttle.size;
    p.delayMs = this.throttle.delay;
    p.health = this.health.signals.length ? { signals: this.health.signals, waiting: this.health.waiting } : null;
    this.opts.onProgress?.(structuredClone(p));
  }

  progressOf(table: string): TableProgress {
    return this.progress.tables.find((t) => t.table === table)!;
  }

  async ddl(step: PlanStep, body: (c: pg.ClientBase) => Promise<string | void>): Promise<void> {
    const retries = this.opts.lockRetries ?? 30;
    const lockTimeoutMs = this.run.plan.options.lockTimeoutMs;
    const note = await retryOnLock(
      retries,
      () =>
        underLockTimeout(this.c, lockTimeoutMs, true, async (c) => {
          const skipped = await body(c);
          await stepState.finished(c, this.run.id, step.n, skipped || null);
          return skipped;
        }),
      (n, wait) => this.log(`${step.table}: ${step.kind} waited ${lockTimeoutMs} ms for a lock others hold; retry ${n}/${retries} in ${Math.round(wait)} ms`),
    );
    if (note) this.log(`${step.table}: ${step.kind} skipped: ${note}`);
  }

  /** Every step not done yet, in order, each as its kind runs it; stops at a pause. */
  async go(): Promise<RunStatus> {
    const { plan } = this.run;
    await setRunStatus(this.c, this.run.id, 'running', null);
    this.emit();
    for (const step of plan.steps) {
      const state = this.run.steps.get(step.n)!;
      if (state.status === 'done' || state.status === 'skipped') continue;
      if (this.control.paused) return this.pause();
      // no step starts while the database is busy: replicas behind, a vacuum on the table, an old transaction…
      if ((await this.health.clear(step.table, this)) === 'paused') return this.pause();
      const t = plan.tables.find((x) => x.table === step.table)!;
      const prog = this.progressOf(t.table);
      prog.status = 'running';
      prog.step = step.kind;
      this.emit();
      const started = performance.now();
      await stepState.started(this.c, this.run.id, step.n);
      if ((await stepKind(step.kind).run(this, step, t)) === 'paused') return this.pause();
      state.status = 'done';
      this.progress.overall.stepsDone++;
      this.log(`${t.table}: ${step.kind} done in ${Math.round(performance.now() - started)} ms`);
      const last = plan.steps.filter((s) => s.table === t.table).at(-1)!;
      if (last.n === step.n) Object.assign(prog, { status: 'done', step: null, rate: 0, etaSeconds: 0 });
      this.emit();
    }
    return 'done';
  }

  private async pause(): Promise<RunStatus> {
    await setRunStatus(this.c, this.run.id, 'paused', null);
    this.log('paused: run it again to resume where it stopped');
    this.progress.status = 'paused';
    for (const t of this.progress.tables)
      if (t.status === 'running') {
        t.status = 'pending';
        t.rate = 0;
      }
    this.emit();
    return 'paused';
  }

  finalEmit(status: RunStatus, message: string | null): void {
    this.progress.status = status;
    this.progress.message = message;
    this.emit();
  }
}

/** A new run of the plan, recorded with every table's fingerprint and schema before it. */
async function startRun(c: pg.ClientBase, plan: MigrationPlan, opts: RunOptions, pending: number | null): Promise<number> {
  if (pending !== null) throw new AppError('conflict', `Migration run ${pending} is not finished: resume it (run without a new plan) or roll it back first.`);
  if (!plan.tables.length) throw new AppError('invalid-input', 'The plan has no table to migrate.');
  opts.onLog?.(`fingerprinting ${plan.tables.length} tables before the run`);
  const before: Record<string, TableSnapshot> = {};
  for (const t of plan.tables) {
    if (await hasCompanyId(c, plan.schema, t.table)) {
      throw new AppError('conflict', `${t.table} has company_id already: the plan is out of date. Make a new plan.`);
    }
    before[t.table] = { ...(await fingerprint(c, t)), schema: await schemaSnapshot(c, t.table) };
  }
  const runId = await recordRun(c, opts.operator, plan, before);
  opts.onLog?.(`run ${runId} started by ${opts.operator}: ${plan.tables.length} tables, ${plan.steps.length} steps`);
  return runId;
}

/**
 * The backup, before the first step changes anything: taken (or its absence recorded) once a
 * run, again after a crash or a failure that came before any step did its work.
 */
async function backupFirst(c: pg.ClientBase, target: PgTarget, run: LoadedRun, opts: RunOptions): Promise<void> {
  const begun = [...run.steps.values()].some((s) => s.status !== 'pending' || s.rowsDone > 0);
  if (begun || (await readBackup(c, run.id))) return;
  const log = (line: string) => {
    opts.onLog?.(line);
    void logLine(c, run.id, line).catch(() => {});
  };
  const asked = opts.backup ?? { skip: 'the caller asked for none' };
  if ('skip' in asked) {
    await setBackup(c, run.id, { taken: false, by: opts.operator, at: new Date().toISOString(), reason: asked.skip });
    log(`no backup: ${asked.skip}`);
    return;
  }
  try {
    await setBackup(c, run.id, await takeBackup(target, run.id, run.plan, asked.dir, log));
  } catch (e) {
    const message = (e as Error).message;
    await setRunStatus(c, run.id, 'failed', message).catch(() => {});
    log(message);
    throw e;
  }
}

/** Runs the steps; a failure leaves the state as it is (running again resumes) and says so. */
async function runSteps(c: pg.ClientBase, runner: Runner, runId: number): Promise<RunStatus> {
  try {
    return await runner.go();
  } catch (e) {
    const message = e instanceof AppError ? e.message : `${(e as Error).message}${pgCode(e) ? ` (PostgreSQL ${pgCode(e)})` : ''}`;
    await c.query('ROLLBACK').catch(() => {});
    await setRunStatus(c, runId, 'failed', message).catch(() => {});
    runner.finalEmit('failed', message);
    throw e instanceof AppError
      ? new AppError(e.code, `Run ${runId} stopped: ${message} Everything done so far stays; run again to resume.`)
      : new AppError('internal', `Run ${runId} stopped: ${message}. Everything done so far stays; run again to resume.`);
  }
}

/**
 * Runs a new plan, or resumes the unfinished run. Returns when it is done (verified), paused, or
 * failed (the error says why; the state stays, and running again resumes).
 */
export async function runMigration(db: PgTarget | string, opts: RunOptions): Promise<{ runId: number; status: RunStatus; verification: Verification | null }> {
  return onTarget(db, (target) => runOn(target, opts));
}

async function runOn(target: PgTarget, opts: RunOptions): Promise<{ runId: number; status: RunStatus; verification: Verification | null }> {
  // the run's session holds the advisory lock and the search_path: it is closed, never pooled again
  const c = await target.client('tenantscope-migrate');
  let monitor: pg.PoolClient | null = null;
  try {
    await takeLock(c);
    await ensureState(c);
    const pending = await unfinishedRun(c);
    if (!opts.plan && pending === null) throw new AppError('not-found', 'There is no unfinished migration run to resume: make a plan and run it.');
    const runId = opts.plan ? await startRun(c, opts.plan, opts, pending) : pending!;
    if (!opts.plan) opts.onLog?.(`resuming run ${runId}`);
    const run = await loadRun(c, runId);
    // the steps about to run are the ones their tables make, whatever the state tables now say
    checkStoredPlan(run.plan, run.id);
    await backupFirst(c, target, run, opts);
    await c.query(`SET search_path TO ${ident(run.plan.schema)}`);
    monitor = await target.client('tenantscope-migrate-monitor');
    const control = opts.control ?? { paused: false, batchSize: run.plan.options.batchSize, delayMs: 0 };
    const runner = new Runner(c, monitor, run, opts, control);
    const status = await runSteps(c, runner, runId);
    if (status === 'paused') return { runId, status, verification: null };
    const verification = await verifyWith(c, run);
    const message = verification.ok ? 'verified' : 'verification found problems';
    await setRunStatus(c, runId, 'done', message, { finished: true, verification });
    runner.finalEmit('done', message);
    return { runId, status: 'done', verification };
  } finally {
    monitor?.release(true);
    c.release(true);
  }
}

/** Every run recorded in the database, newest first: who, when, what, how it ended. */
export async function migrationRuns(db: PgTarget | string): Promise<RunRecord[]> {
  return onTarget(db, (t) => t.reading('tenantscope-runs', readRuns));
}

/** The run's log, oldest first (the last `limit` lines). */
export async function migrationLog(db: PgTarget | string, runId: number, limit = 500): Promise<{ at: string; message: string }[]> {
  return onTarget(db, (t) => t.reading('tenantscope-runs', (c) => readLog(c, runId, limit)));
}
