import { rmSync } from 'node:fs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ConnectionProfileSchema } from '../../src-shared/profile.ts';
import { EventBus } from '../../src-main/core/eventBus.ts';
import { MigrationService } from '../../src-main/migrate/migrationService.ts';
import { schemaSnapshot } from '../../src-main/migrate/runner.ts';
import { createTestDatabase, startTestCrm } from '../support/crm.ts';
import { referenceProfile } from '../support/console.ts';
import { tempHome } from '../support/cli.ts';
import { createNotesCrm, notesCatalog } from '../support/notesCrm.ts';

const catalogFor = (url: string) => ConnectionProfileSchema.parse(referenceProfile('ref', url)).catalog;
const probes = async (c: pg.Pool | pg.Client) =>
  Number((await c.query(`SELECT count(*) FROM pg_class WHERE relname LIKE 'tenantscope_probe_%'`)).rows[0].count) +
  Number((await c.query(`SELECT count(*) FROM pg_proc WHERE proname LIKE 'tenantscope_probe_%'`)).rows[0].count);

describe("the fill trigger's cost on the application's writes, measured before it is switched on", () => {
  it('the plan measures every table of the demo on a copy of its rows and changes nothing', async () => {
    const crm = await startTestCrm({ profile: 'legacy' });
    const home = tempHome('trigcost');
    try {
      const before = await schemaSnapshot(crm.pool, 'calls');
      const { plan, triggerCost, preflight } = await new MigrationService(new EventBus(), home).plan(crm.databaseUrl, catalogFor(crm.url), {
        notNull: false,
      });
      expect(triggerCost.map((c) => c.table)).toEqual(plan.tables.map((t) => t.table));
      for (const c of triggerCost) {
        const rows = plan.tables.find((t) => t.table === c.table)!.rows;
        if (rows === 0) expect(c).toMatchObject({ ratio: null, note: 'no rows to sample' });
        else {
          expect(c.sampleRows, c.table).toBe(Math.min(rows, 400));
          expect(c.insertRatio, c.table).toBeGreaterThan(0);
          expect(c.updateRatio, c.table).toBeGreaterThan(0);
        }
      }
      // the demo's lookups are by primary key: no table is refused (a busy machine's spoiled measure is taken again)
      expect(preflight.filter((p) => p.level === 'fail')).toEqual([]);
      expect(preflight.find((p) => p.message.startsWith('The fill trigger slows writes at most'))).toMatchObject({ level: 'ok' });
      // the copies, their loops and the trigger were rolled back: the CRM's tables are as they were
      expect(await schemaSnapshot(crm.pool, 'calls')).toEqual(before);
      expect(await probes(crm.pool)).toBe(0);
    } finally {
      await crm.close();
      rmSync(home, { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses a table whose owner lookup has no index (the trigger would scan every user on every write), unless the operator raises the limit', async () => {
    const db = await createTestDatabase();
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const home = tempHome('trigcost');
    try {
      await createNotesCrm(c, { rows: 300 });
      // users without a primary key, and many of them: the fill trigger's lookup is a scan
      await c.query('ALTER TABLE notes DROP CONSTRAINT notes_user_id_fkey');
      await c.query('ALTER TABLE users DROP CONSTRAINT users_pkey');
      await c.query(`INSERT INTO users SELECT gen_random_uuid(), '00000000-0000-0000-0000-00000000000a' FROM generate_series(1, 5000)`);
      await c.query('ANALYZE users');
      const service = new MigrationService(new EventBus(), home);
      const planned = await service.plan(db.url, notesCatalog, { notNull: false });
      const notes = planned.triggerCost.find((x) => x.table === 'notes')!;
      expect(notes.ratio).toBeGreaterThan(1.5);
      expect(planned.preflight.find((p) => p.level === 'fail')?.message).toMatch(
        new RegExp(`^notes: the fill trigger makes its writes ${notes.ratio}× slower .*above the limit 1\\.5×`),
      );
      // the run is refused before it changes anything
      await expect(service.run(db.url, notesCatalog, 'test', { notNull: false, dryRun: false, resume: false, backup: false })).rejects.toMatchObject({
        code: 'forbidden',
        message: expect.stringMatching(/notes: the fill trigger makes its writes/),
      });
      expect((await c.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'notes' AND column_name = 'company_id'`)).rowCount).toBe(0);
      // an operator who accepts the cost raises the limit
      const raised = await service.plan(db.url, notesCatalog, { notNull: false, maxTriggerOverhead: 100 });
      const again = raised.triggerCost.find((x) => x.table === 'notes')!;
      if (again.ratio! <= 100) expect(raised.preflight.filter((p) => p.level === 'fail')).toEqual([]);
      expect(await probes(c)).toBe(0);
    } finally {
      await c.end();
      await db.drop();
      rmSync(home, { recursive: true, force: true });
    }
  }, 120_000);
});
