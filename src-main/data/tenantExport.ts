import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { ConnectionProfile } from '../../src-shared/profile.ts';
import { AppError } from '../../src-shared/result.ts';
import { CACHE_MIGRATIONS, cacheSchemaAt, dataAsOf, openCache, schemaObjects, type OpenCache, type SchemaObject } from '../cache/cacheDb.ts';
import { openSqlite } from '../core/sqlite.ts';
import { deriveKey } from '../core/keys.ts';
import { ALL } from '../../src-shared/partitions.ts';

/**
 * One tenant's cache in one file, for support staff on another machine: the tenant's rows,
 * references, sync state and leak evidence in a SQLite file, gzipped and sealed with AES-256-GCM
 * under a key derived from a passphrase (scrypt). The connection profile travels without any
 * secret (profiles hold none: passwords live in the secret store, databases' URLs too).
 *
 * The file inside is a cache: made by the cache's own numbered migrations, so it has the cache's
 * schema at the version that wrote it, and its description in cache_meta (key "export"). An
 * import checks it holds exactly what those migrations make at its version (no view, trigger or
 * other object of anyone else's), then brings it forward with the same migrations.
 *
 * File: "TSX2" | salt (16) | iv (12) | tag (16) | ciphertext. (TSX1 files held a hand-written
 * schema; they are refused with a word to export again.)
 */
export const EXPORT_MAGIC = Buffer.from('TSX2');
const MAGIC = EXPORT_MAGIC;

/** Makes an empty export file: a cache, migrated, its journal kept in the file itself. */
export async function makeExportFile(file: string): Promise<void> {
  const made = await openCache(file);
  made.raw.pragma('journal_mode = DELETE');
  await made.close();
}

/** The export's description, in the file's cache_meta. */
export function writeExportMeta(raw: { prepare(sql: string): { run(...p: unknown[]): unknown } }, meta: ExportMeta): void {
  raw.prepare("INSERT OR REPLACE INTO cache_meta (key, value) VALUES ('export', ?)").run(JSON.stringify(meta));
}

const RECORD_COLUMNS = 'rid, company_id, resource, id, updated_at, deleted, payload, fetched_by, fetched_from, fetched_at, has_company_field, own_company';
const LEAK_COLUMNS = 'identity_company_id, company_id, resource, id, identity, request, observed_at';

export interface ExportMeta {
  tenant: { id: string; name: string };
  profile: Record<string, unknown>;
  exportedAt: string;
  exportedBy: string;
  dataAsOf: string | null;
  rows: number;
}

