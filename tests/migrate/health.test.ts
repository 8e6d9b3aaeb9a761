import { createServer, type Server } from 'node:http';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ConnectionProfileSchema } from '../../src-shared/profile.ts';
import type { HealthThresholds, MigrationProgress } from '../../src-shared/migration.ts';
import { planMigration } from '../../src-main/migrate/planner.ts';
import { runMigration, type RunOptions } from '../../src-main/migrate/runner.ts';
import { startTestCrm, type TestCrm } from '../support/crm.ts';
import { referenceProfile } from '../support/console.ts';
import { waitFor } from '../support/cli.ts';

/**
 * Each signal the runner watches is driven over its threshold while a run starts: the run waits
 * (its log says why, its progress shows the signal over), and goes on by itself once the signal is
 * back under, to a verified end.
 */

const catalogFor = (url: string) => ConnectionProfileSchema.parse(referenceProfile('ref', url)).catalog;

/** A run of one table with `health` thresholds; resolves with what it logged and emitted. */
async function watchedRun(crm: TestCrm, table: string, health: HealthThresholds, opts: Partial<RunOptions> = {}) {
  const plan = await planMigration(crm.databaseUrl, catalogFor(crm.url), { tables: [table], health, batchSize: 50 });
  const log: string[] = [];
  const progress: MigrationProgress[] = [];
  const done = runMigration(crm.databaseUrl, {
    operator: 'test',
    plan,
    health: { pollMs: 100, ...opts.health },
    onLog: (l) => log.push(l),
    onProgress: (p) => progress.push(p),
    ...opts,
  });
  done.catch(() => {});
  return {
    log,
    progress,
    done,
    /** the run waits on `label`, its progress shows that signal over its threshold */
    waitsOn: async (label: string) => {
      await waitFor(() => log.find((l) => l.includes(`waiting: ${label}`)), `the run to wait on ${label}`, { timeoutMs: 30_000 });
      const p = await waitFor(() => progress.findLast((x) => x.health?.waiting?.includes(label)), 'progress showing the wait');
      expect(p.health!.signals.find((s) => s.label === label)).toMatchObject({ ok: false });
      expect(p.tables.find((t) => t.table === table)!.done).toBe(0);
    },
    /** it goes on and ends verified, saying it went on */
    finishes: async () => {
      const r = await done;
      expect(r.status).toBe('done');
      expect(r.verification!.ok).toBe(true);
      expect(log.some((l) => /going on after waiting [\d.]+ s: every signal is under its threshold/.test(l))).toBe(true);
    },
  };
}

async function session(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  // a session left open when a test fails is ended with its database
  c.on('error', () => {});
  await c.connect();
  return c;
}

