import type { Catalog, Resource } from '../../src-shared/catalog.ts';
import type { TableAudit } from '../../src-shared/migration.ts';
import { companiesTableOf, hasColumn, primaryKey, readSchemaSnapshot, type PgKey, type SchemaSnapshot } from '../pgdb/snapshot.ts';
import { ident, onTarget, type PgTarget } from '../pgdb/target.ts';

/**
 * The schema audit of the CRM's PostgreSQL, read-only: for every table in the catalog, whether it
 * has company_id, the seed's verify counts, the index and foreign key on company_id, children whose
 * company differs from their parent's, unique constraints without company_id, and Citus readiness.
 */
export async function auditSchema(db: PgTarget | string, catalog: Catalog): Promise<TableAudit[]> {
  return onTarget(db, (target) =>
    target.reading('tenantscope-schema-audit', async (client) => {
      const snapshot = await readSchemaSnapshot(client);
      const hasCompanyId = (table: string) => hasColumn(snapshot, table, 'company_id');
      const companies = companiesTableOf(snapshot, catalog.resources.find((r) => r.name === catalog.users)?.table ?? catalog.users);
      const out: TableAudit[] = [];
      for (const r of catalog.resources) {
        const table = r.table;
        if (!table || !snapshot.tables.has(table)) continue;
        const has = hasCompanyId(table);
        const counts = (
          await client.query<{ total: string; with_company: string }>(
            `SELECT count(*) AS total, ${has ? 'count(company_id)' : '0'} AS with_company FROM ${ident(table)}`,
          )
        ).rows[0]!;
        const total = Number(counts.total);
        const withCompanyId = Number(counts.with_company);
        const crossReferences = has ? await crossReferencesOf(client, snapshot, catalog, r, table) : [];
        const childMismatches = crossReferences.length ? crossReferences.reduce((a, x) => a + x.count, 0) : null;
        const keys = snapshot.tables.get(table)!.keys;
        out.push({
          resource: r.name,
          table,
          priority: r.priority,
          hasCompanyId: has,
          total,
          withCompanyId,
          missing: total - withCompanyId,
          ...keyFacts(keys, companies, has),
          childMismatches,
          crossReferences,
        });
      }
      return out;
    }),
  );
}

/**
 * Every reference of a table with company_id to a table that has it too (its owner, its parent,
 * any other reference the catalog knows): the rows that point into another company, counted, the
 * first 20 by id. A row or a target with no company yet is not counted here (that is "missing").
 */
async function crossReferencesOf(
  client: { query<R>(sql: string): Promise<{ rows: R[] }> },
  snapshot: SchemaSnapshot,
  catalog: Catalog,
  r: Resource,
  table: string,
): Promise<TableAudit['crossReferences']> {
  const byName = new Map(catalog.resources.map((x) => [x.name, x]));
  const refs = new Map<string, string>(r.references.map((x) => [x.field, x.resource]));
  if (r.derivation.kind === 'parent') refs.set(r.derivation.field, r.derivation.resource);
  if (r.derivation.kind === 'owner') refs.set(r.derivation.field, catalog.users);
  const key = primaryKey(snapshot, table);
  const out: TableAudit['crossReferences'] = [];
  for (const [field, resource] of refs) {
    const target = byName.get(resource)?.table ?? (resource === catalog.users ? catalog.users : undefined);
    const targetKey = target ? primaryKey(snapshot, target) : undefined;
    if (!target || !key || key.length !== 1 || targetKey?.length !== 1 || !hasColumn(snapshot, table, field) || !hasColumn(snapshot, target, 'company_id'))
      continue;
    const { rows } = await client.query<{ n: string; id: string }>(
      `SELECT count(*) OVER () AS n, c.${ident(key[0]!)}::text AS id FROM ${ident(table)} c JOIN ${ident(target)} p ON p.${ident(targetKey[0]!)} = c.${ident(field)}
        WHERE c.company_id IS NOT NULL AND p.company_id IS NOT NULL AND c.company_id <> p.company_id ORDER BY 2 LIMIT 20`,
    );
    out.push({ field, resource, table: target, count: rows.length ? Number(rows[0]!.n) : 0, ids: rows.map((x) => x.id) });
  }
  return out;
}

/** What a table's keys say: company_id indexed and referenced, unique keys without it, what stops Citus. */
function keyFacts(
  keys: PgKey[],
  companies: string,
  has: boolean,
): Pick<TableAudit, 'indexOnCompanyId' | 'foreignKeyOnCompanyId' | 'uniqueWithoutCompany' | 'citus'> {
  const unique = keys.filter((k) => (k.kind === 'u' || k.kind === 'U') && !k.columns.includes('company_id'));
  const blockers = [
    ...keys.filter((k) => k.kind === 'p' && !k.columns.includes('company_id')).map((k) => `primary key ${k.name} (${k.columns.join(', ')})`),
    ...unique.map((k) => `unique ${k.name} (${k.columns.join(', ')})`),
    ...keys
      .filter((k) => k.kind === 'f' && !k.columns.includes('company_id') && k.refTable !== companies)
      .map((k) => `foreign key ${k.name} (${k.columns.join(', ')}) → ${k.refTable}`),
  ];
  return {
    indexOnCompanyId: keys.some((k) => k.kind !== 'f' && k.columns[0] === 'company_id'),
    foreignKeyOnCompanyId: keys.some((k) => k.kind === 'f' && k.columns.length === 1 && k.columns[0] === 'company_id' && k.refTable === companies),
    uniqueWithoutCompany: unique.map((k) => `${k.name} (${k.columns.join(', ')})`),
    citus: { ready: has && blockers.length === 0, blockers: has ? blockers : ['no company_id column to distribute by'] },
  };
}
