import { describe, expect, it } from 'vitest';
import { ConnectionProfileSchema } from '../../src-shared/profile.ts';
import { planMigration } from '../../src-main/migrate/planner.ts';
import { fingerprint, runMigration, verifyMigration } from '../../src-main/migrate/runner.ts';
import { startTestCrm, type TestCrm } from '../support/crm.ts';
import { referenceProfile } from '../support/console.ts';
import { runCli, waitFor } from '../support/cli.ts';
import { referenceHome } from '../support/referenceCli.ts';

const TABLES = ['calls', 'emails', 'documents', 'document_signatures'];

/** More rows in the legacy tables, spread over the demo's users (a few without an owner: orphans). */
async function grow(crm: TestCrm, calls: number, emails: number): Promise<void> {
  await crm.pool.query(
    `
    WITH u AS (SELECT array_agg(id) AS ids FROM users WHERE company_id IS NOT NULL)
    INSERT INTO calls (user_id, from_number, to_number, duration_seconds, notes)
    SELECT CASE WHEN g % 997 = 0 THEN NULL ELSE u.ids[1 + g % array_length(u.ids, 1)] END, '+1555' || g, '+1666' || g, g % 600, 'bulk call ' || g
    FROM u, generate_series(1, $1) g`,
    [calls],
  );
  await crm.pool.query(
    `
    WITH u AS (SELECT array_agg(id) AS ids FROM users WHERE company_id IS NOT NULL)
    INSERT INTO emails (owner_id, from_address, to_address, subject, body)
    SELECT u.ids[1 + g % array_length(u.ids, 1)], 'a' || g || '@x.test', 'b' || g || '@y.test', 'bulk ' || g, repeat('x', g % 50)
    FROM u, generate_series(1, $1) g`,
    [emails],
  );
}