describe('the runner waits while the database is busy, and goes on when it is not', () => {
  it('a long transaction, a vacuum on the table, a WAL-heavy writer, replica lag, a slow application, a row lock', async () => {
    const crm = await startTestCrm({ profile: 'legacy' });
    try {
      // a transaction open longer than the threshold (an old snapshot: every dead row of the backfill stays)
      {
        const other = await session(crm.databaseUrl);
        await other.query('BEGIN');
        await other.query('SELECT txid_current()');
        await new Promise((r) => setTimeout(r, 1200));
        const run = await watchedRun(crm, 'calls', { longestTransactionSeconds: 1 });
        await run.waitsOn('longest open transaction');
        await other.query('COMMIT');
        await other.end();
        await run.finishes();
      }
      // a vacuum running on the table (slowed to a crawl by its cost delay), cancelled after the run waits on it
      {
        await crm.pool.query(
          `INSERT INTO emails (owner_id, from_address, to_address, subject, body) SELECT owner_id, from_address, to_address, subject, body FROM emails, generate_series(1, 1500)`,
        );
        await crm.pool.query('DELETE FROM emails WHERE ctid IN (SELECT ctid FROM emails TABLESAMPLE SYSTEM (20))');
        const vacuuming = await session(crm.databaseUrl);
        await vacuuming.query('SET vacuum_cost_delay = 100');
        await vacuuming.query('SET vacuum_cost_limit = 1');
        const vacuum = vacuuming.query('VACUUM emails').catch(() => {});
        await waitFor(
          async () => Number((await crm.pool.query(`SELECT count(*) FROM pg_stat_progress_vacuum WHERE relid = 'emails'::regclass`)).rows[0].count) > 0,
          'the vacuum to start',
        );
        const run = await watchedRun(crm, 'emails', {});
        await run.waitsOn('vacuum on the table');
        await crm.pool.query(`SELECT pg_cancel_backend(pid) FROM pg_stat_progress_vacuum WHERE relid = 'emails'::regclass`);
        await vacuum;
        await vacuuming.end();
        await run.finishes();
      }
      // a writer filling the WAL faster than a replica is said to take it in
      {
        await crm.pool.query('CREATE TABLE junk (n int, pad text)');
        let writing = true;
        const writer = await session(crm.databaseUrl);
        const loop = (async () => {
          while (writing) await writer.query(`INSERT INTO junk SELECT g, repeat('x', 500) FROM generate_series(1, 5000) g`);
        })();
        // WAL is waited on for those who must take it in: a replica (a stand-in with no lag here)
        const run = await watchedRun(crm, 'documents', { walMiBPerSecond: 2 }, { health: { pollMs: 100, samplers: { replicaLagSeconds: async () => 0 } } });
        await run.waitsOn('WAL written');
        writing = false;
        await loop;
        await writer.end();
        await run.finishes();
      }
      // replica lag, from a stand-in (no replica here): 30 s for the first samples, then none
      {
        let samples = 0;
        const run = await watchedRun(crm, 'quotes', {}, { health: { pollMs: 100, samplers: { replicaLagSeconds: async () => (++samples <= 5 ? 30 : 0) } } });
        await run.waitsOn('replica lag');
        await run.finishes();
        expect(run.log.find((l) => l.includes('waiting: replica lag'))).toMatch(/replica lag 30\.0 s over 10 \(given\)/);
      }
      // the application's own URL: slow, then failing, then well
      {
        let mode: 'slow' | 'error' | 'well' = 'slow';
        const app: Server = createServer((_req, res) => {
          if (mode === 'slow') setTimeout(() => res.end('ok'), 400);
          else if (mode === 'error') res.writeHead(503).end('down');
          else res.end('ok');
        });
        await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
        const url = `http://127.0.0.1:${(app.address() as { port: number }).port}/health`;
        try {
          const run = await watchedRun(crm, 'files', { probeMs: 200 }, { health: { pollMs: 100, probeUrl: url } });
          await run.waitsOn('application probe');
          mode = 'error';
          await waitFor(
            () => run.progress.findLast((p) => p.health?.signals.find((s) => s.name === 'probeMs')?.note === 'answered 503'),
            'the probe to see the error',
          );
          expect(run.progress.at(-1)!.tables[0]!.done).toBe(0);
          mode = 'well';
          await run.finishes();
        } finally {
          app.close();
        }
      }
      // the application holding a row the backfill needs (taken once the DDL is done): the batch gives up
      // (lock_timeout), shrinks and backs off, then goes on once the row is free
      {
        const holder = await session(crm.databaseUrl);
        const run = await watchedRun(crm, 'folders', {}, { control: { paused: false, batchSize: 2, delayMs: 300 } });
        await waitFor(() => run.log.find((l) => l.startsWith('folders: trigger done')), 'the trigger step');
        await holder.query('BEGIN');
        await holder.query(`SELECT 1 FROM folders WHERE id = (SELECT id FROM folders ORDER BY id DESC LIMIT 1) FOR UPDATE`);
        await waitFor(() => run.log.find((l) => l.includes('a batch waited on rows the application holds')), 'the batch to give way', { timeoutMs: 30_000 });
        await holder.query('COMMIT');
        await holder.end();
        const r = await run.done;
        expect(r.status).toBe('done');
        expect(r.verification!.ok).toBe(true);
      }
    } finally {
      await crm.close();
    }
  }, 240_000);
});
