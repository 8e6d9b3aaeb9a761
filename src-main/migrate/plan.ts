import type { Catalog, Derivation, Resource } from '../../src-shared/catalog.ts';
import {
  COMPANY_ID_TYPES,
  type HealthThresholds,
  type MigrationPlan,
  type PlanStep,
  type TableDerivation,
  type TablePlan,
} from '../../src-shared/migration.ts';
import { AppError } from '../../src-shared/result.ts';
import { columnNames, companiesTableOf, hasColumn, primaryKey, type SchemaSnapshot } from '../pgdb/snapshot.ts';
import { ident } from '../pgdb/target.ts';
import { stepsFor } from './steps/registry.ts';

/**
 * The company_id migration plan as pure functions of what was read: the schema snapshot, the
 * catalog, the options and the row counts. `walkTables` decides for every table that lacks
 * company_id how the column is derived (the owner user's company, or the parent row's, the parent
 * planned first) or asks a person; `countQueries` says what to count; `buildPlan` orders parents
 * before children and the seed's phases (HIGH first) and writes each table's lock-safe steps.
 */

export interface PlanOptions {
  /** only these tables (their parents are added when the children need them) */
  tables?: string[];
  /** a derivation for tables the catalog cannot derive (kind none), by table */
  derive?: Record<string, Derivation>;
  /** add CHECK (company_id IS NOT NULL), validated, where no orphans are left */
  notNull?: boolean;
  batchSize?: number;
  lockTimeoutMs?: number;
  /** thresholds of the health signals the runner waits on (defaults for those left out) */
  health?: HealthThresholds;
}

/** Backfill rate used for the estimate before anything ran (bench/migrate on a 2-core machine); the run measures its own. */
export const ESTIMATE_ROWS_PER_SECOND = 40_000;

/** What the backup estimate assumes: a dump gets through about this much of the tables' data a second (bench/migrate, 2 cores: 187 MiB in 12.4 s). */
export const BACKUP_BYTES_PER_SECOND = 15 * 1024 * 1024;

/** A table the plan migrates, before its rows are counted. */
interface Draft {
  resource: Resource;
  table: string;
  derivation: TableDerivation;
  key: string;
  columns: string[];
  why: string | null;
}

export interface Walk {
  snapshot: SchemaSnapshot;
  usersTable: string;
  drafts: Map<string, Draft>;
  asks: MigrationPlan['asks'];
  /** tables that have company_id already, in the catalog's order */
  filled: string[];
}

/** Rows, rows left without a company after the run, rows the catalog says every company shares. */
export interface TableCounts {
  rows: number;
  orphans: number;
  shared: number;
}

export interface RowCounts {
  planned: Map<string, TableCounts>;
  /** rows missing company_id in the tables that have it */
  missing: Map<string, number>;
}

/** Which tables the plan migrates and how each derives its company; reads nothing. */
export function walkTables(snapshot: SchemaSnapshot, catalog: Catalog, opts: Pick<PlanOptions, 'tables' | 'derive'> = {}): Walk {
  const wanted = opts.tables?.length ? new Set(opts.tables) : null;
  if (wanted) {
    const known = new Set(catalog.resources.map((r) => r.table).filter(Boolean) as string[]);
    const unknown = [...wanted].filter((t) => !known.has(t));
    if (unknown.length) throw new AppError('invalid-input', `Not in the catalog: ${unknown.join(', ')}. Tables are: ${[...known].sort().join(', ')}.`);
  }
  const usersTable = catalog.resources.find((r) => r.name === catalog.users)?.table ?? catalog.users;
  const walk: Walk = { snapshot, usersTable, drafts: new Map(), asks: [], filled: [] };
  const byName = new Map(catalog.resources.map((r) => [r.name, r]));
  const ask = (table: string, reason: string): false => {
    walk.asks.push({ table, reason });
    return false;
  };
  const derivationOf = (table: string, r: Resource): TableDerivation | false => {
    const d: Derivation = opts.derive?.[table] ?? r.derivation;
    if (d.kind === 'owner') return { kind: 'owner', field: d.field, usersTable };
    if (d.kind === 'parent') {
      const parent = byName.get(d.resource)?.table;
      if (!parent) return ask(table, `its parent ${d.resource} has no table in the catalog`);
      if (!hasColumn(snapshot, parent, 'company_id') && !visit(parent, `${table} takes its company from it`))
        return ask(table, `its parent ${parent} cannot be migrated first`);
      return { kind: 'parent', field: d.field, parentTable: parent };
    }
    return ask(
      table,
      d.kind === 'none'
        ? 'the catalog gives it no company (shared or system data): say how to derive it, or leave it'
        : 'the catalog says it carries company_id, but the table has none',
    );
  };
  const visit = (table: string, why: string | null): boolean => {
    if (walk.drafts.has(table)) return true;
    const resource = catalog.resources.find((x) => x.table === table);
    const columns = columnNames(snapshot, table);
    if (!resource || !columns) return ask(table, 'the table is not in the database');
    if (columns.includes('company_id')) return false;
    const derivation = derivationOf(table, resource);
    if (!derivation) return false;
    if (!columns.includes(derivation.field)) return ask(table, `it has no column ${derivation.field} to derive company_id from`);
    const pk = primaryKey(snapshot, table);
    if (!pk || pk.length !== 1) return ask(table, 'the backfill walks a single-column primary key, and this table has none');
    walk.drafts.set(table, { resource, table, derivation, key: pk[0]!, columns: columns.filter((c) => c !== 'company_id'), why });
    return true;
  };
  for (const r of catalog.resources) {
    if (!r.table || (wanted && !wanted.has(r.table))) continue;
    if (hasColumn(snapshot, r.table, 'company_id')) walk.filled.push(r.table);
    else visit(r.table, null);
  }
  return walk;
}

