import type pg from 'pg';
import type { Catalog, Derivation, Resource } from '../../src-shared/catalog.ts';
import { AppError } from '../../src-shared/result.ts';
import { bytes } from '../../src-shared/format.ts';
import type { MigrationPlan, PlanStep, PreflightItem, TableDerivation, TablePlan } from '../../src-shared/migration.ts';
export type { MigrationPlan } from '../../src-shared/migration.ts';
import { connect, databaseLabel, ident } from './pg.ts';
import { STATE_SCHEMA } from './sql.ts';
import { readSchemaSnapshot, type SchemaSnapshot } from './snapshot.ts';
import { stepsFor } from './steps/registry.ts';

/**
 * The company_id migration planner. For every table that lacks company_id it decides how the
 * column is derived (the owner user's company, or the parent row's), orders parents before
 * children and the seed's phases (HIGH first), and writes each table's lock-safe steps, one of
 * each kind in steps/registry.ts.
 *
 * Every DDL runs under lock_timeout (the runner retries it), so a busy table makes the migration
 * wait, never the application. The plan reads the database; it changes nothing.
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
}

/** Backfill rate used for the estimate before anything ran (bench/migrate on a 2-core machine); the run measures its own. */
export const ESTIMATE_ROWS_PER_SECOND = 40_000;

const shortName = (prefix: string, table: string, suffix: string) => `${prefix}${table}${suffix}`.slice(0, 63);

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
  const depth = (t: TablePlan): number => (t.derivation.kind === 'parent' && byTable.has(t.derivation.parentTable) ? 1 + depth(byTable.get(t.derivation.parentTable)!) : 0);
  return [...tables].sort((a, b) => a.phase - b.phase || depth(a) - depth(b) || a.table.localeCompare(b.table));
}

/**
 * Reads the database and the catalog and writes the plan. Read-only: it runs in a read-only
 * transaction.
 */
