import { createHash } from 'node:crypto';
import type { TableDerivation, TablePlan } from '../../src-shared/migration.ts';
import { ident } from '../pgdb/target.ts';

/** The schema in the CRM's database where the runner keeps its state, and the fill triggers' functions. */
export const STATE_SCHEMA = 'tenantscope_migration';

/** The SQL for "this row's company", from the derivation, with `row` the row (NEW in the trigger). */
export function sourceJoin(d: TableDerivation, row: string, schema?: string): { from: string; on: string; value: string } {
  const q = schema ? `${ident(schema)}.` : '';
  return { from: `${q}${ident(d.kind === 'owner' ? d.usersTable : d.parentTable)} s`, on: `s.id = ${row}.${ident(d.field)}`, value: 's.company_id' };
}

/**
 * One batch of the backfill: up to $1 rows in key order after the key $2 (from the start when
 * `first`); it fills those still NULL from their owner or parent and says how far it got.
 */
export function backfillBatchSql(t: Pick<TablePlan, 'table' | 'key' | 'derivation'>, first: boolean): string {
  const T = ident(t.table);
  const K = ident(t.key);
  const b = sourceJoin(t.derivation, 't');
  return `WITH batch AS (SELECT ${K} AS k FROM ${T} ${first ? '' : `WHERE ${K} > $2 `}ORDER BY ${K} LIMIT $1),
filled AS (UPDATE ${T} t SET company_id = ${b.value} FROM ${b.from} WHERE t.${K} IN (SELECT k FROM batch) AND t.company_id IS NULL AND ${b.on} RETURNING 1)
SELECT (SELECT k::text FROM batch ORDER BY k DESC LIMIT 1) AS last_key, (SELECT count(*) FROM batch)::int AS seen, (SELECT count(*) FROM filled)::int AS filled`;
}

/**
 * A function body as a dollar-quoted string whose tag does not occur in it: names from the CRM's
 * database (a table called `x$fn$`) cannot end the body early. The tag comes from the body's own
 * hash, so the same plan always reads the same.
 */
export function dollarQuoted(body: string): string {
  const base = createHash('sha256').update(body).digest('hex').slice(0, 10);
  for (let n = 0; ; n++) {
    const tag = `$ts_${base}${n || ''}$`;
    if (!body.includes(tag)) return `${tag}${body}${tag}`;
  }
}