/** The company a row will have once the plan ran: its own column, or through its owner or (planned) parent. */
function futureCompany(walk: Walk, d: TableDerivation, alias: string, depth: number): string {
  const s = `s${depth}`;
  if (d.kind === 'owner') return `(SELECT ${s}.company_id FROM ${ident(d.usersTable)} ${s} WHERE ${s}.id = ${alias}.${ident(d.field)})`;
  const parent = walk.drafts.get(d.parentTable);
  const inner = parent ? futureCompany(walk, parent.derivation, s, depth + 1) : `${s}.company_id`;
  return `(SELECT ${inner} FROM ${ident(d.parentTable)} ${s} WHERE ${s}.id = ${alias}.${ident(d.field)})`;
}

/** The counts the plan needs, as SQL: rows, orphans and shared rows of each planned table; rows missing company_id where it exists. */
export function countQueries(walk: Walk): { planned: Array<{ table: string; sql: string }>; missing: Array<{ table: string; sql: string }> } {
  return {
    planned: [...walk.drafts.values()].map((d) => ({
      table: d.table,
      // rows with no owner (or parent) that the catalog says every company shares: they stay NULL, and are no orphans
      sql: `SELECT count(*)::text AS rows, count(*) FILTER (WHERE ${futureCompany(walk, d.derivation, 't', 0)} IS NULL)::text AS orphans,
        ${d.resource.ownerless === 'shared' ? `count(*) FILTER (WHERE t.${ident(d.derivation.field)} IS NULL)` : '0'}::text AS shared FROM ${ident(d.table)} t`,
    })),
    missing: walk.filled.map((table) => ({ table, sql: `SELECT count(*)::text AS n FROM ${ident(table)} WHERE company_id IS NULL` })),
  };
}

/** Orders tables by phase, parents before their children (a parent is pulled into its child's phase when it comes later). */
function order(tables: TablePlan[]): TablePlan[] {
  const byTable = new Map(tables.map((t) => [t.table, t]));
  for (const t of tables) {
    let p = t.derivation.kind === 'parent' ? byTable.get(t.derivation.parentTable) : undefined;
    while (p) {
      if (p.phase > t.phase) {
        p.note = [p.note, `moved to phase ${t.phase}: ${t.table} takes its company from it`].filter(Boolean).join('; ');
        p.phase = t.phase;
      }
      p = p.derivation.kind === 'parent' ? byTable.get(p.derivation.parentTable) : undefined;
    }
  }
  const depth = (t: TablePlan): number =>
    t.derivation.kind === 'parent' && byTable.has(t.derivation.parentTable) ? 1 + depth(byTable.get(t.derivation.parentTable)!) : 0;
  return [...tables].sort((a, b) => a.phase - b.phase || depth(a) - depth(b) || a.table.localeCompare(b.table));
}

const shortName = (prefix: string, table: string, suffix: string) => `${prefix}${table}${suffix}`.slice(0, 63);

