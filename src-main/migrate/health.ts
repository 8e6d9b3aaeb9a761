import type pg from 'pg';
import { HEALTH_SIGNALS, type HealthSignal, type HealthSignalName, type HealthThresholds } from '../../src-shared/migration.ts';
import { ident } from '../pgdb/target.ts';

/**
 * The database's health as the runner sees it between batches and before each step: replica lag,
 * WAL written a second, the WAL archive's backlog, a vacuum on the table, the longest open
 * transaction, the latency of a trivial query, and an optional application URL. A signal over its
 * threshold makes the run wait (and say why in its log) until every signal is back under; the
 * operator's pause ends the wait. A signal that cannot be read here (no replica, no archive, a
 * view the user may not read) is shown as such and never holds the run.
 */

export type Samplers = Partial<Record<HealthSignalName, () => Promise<number | null>>>;

export interface HealthOptions {
  thresholds?: HealthThresholds;
  /** an application URL timed with each sample */
  probeUrl?: string;
  /** how long to wait between samples while a signal is over (default 1000 ms) */
  pollMs?: number;
  /** stand-ins for signals this machine cannot produce (a replica's lag in tests) */
  samplers?: Samplers;
}

interface Reading {
  value: number | null;
  note: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MIN_SAMPLE_MS = 100;

export function thresholdsOf(given: HealthThresholds | undefined): Record<HealthSignalName, number> {
  const out = {} as Record<HealthSignalName, number>;
  for (const [k, def] of Object.entries(HEALTH_SIGNALS) as Array<[HealthSignalName, (typeof HEALTH_SIGNALS)[HealthSignalName]]>)
    out[k] = given?.[k] ?? def.default;
  return out;
}

export class HealthWatch {
  readonly thresholds: Record<HealthSignalName, number>;
  signals: HealthSignal[] = [];
  /** why the run waits now, or null */
  waiting: string | null = null;
  private wal: { lsn: string; at: number } | null = null;
  private walRate: number | null = null;
  private sampledAt = 0;

  constructor(
    private readonly monitor: pg.ClientBase,
    /** the run's own sessions: never counted as someone else's long transaction */
    private readonly ownPids: number[],
    private readonly schema: string,
    private readonly opts: HealthOptions = {},
  ) {
    this.thresholds = thresholdsOf(opts.thresholds);
  }

