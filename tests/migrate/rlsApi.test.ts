import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConnectionProfileSchema } from '../../src-shared/profile.ts';
import { planMigration } from '../../src-main/migrate/planner.ts';
import { runMigration } from '../../src-main/migrate/runner.ts';
import { applyRls, rollbackRls } from '../../src-main/migrate/rlsPhase.ts';
import { startTestCrm } from '../support/crm.ts';
import { referenceProfile } from '../support/console.ts';

const catalogFor = (url: string) => ConnectionProfileSchema.parse(referenceProfile('ref', url)).catalog;
const rowsOf = (body: unknown): Array<Record<string, unknown>> => (Array.isArray(body) ? body : ((body as { items?: [] }).items ?? []));

describe("row-level security through the CRM's API, without touching an endpoint", () => {
  it('the legacy CRM leaks; with the RLS phase applied and the CRM setting app.company_id a request, it does not; rollback brings the leak back', async () => {
    const role = `crm_app_${randomBytes(3).toString('hex')}`;
    const crm = await startTestCrm({ profile: 'legacy', rlsRole: role });
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

      await applyRls(crm.databaseUrl, catalog, 'dba@test');
      expect(await reach()).toEqual({ read: 404, update: 404 });
      expect(await own()).toBe(ownBefore);
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
    } finally {
      await crm.close();
      await crm.pool.query(`DROP OWNED BY ${role}`).catch(() => {});
      await crm.pool.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
    }
  }, 180_000);
});
