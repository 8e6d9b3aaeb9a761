import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { planMigration } from '../../src-main/migrate/planner.ts';
import { rollbackMigration, runMigration } from '../../src-main/migrate/runner.ts';
import { createTestDatabase } from '../support/crm.ts';
import { createNotesCrm, notesCatalog } from '../support/notesCrm.ts';

/**
 * Names from the CRM's database (its schema, primary keys) and the migration's own state tables
 * are data, never SQL: a schema called `s$fn$; DROP TABLE ...` and a key column with quotes and
 * `$fn$` in it migrate like any other, and a plan changed in tenantscope_migration is refused.
 */

const SCHEMA = 's$fn$; DROP TABLE public.canary; --"é';
const KEY = 'k$fn$"; --ключ';
const q = (s: string) => `"${s.replace(/"/g, '""')}"`;

describe('the migration against hostile names and a tampered state table', () => {
  it('migrates a schema and key named to break out of the trigger body, runs nothing it reads back changed, and rolls back', async () => {
    const db = await createTestDatabase();
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const name = new URL(db.url).pathname.slice(1);
      await c.query(`CREATE TABLE public.canary (id int)`);
      await c.query(`CREATE SCHEMA ${q(SCHEMA)}`);
      await c.query(`ALTER DATABASE ${q(name)} SET search_path TO ${q(SCHEMA)}`);
      await c.query(`SET search_path TO ${q(SCHEMA)}`);
      await createNotesCrm(c, { rows: 50, key: KEY });
      const catalog = notesCatalog;
      const canary = async () => Number((await c.query(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'canary'`)).rows[0].count);

      const plan = await planMigration(db.url, catalog, { batchSize: 7 });
      expect(plan.schema).toBe(SCHEMA);
      expect(plan.tables.map((t) => [t.table, t.key])).toEqual([['notes', KEY]]);
      const trigger = plan.steps.find((s) => s.kind === 'trigger')!.sql;
      const tag = /AS (\$ts_[0-9a-f]+\$)/.exec(trigger)![1]!;
      expect(trigger.split(tag)).toHaveLength(3); // the body opens and closes once: the names inside cannot end it
      const result = await runMigration(db.url, { operator: 'test', plan });
      expect(result.status).toBe('done');
      expect(result.verification!.ok, JSON.stringify(result.verification)).toBe(true);
      expect(await canary()).toBe(1);
      expect(Number((await c.query(`SELECT count(*) FROM notes WHERE company_id IS NULL`)).rows[0].count)).toBe(0);
      // the trigger fills a row old code writes without company_id
      const added = (await c.query(`INSERT INTO notes (user_id, body) VALUES ('00000000-0000-0000-0000-0000000000a1', 'new') RETURNING company_id`)).rows[0];
      expect(added.company_id).toBe('00000000-0000-0000-0000-00000000000a');

      // someone who can write the state tables plants SQL in a step and marks the run unfinished
      const S = 'tenantscope_migration';
      const original = (await c.query(`SELECT plan FROM ${S}.runs WHERE id = $1`, [result.runId])).rows[0].plan;
      await c.query(
        `UPDATE ${S}.runs SET status = 'failed', plan = jsonb_set(plan, '{steps,0,sql}', to_jsonb('DROP TABLE public.canary'::text)) WHERE id = $1`,
        [result.runId],
      );
      await c.query(`UPDATE ${S}.steps SET status = 'pending' WHERE run_id = $1 AND n = 1`, [result.runId]);
      await expect(runMigration(db.url, { operator: 'test' })).rejects.toMatchObject({
        code: 'conflict',
        message: expect.stringMatching(
          /plan stored with migration run \d+ was changed in the database \(step 1 \(notes: add-column\) is not the step its table makes\): it is not run/,
        ),
      });
      expect(await canary()).toBe(1);
      // a number read back is a number: a lock timeout carrying SQL is refused, by the rollback too
      await c.query(`UPDATE ${S}.runs SET plan = jsonb_set($2::jsonb, '{options,lockTimeoutMs}', to_jsonb($3::text)) WHERE id = $1`, [
        result.runId,
        original,
        "1ms'; DROP TABLE public.canary; --",
      ]);
      await expect(rollbackMigration(db.url, { operator: 'test' })).rejects.toMatchObject({
        code: 'conflict',
        message: expect.stringMatching(/options\.lockTimeoutMs is "1ms'; DROP TABLE public\.canary; --", not a whole number from 1 to 600000/),
      });
      expect(await canary()).toBe(1);

      // the plan as it was: the rollback removes exactly what the run added
      await c.query(`UPDATE ${S}.runs SET plan = $2::jsonb WHERE id = $1`, [result.runId, original]);
      await c.query(`UPDATE ${S}.steps SET status = 'done' WHERE run_id = $1 AND n = 1`, [result.runId]);
      const rolled = await rollbackMigration(db.url, { operator: 'test' });
      // the schema as before (the data differs by the row written above, and says so)
      expect(rolled.tables).toEqual([{ table: 'notes', schemaEqual: true, fingerprintEqual: false }]);
      expect(
        (
          await c.query(`SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'notes' AND column_name = 'company_id'`, [
            SCHEMA,
          ])
        ).rows[0].count,
      ).toBe('0');
      expect(await canary()).toBe(1);
    } finally {
      await c.end();
      await db.drop();
    }
  }, 120_000);
});
