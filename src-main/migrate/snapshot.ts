import type pg from 'pg';

/** What the planner reads of the CRM's PostgreSQL catalog, in the current schema. */
export interface SchemaSnapshot {
  schema: string;
  /** the table the users' company_id points at */
  companiesTable: string;
  /** every table's columns, in order */
  columns: Map<string, string[]>;
  /** every table's primary key columns */
  primaryKeys: Map<string, string[]>;
  /** every table's heap size in bytes */
  heapBytes: Map<string, number>;
  /** every relation and constraint name taken (a planned name that is taken gets a suffix) */
  names: Set<string>;
}

/** Reads the snapshot in one read-only transaction the caller opened. */
export async function readSchemaSnapshot(client: pg.ClientBase, usersTable: string): Promise<SchemaSnapshot> {
  const schema = (await client.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s;
  const companiesTable = (await client.query<{ t: string }>(`
    SELECT rc.relname::text AS t FROM pg_constraint k JOIN pg_class cl ON cl.oid = k.conrelid JOIN pg_class rc ON rc.oid = k.confrelid
    JOIN pg_namespace ns ON ns.oid = cl.relnamespace AND ns.nspname = current_schema()
    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
    WHERE k.contype = 'f' AND cl.relname = $1 AND a.attname = 'company_id' LIMIT 1`, [usersTable])).rows[0]?.t ?? 'companies';
  const columns = new Map<string, string[]>();
  for (const r of (await client.query<{ table_name: string; column_name: string }>(`SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`)).rows) {
    columns.set(r.table_name, [...(columns.get(r.table_name) ?? []), r.column_name]);
  }
  const primaryKeys = new Map((await client.query<{ table_name: string; cols: string[] }>(`
    SELECT cl.relname::text AS table_name, ARRAY(SELECT a.attname FROM unnest(k.conkey) u(n) JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n)::text[] AS cols
    FROM pg_constraint k JOIN pg_class cl ON cl.oid = k.conrelid JOIN pg_namespace ns ON ns.oid = cl.relnamespace AND ns.nspname = current_schema()
    WHERE k.contype = 'p'`)).rows.map((r) => [r.table_name, r.cols]));
  const heapBytes = new Map((await client.query<{ relname: string; heap: string }>(`
    SELECT c.relname::text AS relname, pg_relation_size(c.oid)::text AS heap FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema() WHERE c.relkind = 'r'`)).rows.map((r) => [r.relname, Number(r.heap)]));
  const names = new Set((await client.query<{ n: string }>(`SELECT relname::text AS n FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace AND ns.nspname = current_schema() UNION SELECT conname::text FROM pg_constraint`)).rows.map((r) => r.n));
  return { schema, companiesTable, columns, primaryKeys, heapBytes, names };
}
