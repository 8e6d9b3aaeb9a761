import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import type pg from 'pg';
import { bytes as sized } from '../../src-shared/format.ts';
import type { BackupRecord, BackupVerification, MigrationPlan, PreflightItem } from '../../src-shared/migration.ts';
import { AppError } from '../../src-shared/result.ts';
import { databaseLabel, ident, onTarget, PgTarget } from '../pgdb/target.ts';
import { copyDump, copyRestore } from './backupCopy.ts';
import { connectionFor, findPgTools, pgDumpPath, pgRestorePath, type PgToolsFound } from './pgTools.ts';
import { latestRun, loadRun, readBackup } from './state.ts';
import { fingerprint } from './verify.ts';

/**
 * The backup a run takes before its first DDL: exactly the tables the plan changes, in one
 * snapshot whose fingerprints are recorded with it, by pg_dump (custom format) when this machine
 * has one as new as the server, else by TenantScope's own COPY backup (backupCopy.ts). `verify`
 * restores it into a scratch database and compares the fingerprints with the source's as of the dump.
 */

const run = promisify(execFile);

export const serverMajor = async (c: pg.ClientBase): Promise<number> =>
  Math.floor(Number((await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v) / 10_000);

const toolText = (found: PgToolsFound, major: number) =>
  found.tools
    ? `pg_dump ${found.tools.version} (${found.tools.dir})`
    : `TenantScope's own COPY backup (plain SQL, gzipped; psql restores it): no pg_dump ${major} or newer on this machine${found.seen.length ? ` (found ${found.seen.map((s) => s.version).join(', ')})` : ''}; set TENANTSCOPE_PG_BIN to its folder to use it`;

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** A file name for the database's backups: its label with anything odd made a dash. */
export const backupDirFor = (home: string, url: string) => join(home, 'backups', databaseLabel(url).replace(/[^A-Za-z0-9._-]+/g, '-'));

/** Takes the backup of the run's tables into `dir`; the record says where, how big, its checksum and fingerprints. */
export async function takeBackup(target: PgTarget, runId: number, plan: MigrationPlan, dir: string, log: (line: string) => void): Promise<BackupRecord> {
  const c = await target.client('tenantscope-backup');
  const started = performance.now();
  let path = '';
  try {
    const major = await serverMajor(c);
    const found = await findPgTools(major);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    path = join(dir, `run-${runId}-${stamp}.${found.tools ? 'dump' : 'sql.gz'}`);
    log(`backup of ${plan.tables.length} tables by ${toolText(found, major)} into ${path}`);
    // one snapshot for the dump and the fingerprints it is checked against
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await c.query(`SET LOCAL search_path TO ${ident(plan.schema)}`);
    const snapshot = (await c.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
    const tables = [];
    for (const t of plan.tables) tables.push({ table: t.table, ...(await fingerprint(c, t)) });
    const names = plan.tables.map((t) => t.table);
    if (found.tools) {
      const { dbname, env } = connectionFor(target.url, 'tenantscope-backup');
      const quoted = (s: string) => `"${s.replace(/"/g, '""')}"`;
      const args = ['--format=custom', `--snapshot=${snapshot}`, '--no-password', '--strict-names', `--file=${path}`];
      for (const n of names) args.push('--table', `${quoted(plan.schema)}.${quoted(n)}`);
      await run(pgDumpPath(found.tools), [...args, `--dbname=${dbname}`], { env, maxBuffer: 16 * 1024 * 1024 }).catch(
        (e: { stderr?: string; message: string }) => {
          throw new AppError('internal', `pg_dump failed: ${(e.stderr || e.message).trim()}`);
        },
      );
    } else {
      await copyDump(c, plan.schema, names, path, `run ${runId} of ${target.label}, ${new Date().toISOString()}`);
    }
    await c.query('COMMIT');
    const record: BackupRecord = {
      taken: true,
      format: found.tools ? 'pg_dump' : 'copy',
      tool: found.tools ? `pg_dump ${found.tools.version}` : 'tenantscope-copy',
      path,
      bytes: statSync(path).size,
      sha256: await sha256(path),
      takenAt: new Date().toISOString(),
      seconds: (performance.now() - started) / 1000,
      tables,
      note: found.tools ? null : toolText(found, major),
    };
    // beside the file, for whoever finds it without the database
    writeFileSync(`${path}.json`, JSON.stringify({ runId, database: target.label, ...record }, null, 2), { mode: 0o600 });
    log(`backup taken: ${sized(record.bytes)} in ${record.seconds.toFixed(1)} s, sha256 ${record.sha256.slice(0, 12)}…`);
    return record;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    if (path) rmSync(path, { force: true });
    const why = e instanceof AppError ? e.message : (e as Error).message;
    throw new AppError(
      e instanceof AppError ? e.code : 'internal',
      `The backup before the first change failed: ${why}. Nothing was changed; run again to retry, or run with --no-backup.`,
    );
  } finally {
    c.release(true);
  }
}

/** The backup's line in the preflight: which tool, how big, how long, and whether the disk has room. */
export async function backupPreflight(target: PgTarget, plan: MigrationPlan, dir: string): Promise<PreflightItem[]> {
  const major = await target.reading('tenantscope-preflight', serverMajor);
  const found = await findPgTools(major);
  const est = plan.backupEstimate;
  const out: PreflightItem[] = [
    {
      level: 'ok',
      message: `Before the first change, a backup of the ${plan.tables.length} tables by ${toolText(found, major)}${est ? `: about ${sized(est.bytes)}, about ${Math.max(1, Math.ceil(est.seconds))} s` : ''}, into ${dir}.`,
    },
  ];
  if (est) {
    let free: number | null = null;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const s = statfsSync(dir);
      free = s.bavail * s.bsize;
    } catch {
      /* unknown */
    }
    if (free !== null && free < est.bytes * 1.2)
      out.push({
        level: 'fail',
        message: `The backup needs about ${sized(est.bytes)} and ${dir} has ${sized(free)} free: free some space, or run with --no-backup.`,
      });
  }
  return out;
}

/** A scratch database on the same server, dropped when `fn` ends. */
async function withScratch<T>(target: PgTarget, runId: number, fn: (scratch: PgTarget, name: string) => Promise<T>): Promise<T> {
  const name = `tenantscope_verify_${runId}_${randomBytes(4).toString('hex')}`;
  const admin = await target.client('tenantscope-backup-verify');
  try {
    await admin.query(`CREATE DATABASE ${ident(name)}`).catch((e: { code?: string; message: string }) => {
      throw new AppError(
        e.code === '42501' ? 'forbidden' : 'internal',
        `Cannot make a scratch database to restore into (${e.message}): the database user needs CREATEDB.`,
      );
    });
    const url = new URL(target.url);
    url.pathname = `/${name}`;
    const scratch = new PgTarget(url.toString(), ' (the scratch database)');
    try {
      return await fn(scratch, name);
    } finally {
      await scratch.end();
      await admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`).catch(() => {});
    }
  } finally {
    admin.release(true);
  }
}

async function restoreInto(scratch: PgTarget, backup: Extract<BackupRecord, { taken: true }>, schema: string, major: number): Promise<string[]> {
  const c = await scratch.client('tenantscope-backup-verify');
  try {
    if (backup.format === 'copy') {
      await copyRestore(c, backup.path);
      return [];
    }
    const found = await findPgTools(major);
    if (!found.tools) return [`no pg_restore ${major} or newer on this machine to restore a pg_dump backup`];
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
    const { dbname, env } = connectionFor(scratch.url, 'tenantscope-backup-verify');
    // the tables and their rows; indexes, keys and triggers may name what the dump leaves out
    const args = ['--no-owner', '--no-privileges', '--section=pre-data', '--section=data', '--no-password', `--dbname=${dbname}`, backup.path];
    const problems: string[] = [];
    await run(pgRestorePath(found.tools), args, { env, maxBuffer: 16 * 1024 * 1024 }).catch((e: { stderr?: string; message: string }) => {
      problems.push(`pg_restore reported: ${(e.stderr || e.message).trim().split('\n').slice(0, 5).join(' ')}`);
    });
    return problems;
  } finally {
    c.release(true);
  }
}

/**
 * The record read from the CRM's database names a file; it is restored only when it lies in this
 * console's backups of that database and its checksum is the one written beside it when it was
 * taken (a record changed in the database cannot make the console restore another file).
 */
function trustedFile(backup: Extract<BackupRecord, { taken: true }>, runId: number, dir: string): void {
  const path = resolve(backup.path);
  if (!path.startsWith(resolve(dir) + sep))
    throw new AppError(
      'forbidden',
      `Run ${runId}'s backup record names ${backup.path}, outside this console's backups of the database (${dir}): it is not restored.`,
    );
  if (!existsSync(path)) throw new AppError('not-found', `Run ${runId}'s backup is not at ${backup.path} any more.`);
  let beside: { runId?: unknown; sha256?: unknown } = {};
  try {
    beside = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as typeof beside;
  } catch {
    /* missing or unreadable: refused below */
  }
  if (beside.runId !== runId || beside.sha256 !== backup.sha256)
    throw new AppError(
      'forbidden',
      `Run ${runId}'s backup record does not match the note written beside ${backup.path} when it was taken: it is not restored.`,
    );
}

/** Restores a run's backup (from `dir`, this console's backups of the database) into a scratch database and compares every table's fingerprint with the one taken with it. */
export async function verifyBackup(db: PgTarget | string, dir: string, runId?: number): Promise<BackupVerification> {
  return onTarget(db, async (target) => {
    const { id, plan, backup, major } = await target.reading(
      'tenantscope-backup-verify',
      async (c) => {
        const id = await latestRun(c, runId);
        return { id, plan: (await loadRun(c, id)).plan, backup: await readBackup(c, id), major: await serverMajor(c) };
      },
      0,
    );
    if (!backup) throw new AppError('not-found', `Run ${id} has no backup recorded (it ran before backups were taken).`);
    if (!backup.taken) throw new AppError('not-found', `Run ${id} took no backup: ${backup.reason} (${backup.by}, ${backup.at}).`);
    trustedFile(backup, id, dir);
    const started = performance.now();
    const base = { runId: id, format: backup.format, path: backup.path };
    const checksumEqual = (await sha256(backup.path)) === backup.sha256;
    if (!checksumEqual)
      return {
        ...base,
        ok: false,
        checksumEqual,
        scratchDatabase: '',
        seconds: 0,
        tables: [],
        problems: ['the file changed since it was taken: it is not restored'],
      };
    return withScratch(target, id, async (scratch, name) => {
      const problems = await restoreInto(scratch, backup, plan.schema, major);
      const tables = await scratch.reading(
        'tenantscope-backup-verify',
        async (c) => {
          await c.query(`SET LOCAL search_path TO ${ident(plan.schema)}`);
          const out = [];
          for (const t of backup.tables) {
            const columns = plan.tables.find((p) => p.table === t.table)?.columns ?? [];
            const got = await c.query('SAVEPOINT t').then(() =>
              fingerprint(c, { table: t.table, columns }).then(
                (f) => f,
                async () => (await c.query('ROLLBACK TO SAVEPOINT t'), { rows: 0, fingerprint: 'not restored' }),
              ),
            );
            out.push({
              table: t.table,
              rowsAtDump: t.rows,
              rowsRestored: got.rows,
              fingerprintAtDump: t.fingerprint,
              fingerprintRestored: got.fingerprint,
              equal: got.fingerprint === t.fingerprint,
            });
          }
          return out;
        },
        0,
      );
      for (const t of tables)
        if (!t.equal)
          problems.push(
            `${t.table}: restored ${t.fingerprintRestored === 'not restored' ? 'nothing' : `${t.rowsRestored} rows`}, ${t.rowsAtDump} at the dump, fingerprints differ`,
          );
      return { ...base, ok: problems.length === 0, checksumEqual, scratchDatabase: name, seconds: (performance.now() - started) / 1000, tables, problems };
    });
  });
}
