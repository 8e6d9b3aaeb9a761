import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ConnectionProfileSchema } from '../../src-shared/profile.ts';
import { verifyBackup } from '../../src-main/migrate/backup.ts';
import { findPgTools } from '../../src-main/migrate/pgTools.ts';
import { planMigration } from '../../src-main/migrate/planner.ts';
import { migrationRuns, rollbackMigration, runMigration } from '../../src-main/migrate/runner.ts';
import { startTestCrm, type TestCrm } from '../support/crm.ts';
import { referenceProfile } from '../support/console.ts';
import { debianPostgresBin, startDebianPostgres } from '../support/debianPostgres.ts';
import { referenceCli, referenceHome } from '../support/referenceCli.ts';

const catalogFor = (url: string) => ConnectionProfileSchema.parse(referenceProfile('ref', url)).catalog;
const TABLES = ['calls', 'emails'];

/** A run of the plan with a backup into a fresh folder; then the backup restored into a scratch database and compared. */
async function runWithBackup(crm: TestCrm) {
  const dir = mkdtempSync(join(tmpdir(), 'backups-'));
  const plan = await planMigration(crm.databaseUrl, catalogFor(crm.url), { tables: TABLES });
  expect(plan.backupEstimate!.bytes).toBeGreaterThan(0);
  const counts = Object.fromEntries(
    await Promise.all(TABLES.map(async (t) => [t, Number((await crm.pool.query(`SELECT count(*) FROM ${t}`)).rows[0].count)] as const)),
  );
  const log: string[] = [];
  const r = await runMigration(crm.databaseUrl, { operator: 'test', plan, backup: { dir }, onLog: (l) => log.push(l) });
  expect(r.status).toBe('done');
  const backup = (await migrationRuns(crm.databaseUrl))[0]!.backup!;
  if (!backup.taken) throw new Error('no backup taken');
  // taken before the first change: its log line comes before any step's
  expect(log.findIndex((l) => l.startsWith('backup taken'))).toBeLessThan(log.findIndex((l) => / done in /.test(l)));
  expect(backup.path.startsWith(dir)).toBe(true);
  expect(existsSync(backup.path) && existsSync(`${backup.path}.json`)).toBe(true);
  expect(backup.tables.map((t) => [t.table, t.rows])).toEqual(TABLES.map((t) => [t, counts[t]]));
  return { dir, runId: r.runId, backup };
}

