import type pg from 'pg';
import type { Catalog } from '../../src-shared/catalog.ts';
import type { Verdict } from '../../src-shared/tenancy.ts';
import { AppError } from '../../src-shared/result.ts';
import { ident, onTarget, type PgTarget } from '../pgdb/target.ts';
import { retryOnLock, underLockTimeout } from './pg.ts';
import { readRlsPlan, SETTING, tablePolicies, tableUndo, POLICY_PREFIX, type RlsPlan } from './rls.ts';
import { STATE_SCHEMA as S } from './sql.ts';
import { ensureState, takeLock } from './state.ts';

/**
 * The row-level security phase against the CRM's PostgreSQL: applied in one transaction (the
 * indexes it needs made first, concurrently), recorded in the migration's state with what each
 * table was before, rolled back to exactly that, and proven by the canary matrix run at the
 * database: as the application's role with another company in app.company_id, each table's row
 * of a company not its own is read, updated, deleted, and a copy of it inserted, all rolled back.
 */

const LOCK_TIMEOUT_MS = 2000;

export interface RlsApplied {
  id: number;
  tables: string[];
  indexesMade: string[];
}

type Before = Record<string, { enabled: boolean; forced: boolean }>;

interface Phase {
  id: number;
  appliedBy: string;
  appliedAt: string;
  tables: string[];
  before: Before;
  indexes: string[];
}

async function openPhase(c: pg.ClientBase): Promise<Phase | null> {
  const r = (await c.query(`SELECT id, applied_by, applied_at, tables, indexes FROM ${S}.rls WHERE rolled_back_at IS NULL ORDER BY id DESC LIMIT 1`)).rows[0];
  if (!r) return null;
  const before = r.tables as Before;
  return {
    id: Number(r.id),
    appliedBy: r.applied_by,
    appliedAt: new Date(r.applied_at).toISOString(),
    tables: Object.keys(before),
    before,
    indexes: r.indexes as string[],
  };
}

/** The phase applied now, if any (read-only: nothing when the migration's state has never been made). */
export async function currentPhase(c: pg.ClientBase): Promise<Phase | null> {
  const exists = (await c.query(`SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'rls'`, [S])).rowCount;
  return exists ? openPhase(c) : null;
}

/** The phase applied now, as the plan shows it. */
export async function appliedRls(c: pg.ClientBase): Promise<{ id: number; appliedBy: string; appliedAt: string; tables: number } | null> {
  const p = await currentPhase(c);
  return p && { id: p.id, appliedBy: p.appliedBy, appliedAt: p.appliedAt, tables: p.tables.length };
}

/** `fn` on a session of its own holding the migration's lock (one change at a time), with the phase applied now. */
async function inRlsSession<T>(db: PgTarget | string, fn: (c: pg.ClientBase, open: Awaited<ReturnType<typeof openPhase>>) => Promise<T>): Promise<T> {
  return onTarget(db, async (target) => {
    const c = await target.client('tenantscope-rls');
    try {
      await takeLock(c);
      await ensureState(c);
      return await fn(c, await openPhase(c));
    } finally {
      c.release(true);
    }
  });
}

