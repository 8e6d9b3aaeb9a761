import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConnectionProfileSchema } from '../../src-shared/profile.ts';
import { planMigration } from '../../src-main/migrate/planner.ts';
import { runMigration } from '../../src-main/migrate/runner.ts';
import { applyRls, rollbackRls } from '../../src-main/migrate/rlsPhase.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCache } from '../../src-main/cache/cacheDb.ts';
import { EventBus } from '../../src-main/core/eventBus.ts';
import { IsolationRunner } from '../../src-main/isolation/isolationRunner.ts';
import { startTestCrm, type TestCrm } from '../support/crm.ts';
import { referenceProfile } from '../support/console.ts';
import { leftOnServer, probeIdentities } from '../support/isolation.ts';

const catalogFor = (url: string) => ConnectionProfileSchema.parse(referenceProfile('ref', url)).catalog;
/** The console's own isolation run (the one `tenantscope test` and the Isolation view make) on the seed's leaky resources. */
const LEAKY = ['calls', 'emails', 'documents'];
async function isolationRun(crm: TestCrm, dir: string) {
  const profile = ConnectionProfileSchema.parse(referenceProfile('ref', crm.url));
  const cache = await openCache(join(mkdtempSync(join(dir, 'run-')), 'c.sqlite'));
  try {
    const report = await new IsolationRunner(cache, profile, new EventBus()).run(await probeIdentities(profile), { only: LEAKY });
    const leaks = report.results.filter((r) => r.verdict === 'leak').map((r) => `${r.resource} · ${r.identity} · ${r.operation}`);
    return { leaks, report };
  } finally {
    cache.close();
  }
}

const rowsOf = (body: unknown): Array<Record<string, unknown>> => (Array.isArray(body) ? body : ((body as { items?: [] }).items ?? []));

describe("row-level security through the CRM's API, without touching an endpoint", () => {
  it('the legacy CRM leaks; with the RLS phase applied and the CRM setting app.company_id a request, it does not; rollback brings the leak back', async () => {
    const role = `crm_app_${randomBytes(3).toString('hex')}`;
    const crm = await startTestCrm({ profile: 'legacy', rlsRole: role });
    const dir = mkdtempSync(join(tmpdir(), 'tenantscope-rlsiso-'));
    try {
      const catalog = catalogFor(crm.url);
      expect((await runMigration(crm.databaseUrl, { operator: 'test', plan: await planMigration(crm.databaseUrl, catalog) })).status).toBe('done');
      const acme = (await crm.pool.query(`SELECT company_id::text AS c FROM users WHERE email = 'admin@acme.test'`)).rows[0].c as string;
      const token = await crm.login('admin@acme.test');
      // the legacy endpoints list the caller's own calls, but read and update any call by its id
      const theirs = (await crm.pool.query(`SELECT id::text AS id FROM calls WHERE company_id <> $1 ORDER BY id LIMIT 1`, [acme])).rows[0].id as string;
      const own = async () => rowsOf((await crm.call(token, 'GET', '/api/calls?limit=1000')).body).length;
      const ownBefore = await own();
      expect(ownBefore).toBeGreaterThan(0);
      const reach = async () => ({
        read: (await crm.call(token, 'GET', `/api/calls/${theirs}`)).status,
        update: (await crm.call(token, 'PUT', `/api/calls/${theirs}`, { notes: 'seen by acme' })).status,
      });
      expect(await reach()).toEqual({ read: 200, update: 200 });
      // the same isolation run, three times: leaks, none under RLS, leaks again after rollback
      const before = await isolationRun(crm, dir);
      for (const r of LEAKY) expect(before.leaks.filter((l) => l.startsWith(`${r} `)).length, r).toBeGreaterThan(0);

      await applyRls(crm.databaseUrl, catalog, 'dba@test');
      expect(await reach()).toEqual({ read: 404, update: 404 });
      expect(await own()).toBe(ownBefore);
      const under = await isolationRun(crm, dir);
      expect(under.leaks).toEqual([]);
      // every probe still ran: an RLS refusal is a verdict, not an error
      expect(under.report.results.filter((r) => r.verdict === 'error').map((r) => `${r.resource} · ${r.identity} · ${r.operation}: ${r.detail}`)).toEqual([]);
      expect(under.report.results.filter((r) => r.verdict === 'enforced').length).toBeGreaterThan(
        before.report.results.filter((r) => r.verdict === 'enforced').length,
      );
      // old code writing without company_id still works: the trigger fills it, the policy accepts it
      const users = (await crm.pool.query(`SELECT id FROM users WHERE company_id = $1 LIMIT 1`, [acme])).rows[0].id as string;
      const made = await crm.call(token, 'POST', '/api/calls', { user_id: users, from_number: '+1', to_number: '+2' });
      expect(made.status).toBe(201);
      expect((await crm.pool.query(`SELECT company_id::text AS c FROM calls WHERE id = $1`, [made.body.id])).rows[0].c).toBe(acme);
      // a super admin's requests run as the role that bypasses the policies: every company
      const superToken = await crm.login('super@tenantscope.test');
      expect(rowsOf((await crm.call(superToken, 'GET', '/api/calls?limit=1000')).body).some((x) => x.company_id !== acme)).toBe(true);

      await rollbackRls(crm.databaseUrl, 'dba@test');
      expect(await reach()).toEqual({ read: 200, update: 200 });
      const after = await isolationRun(crm, dir);
      expect(after.leaks.sort()).toEqual(before.leaks.sort());
      expect(await leftOnServer(crm)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await crm.close();
      await crm.pool.query(`DROP OWNED BY ${role}`).catch(() => {});
      await crm.pool.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
    }
  }, 180_000);
});
