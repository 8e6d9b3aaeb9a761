import { describe, expect, it } from 'vitest';
import { ConnectionProfileSchema } from '../../src-shared/profile.ts';
import { planMigration, planSql } from '../../src-main/migrate/planner.ts';
import {
  migrationLog,
  migrationRuns,
  rollbackMigration,
  runMigration,
  schemaSnapshot,
  verifyMigration,
  type MigrationProgress,
} from '../../src-main/migrate/runner.ts';
import { auditSchema } from '../../src-main/migrate/schemaAudit.ts';
import { startTestCrm } from '../support/crm.ts';
import { referenceProfile } from '../support/console.ts';
import { waitFor } from '../support/cli.ts';

const catalogFor = (url: string) => ConnectionProfileSchema.parse(referenceProfile('ref', url)).catalog;

describe('the company_id migration on real PostgreSQL (the demo data in its legacy schema)', () => {
  it('plans the 21 tables lock-safe, parents first and HIGH first, and changes nothing while planning', async () => {
    const crm = await startTestCrm({ profile: 'legacy' });
    try {
      const catalog = catalogFor(crm.url);
      const schemaBefore = await schemaSnapshot(crm.pool, 'calls');
      const plan = await planMigration(crm.databaseUrl, catalog, { notNull: true });
      expect(plan.tables).toHaveLength(21);
      expect(await schemaSnapshot(crm.pool, 'calls')).toEqual(schemaBefore);
      const order = plan.tables.map((t) => t.table);
      expect(order.indexOf('documents')).toBeLessThan(order.indexOf('document_signatures'));
      expect(order.indexOf('workflows')).toBeLessThan(order.indexOf('workflow_executions'));
      expect(order.indexOf('calls')).toBeLessThan(order.indexOf('call_transcripts'));
      // critical tables first: every HIGH table before every MEDIUM one, every MEDIUM before LOW
      const phases = plan.tables.map((t) => t.phase);
      expect([...phases].sort()).toEqual(phases);
      expect(plan.tables.find((t) => t.table === 'document_signatures')!.derivation).toEqual({
        kind: 'parent',
        field: 'document_id',
        parentTable: 'documents',
      });
      expect(plan.tables.find((t) => t.table === 'calls')!.derivation).toEqual({ kind: 'owner', field: 'user_id', usersTable: 'users' });
      // system-wide templates have no owner: predicted orphans, equal to what the data says
      const shared = Number((await crm.pool.query('SELECT count(*) FROM email_templates WHERE owner_id IS NULL')).rows[0].count);
      expect(plan.tables.find((t) => t.table === 'email_templates')!.orphansPredicted).toBe(shared);
      expect(plan.skipped.map((s) => s.table)).toContain('users');
      // every table: the lock-safe steps in order
      for (const t of plan.tables) {
        expect(plan.steps.filter((s) => s.table === t.table).map((s) => s.kind)).toEqual([
          'add-column',
          'trigger',
          'backfill',
          'index',
          'fk',
          'fk-validate',
          'check',
          'check-validate',
        ]);
      }
      const text = planSql(plan);
      expect(text).toContain('CREATE INDEX CONCURRENTLY "idx_calls_company_id" ON "calls" (company_id);');
      expect(text).toContain('FOREIGN KEY (company_id) REFERENCES "companies" (id) NOT VALID;');
      expect(text).toContain('CHECK (company_id IS NOT NULL) NOT VALID;');
      expect(text.match(/SET lock_timeout/g)!.length).toBeGreaterThanOrEqual(21 * 5);
      expect(plan.estimate.rows).toBe(plan.tables.reduce((a, t) => a + t.rows, 0));
      // --tables: a child brings its parent along
      const some = await planMigration(crm.databaseUrl, catalog, { tables: ['document_signatures'] });
      expect(some.tables.map((t) => t.table)).toEqual(['documents', 'document_signatures']);
      await expect(planMigration(crm.databaseUrl, catalog, { tables: ['nope'] })).rejects.toMatchObject({ code: 'invalid-input' });
    } finally {
      await crm.close();
    }
  }, 120_000);

  it('runs, verifies (orphans listed by id, index, foreign key, fingerprints equal) while the CRM serves, then rolls back to the exact schema and data', async () => {
    const crm = await startTestCrm({ profile: 'legacy' });
    try {
      const catalog = catalogFor(crm.url);
      const token = await crm.login('admin@acme.test');
      const plan = await planMigration(crm.databaseUrl, catalog, { batchSize: 7 });
      const schemas = new Map<string, unknown>();
      for (const t of plan.tables) schemas.set(t.table, await schemaSnapshot(crm.pool, t.table));
      // the CRM keeps serving throughout: a reader in a loop
      let reading = true;
      const statuses: number[] = [];
      const reader = (async () => {
        while (reading) statuses.push((await crm.call(token, 'GET', '/api/calls?limit=50')).status);
      })();
      const progress: MigrationProgress[] = [];
      const result = await runMigration(crm.databaseUrl, { operator: 'test', plan, onProgress: (p) => progress.push(p) });
      reading = false;
      await reader;
      expect(statuses.length).toBeGreaterThan(0);
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(result.status).toBe('done');
      const v = result.verification!;
      expect(v.ok, JSON.stringify(v.tables.filter((t) => !t.ok))).toBe(true);
      expect(v.fingerprintsEqual).toBe(true);
      const templates = v.tables.find((t) => t.table === 'email_templates')!;
      const shared = (await crm.pool.query('SELECT id::text FROM email_templates WHERE owner_id IS NULL ORDER BY id')).rows.map((r) => r.id);
      expect(shared.length).toBeGreaterThan(0);
      expect(templates.orphans).toEqual({ count: shared.length, ids: shared });
      // what the CRM's own database says now
      const audit = await auditSchema(crm.databaseUrl, catalog);
      for (const t of audit.filter((x) => plan.tables.some((p) => p.table === x.table))) {
        expect(t.hasCompanyId, t.table).toBe(true);
        expect(t.indexOnCompanyId, t.table).toBe(true);
        expect(t.foreignKeyOnCompanyId, t.table).toBe(true);
      }
      const calls = await crm.pool.query(
        'SELECT count(*)::int AS n FROM calls c JOIN users u ON u.id = c.user_id WHERE c.company_id IS DISTINCT FROM u.company_id',
      );
      expect(calls.rows[0].n).toBe(0);
      // progress: per table, rows done of total, ending at total
      const last = progress.at(-1)!;
      expect(last.status).toBe('done');
      expect(last.tables.every((t) => t.status === 'done' && t.done === t.total)).toBe(true);
      expect(last.overall.stepsDone).toBe(plan.steps.length);
      expect(await verifyMigration(crm.databaseUrl)).toMatchObject({ ok: true, runId: result.runId });
      const runs = await migrationRuns(crm.databaseUrl);
      expect(runs[0]).toMatchObject({ id: result.runId, startedBy: 'test', status: 'done', message: 'verified' });
      expect((await migrationLog(crm.databaseUrl, result.runId)).some((l) => l.message.includes('calls: backfill done'))).toBe(true);

      // a second plan while nothing is left to migrate is empty; running an empty plan says so
      const empty = await planMigration(crm.databaseUrl, catalog);
      expect(empty.tables).toHaveLength(0);

      const rb = await rollbackMigration(crm.databaseUrl, { operator: 'test' });
      expect(rb.ok, JSON.stringify(rb.tables.filter((t) => !t.schemaEqual || !t.fingerprintEqual))).toBe(true);
      for (const t of plan.tables) expect(await schemaSnapshot(crm.pool, t.table), t.table).toEqual(schemas.get(t.table));
      const functions = await crm.pool.query(
        `SELECT count(*)::int AS n FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'tenantscope_migration'`,
      );
      expect(functions.rows[0].n).toBe(0);
      expect((await migrationRuns(crm.databaseUrl))[0]).toMatchObject({ status: 'rolled-back', rolledBackBy: 'test' });
      await expect(rollbackMigration(crm.databaseUrl, { operator: 'test' })).rejects.toMatchObject({ code: 'conflict' });
      expect((await auditSchema(crm.databaseUrl, catalog)).filter((x) => !x.hasCompanyId)).toHaveLength(21);
    } finally {
      await crm.close();
    }
  }, 180_000);

  it('a dropped database connection mid-backfill stops the run with a clear error, keeps what was done, and the next run resumes it; wrong credentials are said so', async () => {
    const crm = await startTestCrm({ profile: 'legacy' });
    try {
      await crm.pool.query(`WITH u AS (SELECT array_agg(id) AS ids FROM users WHERE company_id IS NOT NULL)
        INSERT INTO calls (user_id, from_number, to_number) SELECT u.ids[1 + g % array_length(u.ids, 1)], '+1', '+2' FROM u, generate_series(1, 5000) g`);
      const catalog = catalogFor(crm.url);
      const plan = await planMigration(crm.databaseUrl, catalog, { tables: ['calls'] });
      let killed = false;
      const first = runMigration(crm.databaseUrl, {
        operator: 'test',
        plan,
        control: { paused: false, batchSize: 100, delayMs: 10 },
        onProgress: (p) => {
          const calls = p.tables[0]!;
          if (!killed && calls.step === 'backfill' && calls.done >= 500) {
            killed = true;
            // this test's database only: the test CRMs share one cluster, and another file's run may be under way in it
            void crm.pool.query(
              `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tenantscope-migrate' AND datname = current_database()`,
            );
          }
        },
      });
      await expect(first).rejects.toThrow(/^Run 1 stopped: .*Everything done so far stays; run again to resume\.$/s);
      const state = (await crm.pool.query(`SELECT rows_done::int AS n FROM tenantscope_migration.steps WHERE kind = 'backfill'`)).rows[0];
      expect(state.n).toBeGreaterThanOrEqual(500);
      const second = await runMigration(crm.databaseUrl, { operator: 'test' });
      expect(second).toMatchObject({ runId: 1, status: 'done' });
      expect(second.verification!.ok).toBe(true);
      const filled = (await crm.pool.query(`SELECT rows_filled::int AS f, rows_done::int AS n FROM tenantscope_migration.steps WHERE kind = 'backfill'`))
        .rows[0];
      expect(filled.n).toBe(plan.tables[0]!.rows);
      // a new plan while run 1 is unfinished is refused; a second runner at once too
      const bad = new URL(crm.databaseUrl);
      bad.password = 'wrong';
      await expect(planMigration(bad.toString(), catalog)).rejects.toMatchObject({ code: 'bad-credentials' });
      await expect(runMigration('postgres://x:y@127.0.0.1:1/none', { operator: 'test' })).rejects.toMatchObject({ code: 'unreachable' });
    } finally {
      await crm.close();
    }
  }, 120_000);

  it('one runner at a time, and no new plan over an unfinished run', async () => {
    const crm = await startTestCrm({ profile: 'legacy' });
    try {
      const catalog = catalogFor(crm.url);
      const plan = await planMigration(crm.databaseUrl, catalog, { tables: ['calls'] });
      const control = { paused: false, batchSize: 1, delayMs: 200 };
      // the first runner holds the lock once it reports a step under way
      let started = false;
      const running = runMigration(crm.databaseUrl, {
        operator: 'a',
        plan,
        control,
        onProgress: (p) => {
          if (p.tables.some((t) => t.status === 'running')) started = true;
        },
      });
      await waitFor(() => started, 'the first runner to start a step');
      await expect(runMigration(crm.databaseUrl, { operator: 'b' })).rejects.toMatchObject({
        code: 'conflict',
        message: expect.stringMatching(/^Another migration runner is working on this database/),
      });
      control.paused = true;
      expect((await running).status).toBe('paused');
      await expect(runMigration(crm.databaseUrl, { operator: 'b', plan })).rejects.toMatchObject({
        code: 'conflict',
        message: expect.stringMatching(/^Migration run 1 is not finished/),
      });
      expect((await runMigration(crm.databaseUrl, { operator: 'b' })).status).toBe('done');
    } finally {
      await crm.close();
    }
  }, 120_000);
});
