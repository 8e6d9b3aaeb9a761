import { ALL } from '../../../src-shared/partitions.ts';
import type { OpenCache } from '../cacheDb.ts';

// What the cache remembers over time: audit runs (their open findings), sync state by partition, sync runs.

type Db = OpenCache['raw'];

export interface AuditRunRow {
  generated_at: string;
  scope: string;
  /** JSON: the open findings, { id, severity, title } each */
  findings: string;
}

/** Every audit run, oldest first. */
export function auditRuns(db: Db): AuditRunRow[] {
  return db.prepare(`SELECT generated_at, scope, findings FROM audit_runs ORDER BY id`).all() as AuditRunRow[];
}

/** The open findings of the newest audit that covered a partition (of it alone, or of every tenant), by id. */
export function latestFindings(db: Db, company: string): Map<string, { id: string; severity: string; title?: string }> {
  const latest = db.prepare(`SELECT findings FROM audit_runs WHERE scope IN (@all, @company) ORDER BY id DESC LIMIT 1`).get({ all: ALL, company }) as
    { findings: string } | undefined;
  return new Map((latest ? (JSON.parse(latest.findings) as { id: string; severity: string; title?: string }[]) : []).map((f) => [f.id, f]));
}

export interface PartitionSync {
  company_id: string;
  last: string | null;
  proven: number;
  drifted: number | null;
  proof_at: string | null;
}

/** Per partition: its last finished sync, how many resources are proven and drifted, and when the last proof ran. */
export function syncByPartition(db: Db): PartitionSync[] {
  return db
    .prepare(
      `SELECT company_id, max(last_finished_at) AS last, count(proof) AS proven, sum(json_extract(proof, '$.status') = 'drifted') AS drifted, max(json_extract(proof, '$.asOf')) AS proof_at FROM sync_state GROUP BY company_id`,
    )
    .all() as PartitionSync[];
}

export interface SyncRunRow {
  started_at: string;
  finished_at: string | null;
  identity: string;
  outcome: string;
  rows: number;
  retries: number;
}

/** The last 50 sync runs (of one identity, or of all), oldest first. */
export function recentSyncRuns(db: Db, identity: string | null): SyncRunRow[] {
  return (
    db
      .prepare(
        `SELECT started_at, finished_at, identity, outcome, rows, retries FROM sync_runs ${identity ? 'WHERE identity = @identity' : ''} ORDER BY id DESC LIMIT 50`,
      )
      .all({ identity }) as SyncRunRow[]
  ).reverse();
}

export interface LastSyncRun {
  outcome: string;
  rows: number;
  retries: number;
  startedAt: string;
  finishedAt: string | null;
  message: string | null;
}

/** The last sync that ended (not one running now). */
export function lastSyncRun(db: Db): LastSyncRun | null {
  return (
    (db
      .prepare(
        `SELECT outcome, rows, retries, started_at AS startedAt, finished_at AS finishedAt, message FROM sync_runs WHERE outcome <> 'running' ORDER BY id DESC LIMIT 1`,
      )
      .get() as LastSyncRun | undefined) ?? null
  );
}

/** A sync run ends: its outcome, rows, retries and message. */
export function finishSyncRun(db: Db, runId: number, at: string, r: { outcome: string; rows: number; retries: number; message: string | null }): void {
  db.prepare('UPDATE sync_runs SET finished_at = ?, outcome = ?, rows = ?, retries = ?, message = ? WHERE id = ?').run(
    at,
    r.outcome,
    r.rows,
    r.retries,
    r.message,
    runId,
  );
}
