import type { Catalog } from '../../src-shared/catalog.ts';
import { bytes } from '../../src-shared/format.ts';
import type { MigrationPlan, PreflightItem } from '../../src-shared/migration.ts';
import { readSchemaSnapshot } from '../pgdb/snapshot.ts';
import { onTarget, type PgTarget } from '../pgdb/target.ts';
import { buildPlan, countQueries, walkTables, type PlanOptions, type RowCounts } from './plan.ts';
import { STATE_SCHEMA } from './sql.ts';

/**
 * The planner's reads of the CRM's PostgreSQL (plan.ts decides; this reads): the schema snapshot
 * and the row counts in one read-only transaction, and the preflight. Every DDL the plan holds
 * runs under lock_timeout (the runner retries it), so a busy table makes the migration wait,
 * never the application. The plan changes nothing.
 */

/** Reads the database and the catalog and writes the plan, in one read-only transaction. */
export async function planMigration(db: PgTarget | string, catalog: Catalog, opts: PlanOptions = {}): Promise<MigrationPlan> {
  return onTarget(db, (target) =>
    target.reading(
      'tenantscope-plan',
      async (c) => {
        const walk = walkTables(await readSchemaSnapshot(c), catalog, opts);
        const queries = countQueries(walk);
        const counts: RowCounts = { planned: new Map(), missing: new Map() };
        for (const q of queries.missing) counts.missing.set(q.table, Number((await c.query<{ n: string }>(q.sql)).rows[0]!.n));
        for (const q of queries.planned) {
          const r = (await c.query<{ rows: string; orphans: string; shared: string }>(q.sql)).rows[0]!;
          counts.planned.set(q.table, { rows: Number(r.rows), orphans: Number(r.orphans), shared: Number(r.shared) });
        }
        return buildPlan(walk, counts, opts, { database: target.label, createdAt: new Date().toISOString() });
      },
      0,
    ),
  );
}

/** The plan as one SQL file a DBA can read (and run by hand, batch by batch). */
export function planSql(plan: MigrationPlan): string {
  const out = [
    `-- TenantScope company_id migration plan for ${plan.database}, ${plan.createdAt}`,
    `-- ${plan.tables.length} tables, ${plan.estimate.rows} rows, about ${Math.ceil(plan.estimate.seconds)} s of backfill, about ${bytes(plan.estimate.bytes)} more on disk`,
    `-- Run it with \`tenantscope migrate run\`: it keeps its state in the schema ${STATE_SCHEMA}, resumes after a crash,`,
    '-- retries DDL that hits lock_timeout, shrinks batches when others wait, verifies, and can roll back.',
    ...(plan.backupEstimate
      ? [
          `-- Before the first change it backs up these tables (pg_dump, or its own COPY backup): about ${bytes(plan.backupEstimate.bytes)}, about ${Math.max(1, Math.ceil(plan.backupEstimate.seconds))} s.`,
          '-- By hand: pg_dump --format=custom --table <each table below> --file before-company-id.dump',
        ]
      : []),
    `CREATE SCHEMA IF NOT EXISTS ${STATE_SCHEMA};`,
    '',
  ];
  for (const a of plan.asks) out.push(`-- ASK ${a.table}: ${a.reason}`);
  let phase = 0;
  let table = '';
  for (const s of plan.steps) {
    const t = plan.tables.find((x) => x.table === s.table)!;
    if (t.phase !== phase) {
      phase = t.phase;
      out.push('', `-- ===== Phase ${phase}: ${['', 'HIGH: data leakage risk', 'MEDIUM: user-specific', 'LOW: system-wide'][phase]} =====`);
    }
    if (s.table !== table) {
      table = s.table;
      out.push(
        '',
        `-- ${t.table}: ${t.rows} rows, company from ${t.derivation.kind === 'owner' ? `its owner (${t.derivation.field} → ${t.derivation.usersTable})` : `its parent (${t.derivation.field} → ${t.derivation.parentTable})`}${t.orphansPredicted > 0 ? `; ${t.orphansPredicted} orphans will stay NULL` : ''}${t.note ? `; ${t.note}` : ''}`,
      );
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
export async function preflight(db: PgTarget | string, plan: MigrationPlan): Promise<PreflightItem[]> {
  return onTarget(db, (target) =>
    target.reading('tenantscope-preflight', async (client) => {
      const out: PreflightItem[] = [];
      const tables = plan.tables.map((t) => t.table);
      if (!tables.length) return [{ level: 'ok', message: 'Nothing to migrate: every table in the catalog has company_id.' }];
      const notOwned = (
        await client.query<{ t: string }>(
          `SELECT c.relname::text AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
      WHERE c.relname = ANY($1) AND NOT pg_has_role(current_user, c.relowner, 'USAGE')`,
          [tables],
        )
      ).rows.map((r) => r.t);
      out.push(
        notOwned.length
          ? { level: 'fail', message: `The database user does not own ${notOwned.join(', ')}: ALTER TABLE needs the owner.` }
          : { level: 'ok', message: `The database user owns all ${tables.length} tables.` },
      );
      const canCreate = (
        await client.query<{ ok: boolean }>(
          `SELECT has_database_privilege(current_user, current_database(), 'CREATE') OR EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS ok`,
          [STATE_SCHEMA],
        )
      ).rows[0]!.ok;
      out.push(
        canCreate
          ? { level: 'ok', message: `The run keeps its state in the schema ${STATE_SCHEMA}.` }
          : { level: 'fail', message: `The database user cannot create the schema ${STATE_SCHEMA} the run keeps its state in.` },
      );
      const holders = (
        await client.query<{ pid: number; t: string; mode: string; age: string; app: string }>(
          `
      SELECT l.pid, c.relname::text AS t, l.mode, coalesce(extract(epoch FROM now() - a.xact_start), 0)::int::text AS age, a.application_name AS app
      FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE c.relname = ANY($1) AND l.pid <> pg_backend_pid() AND a.xact_start < now() - interval '5 seconds'`,
          [tables],
        )
      ).rows;
      for (const h of holders)
        out.push({
          level: 'warn',
          message: `Backend ${h.pid} (${h.app || 'no name'}) holds ${h.mode} on ${h.t} in a transaction open ${h.age} s: DDL on it will wait (lock_timeout ${plan.options.lockTimeoutMs} ms, retried).`,
        });
      const long = (
        await client.query<{ pid: number; age: string }>(
          `SELECT pid, extract(epoch FROM now() - xact_start)::int::text AS age FROM pg_stat_activity WHERE xact_start < now() - interval '1 minute' AND pid <> pg_backend_pid() AND datname = current_database()`,
        )
      ).rows;
      for (const l of long)
        out.push({ level: 'warn', message: `Backend ${l.pid} has a transaction open for ${l.age} s: CREATE INDEX CONCURRENTLY waits for it to end.` });
      if (!holders.length && !long.length) out.push({ level: 'ok', message: 'No session holds locks on the planned tables, and no long transaction is open.' });
      for (const a of plan.asks) out.push({ level: 'warn', message: `${a.table} is left out: ${a.reason}.` });
      return out;
    }),
  );
}
