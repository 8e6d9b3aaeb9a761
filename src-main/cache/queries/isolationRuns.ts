import type { Output } from '../../../src-shared/contract.ts';
import type { ProbeResult } from '../../../src-shared/contract/isolation.ts';
import type { OpenCache } from '../cacheDb.ts';

// The isolation_runs and isolation_results tables: every run of the isolation matrix and each
// probe's verdict with its evidence (cache migrations 004, 012).

type Db = OpenCache['raw'];
type RunRow = Output<'isolation:results'>['run'];

/** a run whose process is gone */
const INTERRUPTED = 'The process running it ended before it finished (killed or crashed); what it had probed is kept.';

export function startRun(db: Db, startedAt: string, readOnly: boolean, pid: number): number {
  return Number(db.prepare('INSERT INTO isolation_runs (started_at, read_only, pid) VALUES (?, ?, ?)').run(startedAt, readOnly ? 1 : 0, pid).lastInsertRowid);
}

/** Keeps one probe's verdict (a probe asked again replaces its verdict). */
export function probeSaver(db: Db, runId: number): (r: ProbeResult) => void {
  const save = db.prepare(
    'INSERT OR REPLACE INTO isolation_results (run_id, resource, identity, operation, verdict, detail, evidence) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  return (r) => void save.run(runId, r.resource, r.identity, r.operation, r.verdict, r.detail, JSON.stringify(r.evidence));
}

export function noteRunMessage(db: Db, runId: number, message: string): void {
  db.prepare('UPDATE isolation_runs SET message = ? WHERE id = ?').run(message, runId);
}

export function finishRun(
  db: Db,
  runId: number,
  end: { finishedAt: string; outcome: string; probes: number; leaks: number; seconds: number; cleanup: unknown },
): void {
  db.prepare('UPDATE isolation_runs SET finished_at = ?, outcome = ?, probes = ?, leaks = ?, seconds = ?, cleanup = ? WHERE id = ?').run(
    end.finishedAt,
    end.outcome,
    end.probes,
    end.leaks,
    end.seconds,
    JSON.stringify(end.cleanup),
    runId,
  );
}

/** Runs still marked running whose process `alive` says is gone end as 'interrupted', keeping what they probed. */
export function settleInterruptedRuns(db: Db, alive: (pid: number) => boolean): number {
  const open = db.prepare("SELECT id, pid FROM isolation_runs WHERE outcome = 'running'").all() as Array<{ id: number; pid: number | null }>;
  const gone = open.filter((r) => !r.pid || !alive(r.pid));
  const settle = db.prepare(`UPDATE isolation_runs SET outcome = 'interrupted', probes = (SELECT count(*) FROM isolation_results WHERE run_id = @id),
    leaks = (SELECT count(*) FROM isolation_results WHERE run_id = @id AND verdict = 'leak'),
    message = coalesce(message, @message) WHERE id = @id`);
  for (const r of gone) settle.run({ id: r.id, message: INTERRUPTED });
  return gone.length;
}

/** The newest runs first (at most 200). */
export function listRuns(db: Db): Output<'isolation:runs'>['runs'] {
  const rows = db
    .prepare(
      'SELECT id, started_at AS startedAt, finished_at AS finishedAt, read_only AS readOnly, outcome, probes, leaks, message FROM isolation_runs ORDER BY id DESC LIMIT 200',
    )
    .all() as Array<Omit<Output<'isolation:runs'>['runs'][number], 'readOnly'> & { readOnly: number }>;
  return rows.map((r) => ({ ...r, readOnly: !!r.readOnly }));
}

/** One run with every verdict and its evidence, or null when there is no such run. */
export function runResults(db: Db, runId: number): Output<'isolation:results'> | null {
  const run = db
    .prepare('SELECT id, started_at AS startedAt, finished_at AS finishedAt, outcome, read_only AS readOnly, seconds, cleanup FROM isolation_runs WHERE id = ?')
    .get(runId) as (Omit<RunRow, 'readOnly' | 'cleanup'> & { readOnly: number; cleanup: string | null }) | undefined;
  if (!run) return null;
  const rows = db
    .prepare('SELECT resource, identity, operation, verdict, detail, evidence FROM isolation_results WHERE run_id = ? ORDER BY resource, identity, operation')
    .all(runId) as Array<Omit<ProbeResult, 'evidence'> & { evidence: string }>;
  return {
    run: { ...run, readOnly: !!run.readOnly, seconds: run.seconds ?? null, cleanup: run.cleanup === null ? null : JSON.parse(run.cleanup) },
    results: rows.map((r) => ({ ...r, evidence: JSON.parse(r.evidence) })),
  };
}
