import type pg from 'pg';
import { BackupRecordSchema, type BackupRecord, type MigrationPlan, type RunRecord, type RunStatus } from '../../src-shared/migration.ts';
import { AppError } from '../../src-shared/result.ts';
import { checkPlanShape } from './planShape.ts';
import { STATE_SCHEMA } from './sql.ts';

/**
 * The runner's state in the CRM's database (schema tenantscope_migration): the runs, their steps
 * (each batch of the backfill commits its last key with it) and their log. The state's own schema
 * is versioned: numbered migrations bring an older state forward; a state written by a newer
 * TenantScope is refused rather than misread.
 */

const S = STATE_SCHEMA;
const LOCK_KEY = 74_656_160; // any constant below 2^31 (pg_locks shows it as objid): one migration runner per database

/** The state schema's migrations, in order; the state's version is how many have run. */
export const STATE_MIGRATIONS: readonly string[] = [
  // 1: runs, steps, log
  `CREATE TABLE IF NOT EXISTS ${S}.runs (
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
  );`,
  // 2: the backup taken before the first DDL (or why none was)
  `ALTER TABLE ${S}.runs ADD COLUMN IF NOT EXISTS backup jsonb`,
  // 3: the row-level security phase: what each table was before it, the indexes it made
  `CREATE TABLE IF NOT EXISTS ${S}.rls (
    id bigserial PRIMARY KEY,
    applied_by text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    tables jsonb NOT NULL,
    indexes jsonb NOT NULL,
    rolled_back_by text,
    rolled_back_at timestamptz
  )`,
];

/** What a table was before the run: rows, the fingerprint of its other columns, its schema. */
export interface TableSnapshot {
  rows: number;
  fingerprint: string;
  schema: unknown;
}

export interface StepState {
  status: string;
  lastKey: string | null;
  rowsDone: number;
  rowsTotal: number | null;
}

export interface LoadedRun {
  id: number;
  status: RunStatus;
  plan: MigrationPlan;
  before: Record<string, TableSnapshot>;
  steps: Map<number, StepState>;
}

export async function stateExists(c: pg.ClientBase): Promise<boolean> {
  return (await c.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [S])).rowCount === 1;
}

