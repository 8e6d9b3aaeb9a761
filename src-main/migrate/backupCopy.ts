import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { z } from 'zod';
import { AppError } from '../../src-shared/result.ts';
import { ident } from '../pgdb/target.ts';

/**
 * TenantScope's own backup, for when no pg_dump on this machine is as new as the server: each
 * table's definition and its rows as COPY text, read in the caller's snapshot, written as plain
 * SQL and gzipped, so that `gunzip -c FILE | psql -d DB` restores it anywhere. Reading it back
 * (backup verify) executes none of it: the tables are made from the manifest on its second line,
 * every name quoted and every type checked, and the rows go in through COPY as data.
 */

const MAGIC = '-- TenantScope backup (plain SQL, gzipped)';
/** a type as format_type writes it: words, a precision, array brackets; nothing else gets into DDL */
const TYPE_TEXT = /^[a-z][a-z0-9_ ]*(\(\d+(,\s?\d+)?\))?( with(out)? time zone)?(\[\])*$/;

const ManifestSchema = z.object({
  schema: z.string().min(1),
  tables: z.array(
    z.object({
      table: z.string().min(1),
      columns: z.array(z.object({ name: z.string().min(1), type: z.string(), builtin: z.boolean() })).min(1),
    }),
  ),
});
type Manifest = z.output<typeof ManifestSchema>;
type ManifestTable = Manifest['tables'][number];

const qualified = (schema: string, table: string) => `${ident(schema)}.${ident(table)}`;
const copyLine = (schema: string, t: ManifestTable) => `COPY ${qualified(schema, t.table)} (${t.columns.map((c) => ident(c.name)).join(', ')}) FROM stdin;`;
/** what a restore creates a column as: its own type when it is one of PostgreSQL's, else text (an enum, a domain: not in the dump) */
const columnType = (c: ManifestTable['columns'][number]) => (c.builtin && TYPE_TEXT.test(c.type) ? c.type : 'text');

async function columnsOf(c: pg.ClientBase, schema: string, table: string): Promise<ManifestTable['columns']> {
  const { rows } = await c.query<{ name: string; type: string; builtin: boolean }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typnamespace = 'pg_catalog'::regnamespace AS builtin
     FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
     WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [qualified(schema, table)],
  );
  return rows;
}

function jsonOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

async function write(out: NodeJS.WritableStream, chunk: string | Buffer): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}

/** Writes the tables, as the transaction `c` sees them, to `path`. */
export async function copyDump(c: pg.ClientBase, schema: string, tables: string[], path: string, header: string): Promise<void> {
  const manifest: Manifest = { schema, tables: [] };
  for (const table of tables) manifest.tables.push({ table, columns: await columnsOf(c, schema, table) });
  const file = createWriteStream(path, { mode: 0o600 });
  const gz = createGzip({ level: 1 });
  gz.pipe(file);
  await write(
    gz,
    `${MAGIC}\n-- manifest: ${JSON.stringify(manifest)}\n-- ${header}\n-- Restore: gunzip -c FILE | psql -d DATABASE (a database without these tables)\n`,
  );
  await write(gz, `CREATE SCHEMA IF NOT EXISTS ${ident(schema)};\n`);
  for (const t of manifest.tables) {
    await write(gz, `\nCREATE TABLE ${qualified(schema, t.table)} (${t.columns.map((col) => `${ident(col.name)} ${columnType(col)}`).join(', ')});\n`);
    await write(gz, `${copyLine(schema, t)}\n`);
    const rows = c.query(copyStreams.to(`COPY ${qualified(schema, t.table)} (${t.columns.map((col) => ident(col.name)).join(', ')}) TO STDOUT`));
    for await (const chunk of rows) await write(gz, chunk as Buffer);
    await write(gz, '\\.\n');
  }
  gz.end();
  await finished(file);
}

/**
 * Restores a copy backup into the database `c` is connected to: the manifest's tables made with
 * quoted names and checked types, the rows through COPY. Answers the schema and tables restored.
 */
export async function copyRestore(c: pg.ClientBase, path: string): Promise<Manifest> {
  const lines = createInterface({ input: createReadStream(path).pipe(createGunzip()), crlfDelay: Infinity })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await lines.next();
    return r.done ? null : (r.value as string);
  };
  if ((await next()) !== MAGIC) throw new AppError('invalid-input', `${path} is not a TenantScope backup.`);
  const m = /^-- manifest: (.*)$/.exec((await next()) ?? '');
  const parsed = m ? ManifestSchema.safeParse(jsonOrNull(m[1]!)) : null;
  if (!parsed?.success) throw new AppError('invalid-input', `${path}: its manifest is missing or damaged.`);
  const manifest = parsed.data;
  await c.query(`CREATE SCHEMA IF NOT EXISTS ${ident(manifest.schema)}`);
  for (const t of manifest.tables) {
    for (const col of t.columns) if (columnType(col) !== 'text') await c.query('SELECT $1::regtype', [col.type]);
    await c.query(`CREATE TABLE ${qualified(manifest.schema, t.table)} (${t.columns.map((col) => `${ident(col.name)} ${columnType(col)}`).join(', ')})`);
    const expected = copyLine(manifest.schema, t);
    for (let line = await next(); line !== expected; line = await next())
      if (line === null) throw new AppError('invalid-input', `${path} ends before the rows of ${t.table}.`);
    const into = c.query(copyStreams.from(`COPY ${qualified(manifest.schema, t.table)} (${t.columns.map((col) => ident(col.name)).join(', ')}) FROM STDIN`));
    let ended = false;
    // rows go in as chunks of about 256 KiB, not a write a line
    let chunk: string[] = [];
    let size = 0;
    for (let line = await next(); line !== null; line = await next()) {
      if (line === '\\.') {
        ended = true;
        break;
      }
      chunk.push(line);
      size += line.length + 1;
      if (size >= 262_144) {
        await write(into, `${chunk.join('\n')}\n`);
        chunk = [];
        size = 0;
      }
    }
    if (chunk.length) await write(into, `${chunk.join('\n')}\n`);
    into.end();
    await finished(into);
    if (!ended) throw new AppError('invalid-input', `${path} ends inside the rows of ${t.table}.`);
  }
  return manifest;
}
