import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { planMigration } from '../../src-main/migrate/planner.ts';
import { migrationRuns, rollbackMigration, runMigration, verifyMigration } from '../../src-main/migrate/runner.ts';
import { STATE_MIGRATIONS } from '../../src-main/migrate/state.ts';
import { createTestDatabase } from '../support/crm.ts';
import { createNotesCrm, notesCatalog } from '../support/notesCrm.ts';

/**
 * The runner's state in the CRM's database carries its version: a state from before versions were
 * kept is brought forward and its runs still roll back; a state a newer TenantScope wrote is
 * refused, by every command, and left as it is.
 */

const S = 'tenantscope_migration';
const catalog = notesCatalog;

describe('the migration state has a version', () => {
  it('records the version it wrote; brings a state without one forward, keeping its runs; refuses a newer one without touching it', async () => {
    const db = await createTestDatabase();
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await createNotesCrm(c, { rows: 20 });
      const plan = await planMigration(db.url, catalog, {});
      const first = await runMigration(db.url, { operator: 'test', plan });
      expect(first.status).toBe('done');
      const versions = async () => (await c.query(`SELECT version FROM ${S}.version ORDER BY version`)).rows.map((r) => r.version);
      expect(await versions()).toEqual(STATE_MIGRATIONS.map((_, i) => i + 1));

      // a state from before versions were kept: no version table
      await c.query(`DROP TABLE ${S}.version`);
      expect((await migrationRuns(db.url)).map((r) => r.id)).toEqual([first.runId]);
      const rolled = await rollbackMigration(db.url, { operator: 'test' });
      expect(rolled.ok).toBe(true);
      // the next run brings it forward
      const second = await runMigration(db.url, { operator: 'test', plan: await planMigration(db.url, catalog, {}) });
      expect(second.status).toBe('done');
      expect(await versions()).toEqual(STATE_MIGRATIONS.map((_, i) => i + 1));
      expect((await migrationRuns(db.url)).map((r) => r.status)).toEqual(['done', 'rolled-back']);

      // a newer TenantScope's state
      await c.query(`INSERT INTO ${S}.version (version) VALUES (99)`);
      const newer = { code: 'conflict', message: expect.stringMatching(/written by a newer TenantScope \(state version 99; this one knows up to \d+\)/) };
      await expect(migrationRuns(db.url)).rejects.toMatchObject(newer);
      await expect(verifyMigration(db.url)).rejects.toMatchObject(newer);
      await expect(rollbackMigration(db.url, { operator: 'test' })).rejects.toMatchObject(newer);
      await expect(runMigration(db.url, { operator: 'test', plan })).rejects.toMatchObject(newer);
      // nothing of it was changed: the run is still done, the column still there
      expect((await c.query(`SELECT status FROM ${S}.runs WHERE id = $1`, [second.runId])).rows[0].status).toBe('done');
      expect((await c.query(`SELECT count(*)::int AS n FROM notes WHERE company_id IS NOT NULL`)).rows[0].n).toBe(20);
    } finally {
      await c.end();
      await db.drop();
    }
  }, 120_000);
});
