import type { Catalog } from '../../src-shared/catalog.ts';
import type { TableAudit } from '../../src-shared/migration.ts';
import { connect, ident } from './pg.ts';


/**
 * The schema audit of the CRM's PostgreSQL, read-only: for every table in the catalog, whether it
 * has company_id, the seed's verify counts, the index and foreign key on company_id, children whose
 * company differs from their parent's, unique constraints without company_id, and Citus readiness.
 */
export async function auditSchema(databaseUrl: string, catalog: Catalog): Promise<TableAudit[]> {
  const client = await connect(databaseUrl, 'tenantscope-schema-audit');
  try {
    await client.query('SET default_transaction_read_only = on');
    await client.query('SET statement_timeout = 60000');
    const columns = new Map<string, Set<string>>();
    for (const r of (await client.query<{ table_name: string; column_name: string }>(`SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()`)).rows) {
      const set = columns.get(r.table_name) ?? new Set<string>();
      set.add(r.column_name);
      columns.set(r.table_name, set);
    }
    // every index and constraint with its columns, by table
    const keys = (await client.query<{ table_name: string; name: string; kind: string; cols: string[]; ref_table: string | null }>(`
      SELECT cl.relname::text AS table_name, k.conname::text AS name, k.contype::text AS kind, rc.relname::text AS ref_table,
        ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, o) JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.o)::text[] AS cols
      FROM pg_constraint k JOIN pg_class cl ON cl.oid = k.conrelid JOIN pg_namespace ns ON ns.oid = cl.relnamespace AND ns.nspname = current_schema()
      LEFT JOIN pg_class rc ON rc.oid = k.confrelid
      WHERE k.contype IN ('p', 'u', 'f')
      UNION ALL
      SELECT t.relname::text, i.relname::text, CASE WHEN x.indisunique THEN 'U' ELSE 'i' END, NULL::text,
        ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY u(n, o) JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.n ORDER BY u.o)::text[]
      FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace ns ON ns.oid = t.relnamespace AND ns.nspname = current_schema()
      WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)`)).rows;
    const keysOf = (table: string) => keys.filter((k) => k.table_name === table);
    const out: TableAudit[] = [];
    const byName = new Map(catalog.resources.map((r) => [r.name, r]));
    for (const r of catalog.resources) {
      const table = r.table;
      if (!table || !columns.has(table)) continue;
      const has = columns.get(table)!.has('company_id');
      const counts = (await client.query<{ total: string; with_company: string }>(`SELECT count(*) AS total, ${has ? 'count(company_id)' : '0'} AS with_company FROM ${ident(table)}`)).rows[0]!;
      const total = Number(counts.total);
      const withCompanyId = Number(counts.with_company);
      const tk = keysOf(table);
      let childMismatches: number | null = null;
      if (has && r.derivation.kind === 'parent') {
        const parent = byName.get(r.derivation.resource)?.table;
        if (parent && columns.get(parent)?.has('company_id')) {
          childMismatches = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${ident(table)} c JOIN ${ident(parent)} p ON p.id = c.${ident(r.derivation.field)} WHERE c.company_id IS DISTINCT FROM p.company_id`)).rows[0]!.n);
        }
      }
      const unique = tk.filter((k) => (k.kind === 'u' || k.kind === 'U') && !k.cols.includes('company_id'));
      const blockers = [
        ...tk.filter((k) => k.kind === 'p' && !k.cols.includes('company_id')).map((k) => `primary key ${k.name} (${k.cols.join(', ')})`),
        ...unique.map((k) => `unique ${k.name} (${k.cols.join(', ')})`),
        ...tk.filter((k) => k.kind === 'f' && !k.cols.includes('company_id') && k.ref_table !== 'companies').map((k) => `foreign key ${k.name} (${k.cols.join(', ')}) → ${k.ref_table}`),
      ];
      out.push({
        resource: r.name, table, priority: r.priority, hasCompanyId: has, total, withCompanyId, missing: total - withCompanyId,
        indexOnCompanyId: tk.some((k) => (k.kind === 'i' || k.kind === 'U' || k.kind === 'u' || k.kind === 'p') && k.cols[0] === 'company_id'),
        foreignKeyOnCompanyId: tk.some((k) => k.kind === 'f' && k.cols.length === 1 && k.cols[0] === 'company_id' && k.ref_table === 'companies'),
        childMismatches,
        uniqueWithoutCompany: unique.map((k) => `${k.name} (${k.cols.join(', ')})`),
        citus: { ready: has && blockers.length === 0, blockers: has ? blockers : ['no company_id column to distribute by'] },
      });
    }
    return out;
  } finally {
    await client.end().catch(() => {});
  }
}