describe('the backup a run takes before its first change', () => {
  it('on the embedded server: taken in one snapshot, restored into a scratch database equal to the source as of the dump; a changed file is refused', async () => {
    const crm = await startTestCrm({ profile: 'legacy' });
    let dir = '';
    try {
      const major = Math.floor(Number((await crm.pool.query('SHOW server_version_num')).rows[0].server_version_num) / 10_000);
      const { dir: d, runId, backup } = await runWithBackup(crm);
      dir = d;
      // pg_dump when the machine has one as new as the server, TenantScope's own backup otherwise
      expect(backup.format).toBe((await findPgTools(major)).tools ? 'pg_dump' : 'copy');
      if (backup.format === 'copy') {
        expect(backup.note).toMatch(/no pg_dump \d+ or newer/);
        // psql restores it: plain SQL with the tables' definitions and COPY data
        const { gunzipSync } = await import('node:zlib');
        const text = gunzipSync(readFileSync(backup.path)).toString('utf8');
        expect(text).toContain('CREATE TABLE "public"."calls" (');
        expect(text).toMatch(/COPY "public"\."emails" \(.*\) FROM stdin;\n/);
      }
      // the application writes after the dump: the backup is compared with the source as it was
      await crm.pool.query(`UPDATE calls SET notes = coalesce(notes, '') || ' (edited after the backup)' WHERE id = (SELECT id FROM calls LIMIT 1)`);
      const v = await verifyBackup(crm.databaseUrl, dir, runId);
      expect(v.problems).toEqual([]);
      expect(v).toMatchObject({ ok: true, checksumEqual: true, format: backup.format });
      expect(v.tables.map((t) => [t.table, t.rowsRestored, t.equal])).toEqual(backup.tables.map((t) => [t.table, t.rows, true]));
      // the scratch database is gone
      const scratch = await crm.pool.query(`SELECT datname FROM pg_database WHERE datname LIKE 'tenantscope_verify_%'`);
      expect(scratch.rows).toEqual([]);
      // a record changed in the CRM's database cannot make the console restore another file
      const record = async (patch: string) =>
        crm.pool.query(`UPDATE tenantscope_migration.runs SET backup = backup || $2::jsonb WHERE id = $1`, [runId, patch]);
      await record(JSON.stringify({ path: '/etc/hostname' }));
      await expect(verifyBackup(crm.databaseUrl, dir, runId)).rejects.toMatchObject({
        code: 'forbidden',
        message: expect.stringMatching(/outside this console's backups/),
      });
      await record(JSON.stringify({ path: backup.path, sha256: '0'.repeat(64) }));
      await expect(verifyBackup(crm.databaseUrl, dir, runId)).rejects.toMatchObject({
        code: 'forbidden',
        message: expect.stringMatching(/does not match the note/),
      });
      await record(JSON.stringify({ sha256: backup.sha256 }));
      // one byte more and the file is not what was taken: not restored
      appendFileSync(backup.path, 'x');
      const changed = await verifyBackup(crm.databaseUrl, dir, runId);
      expect(changed).toMatchObject({ ok: false, checksumEqual: false, tables: [] });
      expect(changed.problems[0]).toMatch(/changed since it was taken/);
      rmSync(backup.path);
      await expect(verifyBackup(crm.databaseUrl, dir, runId)).rejects.toMatchObject({ code: 'not-found', message: expect.stringMatching(/not at/) });

      // a run without a backup says so in its record
      await rollbackMigration(crm.databaseUrl, { operator: 'test' });
      const plan = await planMigration(crm.databaseUrl, catalogFor(crm.url), { tables: TABLES });
      const second = await runMigration(crm.databaseUrl, { operator: 'ops@acme.test', plan, backup: { skip: 'run without a backup (--no-backup)' } });
      expect((await migrationRuns(crm.databaseUrl))[0]!.backup).toMatchObject({
        taken: false,
        by: 'ops@acme.test',
        reason: 'run without a backup (--no-backup)',
      });
      await expect(verifyBackup(crm.databaseUrl, dir, second.runId)).rejects.toMatchObject({
        code: 'not-found',
        message: expect.stringMatching(/took no backup/),
      });
    } finally {
      await crm.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('a backup that cannot be written stops the run before any change; running again takes it, then migrates', async () => {
    const crm = await startTestCrm({ profile: 'legacy' });
    const dir = mkdtempSync(join(tmpdir(), 'backups-'));
    try {
      const plan = await planMigration(crm.databaseUrl, catalogFor(crm.url), { tables: TABLES });
      const notAFolder = join(dir, 'a-file');
      appendFileSync(notAFolder, '');
      await expect(runMigration(crm.databaseUrl, { operator: 'test', plan, backup: { dir: notAFolder } })).rejects.toMatchObject({
        message: expect.stringMatching(/The backup before the first change failed: .*Nothing was changed/),
      });
      const columns = await crm.pool.query(`SELECT 1 FROM information_schema.columns WHERE table_name = ANY($1) AND column_name = 'company_id'`, [TABLES]);
      expect(columns.rowCount).toBe(0);
      expect((await migrationRuns(crm.databaseUrl))[0]).toMatchObject({ status: 'failed', backup: null });
      const resumed = await runMigration(crm.databaseUrl, { operator: 'test', backup: { dir } });
      expect(resumed.status).toBe('done');
      expect((await migrationRuns(crm.databaseUrl))[0]!.backup).toMatchObject({ taken: true });
      expect((await verifyBackup(crm.databaseUrl, dir)).ok).toBe(true);
    } finally {
      await crm.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('on a server this machine has pg_dump for: a pg_dump custom-format file, restored by pg_restore and equal', async () => {
    const bin = debianPostgresBin();
    // .ci/run installs Debian's PostgreSQL: without it this test fails rather than passing unrun
    expect(bin, 'Debian PostgreSQL (/usr/lib/postgresql/<n>/bin) is needed for the pg_dump path').not.toBeNull();
    const server = await startDebianPostgres(bin!);
    let dir = '';
    try {
      const admin = new pg.Client({ connectionString: server.adminUrl });
      await admin.connect();
      await admin.query('CREATE DATABASE crm');
      await admin.end();
      const crm = await startTestCrm({ profile: 'legacy', databaseUrl: server.adminUrl.replace(/\/postgres$/, '/crm') });
      try {
        const r = await runWithBackup(crm);
        dir = r.dir;
        expect(r.backup.format).toBe('pg_dump');
        expect(readFileSync(r.backup.path).subarray(0, 5).toString()).toBe('PGDMP');
        const v = await verifyBackup(crm.databaseUrl, r.dir, r.runId);
        expect(v.problems).toEqual([]);
        expect(v).toMatchObject({ ok: true, checksumEqual: true, format: 'pg_dump' });
        expect(v.tables.every((t) => t.equal && t.rowsRestored === t.rowsAtDump)).toBe(true);
      } finally {
        await crm.close();
      }
    } finally {
      server.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('from the CLI: migrate run backs up by default, migrate backup verify proves it restores (exit 0), --no-backup is recorded', async () => {
    const crm = await startTestCrm({ profile: 'legacy' });
    const home = referenceHome(crm, 'migbackup');
    try {
      const cli = referenceCli(crm, home);
      // the health thresholds go into the plan; a signal the runner does not know is refused
      const planned = await cli(['migrate', 'plan', '--tables', TABLES.join(','), '--health', 'walMiBPerSecond=5', '--health', 'longestTransactionSeconds=60']);
      expect(JSON.parse(planned.out).plan.options.health).toEqual({ walMiBPerSecond: 5, longestTransactionSeconds: 60 });
      const odd = await cli(['migrate', 'plan', '--health', 'cpu=5']);
      expect(odd.code).toBe(2);
      expect(odd.out + odd.err).toMatch(/--health cpu=5: say one of replicaLagSeconds/);
      const ran = await cli(['migrate', 'run', '--tables', TABLES.join(','), '--yes']);
      expect(ran.code, ran.err).toBe(0);
      const runs = JSON.parse((await cli(['migrate', 'runs'])).out).runs;
      expect(runs[0].backup).toMatchObject({ taken: true });
      expect(runs[0].backup.path.startsWith(join(home, 'backups'))).toBe(true);
      const verified = await cli(['migrate', 'backup', 'verify', String(runs[0].id)]);
      expect(verified.code, verified.err).toBe(0);
      expect(JSON.parse(verified.out)).toMatchObject({ ok: true, checksumEqual: true, runId: runs[0].id });
      expect((await cli(['migrate', 'rollback', '--yes'])).code).toBe(0);
      const bare = await cli(['migrate', 'run', '--tables', TABLES.join(','), '--yes', '--no-backup']);
      expect(bare.code, bare.err).toBe(0);
      expect(JSON.parse((await cli(['migrate', 'runs'])).out).runs[0].backup).toMatchObject({ taken: false, reason: expect.stringMatching(/--no-backup/) });
      // a run without a backup has none to verify: the command says so and fails (exit 2)
      const none = await cli(['migrate', 'backup', 'verify']);
      expect(none.code).toBe(2);
      expect(none.out + none.err).toMatch(/took no backup/);
    } finally {
      await crm.close();
      rmSync(home, { recursive: true, force: true });
    }
  }, 180_000);
});
