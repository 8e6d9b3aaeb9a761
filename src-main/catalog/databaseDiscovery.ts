import { AppError } from '../../src-shared/result.ts';
import { columnNames, readSchemaSnapshot, referenceOf, type SchemaSnapshot } from '../pgdb/snapshot.ts';
import { ident, onTarget, type PgTarget } from '../pgdb/target.ts';

export interface DbTable {
  name: string;
  columns: Array<{ name: string; type: string; nullable: boolean }>;
  foreignKeys: Array<{ column: string; table: string }>;
  /** tables whose rows point at this one */
  referencedBy: string[];
}

/** What discovery reads of a schema snapshot: tables, columns and single-column foreign keys. */
export function dbTablesOf(snapshot: SchemaSnapshot): DbTable[] {
  const tables = new Map<string, DbTable>();
  for (const t of snapshot.tables.values()) tables.set(t.name, { name: t.name, columns: t.columns.map((c) => ({ ...c })), foreignKeys: [], referencedBy: [] });
  for (const t of snapshot.tables.values()) {
    for (const k of t.keys) {
      if (k.kind !== 'f' || k.columns.length !== 1 || !k.refTable) continue;
      tables.get(t.name)!.foreignKeys.push({ column: k.columns[0]!, table: k.refTable });
      const target = tables.get(k.refTable);
      if (target && k.refTable !== t.name && !target.referencedBy.includes(t.name)) target.referencedBy.push(t.name);
    }
  }
  return [...tables.values()];
}

/** Reads tables, columns and foreign keys from the CRM's PostgreSQL (read-only). */
export async function readDatabase(db: PgTarget | string): Promise<DbTable[]> {
  return onTarget(db, (t) => t.reading('tenantscope-discovery', async (c) => dbTablesOf(await readSchemaSnapshot(c)), 20_000));
}

const COMPANY_COLUMN = /^(company|tenant|organization|organisation|org|account)_?id$/i;

/**
 * Every user's company, read from the users table, and the companies themselves (the table the
 * users' company column points at, with its name column): for a CRM with no users or companies
 * endpoint, this is what places owner-derived rows and names the tenants. Read-only; the table
 * and column names come from the catalog and the database and are quoted as identifiers.
 */
export async function readDirectory(
  db: PgTarget | string,
  table: string,
  opts: { users?: boolean } = {},
): Promise<{ users: Array<{ id: string; companyId: string | null }>; companies: Array<{ id: string; name: string }> }> {
  return onTarget(
    db,
    (t) =>
      t.reading('tenantscope-directory', async (c) => {
        const snapshot = await readSchemaSnapshot(c);
        const cols = columnNames(snapshot, table);
        if (!cols?.length) throw new AppError('not-found', `The CRM's database has no table "${table}" (the catalog's users).`);
        const company = cols.find((x) => COMPANY_COLUMN.test(x));
        if (!company || !cols.includes('id'))
          throw new AppError('bad-response', `The table "${table}" has no ${!cols.includes('id') ? 'id' : 'company'} column to place owners by.`);
        const users =
          opts.users === false
            ? []
            : (
                await c.query<{ id: string; company: string | null }>(`SELECT id::text AS id, ${ident(company)}::text AS company FROM ${ident(table)}`)
              ).rows.map((r) => ({ id: r.id, companyId: r.company }));
        // the companies: the table the company column points at, named by its name or title column
        const target = referenceOf(snapshot, table, company);
        const tcols = target ? (columnNames(snapshot, target) ?? []) : [];
        const name = tcols.find((x) => /^(name|title|display_name|company_name)$/i.test(x));
        const companies =
          target && tcols.includes('id')
            ? (
                await c.query<{ id: string; name: string | null }>(
                  `SELECT id::text AS id, ${name ? `${ident(name)}::text` : 'NULL'} AS name FROM ${ident(target)} ORDER BY 2, 1`,
                )
              ).rows.map((r) => ({ id: r.id, name: r.name ?? r.id }))
            : [];
        return { users, companies };
      }),
    ' to read its users',
  );
}