export async function planMigration(databaseUrl: string, catalog: Catalog, opts: PlanOptions = {}): Promise<MigrationPlan> {
  const client = await connect(databaseUrl, 'tenantscope-plan');
  const options = { notNull: opts.notNull ?? false, batchSize: opts.batchSize ?? 5000, lockTimeoutMs: opts.lockTimeoutMs ?? 2000 };
  try {
    await client.query('BEGIN READ ONLY');
    const usersTable = catalog.resources.find((r) => r.name === catalog.users)?.table ?? catalog.users;
    const snapshot = await readSchemaSnapshot(client, usersTable);
    const wanted = opts.tables?.length ? new Set(opts.tables) : null;
    if (wanted) {
      const known = new Set(catalog.resources.map((r) => r.table).filter(Boolean) as string[]);
      const unknown = [...wanted].filter((t) => !known.has(t));
      if (unknown.length) throw new AppError('invalid-input', `Not in the catalog: ${unknown.join(', ')}. Tables are: ${[...known].sort().join(', ')}.`);
    }
    const walk = new TableWalk(client, catalog, snapshot, usersTable, opts.derive);
    for (const r of catalog.resources) {
      if (r.table && (!wanted || wanted.has(r.table))) await walk.consider(r.table);
    }
    await client.query('COMMIT');
    const tables = order([...walk.planned.values()]);
    const steps: PlanStep[] = [];
    for (const t of tables) steps.push(...stepsFor(t, { ...options, schema: snapshot.schema, companiesTable: snapshot.companiesTable }, steps.length + 1));
    const rows = tables.reduce((a, t) => a + t.rows, 0);
    return {
      createdAt: new Date().toISOString(),
      database: databaseLabel(databaseUrl),
      schema: snapshot.schema, companiesTable: snapshot.companiesTable, options, tables, steps, asks: walk.asks, skipped: walk.skipped,
      estimate: { rows, seconds: rows / ESTIMATE_ROWS_PER_SECOND, bytes: tables.reduce((a, t) => a + t.estimate.columnBytes + t.estimate.indexBytes, 0) },
    };
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The walk over the catalog's tables: each one without company_id gets a derivation (its owner's
 * company, or its parent's, the parent planned first), or an ask for a person; one with
 * company_id is left as it is, with how many rows miss it.
 */
class TableWalk {
  readonly planned = new Map<string, TablePlan>();
  readonly asks: MigrationPlan['asks'] = [];
  readonly skipped: MigrationPlan['skipped'] = [];
  private readonly byName: Map<string, Resource>;

  constructor(
    private readonly client: pg.ClientBase,
    private readonly catalog: Catalog,
    private readonly snapshot: SchemaSnapshot,
    private readonly usersTable: string,
    private readonly derive?: Record<string, Derivation>,
  ) {
    this.byName = new Map(catalog.resources.map((r) => [r.name, r]));
  }

  async consider(table: string): Promise<void> {
    if (this.snapshot.columns.get(table)?.includes('company_id')) {
      const missing = Number((await this.client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${ident(table)} WHERE company_id IS NULL`)).rows[0]!.n);
      this.skipped.push({ table, reason: missing ? `has company_id; ${missing} rows miss it (the catalog gives it no other source: look at them in the schema audit)` : 'has company_id, filled' });
      return;
    }
    await this.visit(table, null);
  }

  /** the company a row will have once the plan ran: its own column, or through its owner or (planned) parent */
  private futureCompany(d: TableDerivation, alias: string, depth: number): string {
    const s = `s${depth}`;
    if (d.kind === 'owner') return `(SELECT ${s}.company_id FROM ${ident(d.usersTable)} ${s} WHERE ${s}.id = ${alias}.${ident(d.field)})`;
    const parent = this.planned.get(d.parentTable);
    const inner = parent ? this.futureCompany(parent.derivation, s, depth + 1) : `${s}.company_id`;
    return `(SELECT ${inner} FROM ${ident(d.parentTable)} ${s} WHERE ${s}.id = ${alias}.${ident(d.field)})`;
  }

  private ask(table: string, reason: string): false {
    this.asks.push({ table, reason });
    return false;
  }

  /** How the table's company is derived, its parent planned first; false (with an ask) when it cannot be. */
  private async derivationOf(table: string, r: Resource): Promise<TableDerivation | false> {
    const d: Derivation = this.derive?.[table] ?? r.derivation;
    if (d.kind === 'owner') return { kind: 'owner', field: d.field, usersTable: this.usersTable };
    if (d.kind === 'parent') {
      const parent = this.byName.get(d.resource)?.table;
      if (!parent) return this.ask(table, `its parent ${d.resource} has no table in the catalog`);
      const parentHas = this.snapshot.columns.get(parent)?.includes('company_id');
      if (!parentHas && !(await this.visit(parent, `${table} takes its company from it`))) return this.ask(table, `its parent ${parent} cannot be migrated first`);
      return { kind: 'parent', field: d.field, parentTable: parent };
    }
    return this.ask(table, d.kind === 'none' ? 'the catalog gives it no company (shared or system data): say how to derive it, or leave it' : 'the catalog says it carries company_id, but the table has none');
  }

  private async visit(table: string, why: string | null): Promise<boolean> {
    if (this.planned.has(table)) return true;
    const r = this.catalog.resources.find((x) => x.table === table);
    const columns = this.snapshot.columns.get(table);
    if (!r || !columns) return this.ask(table, 'the table is not in the database');
    if (columns.includes('company_id')) return false;
    const derivation = await this.derivationOf(table, r);
    if (!derivation) return false;
    if (!columns.includes(derivation.field)) return this.ask(table, `it has no column ${derivation.field} to derive company_id from`);
    const pk = this.snapshot.primaryKeys.get(table);
    if (!pk || pk.length !== 1) return this.ask(table, 'the backfill walks a single-column primary key, and this table has none');
    // rows with no owner (or parent) that the catalog says every company shares: they stay NULL, and are no orphans
    const sharedRows = r.ownerless === 'shared';
    const counts = (await this.client.query<{ rows: string; orphans: string; shared: string }>(`
      SELECT count(*)::text AS rows, count(*) FILTER (WHERE ${this.futureCompany(derivation, 't', 0)} IS NULL)::text AS orphans,
        ${sharedRows ? `count(*) FILTER (WHERE t.${ident(derivation.field)} IS NULL)` : '0'}::text AS shared FROM ${ident(table)} t`)).rows[0]!;
    this.planned.set(table, tablePlan(r, table, derivation, pk[0]!, columns, { rows: Number(counts.rows), orphans: Number(counts.orphans), shared: Number(counts.shared) }, this.snapshot, why));
    return true;
  }
}

/** One table's plan from what was read: phase, estimates, the names of what the run adds. */
function tablePlan(r: Resource, table: string, derivation: TableDerivation, key: string, columns: string[], counts: { rows: number; orphans: number; shared: number }, snapshot: SchemaSnapshot, why: string | null): TablePlan {
  const { rows, shared } = counts;
  const heap = snapshot.heapBytes.get(table) ?? 0;
  const taken = (n: string) => (snapshot.names.has(n) ? `${n}_ts`.slice(0, 63) : n);
  return {
    resource: r.name, table, priority: r.priority,
    phase: r.priority === 'MEDIUM' ? 2 : r.priority === 'LOW' ? 3 : 1,
    derivation, key, columns: columns.filter((c) => c !== 'company_id'), rows,
    orphansPredicted: counts.orphans - shared,
    estimate: {
      seconds: rows / ESTIMATE_ROWS_PER_SECOND,
      columnBytes: rows * 16,
      // a btree on uuid: about 16 bytes of key, 8 of tuple header and pointer, 90% full pages
      indexBytes: Math.round(rows * 28 / 0.9) + 8192,
      // every row is written again once: the old versions stay until autovacuum reclaims them
      transientBytes: heap,
    },
    names: {
      index: taken(shortName('idx_', table, '_company_id')),
      fk: taken(shortName('', table, '_company_id_fkey')),
      check: taken(shortName('', table, '_company_id_not_null')),
      trigger: shortName('tenantscope_fill_', table, '_company_id'),
      fn: shortName('fill_', table, '_company_id'),
    },
    note: [why, shared ? `${shared} rows with no ${derivation.field} are shared by every company (the catalog says so): they stay NULL` : null].filter(Boolean).join('; ') || null,
  };
}

/** The plan as one SQL file a DBA can read (and run by hand, batch by batch). */
export function planSql(plan: MigrationPlan): string {
  const out = [
    `-- TenantScope company_id migration plan for ${plan.database}, ${plan.createdAt}`,
    `-- ${plan.tables.length} tables, ${plan.estimate.rows} rows, about ${Math.ceil(plan.estimate.seconds)} s of backfill, about ${bytes(plan.estimate.bytes)} more on disk`,
    `-- Run it with \`tenantscope migrate run\`: it keeps its state in the schema ${STATE_SCHEMA}, resumes after a crash,`,
    '-- retries DDL that hits lock_timeout, shrinks batches when others wait, verifies, and can roll back.',
    `CREATE SCHEMA IF NOT EXISTS ${STATE_SCHEMA};`,
    '',
  ];
  for (const a of plan.asks) out.push(`-- ASK ${a.table}: ${a.reason}`);
  let phase = 0;
  let table = '';
  for (const s of plan.steps) {
    const t = plan.tables.find((x) => x.table === s.table)!;
    if (t.phase !== phase) { phase = t.phase; out.push('', `-- ===== Phase ${phase}: ${['', 'HIGH: data leakage risk', 'MEDIUM: user-specific', 'LOW: system-wide'][phase]} =====`); }
    if (s.table !== table) {
      table = s.table;
      out.push('', `-- ${t.table}: ${t.rows} rows, company from ${t.derivation.kind === 'owner' ? `its owner (${t.derivation.field} → ${t.derivation.usersTable})` : `its parent (${t.derivation.field} → ${t.derivation.parentTable})`}${t.orphansPredicted > 0 ? `; ${t.orphansPredicted} orphans will stay NULL` : ''}${t.note ? `; ${t.note}` : ''}`);
    }
    out.push(`-- step ${s.n}: ${s.kind} (${s.locks})`, ...(s.kind === 'backfill' ? [] : [`SET lock_timeout = '${plan.options.lockTimeoutMs}ms';`]), s.sql);
  }
  return out.join('\n') + '\n';
}

/**
 * What would stop or slow the plan, checked before anything changes (the dry run): who owns the
 * tables, whether the state schema can be created, sessions holding locks on the planned tables
 * (the DDL would wait on them), and long transactions (CREATE INDEX CONCURRENTLY waits for them).
 */
export async function preflight(databaseUrl: string, plan: MigrationPlan): Promise<PreflightItem[]> {
  const client = await connect(databaseUrl, 'tenantscope-preflight');
  const out: PreflightItem[] = [];
  try {
    const tables = plan.tables.map((t) => t.table);
    if (!tables.length) return [{ level: 'ok', message: 'Nothing to migrate: every table in the catalog has company_id.' }];
    const notOwned = (await client.query<{ t: string }>(`SELECT c.relname::text AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
      WHERE c.relname = ANY($1) AND NOT pg_has_role(current_user, c.relowner, 'USAGE')`, [tables])).rows.map((r) => r.t);
    out.push(notOwned.length ? { level: 'fail', message: `The database user does not own ${notOwned.join(', ')}: ALTER TABLE needs the owner.` } : { level: 'ok', message: `The database user owns all ${tables.length} tables.` });
    const canCreate = (await client.query<{ ok: boolean }>(`SELECT has_database_privilege(current_user, current_database(), 'CREATE') OR EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS ok`, [STATE_SCHEMA])).rows[0]!.ok;
    out.push(canCreate ? { level: 'ok', message: `The run keeps its state in the schema ${STATE_SCHEMA}.` } : { level: 'fail', message: `The database user cannot create the schema ${STATE_SCHEMA} the run keeps its state in.` });
    const holders = (await client.query<{ pid: number; t: string; mode: string; age: string; app: string }>(`
      SELECT l.pid, c.relname::text AS t, l.mode, coalesce(extract(epoch FROM now() - a.xact_start), 0)::int::text AS age, a.application_name AS app
      FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE c.relname = ANY($1) AND l.pid <> pg_backend_pid() AND a.xact_start < now() - interval '5 seconds'`, [tables])).rows;
    for (const h of holders) out.push({ level: 'warn', message: `Backend ${h.pid} (${h.app || 'no name'}) holds ${h.mode} on ${h.t} in a transaction open ${h.age} s: DDL on it will wait (lock_timeout ${plan.options.lockTimeoutMs} ms, retried).` });
    const long = (await client.query<{ pid: number; age: string }>(`SELECT pid, extract(epoch FROM now() - xact_start)::int::text AS age FROM pg_stat_activity WHERE xact_start < now() - interval '1 minute' AND pid <> pg_backend_pid() AND datname = current_database()`)).rows;
    for (const l of long) out.push({ level: 'warn', message: `Backend ${l.pid} has a transaction open for ${l.age} s: CREATE INDEX CONCURRENTLY waits for it to end.` });
    if (!holders.length && !long.length) out.push({ level: 'ok', message: 'No session holds locks on the planned tables, and no long transaction is open.' });
    for (const a of plan.asks) out.push({ level: 'warn', message: `${a.table} is left out: ${a.reason}.` });
    return out;
  } finally {
    await client.end().catch(() => {});
  }
}

/** "owner:user_id" or "parent:documents.document_id" as a catalog derivation. */
export function parseDerive(spec: string): Derivation {
  const owner = /^owner:([A-Za-z_]\w*)$/.exec(spec);
  if (owner) return { kind: 'owner', field: owner[1]! };
  const parent = /^parent:([A-Za-z_]\w*)\.([A-Za-z_]\w*)$/.exec(spec);
  if (parent) return { kind: 'parent', resource: parent[1]!, field: parent[2]! };
  throw new AppError('invalid-input', `"${spec}": say owner:<field> or parent:<resource>.<field>.`);
}