  private async one(name: HealthSignalName, table: string): Promise<Reading> {
    const stand = this.opts.samplers?.[name];
    if (stand) return { value: await stand(), note: 'given' };
    const m = this.monitor;
    const num = async (sql: string, params: unknown[] = []) => Number((await m.query<{ v: unknown }>(sql, params)).rows[0]?.v ?? 0);
    switch (name) {
      case 'replicaLagSeconds': {
        const r = (
          await m.query<{ n: number; v: number | null }>('SELECT count(*)::int AS n, max(extract(epoch FROM replay_lag))::float8 AS v FROM pg_stat_replication')
        ).rows[0]!;
        return r.n ? { value: r.v ?? 0, note: `${r.n} replica${r.n > 1 ? 's' : ''}` } : { value: null, note: 'no replica' };
      }
      case 'walMiBPerSecond': {
        const lsn = async () => (await m.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
        // the first sample of a run measures a short window of its own
        if (!this.wal) {
          this.wal = { lsn: await lsn(), at: Date.now() };
          await sleep(MIN_SAMPLE_MS * 2);
        }
        const now = Date.now();
        if (now - this.wal.at >= MIN_SAMPLE_MS) {
          const r = (
            await m.query<{ lsn: string; d: number }>(
              `SELECT pg_current_wal_lsn()::text AS lsn, pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::float8 AS d`,
              [this.wal.lsn],
            )
          ).rows[0]!;
          this.walRate = r.d / 1048576 / ((now - this.wal.at) / 1000);
          this.wal = { lsn: r.lsn, at: now };
        }
        return { value: this.walRate, note: null };
      }
      case 'archiveBacklog': {
        const mode = (await m.query<{ v: string }>(`SELECT current_setting('archive_mode') AS v`)).rows[0]!.v;
        if (mode === 'off') return { value: null, note: 'archive_mode is off' };
        return { value: await num(`SELECT count(*)::int AS v FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'`), note: null };
      }
      case 'vacuumOnTable':
        return {
          value: await num(`SELECT count(*)::int AS v FROM pg_stat_progress_vacuum WHERE relid = to_regclass($1)`, [`${ident(this.schema)}.${ident(table)}`]),
          note: table,
        };
      case 'longestTransactionSeconds':
        return {
          value: await num(
            `SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0)::float8 AS v FROM pg_stat_activity
             WHERE datname = current_database() AND xact_start IS NOT NULL AND backend_type = 'client backend' AND pid <> ALL($1::int[])`,
            [this.ownPids],
          ),
          note: null,
        };
      case 'databaseLatencyMs': {
        const t0 = performance.now();
        await m.query('SELECT 1');
        return { value: performance.now() - t0, note: null };
      }
      case 'probeMs': {
        if (!this.opts.probeUrl) return { value: null, note: 'no probe URL' };
        const t0 = performance.now();
        try {
          const res = await fetch(this.opts.probeUrl, { signal: AbortSignal.timeout(Math.max(2000, this.thresholds.probeMs * 3)) });
          await res.arrayBuffer();
          const ms = performance.now() - t0;
          // an error answer counts as a slow one: the run waits for the application to be well
          return res.ok ? { value: ms, note: null } : { value: Math.max(ms, this.thresholds.probeMs + 1), note: `answered ${res.status}` };
        } catch (e) {
          return { value: Math.max(performance.now() - t0, this.thresholds.probeMs + 1), note: `no answer: ${(e as Error).message}` };
        }
      }
    }
  }

  /** Every signal, now (at most every 100 ms unless `force`). */
  async sample(table: string, force = false): Promise<HealthSignal[]> {
    if (!force && Date.now() - this.sampledAt < MIN_SAMPLE_MS && this.signals.length) return this.signals;
    const out: HealthSignal[] = [];
    for (const name of Object.keys(HEALTH_SIGNALS) as HealthSignalName[]) {
      let r: Reading;
      try {
        r = await this.one(name, table);
      } catch (e) {
        // a view this user may not read (pg_ls_archive_statusdir needs pg_monitor): shown, never waited on
        r = { value: null, note: `not readable: ${(e as Error).message}` };
      }
      const threshold = this.thresholds[name];
      const def = HEALTH_SIGNALS[name];
      out.push({ name, label: def.label, unit: def.unit, value: r.value, threshold, ok: r.value === null || r.value <= threshold, note: r.note });
    }
    // WAL only needs to wait for someone to take it in: with no replica and no archive, it is shown, never waited on
    const wal = out.find((x) => x.name === 'walMiBPerSecond')!;
    const replica = out.find((x) => x.name === 'replicaLagSeconds')!;
    const archive = out.find((x) => x.name === 'archiveBacklog')!;
    if (!wal.ok && replica.value === null && archive.value === null) Object.assign(wal, { ok: true, note: 'no replica or archive to keep up with it' });
    this.sampledAt = Date.now();
    this.signals = out;
    return out;
  }

  /**
   * Returns once every signal is under its threshold; while one is over, waits and says why (in
   * the log when the reason changes). 'paused' when the operator pauses meanwhile.
   */
  async clear(table: string, ctx: { control: { paused: boolean }; log(line: string): void; emit(): void }): Promise<'ok' | 'paused'> {
    let since: number | null = null;
    let said = '';
    for (;;) {
      if (ctx.control.paused) return 'paused';
      const over = (await this.sample(table, since !== null)).filter((s) => !s.ok);
      if (!over.length) {
        this.waiting = null;
        if (since !== null) {
          ctx.log(`${table}: going on after waiting ${((Date.now() - since) / 1000).toFixed(1)} s: every signal is under its threshold`);
          ctx.emit();
        }
        return 'ok';
      }
      const why = over.map((s) => `${s.label} ${round(s.value)} ${s.unit} over ${s.threshold}${s.note && s.note !== table ? ` (${s.note})` : ''}`).join(', ');
      const key = over.map((s) => s.name).join();
      if (key !== said) {
        said = key;
        ctx.log(`${table}: waiting: ${why}`);
      }
      since ??= Date.now();
      this.waiting = why;
      ctx.emit();
      await sleep(this.opts.pollMs ?? 1000);
    }
  }
}

const round = (v: number | null) => (v === null ? '–' : v >= 100 ? String(Math.round(v)) : v.toFixed(1));
