import pg from 'pg';
import { AppError } from '../../src-shared/result.ts';

export interface DbTable {
  name: string;
  columns: Array<{ name: string; type: string; nullable: boolean }>;
  foreignKeys: Array<{ column: string; table: string }>;
  /** tables whose rows point at this one */
  referencedBy: string[];
}

/** Reads tables, columns and foreign keys from the CRM's PostgreSQL (read-only queries). */
export async function readDatabase(url: string): Promise<DbTable[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 8000, statement_timeout: 20000 });
  try {
    await client.connect();
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    const what = code === '28P01' ? 'the user name or password is wrong' : code === '3D000' ? 'the database does not exist' : (e as Error).message;
    throw new AppError(code === '28P01' ? 'bad-credentials' : 'unreachable', `Cannot open the CRM's database: ${what}.`);
  }
  try {
    const cols = await client.query<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>(`
      SELECT c.table_name, c.column_name, c.data_type, c.is_nullable
      FROM information_schema.columns c JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema
      WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
      ORDER BY c.table_name, c.ordinal_position`);
    const fks = await client.query<{ table_name: string; column_name: string; ref_table: string }>(`
      SELECT cl.relname AS table_name, a.attname AS column_name, rc.relname AS ref_table
      FROM pg_constraint k
      JOIN pg_class cl ON cl.oid = k.conrelid
      JOIN pg_class rc ON rc.oid = k.confrelid
      JOIN pg_namespace n ON n.oid = cl.relnamespace AND n.nspname = current_schema()
      JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
      WHERE k.contype = 'f' AND array_length(k.conkey, 1) = 1`);
    const tables = new Map<string, DbTable>();
    for (const r of cols.rows) {
      const t = tables.get(r.table_name) ?? { name: r.table_name, columns: [], foreignKeys: [], referencedBy: [] };
      t.columns.push({ name: r.column_name, type: r.data_type, nullable: r.is_nullable === 'YES' });
      tables.set(r.table_name, t);
    }
    for (const r of fks.rows) {
      tables.get(r.table_name)?.foreignKeys.push({ column: r.column_name, table: r.ref_table });
      const target = tables.get(r.ref_table);
      if (target && r.ref_table !== r.table_name && !target.referencedBy.includes(r.table_name)) target.referencedBy.push(r.table_name);
    }
    return [...tables.values()];
  } finally {
    await client.end().catch(() => {});
  }
}

const COMPANY_COLUMN = /^(company|tenant|organization|organisation|org|account)_?id$/i;

/**
 * Every user's company, read from the users table, and the companies themselves (the table the
 * users' company column points at, with its name column): for a CRM with no users or companies
 * endpoint, this is what places owner-derived rows and names the tenants. Read-only; the table
 * and column names come from the catalog and the database and are quoted as identifiers.
 */
export async function readDirectory(url: string, table: string, opts: { users?: boolean } = {}): Promise<{ users: Array<{ id: string; companyId: string | null }>; companies: Array<{ id: string; name: string }> }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 8000, statement_timeout: 60000 });
  try {
    await client.connect();
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    throw new AppError(code === '28P01' ? 'bad-credentials' : 'unreachable', `Cannot open the CRM's database to read its users: ${code === '28P01' ? 'the user name or password is wrong' : (e as Error).message}.`);
  }
  const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
  const columnsOf = async (t: string) => (await client.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, [t])).rows.map((r) => r.column_name);
  try {
    const cols = await columnsOf(table);
    if (!cols.length) throw new AppError('not-found', `The CRM's database has no table "${table}" (the catalog's users).`);
    const company = cols.find((c) => COMPANY_COLUMN.test(c));
    if (!company || !cols.includes('id')) throw new AppError('bad-response', `The table "${table}" has no ${!cols.includes('id') ? 'id' : 'company'} column to place owners by.`);
    const users = opts.users === false ? [] : (await client.query<{ id: string; company: string | null }>(`SELECT id::text AS id, ${q(company)}::text AS company FROM ${q(table)}`)).rows.map((r) => ({ id: r.id, companyId: r.company }));
    // the companies: the table the company column points at, named by its name or title column
    const target = (await client.query<{ ref: string }>(`
      SELECT rc.relname AS ref FROM pg_constraint k
      JOIN pg_class cl ON cl.oid = k.conrelid JOIN pg_class rc ON rc.oid = k.confrelid
      JOIN pg_namespace n ON n.oid = cl.relnamespace AND n.nspname = current_schema()
      JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
      WHERE k.contype = 'f' AND cl.relname = $1 AND a.attname = $2 LIMIT 1`, [table, company])).rows[0]?.ref;
    let companies: Array<{ id: string; name: string }> = [];
    if (target) {
      const tcols = await columnsOf(target);
      const name = tcols.find((c) => /^(name|title|display_name|company_name)$/i.test(c));
      if (tcols.includes('id')) {
        companies = (await client.query<{ id: string; name: string | null }>(`SELECT id::text AS id, ${name ? `${q(name)}::text` : 'NULL'} AS name FROM ${q(target)} ORDER BY 2, 1`)).rows.map((r) => ({ id: r.id, name: r.name ?? r.id }));
      }
    }
    return { users, companies };
  } finally {
    await client.end().catch(() => {});
  }
}
