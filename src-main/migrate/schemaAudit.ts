import type { Catalog } from '../../src-shared/catalog.ts';
import type { TableAudit } from '../../src-shared/migration.ts';
import { companiesTableOf, hasColumn, readSchemaSnapshot, type PgKey } from '../pgdb/snapshot.ts';
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
      const byName = new Map(catalog.resources.map((r) => [r.name, r]));
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
        let childMismatches: number | null = null;
        if (has && r.derivation.kind === 'parent') {
          const parent = byName.get(r.derivation.resource)?.table;
          if (parent && hasCompanyId(parent)) {
            childMismatches = Number(
              (
                await client.query<{ n: string }>(
                  `SELECT count(*) AS n FROM ${ident(table)} c JOIN ${ident(parent)} p ON p.id = c.${ident(r.derivation.field)} WHERE c.company_id IS DISTINCT FROM p.company_id`,
                )
              ).rows[0]!.n,
            );
          }
        }
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
        });
      }
      return out;
    }),
  );
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
