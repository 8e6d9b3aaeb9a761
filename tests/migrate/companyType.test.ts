import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { applyRls, proveRls, rollbackRls } from '../../src-main/migrate/rlsPhase.ts';
import { describe, expect, it } from 'vitest';
import { planMigration } from '../../src-main/migrate/planner.ts';
import { runMigration } from '../../src-main/migrate/runner.ts';
import { measureTriggerCost } from '../../src-main/migrate/triggerCost.ts';
import { PgTarget } from '../../src-main/pgdb/target.ts';
import { createTestDatabase } from '../support/crm.ts';
import { notesCatalog } from '../support/notesCrm.ts';

describe("company_id is added as the CRM's own type", () => {
  it('a CRM whose companies have integer ids and whose key is not "id" gets an integer company_id, filled, its foreign key validated, and policies that hold', async () => {
    const db = await createTestDatabase();
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query('CREATE TABLE companies (id serial PRIMARY KEY, name text)');
      await c.query('CREATE TABLE users (id serial PRIMARY KEY, company_id integer REFERENCES companies (id))');
      await c.query('CREATE TABLE notes (body text, user_id integer REFERENCES users (id), note_key bigserial PRIMARY KEY)');
      await c.query(`INSERT INTO companies (name) VALUES ('a'), ('b')`);
      await c.query('INSERT INTO users (company_id) VALUES (1), (2), (2)');
      await c.query(`INSERT INTO notes (user_id, body) SELECT 1 + g % 3, 'n' || g FROM generate_series(1, 200) g`);
      const plan = await planMigration(db.url, notesCatalog);
      expect(plan.companyIdType).toBe('integer');
      expect(plan.steps.find((s) => s.kind === 'add-column')!.sql).toBe('ALTER TABLE "notes" ADD COLUMN company_id integer;');
      const target = new PgTarget(db.url);
      const [cost] = await measureTriggerCost(target, plan).finally(() => target.end());
      expect(cost!.ratio).not.toBeNull();
      const r = await runMigration(db.url, { operator: 'test', plan });
      expect(r.status).toBe('done');
      expect(r.verification!.ok, JSON.stringify(r.verification)).toBe(true);
      const wrong = await c.query('SELECT count(*)::int AS n FROM notes n JOIN users u ON u.id = n.user_id WHERE n.company_id IS DISTINCT FROM u.company_id');
      expect(wrong.rows[0].n).toBe(0);
      expect(
        (await c.query(`SELECT data_type FROM information_schema.columns WHERE table_name = 'notes' AND column_name = 'company_id'`)).rows[0].data_type,
      ).toBe('integer');

      // row-level security on it: the policies cast the setting to integer; the proof finds rows by its own key (not "id", not first)
      const role = `notes_app_${randomBytes(3).toString('hex')}`;
      await c.query(`CREATE ROLE ${role} NOLOGIN`);
      try {
        await c.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
        await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
        await c.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
        expect((await proveRls(db.url, notesCatalog, { role })).rows).toEqual([
          { table: 'notes', read: 'leak', update: 'leak', delete: 'leak', insert: 'leak', note: null },
        ]);
        await applyRls(db.url, notesCatalog, 'test');
        expect((await proveRls(db.url, notesCatalog, { role })).rows).toEqual([
          { table: 'notes', read: 'enforced', update: 'enforced', delete: 'enforced', insert: 'enforced', note: null },
        ]);
        await rollbackRls(db.url, 'test');
      } finally {
        await c.query(`DROP OWNED BY ${role}`);
        await c.query(`DROP ROLE ${role}`);
      }
    } finally {
      await c.end();
      await db.drop();
    }
  }, 120_000);
});