describe('the migration runner under crashes and live writers', () => {
  it('kill -9 mid-backfill 10 times: each resume goes on from the last batch it committed, and the last one completes with fingerprints equal', async () => {
    const crm = await startTestCrm({ profile: 'legacy' });
    try {
      await grow(crm, 30_000, 10_000);
      const home = referenceHome(crm, 'migcli');
      const catalog = ConnectionProfileSchema.parse(referenceProfile('ref', crm.url)).catalog;
      const plan = await planMigration(crm.databaseUrl, catalog, { tables: TABLES });
      const before = new Map<string, string>();
      for (const t of plan.tables) before.set(t.table, (await fingerprint(crm.pool, t)).fingerprint);
      const totals = new Map(plan.tables.map((t) => [t.table, t.rows]));
      const done = async () => {
        const r = await crm.pool
          .query(
            `SELECT coalesce(sum(rows_done), 0)::int AS n, count(*) FILTER (WHERE kind = 'backfill' AND status = 'pending' AND rows_done > 0)::int AS mid FROM tenantscope_migration.steps`,
          )
          .catch(() => ({ rows: [{ n: 0, mid: 0 }] }));
        return r.rows[0] as { n: number; mid: number };
      };
      const cli = async (args: string[], killWhen?: (d: { n: number; mid: number }) => boolean) => {
        let killedAt: number | null = null;
        const r = await runCli([...args, '--connection', 'ref', '--db-env', 'TENANTSCOPE_REF_DB'], {
          home,
          env: { TENANTSCOPE_REF_PW: 'demo', TENANTSCOPE_REF_DB: crm.databaseUrl },
          killWhen:
            killWhen &&
            (async () => {
              const d = await done();
              if (!killWhen(d)) return false;
              killedAt = d.n;
              return true;
            }),
        });
        return { code: r.code, err: r.err, killedAt: r.killed ? killedAt : null };
      };
      let last = 0;
      const kills: number[] = [];
      for (let i = 0; i < 10; i++) {
        // kill once this round has committed at least two more batches, while a backfill is half done
        const r = await cli(['migrate', 'run', '--tables', TABLES.join(','), '--batch-size', '400', '--delay', '40'], (d) => d.mid > 0 && d.n >= last + 800);
        expect(r.killedAt, `round ${i}: ${r.err.slice(-500)}`).not.toBeNull();
        const now = (await done()).n;
        // what was committed stays: the count never goes back, and the next round starts from it
        expect(now).toBeGreaterThanOrEqual(last);
        last = now;
        kills.push(now);
      }
      expect(new Set(kills).size).toBe(10);
      const final = await cli(['--json', 'migrate', 'run', '--batch-size', '2000']);
      expect(final.code, final.err.slice(-1000)).toBe(0);
      // every row was walked exactly once over the 11 processes: the committed key ranges neither overlap nor leave gaps
      const steps = (
        await crm.pool.query(`SELECT table_name, rows_done::int AS n, rows_total::int AS total FROM tenantscope_migration.steps WHERE kind = 'backfill'`)
      ).rows;
      for (const s of steps) expect(s.n, s.table_name).toBe(totals.get(s.table_name));
      const v = await verifyMigration(crm.databaseUrl);
      expect(v.ok, JSON.stringify(v.tables.filter((t) => !t.ok))).toBe(true);
      for (const t of plan.tables) expect((await fingerprint(crm.pool, t)).fingerprint, t.table).toBe(before.get(t.table));
      // the orphans are the calls without an owner, by id
      const ownerless = (await crm.pool.query('SELECT id::text FROM calls WHERE user_id IS NULL ORDER BY id')).rows.map((r) => r.id);
      expect(v.tables.find((t) => t.table === 'calls')!.orphans).toEqual({ count: ownerless.length, ids: ownerless.slice(0, 100) });
      const runs = (await crm.pool.query(`SELECT count(*)::int AS n, min(status) AS status FROM tenantscope_migration.runs`)).rows[0];
      expect(runs).toEqual({ n: 1, status: 'done' });
    } finally {
      await crm.close();
    }
  }, 400_000);

  it('old code writing through the API while the migration runs: every new or updated row gets its company_id, none is lost, no request fails', async () => {
    const crm = await startTestCrm({ profile: 'legacy', frozenWrites: true });
    try {
      await grow(crm, 20_000, 0);
      const catalog = ConnectionProfileSchema.parse(referenceProfile('ref', crm.url)).catalog;
      const writers = [
        {
          email: 'admin@acme.test',
          company: (await crm.pool.query(`SELECT company_id FROM users WHERE email = 'admin@acme.test'`)).rows[0].company_id as string,
        },
        {
          email: 'admin@globex.test',
          company: (await crm.pool.query(`SELECT company_id FROM users WHERE email = 'admin@globex.test'`)).rows[0].company_id as string,
        },
      ];
      const tokens = await Promise.all(writers.map((w) => crm.login(w.email)));
      const created: { id: string; company: string; path: string }[] = [];
      const statuses: number[] = [];
      let writing = true;
      const writer = (async () => {
        for (let i = 0; writing; i++) {
          const k = i % 2;
          const call = await crm.call(tokens[k]!, 'POST', '/api/calls', { from_number: `+1999${i}`, to_number: '+1888', notes: `live ${i}` });
          statuses.push(call.status);
          if (call.status === 201) {
            created.push({ id: call.body.id, company: writers[k]!.company, path: '/api/calls' });
            // the old code also updates rows (its own, made a moment ago)
            const up = await crm.call(tokens[k]!, 'PUT', `/api/calls/${call.body.id}`, { notes: `live ${i} edited` });
            statuses.push(up.status);
          }
          const doc = await crm.call(tokens[k]!, 'POST', '/api/documents', { title: `doc ${i}`, file_name: `d${i}.pdf` });
          statuses.push(doc.status);
          if (doc.status === 201) {
            created.push({ id: doc.body.id, company: writers[k]!.company, path: '/api/documents' });
            const sig = await crm.call(tokens[k]!, 'POST', '/api/documents/signatures', {
              document_id: doc.body.id,
              signer_name: `Signer ${i}`,
              signer_email: `s${i}@x.test`,
            });
            statuses.push(sig.status);
            if (sig.status === 201) created.push({ id: sig.body.id, company: writers[k]!.company, path: '/api/documents/signatures' });
          }
        }
      })();
      // the old code is writing before the migration starts, and goes on after it ends
      await waitFor(() => created.length >= 10, 'the writer to create its first rows');
      const plan = await planMigration(crm.databaseUrl, catalog, { tables: ['calls', 'document_signatures'] });
      const result = await runMigration(crm.databaseUrl, { operator: 'test', plan, control: { paused: false, batchSize: 500, delayMs: 20 } });
      const atEnd = created.length;
      await waitFor(() => created.length >= atEnd + 10, 'the writer to create rows after the run');
      writing = false;
      await writer;
      expect(result.status).toBe('done');
      expect(
        statuses.filter((s) => s >= 300),
        `failed requests: ${statuses.filter((s) => s >= 300).join(',')}`,
      ).toEqual([]);
      expect(created.length).toBeGreaterThan(20);
      // none lost, each with its writer's company
      const table = (path: string) => (path === '/api/calls' ? 'calls' : path === '/api/documents' ? 'documents' : 'document_signatures');
      for (const c of created) {
        const row = (await crm.pool.query(`SELECT company_id FROM ${table(c.path)} WHERE id = $1`, [c.id])).rows[0];
        expect(row, `${c.path} ${c.id}`).toBeDefined();
        expect(row.company_id, `${c.path} ${c.id}`).toBe(c.company);
      }
      // the old code never wrote company_id itself: the database filled it
      const edited = (await crm.pool.query(`SELECT count(*)::int AS n FROM calls WHERE notes LIKE 'live % edited' AND company_id IS NULL`)).rows[0].n;
      expect(edited).toBe(0);
      const v = await verifyMigration(crm.databaseUrl);
      for (const t of v.tables) {
        expect(t.fillableMissing, t.table).toBe(0);
        expect(t.mismatched, t.table).toBe(0);
        expect(t.index, t.table).toBe('valid');
        expect(t.foreignKey, t.table).toBe('validated');
      }
      // the application wrote during the run: the fingerprints say so rather than pretend
      expect(v.fingerprintsEqual).toBe(false);
    } finally {
      await crm.close();
    }
  }, 180_000);
});