/** The state's version: 0 for none, 1 for a state from before versions were kept (runs but no version table). */
async function stateVersion(c: pg.ClientBase): Promise<number> {
  const tables = new Set((await c.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = $1`, [S])).rows.map((r) => r.t));
  if (tables.has('version')) return Number((await c.query<{ v: number }>(`SELECT max(version) AS v FROM ${S}.version`)).rows[0]?.v ?? 0);
  return tables.has('runs') ? 1 : 0;
}

/** Refuses a state a newer TenantScope wrote (its tables may mean what this one cannot read); answers its version. */
async function assertReadable(c: pg.ClientBase): Promise<number> {
  const v = await stateVersion(c);
  if (v > STATE_MIGRATIONS.length) {
    throw new AppError(
      'conflict',
      `The migration state in this database (schema ${S}) was written by a newer TenantScope (state version ${v}; this one knows up to ${STATE_MIGRATIONS.length}). Use that version, or a newer one, to resume, verify or roll back its runs.`,
    );
  }
  return v;
}

/** Creates the state, or brings an older one forward, under a transaction-level lock (concurrent first runs wait). */
export async function ensureState(c: pg.ClientBase): Promise<void> {
  await c.query('BEGIN');
  try {
    await c.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY + 1]);
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${S}`);
    const from = await assertReadable(c);
    await c.query(`CREATE TABLE IF NOT EXISTS ${S}.version (version int NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    if (from > 0 && !(await c.query(`SELECT 1 FROM ${S}.version`)).rowCount) await c.query(`INSERT INTO ${S}.version (version) VALUES ($1)`, [from]);
    for (let v = from + 1; v <= STATE_MIGRATIONS.length; v++) {
      await c.query(STATE_MIGRATIONS[v - 1]!);
      await c.query(`INSERT INTO ${S}.version (version) VALUES ($1)`, [v]);
    }
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

/** One runner a database, for as long as its connection holds the session-level advisory lock. */
export async function takeLock(c: pg.ClientBase): Promise<void> {
  const got = (await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [LOCK_KEY])).rows[0]!.ok;
  if (got) return;
  const holder = (
    await c.query<{ pid: number; app: string }>(
      `SELECT l.pid, a.application_name AS app FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.objid = $1 LIMIT 1`,
      [LOCK_KEY],
    )
  ).rows[0];
  throw new AppError(
    'conflict',
    `Another migration runner is working on this database${holder ? ` (backend ${holder.pid}, ${holder.app || 'no name'})` : ''}. Wait for it, or pause it from where it runs.`,
  );
}

export async function loadRun(c: pg.ClientBase, id: number): Promise<LoadedRun> {
  await assertReadable(c);
  const r = (await c.query(`SELECT id, status, plan, before FROM ${S}.runs WHERE id = $1`, [id])).rows[0];
  if (!r) throw new AppError('not-found', `There is no migration run ${id} in this database.`);
  const steps = new Map<number, StepState>();
  for (const s of (
    await c.query(`SELECT n, status, last_key, rows_done::float8 AS rows_done, rows_total::float8 AS rows_total FROM ${S}.steps WHERE run_id = $1`, [id])
  ).rows) {
    steps.set(s.n, { status: s.status, lastKey: s.last_key, rowsDone: s.rows_done, rowsTotal: s.rows_total });
  }
  // what is read back from the database is checked before anything of it runs
  checkPlanShape(r.plan as MigrationPlan, Number(r.id));
  return { id: Number(r.id), status: r.status, plan: r.plan, before: r.before, steps };
}

/** Records a new run and its steps, pending. */
export async function recordRun(c: pg.ClientBase, operator: string, plan: MigrationPlan, before: Record<string, TableSnapshot>): Promise<number> {
  await c.query('BEGIN');
  try {
    const runId = Number(
      (
        await c.query(`INSERT INTO ${S}.runs (started_by, status, plan, before) VALUES ($1, 'running', $2, $3) RETURNING id`, [
          operator,
          JSON.stringify(plan),
          JSON.stringify(before),
        ])
      ).rows[0].id,
    );
    for (const s of plan.steps) await c.query(`INSERT INTO ${S}.steps (run_id, n, table_name, kind) VALUES ($1, $2, $3, $4)`, [runId, s.n, s.table, s.kind]);
    await c.query('COMMIT');
    return runId;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

/** The newest run that is not finished (running after a crash, paused, or failed), if any. */
export async function unfinishedRun(c: pg.ClientBase): Promise<number | null> {
  if (!(await stateExists(c))) return null;
  await assertReadable(c);
  const r = (await c.query(`SELECT id FROM ${S}.runs WHERE status IN ('running', 'paused', 'failed') ORDER BY id DESC LIMIT 1`)).rows[0];
  return r ? Number(r.id) : null;
}

/** The run asked for, or the newest. */
export async function latestRun(c: pg.ClientBase, runId?: number): Promise<number> {
  if (runId !== undefined) return runId;
  if (!(await stateExists(c))) throw new AppError('not-found', 'No migration has run on this database yet.');
  const r = (await c.query(`SELECT id FROM ${S}.runs ORDER BY id DESC LIMIT 1`)).rows[0];
  if (!r) throw new AppError('not-found', 'No migration has run on this database yet.');
  return Number(r.id);
}

export async function setRunStatus(
  c: pg.ClientBase,
  runId: number,
  status: RunStatus,
  message: string | null,
  extra: { verification?: unknown; finished?: boolean; rolledBackBy?: string } = {},
): Promise<void> {
  await c.query(
    `UPDATE ${S}.runs SET status = $2, message = $3,
      finished_at = CASE WHEN $4::boolean THEN clock_timestamp() ELSE finished_at END,
      verification = coalesce($5::jsonb, verification),
      rolled_back_by = coalesce($6::text, rolled_back_by), rolled_back_at = CASE WHEN $6::text IS NULL THEN rolled_back_at ELSE now() END
    WHERE id = $1`,
    [runId, status, message, extra.finished ?? false, extra.verification === undefined ? null : JSON.stringify(extra.verification), extra.rolledBackBy ?? null],
  );
}

export async function logLine(c: pg.ClientBase, runId: number, message: string): Promise<void> {
  await c.query(`INSERT INTO ${S}.log (run_id, message) VALUES ($1, $2)`, [runId, message]);
}

/** Every run recorded in the database, newest first: who, when, what, how it ended. */
export async function readRuns(c: pg.ClientBase): Promise<RunRecord[]> {
  if (!(await stateExists(c))) return [];
  await assertReadable(c);
  const { rows } = await c.query(`SELECT r.id, r.started_by, r.started_at, r.finished_at, r.status, r.message, r.rolled_back_by, r.backup,
      ARRAY(SELECT jsonb_array_elements(r.plan->'tables')->>'table') AS tables, (SELECT coalesce(sum((x->>'rows')::bigint), 0) FROM jsonb_array_elements(r.plan->'tables') x)::float8 AS rows
    FROM ${S}.runs r ORDER BY r.id DESC LIMIT 200`);
  return rows.map((r) => ({
    id: Number(r.id),
    startedBy: r.started_by,
    startedAt: new Date(r.started_at).toISOString(),
    finishedAt: r.finished_at ? new Date(r.finished_at).toISOString() : null,
    status: r.status,
    tables: r.tables,
    rows: r.rows,
    message: r.message,
    rolledBackBy: r.rolled_back_by,
    backup: parseBackup(r.backup),
  }));
}

/** A backup record read back from the database: what does not parse is no record. */
const parseBackup = (v: unknown): BackupRecord | null => (v ? (BackupRecordSchema.safeParse(v).data ?? null) : null);

export async function readBackup(c: pg.ClientBase, runId: number): Promise<BackupRecord | null> {
  await assertReadable(c);
  const r = (await c.query(`SELECT backup FROM ${S}.runs WHERE id = $1`, [runId])).rows[0];
  if (!r) throw new AppError('not-found', `There is no migration run ${runId} in this database.`);
  return parseBackup(r.backup);
}

export async function setBackup(c: pg.ClientBase, runId: number, backup: BackupRecord): Promise<void> {
  await c.query(`UPDATE ${S}.runs SET backup = $2 WHERE id = $1`, [runId, JSON.stringify(backup)]);
}

/** The run's log, oldest first (the last `limit` lines). */
export async function readLog(c: pg.ClientBase, runId: number, limit = 500): Promise<{ at: string; message: string }[]> {
  if (!(await stateExists(c))) return [];
  const { rows } = await c.query(`SELECT at, message FROM (SELECT at, message FROM ${S}.log WHERE run_id = $1 ORDER BY at DESC LIMIT $2) x ORDER BY at`, [
    runId,
    limit,
  ]);
  return rows.map((r) => ({ at: new Date(r.at).toISOString(), message: r.message }));
}
