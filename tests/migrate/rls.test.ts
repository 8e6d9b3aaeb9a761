import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConnectionProfileSchema } from '../../src-shared/profile.ts';
import { planMigration } from '../../src-main/migrate/planner.ts';
import { runMigration } from '../../src-main/migrate/runner.ts';
import { planRls, rlsPitfalls, rlsSql } from '../../src-main/migrate/rls.ts';
import { applyRls, proveRls, rollbackRls } from '../../src-main/migrate/rlsPhase.ts';
import { readSchemaSnapshot } from '../../src-main/pgdb/snapshot.ts';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startTestCrm } from '../support/crm.ts';
import { referenceCli, referenceHome } from '../support/referenceCli.ts';
import { referenceProfile } from '../support/console.ts';

const catalogFor = (url: string) => ConnectionProfileSchema.parse(referenceProfile('ref', url)).catalog;

describe('row-level security as the phase after the backfill', () => {
  it("the database refuses another company's rows to the application's role once applied, whatever the query; rollback brings the leaks back", async () => {
    const crm = await startTestCrm({ profile: 'legacy' });
    const role = `crm_app_${randomBytes(3).toString('hex')}`;
    try {
      const catalog = catalogFor(crm.url);
      // the system templates (no owner) are every company's, as discovery guesses and a person confirms
      catalog.resources.find((r) => r.name === 'email_templates')!.ownerless = 'shared';
      // before the backfill there is nothing to key the policies on
      const early = planRls(await readSchemaSnapshot(crm.pool as never), catalog);
      expect(early.left.find((l) => l.table === 'calls')?.reason).toMatch(/run the migration first/);
      expect((await runMigration(crm.databaseUrl, { operator: 'test', plan: await planMigration(crm.databaseUrl, catalog) })).status).toBe('done');

      // the application's role: may read and write every table, is neither superuser nor BYPASSRLS
      await crm.pool.query(`CREATE ROLE ${role} NOLOGIN`);
      await crm.pool.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
      await crm.pool.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
      await crm.pool.query(`CREATE VIEW calls_by_owner AS SELECT user_id, count(*) FROM calls GROUP BY 1`);

      const c = await crm.pool.connect();
      let plan;
      try {
        plan = planRls(await readSchemaSnapshot(c), catalog);
        const pitfalls = await rlsPitfalls(c, plan);
        expect(pitfalls.map((p) => p.message).join('\n')).toMatch(/is a superuser: the policies do not apply to it/);
        expect(pitfalls.map((p) => p.message).join('\n')).toMatch(/View calls_by_owner runs as its owner \(no security_invoker\)/);
      } finally {
        c.release();
      }
      // the 21 migrated tables and the 10 that had company_id, but not users (signing in reads it)
      expect(plan.tables.map((t) => t.table)).toContain('calls');
      expect(plan.tables.map((t) => t.table)).toContain('deals');
      expect(plan.left.find((l) => l.table === 'users')?.reason).toMatch(/signing in/);
      expect(plan.tables.find((t) => t.table === 'email_templates')!.shared).toBe(true);
      const sql = rlsSql(plan);
      expect(sql).toContain(
        `CREATE POLICY tenantscope_rls_wall ON "calls" AS RESTRICTIVE FOR ALL USING (company_id = NULLIF(current_setting('app.company_id', true), '')::uuid)`,
      );
      expect(sql).toContain('set_config');

      // the legacy CRM's tables, read as the application: another company's rows are there to take
      const before = await proveRls(crm.databaseUrl, catalog, { role });
      expect(before.rows.find((r) => r.table === 'calls')).toMatchObject({ read: 'leak', update: 'leak', delete: 'leak', insert: 'leak' });

      const applied = await applyRls(crm.databaseUrl, catalog, 'dba@test');
      expect(applied.tables).toEqual(plan.tables.map((t) => t.table));
      await expect(applyRls(crm.databaseUrl, catalog, 'dba@test')).rejects.toMatchObject({ code: 'conflict' });

      const after = await proveRls(crm.databaseUrl, catalog, { role });
      expect(after.company).toBe(before.company);
      const probed = after.rows.filter((r) => r.read !== 'skipped');
      expect(probed.length).toBeGreaterThan(20);
      for (const r of probed)
        expect([r.table, r.read, r.update, r.delete, r.insert, r.note]).toEqual([r.table, 'enforced', 'enforced', 'enforced', 'enforced', null]);

      // as the application sees it: its own rows, rows every company shares, nothing when no company is set
      const app = await crm.pool.connect();
      try {
        await app.query('BEGIN');
        await app.query(`SET LOCAL ROLE ${role}`);
        expect((await app.query('SELECT count(*)::int AS n FROM calls')).rows[0].n).toBe(0);
        await app.query(`SELECT set_config('app.company_id', $1, true)`, [after.company]);
        const own = (await app.query('SELECT count(DISTINCT company_id)::int AS n, count(*)::int AS rows FROM calls')).rows[0];
        expect(own).toMatchObject({ n: 1 });
        expect(own.rows).toBeGreaterThan(0);
        expect((await app.query('SELECT count(*)::int AS n FROM email_templates WHERE company_id IS NULL')).rows[0].n).toBeGreaterThan(0);
        await app.query('ROLLBACK');
      } finally {
        app.release();
      }

      await rollbackRls(crm.databaseUrl, 'dba@test');
      const policies = await crm.pool.query(`SELECT count(*)::int AS n FROM pg_policy WHERE polname LIKE 'tenantscope_rls_%'`);
      expect(policies.rows[0].n).toBe(0);
      const flags = await crm.pool.query(`SELECT count(*)::int AS n FROM pg_class WHERE relrowsecurity OR relforcerowsecurity`);
      expect(flags.rows[0].n).toBe(0);
      const again = await proveRls(crm.databaseUrl, catalog, { role });
      expect(again.rows.find((r) => r.table === 'calls')).toMatchObject({ read: 'leak' });
    } finally {
      await crm.pool.query(`DROP OWNED BY ${role}`).catch(() => {});
      await crm.pool.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
      await crm.close();
    }
  }, 180_000);

  it('from the CLI: migrate rls plan, apply, prove (exit 0, then 1 once rolled back), rollback', async () => {
    const crm = await startTestCrm({ profile: 'legacy' });
    const role = `crm_app_${randomBytes(3).toString('hex')}`;
    const home = referenceHome(crm, 'rlscli');
    try {
      const catalog = catalogFor(crm.url);
      expect((await runMigration(crm.databaseUrl, { operator: 'test', plan: await planMigration(crm.databaseUrl, catalog) })).status).toBe('done');
      await crm.pool.query(`CREATE ROLE ${role} NOLOGIN`);
      await crm.pool.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
      await crm.pool.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
      const cli = referenceCli(crm, home);
      const plan = await cli(['migrate', 'rls', 'plan']);
      expect(plan.code, plan.err).toBe(0);
      expect(JSON.parse(plan.out)).toMatchObject({ applied: null });
      expect((await cli(['migrate', 'rls', 'apply'])).code).toBe(2); // not asked off a terminal without --yes
      expect((await cli(['migrate', 'rls', 'apply', '--yes'])).code).toBe(0);
      const proven = await cli(['migrate', 'rls', 'prove', '--role', role]);
      expect(proven.code, proven.out + proven.err).toBe(0);
      expect(JSON.parse(proven.out).rows.find((r: { table: string }) => r.table === 'calls')).toMatchObject({ read: 'enforced', insert: 'enforced' });
      expect((await cli(['migrate', 'rls', 'rollback', '--yes'])).code).toBe(0);
      expect((await cli(['migrate', 'rls', 'prove', '--role', role])).code).toBe(1);
    } finally {
      await crm.pool.query(`DROP OWNED BY ${role}`).catch(() => {});
      await crm.pool.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
      await crm.close();
      rmSync(home, { recursive: true, force: true });
    }
  }, 180_000);

  it('as a phase of the plan: plan --rls writes the policies after the plan, run --rls applies them once verified, rollback refuses without --rls and undoes both with it', async () => {
    const crm = await startTestCrm({ profile: 'legacy' });
    const home = referenceHome(crm, 'rlsphase');
    const policies = async (table: string) =>
      Number(
        (await crm.pool.query(`SELECT count(*) FROM pg_policy WHERE polrelid = $1::regclass AND polname LIKE 'tenantscope_rls_%'`, [table])).rows[0].count,
      );
    const hasCompany = async (table: string) =>
      Number(
        (await crm.pool.query(`SELECT count(*) FROM information_schema.columns WHERE table_name = $1 AND column_name = 'company_id'`, [table])).rows[0].count,
      );
    try {
      const cli = referenceCli(crm, home);
      // calls has no company_id yet: the phase is planned as the table will be once the plan has run
      const out = join(home, 'plan.sql');
      const plan = await cli(['migrate', 'plan', '--rls', '--out', out]);
      expect(plan.code, plan.err).toBe(0);
      const planned = JSON.parse(plan.out);
      expect(planned.rls.tables).toContain('calls');
      expect(planned.rls.left.map((l: { table: string }) => l.table)).toContain('users');
      const sql = readFileSync(out, 'utf8');
      expect(sql.indexOf('CREATE POLICY tenantscope_rls_wall ON "calls"')).toBeGreaterThan(sql.indexOf('ALTER TABLE "calls" ADD COLUMN'));
      // the plan's own index serves the policies: none of the phase's own is made for calls
      expect(sql).not.toMatch(/CREATE INDEX CONCURRENTLY IF NOT EXISTS "?tenantscope_rls_calls_company_id/);
      expect(await policies('calls')).toBe(0);

      const run = await cli(['migrate', 'run', '--rls', '--yes']);
      expect(run.code, run.err).toBe(0);
      const ran = JSON.parse(run.out);
      expect(ran.verification.ok).toBe(true);
      expect(ran.rls.applied.tables).toContain('calls');
      expect(await policies('calls')).toBe(5);

      // the policies read company_id: a rollback of the run alone is refused before it changes anything
      const refused = await cli(['migrate', 'rollback', '--yes']);
      expect(refused.code).toBe(2);
      expect(JSON.parse(refused.out).error.message).toMatch(/Row-level security phase \d+ reads company_id .*Nothing was changed/);
      expect([await policies('calls'), await hasCompany('calls')]).toEqual([5, 1]);

      const both = await cli(['migrate', 'rollback', '--yes', '--rls']);
      expect(both.code, both.err).toBe(0);
      expect(JSON.parse(both.out).ok).toBe(true);
      expect([await policies('calls'), await hasCompany('calls')]).toEqual([0, 0]);
    } finally {
      await crm.close();
      rmSync(home, { recursive: true, force: true });
    }
  }, 300_000);
});
