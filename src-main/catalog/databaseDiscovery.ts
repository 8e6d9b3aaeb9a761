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