/** Applies the phase: indexes, then every table's policies in one transaction (retried while a lock is held). */
export async function applyRls(db: PgTarget | string, catalog: Catalog, operator: string, log: (l: string) => void = () => {}): Promise<RlsApplied> {
  return inRlsSession(db, async (c, open) => {
    if (open) throw new AppError('conflict', `Row-level security phase ${open.id} is applied already (${open.tables.length} tables): roll it back first.`);
    const plan = await readRlsPlan(c, catalog);
    if (!plan.tables.length)
      throw new AppError('invalid-input', `No table can take the policies yet: ${plan.left.map((l) => `${l.table} (${l.reason})`).join(', ')}.`);
    const made: string[] = [];
    for (const t of plan.tables.filter((x) => x.makeIndex)) {
      await retryOnLock(
        10,
        () =>
          underLockTimeout(c, LOCK_TIMEOUT_MS, false, (x) =>
            x.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${ident(t.index!)} ON ${ident(t.table)} (company_id)`),
          ),
        (n) => log(`${t.table}: the index waited for a lock; retry ${n}`),
      );
      made.push(t.index!);
      log(`${t.table}: index ${t.index} on company_id made`);
    }
    const id = await retryOnLock(
      10,
      () =>
        underLockTimeout(c, LOCK_TIMEOUT_MS, true, async (x) => {
          const before = await rlsState(x, plan);
          for (const t of plan.tables) for (const sql of tablePolicies(t)) await x.query(sql);
          return Number(
            (
              await x.query(`INSERT INTO ${S}.rls (applied_by, tables, indexes) VALUES ($1, $2, $3) RETURNING id`, [
                operator,
                JSON.stringify(before),
                JSON.stringify(made),
              ])
            ).rows[0].id,
          );
        }),
      (n) => log(`the policies waited for a lock; retry ${n}`),
    );
    log(`row-level security on ${plan.tables.length} tables (phase ${id})`);
    return { id, tables: plan.tables.map((t) => t.table), indexesMade: made };
  });
}

/** Each table's RLS flags as they are, refusing a table that has policies of ours already. */
async function rlsState(c: pg.ClientBase, plan: RlsPlan): Promise<Before> {
  const { rows } = await c.query<{ t: string; en: boolean; fo: boolean; ours: number }>(
    `SELECT c.relname::text AS t, c.relrowsecurity AS en, c.relforcerowsecurity AS fo,
       (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname LIKE $3) AS ours
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = ANY($2)`,
    [plan.schema, plan.tables.map((t) => t.table), `${POLICY_PREFIX}%`],
  );
  const taken = rows.filter((r) => r.ours);
  if (taken.length)
    throw new AppError(
      'conflict',
      `${taken.map((r) => r.t).join(', ')} already ha${taken.length > 1 ? 've' : 's'} TenantScope's policies, from no recorded phase: drop them first.`,
    );
  return Object.fromEntries(rows.map((r) => [r.t, { enabled: r.en, forced: r.fo }]));
}

/** Takes the applied phase back out: its policies dropped, each table's RLS as before, the indexes it made dropped. */
export async function rollbackRls(db: PgTarget | string, operator: string, log: (l: string) => void = () => {}): Promise<{ id: number; tables: string[] }> {
  return inRlsSession(db, async (c, open) => {
    if (!open) throw new AppError('not-found', 'No row-level security phase is applied.');
    await retryOnLock(
      10,
      () =>
        underLockTimeout(c, LOCK_TIMEOUT_MS, true, async (x) => {
          for (const t of open.tables) for (const sql of tableUndo(t, open.before[t]!)) await x.query(sql);
          await x.query(`UPDATE ${S}.rls SET rolled_back_by = $2, rolled_back_at = now() WHERE id = $1`, [open.id, operator]);
        }),
      (n) => log(`the rollback waited for a lock; retry ${n}`),
    );
    for (const ix of open.indexes) await c.query(`DROP INDEX CONCURRENTLY IF EXISTS ${ident(ix)}`);
    log(`row-level security phase ${open.id} rolled back: ${open.tables.length} tables as before`);
    return { id: open.id, tables: open.tables };
  });
}

export interface RlsProofRow {
  table: string;
  read: Verdict;
  update: Verdict;
  delete: Verdict;
  insert: Verdict;
  note: string | null;
}

const RLS_REFUSED = /row-level security/;

/** One probe under a savepoint: what it did to a row of another company, as a verdict. */
async function probe(c: pg.ClientBase, sql: string, params: unknown[], wants: 'none' | 'refused'): Promise<{ verdict: Verdict; note?: string }> {
  await c.query('SAVEPOINT probe');
  try {
    const r = await c.query(sql, params);
    const touched = r.command === 'SELECT' ? Number(r.rows[0]?.n ?? 0) : (r.rowCount ?? 0);
    return {
      verdict: touched > 0 ? 'leak' : wants === 'refused' ? 'error' : 'enforced',
      ...(touched === 0 && wants === 'refused' ? { note: 'nothing inserted, no refusal' } : {}),
    };
  } catch (e) {
    const m = (e as Error).message;
    if (wants === 'refused' && RLS_REFUSED.test(m)) return { verdict: 'enforced' };
    // the row was reached: only its children's foreign keys kept it (a policy would have hidden it first)
    if (wants === 'none' && (e as { code?: string }).code === '23503') return { verdict: 'leak', note: `reached, kept only by a foreign key: ${m}` };
    return { verdict: 'error', note: m };
  } finally {
    await c.query('ROLLBACK TO SAVEPOINT probe');
  }
}

/**
 * The canary matrix at the database: as `role` (the application's; the console's own user when
 * none is given) with app.company_id set to `company`, each policy table's row of another company
 * is read, updated, deleted, and a copy of it inserted. Everything runs in a transaction that is
 * rolled back.
 */
export async function proveRls(
  db: PgTarget | string,
  catalog: Catalog,
  opts: { role?: string; company?: string } = {},
): Promise<{ role: string; company: string; rows: RlsProofRow[] }> {
  return onTarget(db, async (target) => {
    const c = await target.client('tenantscope-rls-proof');
    try {
      const plan = await readRlsPlan(c, catalog);
      const usersTable = catalog.resources.find((r) => r.name === catalog.users)?.table ?? catalog.users;
      const company =
        opts.company ??
        (
          await c.query<{ id: string }>(
            `SELECT company_id::text AS id FROM ${ident(usersTable)} WHERE company_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`,
          )
        ).rows[0]?.id;
      if (!company) throw new AppError('not-found', `No company to prove as: ${usersTable} has no user with a company.`);
      const role = opts.role ?? (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
      const rows: RlsProofRow[] = [];
      await c.query('BEGIN');
      try {
        for (const t of plan.tables) {
          const T = ident(t.table);
          // the other company's row, read as the console's user before the role is taken
          const other = (await c.query(`SELECT to_jsonb(x) AS row FROM ${T} x WHERE company_id IS NOT NULL AND company_id::text <> $1 LIMIT 1`, [company]))
            .rows[0]?.row as Record<string, unknown> | undefined;
          if (!other || !t.key) {
            const note = t.key ? 'no row of another company' : 'no one-column primary key to find the row by';
            rows.push({ table: t.table, read: 'skipped', update: 'skipped', delete: 'skipped', insert: 'skipped', note });
            continue;
          }
          await c.query('SAVEPOINT tbl');
          if (opts.role) await c.query(`SET LOCAL ROLE ${ident(opts.role)}`);
          await c.query(`SELECT set_config($1, $2, true)`, [SETTING, company]);
          const key = t.key;
          const id = String(other[key]);
          const read = await probe(c, `SELECT count(*)::int AS n FROM ${T} WHERE ${ident(key)}::text = $1`, [id], 'none');
          const update = await probe(c, `UPDATE ${T} SET company_id = company_id WHERE ${ident(key)}::text = $1`, [id], 'none');
          const del = await probe(c, `DELETE FROM ${T} WHERE ${ident(key)}::text = $1`, [id], 'none');
          const cols = Object.keys(other).filter((k) => k !== key);
          const insert = await probe(
            c,
            `INSERT INTO ${T} (${cols.map(ident).join(', ')}) SELECT ${cols.map((k) => `r.${ident(k)}`).join(', ')} FROM jsonb_populate_record(NULL::${T}, $1::jsonb) r`,
            [JSON.stringify(other)],
            'refused',
          );
          await c.query('ROLLBACK TO SAVEPOINT tbl');
          const note = [read, update, del, insert].map((p) => p.note).find(Boolean) ?? null;
          rows.push({ table: t.table, read: read.verdict, update: update.verdict, delete: del.verdict, insert: insert.verdict, note });
        }
      } finally {
        await c.query('ROLLBACK');
      }
      return { role, company, rows };
    } finally {
      c.release(true);
    }
  });
}