export async function exportTenant(
  raw: OpenCache['raw'],
  profile: ConnectionProfile,
  tenant: { id: string; name: string },
  passphrase: string,
  by: string,
): Promise<{ bytes: Buffer; meta: ExportMeta }> {
  const dir = mkdtempSync(join(tmpdir(), 'tenantscope-export-'));
  const file = join(dir, 'tenant.sqlite');
  try {
    await makeExportFile(file);
    raw.prepare('ATTACH DATABASE ? AS x').run(file);
    let rows = 0;
    try {
      raw.transaction(() => {
        rows = raw
          .prepare(
            `INSERT INTO x.records (${RECORD_COLUMNS}) SELECT rid, company_id, resource, id, updated_at, deleted, payload, fetched_by, fetched_from, fetched_at, has_company_field, own_company FROM main.records WHERE company_id = ?`,
          )
          .run(tenant.id).changes;
        raw
          .prepare(
            `INSERT INTO x.refs (company_id, rid, field, target_resource, target_id, resource) SELECT company_id, rid, field, target_resource, target_id, resource FROM main.refs WHERE company_id = ?`,
          )
          .run(tenant.id);
        // a resource's state: the tenant's own sync or a sync of every tenant at once (kept under
        // '*', it covered this tenant too), whichever finished last; the tenant's own proof. (A
        // proof alone leaves a row with no sync in it: the sync of every tenant still counts.)
        raw
          .prepare(
            `INSERT INTO x.sync_state (company_id, resource, high_water, rows, pages, last_finished_at, proof)
          SELECT @t, r.resource,
            CASE WHEN coalesce(t.last_finished_at, '') >= coalesce(a.last_finished_at, '') THEN t.high_water ELSE a.high_water END,
            CASE WHEN coalesce(t.last_finished_at, '') >= coalesce(a.last_finished_at, '') THEN t.rows ELSE a.rows END,
            CASE WHEN coalesce(t.last_finished_at, '') >= coalesce(a.last_finished_at, '') THEN t.pages ELSE a.pages END,
            nullif(max(coalesce(t.last_finished_at, ''), coalesce(a.last_finished_at, '')), ''),
            t.proof
          FROM (SELECT DISTINCT resource FROM main.sync_state WHERE company_id IN (@t, '${ALL}')) r
          LEFT JOIN main.sync_state t ON t.company_id = @t AND t.resource = r.resource
          LEFT JOIN main.sync_state a ON a.company_id = '${ALL}' AND a.resource = r.resource`,
          )
          .run({ t: tenant.id });
        raw
          .prepare(`INSERT INTO x.leaks (${LEAK_COLUMNS}) SELECT ${LEAK_COLUMNS} FROM main.leaks WHERE identity_company_id = ? OR company_id = ?`)
          .run(tenant.id, tenant.id);
      })();
    } finally {
      raw.prepare('DETACH DATABASE x').run();
    }
    const { embedded: _e, demoPassword: _d, ...rest } = profile as ConnectionProfile & { embedded?: unknown; demoPassword?: unknown };
    const meta: ExportMeta = {
      tenant,
      profile: rest as Record<string, unknown>,
      exportedAt: new Date().toISOString(),
      exportedBy: by,
      dataAsOf: dataAsOf(raw, tenant.id),
      rows,
    };
    const db = openSqlite(file);
    writeExportMeta(db, meta);
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
  if (bytes.length >= 48 && bytes.subarray(0, 4).equals(Buffer.from('TSX1')))
    throw new AppError(
      'invalid-input',
      'This export was made by an older TenantScope, in a format this one no longer reads: export the tenant again with this version.',
    );
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
    throw new AppError(
      'invalid-input',
      tooBig
        ? `The export expands to more than ${Math.round(most / 1024 / 1024)} MiB (${limits.maxRatio} times its size at most, ${Math.round(limits.maxPlainBytes / 1024 / 1024)} MiB in all): nothing was imported.`
        : 'The export is sealed but not compressed as TenantScope writes it: nothing was imported.',
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'tenantscope-import-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    const file = join(dir, 'tenant.sqlite');
    writeFileSync(file, plain, { mode: 0o600 });
    await checkExportSchema(file);
    // brought forward by the same migrations a cache runs (only once it holds nothing else)
    const opened = await openCache(file);
    try {
      const text = opened.raw.prepare("SELECT value FROM cache_meta WHERE key = 'export'").pluck().get();
      const meta = typeof text === 'string' ? (JSON.parse(text) as ExportMeta) : null;
      if (!meta || typeof meta.tenant?.id !== 'string' || typeof meta.tenant?.name !== 'string' || !meta.profile || typeof meta.profile !== 'object') {
        throw new AppError('invalid-input', 'This export has no description of its tenant: nothing was imported.');
      }
      return { file, meta, cleanup };
    } finally {
      await opened.close();
    }
  } catch (e) {
    cleanup();
    if (e instanceof AppError) throw e;
    throw new AppError('invalid-input', `This export could not be read (${(e as Error).message.slice(0, 120)}): nothing was imported.`);
  }
}

/**
 * Refuses a file that holds anything the cache's migrations do not make at the version the file
 * says it is: every object (table, index, view, trigger) is compared by type, name and SQL with a
 * cache made in memory by those migrations. Nothing of the file runs before this.
 */
async function checkExportSchema(file: string): Promise<void> {
  const db = openSqlite(file, { readonly: true });
  let objects: SchemaObject[];
  let applied: string[] = [];
  try {
    objects = schemaObjects(db);
    if (objects.some((o) => o.type === 'table' && o.name === 'kysely_migration')) {
      applied = db.prepare('SELECT name FROM kysely_migration ORDER BY name').pluck().all() as string[];
    }
  } finally {
    db.close();
  }
  const unknown = applied.filter((n) => !CACHE_MIGRATIONS.includes(n));
  if (unknown.length)
    throw new AppError(
      'invalid-input',
      `This export was made by a newer TenantScope (its cache has ${unknown.length} migration${unknown.length === 1 ? '' : 's'} this one does not know, such as ${unknown[0]!.slice(0, 60)}): import it with that version or a newer one. Nothing was imported.`,
    );
  if (applied.some((n, i) => n !== CACHE_MIGRATIONS[i]))
    throw new AppError('invalid-input', "This export's cache ran migrations out of order, which TenantScope never does: nothing was imported.");
  const same = (a: SchemaObject, b: SchemaObject) => a.type === b.type && a.name === b.name && a.sql === b.sql;
  const expected = await cacheSchemaAt(applied.length);
  const odd = objects.filter((o) => !expected.some((e) => same(e, o)));
  const missing = expected.filter((e) => !objects.some((o) => same(e, o)));
  if (odd.length || missing.length) {
    throw new AppError(
      'invalid-input',
      `This export holds ${
        odd.length
          ? odd
              .slice(0, 3)
              .map((o) => `a ${o.type} "${o.name.slice(0, 40)}"`)
              .join(', ')
          : `no ${missing
              .slice(0, 3)
              .map((m) => m.name)
              .join(', ')} ${missing.length === 1 ? missing[0]!.type : 'objects'}`
      }, which TenantScope never writes: nothing was imported.`,
    );
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
      rows = raw
        .prepare(
          `INSERT INTO main.records (company_id, resource, id, updated_at, deleted, payload, fetched_by, fetched_from, fetched_at, has_company_field, own_company)
          SELECT company_id, resource, id, updated_at, deleted, payload, fetched_by, fetched_from, fetched_at, has_company_field, own_company FROM x.records WHERE company_id = ?`,
        )
        .run(tenantId).changes;
      raw
        .prepare(
          `INSERT INTO temp.rid_map (old, new) SELECT xr.rid, mr.rid FROM x.records xr JOIN main.records mr ON mr.company_id = xr.company_id AND mr.resource = xr.resource AND mr.id = xr.id WHERE xr.company_id = ?`,
        )
        .run(tenantId);
      raw.exec(
        `INSERT OR REPLACE INTO main.refs (company_id, rid, field, target_resource, target_id, resource) SELECT f.company_id, m.new, f.field, f.target_resource, f.target_id, f.resource FROM x.refs f JOIN temp.rid_map m ON m.old = f.rid`,
      );
      // an export speaks for its own tenant only
      raw
        .prepare(
          `INSERT OR REPLACE INTO main.sync_state (company_id, resource, high_water, rows, pages, last_finished_at, proof) SELECT company_id, resource, high_water, rows, pages, last_finished_at, proof FROM x.sync_state WHERE company_id = ?`,
        )
        .run(tenantId);
      raw
        .prepare(`INSERT OR IGNORE INTO main.leaks (${LEAK_COLUMNS}) SELECT ${LEAK_COLUMNS} FROM x.leaks WHERE identity_company_id = @t OR company_id = @t`)
        .run({ t: tenantId });
      raw.exec('DROP TABLE temp.rid_map');
    })();
    return rows;
  } finally {
    raw.prepare('DETACH DATABASE x').run();
  }
}
