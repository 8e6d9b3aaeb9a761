import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { ConnectionProfile } from '../../src-shared/profile.ts';
import { AppError } from '../../src-shared/result.ts';
import { dataAsOf, type OpenCache } from '../cache/cacheDb.ts';
import { openSqlite } from '../core/sqlite.ts';
import { deriveKey } from '../core/keys.ts';
import { ALL } from '../../src-shared/partitions.ts';

/**
 * One tenant's cache in one file, for support staff on another machine: the tenant's rows,
 * references, sync state and leak evidence in a SQLite file, gzipped and sealed with AES-256-GCM
 * under a key derived from a passphrase (scrypt). The connection profile travels without any
 * secret (profiles hold none: passwords live in the secret store, databases' URLs too).
 *
 * File: "TSX1" | salt (16) | iv (12) | tag (16) | ciphertext.
 */
const MAGIC = Buffer.from('TSX1');

/** The tables of an export file, and nothing else: an import refuses any other object in it. */
export const EXPORT_SCHEMA = `CREATE TABLE meta (json TEXT NOT NULL);
  CREATE TABLE records (rid INTEGER PRIMARY KEY, company_id TEXT, resource TEXT, id TEXT, updated_at TEXT, deleted INTEGER, payload TEXT, fetched_by TEXT, fetched_from TEXT, fetched_at TEXT, has_company_field INTEGER, own_company TEXT);
  CREATE TABLE refs (company_id TEXT, rid INTEGER, field TEXT, target_resource TEXT, target_id TEXT, resource TEXT);
  CREATE TABLE sync_state (company_id TEXT, resource TEXT, high_water TEXT, rows INTEGER, pages INTEGER, last_finished_at TEXT, proof TEXT);
  CREATE TABLE leaks (identity_company_id TEXT, company_id TEXT, resource TEXT, id TEXT, identity TEXT, request TEXT, observed_at TEXT);`;
const EXPORT_TABLES = [...EXPORT_SCHEMA.matchAll(/CREATE TABLE (\w+)/g)].map((m) => m[1]!);

export interface ExportMeta {
  tenant: { id: string; name: string };
  profile: Record<string, unknown>;
  exportedAt: string;
  exportedBy: string;
  dataAsOf: string | null;
  rows: number;
}