/** One table's plan: phase, estimates, the names of what the run adds. */
function tablePlan(d: Draft, counts: TableCounts, snapshot: SchemaSnapshot): TablePlan {
  const { rows, shared } = counts;
  const r = d.resource;
  const taken = (n: string) => (snapshot.names.has(n) ? `${n}_ts`.slice(0, 63) : n);
  return {
    resource: r.name,
    table: d.table,
    priority: r.priority,
    phase: r.priority === 'MEDIUM' ? 2 : r.priority === 'LOW' ? 3 : 1,
    derivation: d.derivation,
    key: d.key,
    columns: d.columns,
    rows,
    orphansPredicted: counts.orphans - shared,
    estimate: {
      seconds: rows / ESTIMATE_ROWS_PER_SECOND,
      columnBytes: rows * 16,
      // a btree on uuid: about 16 bytes of key, 8 of tuple header and pointer, 90% full pages
      indexBytes: Math.round((rows * 28) / 0.9) + 8192,
      // every row is written again once: the old versions stay until autovacuum reclaims them
      transientBytes: snapshot.tables.get(d.table)?.heapBytes ?? 0,
    },
    names: {
      index: taken(shortName('idx_', d.table, '_company_id')),
      fk: taken(shortName('', d.table, '_company_id_fkey')),
      check: taken(shortName('', d.table, '_company_id_not_null')),
      trigger: shortName('tenantscope_fill_', d.table, '_company_id'),
      fn: shortName('fill_', d.table, '_company_id'),
    },
    note:
      [d.why, shared ? `${shared} rows with no ${d.derivation.field} are shared by every company (the catalog says so): they stay NULL` : null]
        .filter(Boolean)
        .join('; ') || null,
  };
}

/** The plan from the walk and its counts; reads nothing. */
export function buildPlan(
  walk: Walk,
  counts: RowCounts,
  opts: Pick<PlanOptions, 'notNull' | 'batchSize' | 'lockTimeoutMs' | 'health'>,
  meta: { database: string; createdAt: string },
): MigrationPlan {
  const options = {
    notNull: opts.notNull ?? false,
    batchSize: opts.batchSize ?? 5000,
    lockTimeoutMs: opts.lockTimeoutMs ?? 2000,
    ...(opts.health && Object.keys(opts.health).length ? { health: opts.health } : {}),
  };
  const { snapshot } = walk;
  const companiesTable = companiesTableOf(snapshot, walk.usersTable);
  const companyIdType = companyIdTypeOf(snapshot, walk.usersTable);
  const tables = order([...walk.drafts.values()].map((d) => tablePlan(d, counts.planned.get(d.table) ?? { rows: 0, orphans: 0, shared: 0 }, snapshot)));
  const steps: PlanStep[] = [];
  for (const t of tables) steps.push(...stepsFor(t, { ...options, schema: snapshot.schema, companiesTable, companyIdType }, steps.length + 1));
  const skipped = walk.filled.map((table) => {
    const missing = counts.missing.get(table) ?? 0;
    return {
      table,
      reason: missing
        ? `has company_id; ${missing} rows miss it (the catalog gives it no other source: look at them in the schema audit)`
        : 'has company_id, filled',
    };
  });
  const rows = tables.reduce((a, t) => a + t.rows, 0);
  const backupBytes = tables.reduce((a, t) => a + (snapshot.tables.get(t.table)?.heapBytes ?? 0), 0);
  return {
    createdAt: meta.createdAt,
    database: meta.database,
    schema: snapshot.schema,
    companiesTable,
    companyIdType,
    options,
    tables,
    steps,
    asks: walk.asks,
    skipped,
    estimate: { rows, seconds: rows / ESTIMATE_ROWS_PER_SECOND, bytes: tables.reduce((a, t) => a + t.estimate.columnBytes + t.estimate.indexBytes, 0) },
    backupEstimate: { bytes: backupBytes, seconds: backupBytes / BACKUP_BYTES_PER_SECOND },
  };
}

/** The type company_id is added as: the users table's own company_id's (uuid when it cannot be read). */
function companyIdTypeOf(snapshot: SchemaSnapshot, usersTable: string): string {
  const type = snapshot.tables.get(usersTable)?.columns.find((c) => c.name === 'company_id')?.type ?? 'uuid';
  const sql = COMPANY_ID_TYPES[type];
  if (!sql)
    throw new AppError(
      'invalid-input',
      `${usersTable}.company_id is ${type}; the migration adds company_id as ${Object.keys(COMPANY_ID_TYPES).join(', ')}. Tell us about your schema.`,
    );
  return sql;
}

/** "owner:user_id" or "parent:documents.document_id" as a catalog derivation. */
export function parseDerive(spec: string): Derivation {
  const owner = /^owner:([A-Za-z_]\w*)$/.exec(spec);
  if (owner) return { kind: 'owner', field: owner[1]! };
  const parent = /^parent:([A-Za-z_]\w*)\.([A-Za-z_]\w*)$/.exec(spec);
  if (parent) return { kind: 'parent', resource: parent[1]!, field: parent[2]! };
  throw new AppError('invalid-input', `"${spec}": say owner:<field> or parent:<resource>.<field>.`);
}
