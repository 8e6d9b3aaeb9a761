import type pg from 'pg';

/**
 * The PostgreSQL catalog of the current schema, read once: every table with its columns, its
 * keys (primary, unique, foreign, and the indexes no constraint owns) and its heap size, and every
 * name taken. Catalog discovery, the directory, the schema audit and the migration planner all
 * read this one snapshot; what they make of it are pure functions.
 */

export interface PgColumn {
  name: string;
  /** information_schema's data_type: uuid, text, character varying, timestamp with time zone, … */
  type: string;
  nullable: boolean;
}

/** p, u and f are constraints; i and U are indexes no constraint owns (U unique). */
export type PgKeyKind = 'p' | 'u' | 'f' | 'i' | 'U';

export interface PgKey {
  name: string;
  kind: PgKeyKind;
  columns: string[];
  /** the table a foreign key points at */
  refTable: string | null;
}

export interface PgTable {
  name: string;
  columns: PgColumn[];
  keys: PgKey[];
  heapBytes: number;
}

export interface SchemaSnapshot {
  schema: string;
  /** the base tables of the schema, by name, columns in order */
  tables: Map<string, PgTable>;
  /** every relation name in the schema and every constraint name (a planned name that is taken gets a suffix) */
  names: Set<string>;
}

/** Reads the snapshot on a client the caller holds (in a read-only transaction, ideally). */
export async function readSchemaSnapshot(c: pg.ClientBase): Promise<SchemaSnapshot> {
  const schema = (await c.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s;
  const tables = new Map<string, PgTable>();
  const columns = await c.query<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>(`
    SELECT c.table_name::text, c.column_name::text, c.data_type::text, c.is_nullable::text
    FROM information_schema.columns c JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema
    WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
    ORDER BY c.table_name, c.ordinal_position`);
  for (const r of columns.rows) {
    const t = tables.get(r.table_name) ?? { name: r.table_name, columns: [], keys: [], heapBytes: 0 };
    t.columns.push({ name: r.column_name, type: r.data_type, nullable: r.is_nullable === 'YES' });
    tables.set(r.table_name, t);
  }
  const keys = await c.query<{ table_name: string; name: string; kind: PgKeyKind; cols: string[]; ref_table: string | null }>(`
    SELECT cl.relname::text AS table_name, k.conname::text AS name, k.contype::text AS kind, rc.relname::text AS ref_table,
      ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, o) JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.o)::text[] AS cols
    FROM pg_constraint k JOIN pg_class cl ON cl.oid = k.conrelid JOIN pg_namespace ns ON ns.oid = cl.relnamespace AND ns.nspname = current_schema()
    LEFT JOIN pg_class rc ON rc.oid = k.confrelid
    WHERE k.contype IN ('p', 'u', 'f')
    UNION ALL
    SELECT t.relname::text, i.relname::text, CASE WHEN x.indisunique THEN 'U' ELSE 'i' END, NULL::text,
      ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY u(n, o) JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.n ORDER BY u.o)::text[]
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace ns ON ns.oid = t.relnamespace AND ns.nspname = current_schema()
    WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
    ORDER BY 1, 2`);
  for (const r of keys.rows) tables.get(r.table_name)?.keys.push({ name: r.name, kind: r.kind, columns: r.cols, refTable: r.ref_table });
  const heap = await c.query<{ relname: string; heap: string }>(`
    SELECT c.relname::text AS relname, pg_relation_size(c.oid)::text AS heap FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema() WHERE c.relkind = 'r'`);
  for (const r of heap.rows) {
    const t = tables.get(r.relname);
    if (t) t.heapBytes = Number(r.heap);
  }
  const names = new Set(
    (
      await c.query<{ n: string }>(`
    SELECT relname::text AS n FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace AND ns.nspname = current_schema() UNION SELECT conname::text FROM pg_constraint`)
    ).rows.map((r) => r.n),
  );
  return { schema, tables, names };
}

/** A table's column names in order, or undefined when the schema has no such table. */
export const columnNames = (s: SchemaSnapshot, table: string): string[] | undefined => s.tables.get(table)?.columns.map((c) => c.name);

export const hasColumn = (s: SchemaSnapshot, table: string, column: string): boolean => !!s.tables.get(table)?.columns.some((c) => c.name === column);

export const primaryKey = (s: SchemaSnapshot, table: string): string[] | undefined => s.tables.get(table)?.keys.find((k) => k.kind === 'p')?.columns;

/** The table a foreign key whose first column is `column` points at. */
export const referenceOf = (s: SchemaSnapshot, table: string, column: string): string | undefined =>
  s.tables.get(table)?.keys.find((k) => k.kind === 'f' && k.columns[0] === column)?.refTable ?? undefined;

/** The table the users' company_id points at (companies when the database does not say). */
export const companiesTableOf = (s: SchemaSnapshot, usersTable: string): string => referenceOf(s, usersTable, 'company_id') ?? 'companies';