export async function exportTenant(raw: OpenCache['raw'], profile: ConnectionProfile, tenant: { id: string; name: string }, passphrase: string, by: string): Promise<{ bytes: Buffer; meta: ExportMeta }> {
  const dir = mkdtempSync(join(tmpdir(), 'tenantscope-export-'));
  const file = join(dir, 'tenant.sqlite');
  try {
    const out = openSqlite(file);
    out.exec(EXPORT_SCHEMA);
    out.close();
    raw.prepare('ATTACH DATABASE ? AS x').run(file);
    let rows = 0;
    try {
      raw.transaction(() => {
        rows = raw.prepare(`INSERT INTO x.records SELECT rid, company_id, resource, id, updated_at, deleted, payload, fetched_by, fetched_from, fetched_at, has_company_field, own_company FROM main.records WHERE company_id = ?`).run(tenant.id).changes;
        raw.prepare(`INSERT INTO x.refs SELECT company_id, rid, field, target_resource, target_id, resource FROM main.refs WHERE company_id = ?`).run(tenant.id);
        // a resource's state: the tenant's own sync or a sync of every tenant at once (kept under
        // '*', it covered this tenant too), whichever finished last; the tenant's own proof. (A
        // proof alone leaves a row with no sync in it: the sync of every tenant still counts.)
        raw.prepare(`INSERT INTO x.sync_state
          SELECT @t, r.resource,
            CASE WHEN coalesce(t.last_finished_at, '') >= coalesce(a.last_finished_at, '') THEN t.high_water ELSE a.high_water END,
            CASE WHEN coalesce(t.last_finished_at, '') >= coalesce(a.last_finished_at, '') THEN t.rows ELSE a.rows END,
            CASE WHEN coalesce(t.last_finished_at, '') >= coalesce(a.last_finished_at, '') THEN t.pages ELSE a.pages END,
            nullif(max(coalesce(t.last_finished_at, ''), coalesce(a.last_finished_at, '')), ''),
            t.proof
          FROM (SELECT DISTINCT resource FROM main.sync_state WHERE company_id IN (@t, '${ALL}')) r
          LEFT JOIN main.sync_state t ON t.company_id = @t AND t.resource = r.resource
          LEFT JOIN main.sync_state a ON a.company_id = '${ALL}' AND a.resource = r.resource`).run({ t: tenant.id });
        raw.prepare(`INSERT INTO x.leaks SELECT * FROM main.leaks WHERE identity_company_id = ? OR company_id = ?`).run(tenant.id, tenant.id);
      })();
    } finally {
      raw.prepare('DETACH DATABASE x').run();
    }
    const { embedded: _e, demoPassword: _d, ...rest } = profile as ConnectionProfile & { embedded?: unknown; demoPassword?: unknown };
    const meta: ExportMeta = { tenant, profile: rest as Record<string, unknown>, exportedAt: new Date().toISOString(), exportedBy: by, dataAsOf: dataAsOf(raw, tenant.id), rows };
    const db = openSqlite(file);
    db.prepare('INSERT INTO meta (json) VALUES (?)').run(JSON.stringify(meta));
    db.close();
    const salt = randomBytes(16);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', await deriveKey(passphrase, salt), iv);
    const body = Buffer.concat([cipher.update(gzipSync(readFileSync(file))), cipher.final()]);
    return { bytes: Buffer.concat([MAGIC, salt, iv, cipher.getAuthTag(), body]), meta };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The most an export may expand to, and how many times its sealed size (a gzip bomb is refused before it fills memory or disk). */
export const IMPORT_LIMITS = { maxPlainBytes: 1024 * 1024 * 1024, maxRatio: 100 };

/**
 * Opens an export: wrong passphrase, damage, a file that expands too far and files of another
 * kind are said so and change nothing; the temporary copy is removed on every path but success
 * (where `cleanup` removes it).
 */
export async function readExport(bytes: Buffer, passphrase: string, limits = IMPORT_LIMITS): Promise<{ file: string; meta: ExportMeta; cleanup(): void }> {
  if (bytes.length < 48 || !bytes.subarray(0, 4).equals(MAGIC)) throw new AppError('invalid-input', 'This is not a TenantScope tenant export.');
  const salt = bytes.subarray(4, 20);
  const iv = bytes.subarray(20, 32);
  const tag = bytes.subarray(32, 48);
  // the scrypt cost is the console's own (core/keys), never read from the file
  const key = await deriveKey(passphrase, salt);
  let sealed: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAuthTag(tag);
    sealed = Buffer.concat([decipher.update(bytes.subarray(48)), decipher.final()]);
  } catch {
    throw new AppError('bad-credentials', 'The passphrase is wrong, or the file is damaged: nothing was imported.');
  }
  const most = Math.min(limits.maxPlainBytes, Math.max(64 * 1024 * 1024, sealed.length * limits.maxRatio));
  let plain: Buffer;
  try {
    plain = gunzipSync(sealed, { maxOutputLength: most });
  } catch (e) {
    const tooBig = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError;
    throw new AppError('invalid-input', tooBig
      ? `The export expands to more than ${Math.round(most / 1024 / 1024)} MiB (${limits.maxRatio} times its size at most, ${Math.round(limits.maxPlainBytes / 1024 / 1024)} MiB in all): nothing was imported.`
      : 'The export is sealed but not compressed as TenantScope writes it: nothing was imported.');
  }
  const dir = mkdtempSync(join(tmpdir(), 'tenantscope-import-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    const file = join(dir, 'tenant.sqlite');
    writeFileSync(file, plain, { mode: 0o600 });
    let db;
    try {
      db = openSqlite(file, { readonly: true });
      const objects = db.prepare("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_autoindex_%'").all() as Array<{ type: string; name: string }>;
      const odd = objects.filter((o) => o.type !== 'table' || !EXPORT_TABLES.includes(o.name));
      const missing = EXPORT_TABLES.filter((t) => !objects.some((o) => o.type === 'table' && o.name === t));
      if (odd.length || missing.length) {
        throw new AppError('invalid-input', `This export holds ${odd.length ? odd.slice(0, 3).map((o) => `a ${o.type} "${o.name.slice(0, 40)}"`).join(', ') : `no ${missing.join(', ')} table`}, which TenantScope never writes: nothing was imported.`);
      }
      const row = db.prepare('SELECT json FROM meta LIMIT 1').get() as { json: unknown } | undefined;
      const meta = typeof row?.json === 'string' ? (JSON.parse(row.json) as ExportMeta) : null;
      if (!meta || typeof meta.tenant?.id !== 'string' || typeof meta.tenant?.name !== 'string' || !meta.profile || typeof meta.profile !== 'object') {
        throw new AppError('invalid-input', 'This export has no description of its tenant: nothing was imported.');
      }
      return { file, meta, cleanup };
    } finally {
      db?.close();
    }
  } catch (e) {
    cleanup();
    if (e instanceof AppError) throw e;
    throw new AppError('invalid-input', `This export could not be read (${(e as Error).message.slice(0, 120)}): nothing was imported.`);
  }
}

/** Copies an opened export into a connection's cache (its partition replaced as a whole). */
export function importInto(raw: OpenCache['raw'], file: string, tenantId: string): number {
  raw.prepare('ATTACH DATABASE ? AS x').run(file);
  try {
    let rows = 0;
    raw.transaction(() => {
      raw.prepare('DELETE FROM main.refs WHERE company_id = ?').run(tenantId);
      raw.prepare('DELETE FROM main.records WHERE company_id = ?').run(tenantId);
      raw.prepare('DELETE FROM main.sync_state WHERE company_id = ?').run(tenantId);
      // rids are renumbered on the way in; references follow their row
      raw.exec('CREATE TEMP TABLE rid_map (old INTEGER PRIMARY KEY, new INTEGER NOT NULL)');
      rows = raw.prepare(`INSERT INTO main.records (company_id, resource, id, updated_at, deleted, payload, fetched_by, fetched_from, fetched_at, has_company_field, own_company)
          SELECT company_id, resource, id, updated_at, deleted, payload, fetched_by, fetched_from, fetched_at, has_company_field, own_company FROM x.records WHERE company_id = ?`).run(tenantId).changes;
      raw.prepare(`INSERT INTO temp.rid_map (old, new) SELECT xr.rid, mr.rid FROM x.records xr JOIN main.records mr ON mr.company_id = xr.company_id AND mr.resource = xr.resource AND mr.id = xr.id WHERE xr.company_id = ?`).run(tenantId);
      raw.exec(`INSERT OR REPLACE INTO main.refs (company_id, rid, field, target_resource, target_id, resource) SELECT f.company_id, m.new, f.field, f.target_resource, f.target_id, f.resource FROM x.refs f JOIN temp.rid_map m ON m.old = f.rid`);
      // an export speaks for its own tenant only
      raw.prepare(`INSERT OR REPLACE INTO main.sync_state (company_id, resource, high_water, rows, pages, last_finished_at, proof) SELECT company_id, resource, high_water, rows, pages, last_finished_at, proof FROM x.sync_state WHERE company_id = ?`).run(tenantId);
      raw.prepare(`INSERT OR IGNORE INTO main.leaks (identity_company_id, company_id, resource, id, identity, request, observed_at) SELECT identity_company_id, company_id, resource, id, identity, request, observed_at FROM x.leaks WHERE identity_company_id = @t OR company_id = @t`).run({ t: tenantId });
      raw.exec('DROP TABLE temp.rid_map');
    })();
    return rows;
  } finally {
    raw.prepare('DETACH DATABASE x').run();
  }
}
