import type pg from 'pg';
import type { TablePlan, TableVerification, Verification } from '../../src-shared/migration.ts';
import { hasCompanyId } from './pg.ts';
import { ident, onTarget, type PgTarget } from '../pgdb/target.ts';
import { sourceJoin } from './sql.ts';
import { latestRun, loadRun, type LoadedRun } from './state.ts';

/** Order-independent hash of the table's other columns (the sum of a 64-bit hash of each row) and its row count. */
export async function fingerprint(c: pg.ClientBase | pg.Pool, t: Pick<TablePlan, 'table' | 'columns'>): Promise<{ rows: number; fingerprint: string }> {
  const row = `ROW(${t.columns.map((col) => `t.${ident(col)}`).join(', ')})::text`;
  const r = (
    await c.query<{ n: string; h: string }>(
      `SELECT count(*)::text AS n, coalesce(sum(hashtextextended(${row}, 7)::numeric), 0)::text AS h FROM ${ident(t.table)} t`,
    )
  ).rows[0]!;
  return { rows: Number(r.n), fingerprint: `${r.n}:${r.h}` };
}

/** Columns, indexes, constraints and triggers of a table, as the catalogs say. */
export async function schemaSnapshot(c: pg.ClientBase | pg.Pool, table: string): Promise<unknown> {
  return (
    await c.query<{ s: unknown }>(
      `
    SELECT json_build_object(
      'columns', (SELECT json_agg(json_build_array(a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)) ORDER BY a.attnum)
                  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                  WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped),
      'indexes', (SELECT json_agg(pg_get_indexdef(indexrelid) ORDER BY pg_get_indexdef(indexrelid)) FROM pg_index WHERE indrelid = $1::regclass),
      'constraints', (SELECT json_agg(conname || ' ' || pg_get_constraintdef(oid) ORDER BY conname) FROM pg_constraint WHERE conrelid = $1::regclass),
      'triggers', (SELECT json_agg(tgname ORDER BY tgname) FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal)
    ) AS s`,
      [table],
    )
  ).rows[0]!.s;
}

/** Rows missing company_id, orphans (by id), rows that could be filled, rows whose company differs from their owner's or parent's. */
async function rowCounts(c: pg.ClientBase, t: TablePlan): Promise<Pick<TableVerification, 'missing' | 'orphans' | 'fillableMissing' | 'mismatched'>> {
  const src = sourceJoin(t.derivation, 't');
  const derived = src.value;
  const r = (
    await c.query<{ missing: string; orphans: string; fillable: string; mismatched: string; ids: string[] | null }>(`
    SELECT count(*) FILTER (WHERE t.company_id IS NULL)::text AS missing,
           count(*) FILTER (WHERE t.company_id IS NULL AND ${derived} IS NULL)::text AS orphans,
           count(*) FILTER (WHERE t.company_id IS NULL AND ${derived} IS NOT NULL)::text AS fillable,
           count(*) FILTER (WHERE t.company_id IS NOT NULL AND ${derived} IS NOT NULL AND t.company_id <> ${derived})::text AS mismatched,
           (array_agg(t.${ident(t.key)}::text ORDER BY t.${ident(t.key)}) FILTER (WHERE t.company_id IS NULL AND ${derived} IS NULL))[1:100] AS ids
    FROM ${ident(t.table)} t LEFT JOIN ${src.from} ON ${src.on}`)
  ).rows[0]!;
  return {
    missing: Number(r.missing),
    orphans: { count: Number(r.orphans), ids: r.ids ?? [] },
    fillableMissing: Number(r.fillable),
    mismatched: Number(r.mismatched),
  };
}

/** The index, foreign key and NOT NULL check a run adds to a table, as the catalogs say. */
async function objects(
  c: pg.ClientBase,
  t: TablePlan,
  notNullAsked: boolean,
  orphans: number,
): Promise<Pick<TableVerification, 'index' | 'foreignKey' | 'notNull'>> {
  const ix = (
    await c.query<{ valid: boolean }>(
      `SELECT x.indisvalid AS valid FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = $1::regclass AND i.relname = $2`,
      [t.table, t.names.index],
    )
  ).rows[0];
  const cons = new Map(
    (
      await c.query<{ conname: string; convalidated: boolean }>(`SELECT conname, convalidated FROM pg_constraint WHERE conrelid = $1::regclass`, [t.table])
    ).rows.map((x) => [x.conname, x.convalidated]),
  );
  const state = (name: string) => (cons.has(name) ? (cons.get(name) ? 'validated' : 'not-valid') : 'missing') as 'validated' | 'not-valid' | 'missing';
  return {
    index: ix ? (ix.valid ? 'valid' : 'invalid') : 'missing',
    foreignKey: state(t.names.fk),
    notNull: !notNullAsked ? 'skipped' : cons.has(t.names.check) ? state(t.names.check) : orphans ? 'skipped' : 'missing',
  };
}

async function verifyTable(c: pg.ClientBase, run: LoadedRun, t: TablePlan): Promise<TableVerification> {
  const hasColumn = await hasCompanyId(c, run.plan.schema, t.table);
  const fp = await fingerprint(c, t);
  const before = run.before[t.table]!;
  const counts = hasColumn ? await rowCounts(c, t) : { missing: fp.rows, orphans: { count: 0, ids: [] }, fillableMissing: 0, mismatched: 0 };
  const objs = hasColumn
    ? await objects(c, t, run.plan.options.notNull, counts.orphans.count)
    : { index: 'missing' as const, foreignKey: 'missing' as const, notNull: run.plan.options.notNull ? ('missing' as const) : ('skipped' as const) };
  const problems: string[] = [];
  if (!hasColumn) problems.push('no company_id column');
  if (counts.fillableMissing) problems.push(`${counts.fillableMissing} rows miss company_id though their ${t.derivation.kind} has one`);
  if (counts.mismatched) problems.push(`${counts.mismatched} rows have a company_id other than their ${t.derivation.kind}'s`);
  if (objs.index !== 'valid') problems.push(`index ${t.names.index} ${objs.index}`);
  if (objs.foreignKey !== 'validated') problems.push(`foreign key ${t.names.fk} ${objs.foreignKey}`);
  if (objs.notNull === 'missing' || objs.notNull === 'not-valid') problems.push(`NOT NULL check ${objs.notNull}`);
  return {
    table: t.table,
    hasColumn,
    rows: fp.rows,
    ...counts,
    ...objs,
    fingerprint: { before: before.fingerprint, now: fp.fingerprint, rowsBefore: before.rows, equal: fp.fingerprint === before.fingerprint },
    ok: problems.length === 0,
    problems,
  };
}

export async function verifyWith(c: pg.ClientBase, run: LoadedRun): Promise<Verification> {
  const tables: TableVerification[] = [];
  for (const t of run.plan.tables) tables.push(await verifyTable(c, run, t));
  const fingerprintsEqual = tables.every((t) => t.fingerprint.equal);
  return { runId: run.id, ok: tables.every((t) => t.ok) && fingerprintsEqual, fingerprintsEqual, tables };
}

/** Verification of a run (the latest by default): columns filled but for the orphans, index, foreign key, fingerprints. */
export async function verifyMigration(db: PgTarget | string, runId?: number): Promise<Verification> {
  return onTarget(db, (t) =>
    t.reading(
      'tenantscope-verify',
      async (c) => {
        const run = await loadRun(c, await latestRun(c, runId));
        await c.query(`SET LOCAL search_path TO ${ident(run.plan.schema)}`);
        return verifyWith(c, run);
      },
      0,
    ),
  );
}
