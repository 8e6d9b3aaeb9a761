import type pg from 'pg';
import type { Catalog } from '../../src-shared/catalog.ts';
import type { PreflightItem } from '../../src-shared/migration.ts';
import { hasColumn, primaryKey, readSchemaSnapshot, type SchemaSnapshot } from '../pgdb/snapshot.ts';
import { ident } from '../pgdb/target.ts';

/**
 * Row-level security as the phase after the backfill: the database refuses what the code forgets.
 * For each tenant table the catalog names that has company_id: RLS enabled and forced (the owner
 * too), a RESTRICTIVE policy that no other policy can widen, and a permissive policy a command
 * with its WITH CHECK; rows every company shares (NULL company, where the catalog says so) stay
 * readable. The company comes from `app.company_id`, which the application sets with SET LOCAL in
 * every transaction. Super admins connect as a role of their own with BYPASSRLS. Pure: the
 * catalog and the snapshot in, the SQL out (rlsPhase.ts applies it, proves it, rolls it back).
 */

export const SETTING = 'app.company_id';
export const POLICY_PREFIX = 'tenantscope_rls_';
const CASTS: Record<string, string> = { uuid: 'uuid', integer: 'integer', bigint: 'bigint', smallint: 'smallint', text: 'text', 'character varying': 'text' };

export interface RlsTable {
  table: string;
  /** its primary key's column (the proof finds the other company's row by it); null without a one-column key */
  key: string | null;
  /** rows with no company are every company's (readable, never writable) */
  shared: boolean;
  /** an index that leads with company_id, or the one the phase makes */
  index: string | null;
  makeIndex: boolean;
  cast: string;
}

export interface RlsPlan {
  schema: string;
  tables: RlsTable[];
  /** tables of the catalog left out, and why */
  left: { table: string; reason: string }[];
}

/** A migration plan's tables as the phase sees them: company_id of the plan's type, indexed by the plan's index. */
export interface PlannedCompanyIds {
  /** absent in plans made before the type was kept: uuid, the only type those added */
  companyIdType?: string;
  tables: Array<{ table: string; names: { index: string } }>;
}

/**
 * Which tables get policies, from the catalog and the schema as it is now; with `planned`, as it
 * will be once that migration plan has run (its tables have company_id and its index).
 */
export function planRls(snapshot: SchemaSnapshot, catalog: Catalog, planned?: PlannedCompanyIds): RlsPlan {
  const adds = new Map((planned?.tables ?? []).map((t) => [t.table, t.names.index]));
  const usersTable = catalog.resources.find((r) => r.name === catalog.users)?.table ?? catalog.users;
  const plan: RlsPlan = { schema: snapshot.schema, tables: [], left: [] };
  const seen = new Set<string>();
  for (const r of catalog.resources) {
    const table = r.table;
    if (!table || seen.has(table)) continue;
    seen.add(table);
    if (r.class !== 'tenant' && r.class !== 'user-owned') continue;
    if (table === usersTable) {
      plan.left.push({ table, reason: 'signing in reads it before a company is known: the application checks it' });
      continue;
    }
    const t = snapshot.tables.get(table);
    if (!t) {
      plan.left.push({ table, reason: 'not in the database' });
      continue;
    }
    const has = hasColumn(snapshot, table, 'company_id');
    if (!has && !adds.has(table)) {
      plan.left.push({ table, reason: 'no company_id yet: run the migration first' });
      continue;
    }
    const type = has ? t.columns.find((c) => c.name === 'company_id')!.type : (planned!.companyIdType ?? 'uuid');
    const cast = CASTS[type];
    if (!cast) {
      plan.left.push({ table, reason: `company_id is ${type}, which the policies cannot compare with a setting` });
      continue;
    }
    const leading = has ? t.keys.find((k) => k.kind !== 'f' && k.columns[0] === 'company_id')?.name : adds.get(table);
    const pk = primaryKey(snapshot, table);
    plan.tables.push({
      table,
      key: pk?.length === 1 ? pk[0]! : null,
      shared: r.ownerless === 'shared',
      index: leading ?? `${POLICY_PREFIX}${table}_company_id`.slice(0, 63),
      makeIndex: !leading,
      cast,
    });
  }
  return plan;
}

const company = (t: RlsTable) => `NULLIF(current_setting('${SETTING}', true), '')::${t.cast}`;
export const policyNames = ['wall', 'select', 'insert', 'update', 'delete'].map((p) => `${POLICY_PREFIX}${p}`);

/** The statements that put one table under its policies (in the phase's transaction). */
export function tablePolicies(t: RlsTable): string[] {
  const T = ident(t.table);
  const mine = `company_id = ${company(t)}`;
  const readable = t.shared ? `(${mine} OR company_id IS NULL)` : mine;
  return [
    `ALTER TABLE ${T} ENABLE ROW LEVEL SECURITY`,
    `ALTER TABLE ${T} FORCE ROW LEVEL SECURITY`,
    `CREATE POLICY ${POLICY_PREFIX}wall ON ${T} AS RESTRICTIVE FOR ALL USING (${readable}) WITH CHECK (${mine})`,
    `CREATE POLICY ${POLICY_PREFIX}select ON ${T} FOR SELECT USING (${readable})`,
    `CREATE POLICY ${POLICY_PREFIX}insert ON ${T} FOR INSERT WITH CHECK (${mine})`,
    `CREATE POLICY ${POLICY_PREFIX}update ON ${T} FOR UPDATE USING (${mine}) WITH CHECK (${mine})`,
    `CREATE POLICY ${POLICY_PREFIX}delete ON ${T} FOR DELETE USING (${mine})`,
  ];
}

/** What takes one table back out (policies dropped; RLS left as it was before the phase). */
export function tableUndo(table: string, before: { enabled: boolean; forced: boolean }): string[] {
  const T = ident(table);
  return [
    ...policyNames.map((p) => `DROP POLICY IF EXISTS ${p} ON ${T}`),
    ...(before.forced ? [] : [`ALTER TABLE ${T} NO FORCE ROW LEVEL SECURITY`]),
    ...(before.enabled ? [] : [`ALTER TABLE ${T} DISABLE ROW LEVEL SECURITY`]),
  ];
}

/** What the application must do, for the seed's stack (SQLAlchemy): the company in every transaction, never per connection. */
export const SQLALCHEMY_LISTENER = `# Every transaction says whose data it may touch; a pooled connection never carries it over.
from sqlalchemy import event, text

@event.listens_for(SessionLocal, "after_begin")
def set_company(session, transaction, connection):
    company_id = current_company_id()  # from the request's signed-in user; None for a super admin's own role
    if company_id is not None:
        connection.execute(text("SELECT set_config('${SETTING}', :c, true)"), {"c": str(company_id)})
`;

/** The whole phase as SQL a DBA can read: indexes, policies, the super admins' role, rollback. */
export function rlsSql(plan: RlsPlan): string {
  const out = [
    `-- TenantScope row-level security phase for schema ${plan.schema}: ${plan.tables.length} tables`,
    `-- The application sets ${SETTING} with SET LOCAL (set_config(..., true)) in every transaction:`,
    ...SQLALCHEMY_LISTENER.trim()
      .split('\n')
      .map((l) => `--   ${l}`),
    '-- Super admins: a role of their own that bypasses the policies (not an OR is_admin branch):',
    '--   CREATE ROLE crm_super_admin LOGIN BYPASSRLS;  -- then GRANT it what the admin pages need',
    ...plan.left.map((l) => `-- left out: ${l.table}: ${l.reason}`),
    '',
  ];
  for (const t of plan.tables.filter((x) => x.makeIndex))
    out.push(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${ident(t.index!)} ON ${ident(t.table)} (company_id);`);
  out.push('BEGIN;');
  for (const t of plan.tables)
    out.push('', `-- ${t.table}${t.shared ? ' (rows without a company are every company’s: readable)' : ''}`, ...tablePolicies(t).map((s) => `${s};`));
  out.push('COMMIT;', '', '-- Rollback:', ...plan.tables.flatMap((t) => tableUndo(t.table, { enabled: false, forced: false }).map((s) => `-- ${s};`)));
  return out.join('\n') + '\n';
}

/**
 * What would let data past the policies, read before they are applied: SECURITY DEFINER functions
 * and triggers that touch the tables, views over them that run as their owner, materialized views
 * (a copy no policy covers), and roles that bypass RLS (superusers, BYPASSRLS), this connection's first.
 */
export async function rlsPitfalls(c: pg.ClientBase, plan: RlsPlan): Promise<PreflightItem[]> {
  const tables = plan.tables.map((t) => t.table);
  const out: PreflightItem[] = [];
  const me = (
    await c.query<{ u: string; su: boolean; by: boolean }>(
      `SELECT current_user AS u, rolsuper AS su, rolbypassrls AS by FROM pg_roles WHERE rolname = current_user`,
    )
  ).rows[0]!;
  if (me.su || me.by)
    out.push({
      level: 'warn',
      message: `${me.u}, the user this console connects as, is ${me.su ? 'a superuser' : 'BYPASSRLS'}: the policies do not apply to it. The application must connect as a role that is neither: prove as that role (--role, or the Application's role field).`,
    });
  const bypass = (
    await c.query<{ r: string }>(
      `SELECT rolname AS r FROM pg_roles WHERE (rolsuper OR rolbypassrls) AND rolname <> current_user AND rolname NOT LIKE 'pg\\_%' ORDER BY 1`,
    )
  ).rows.map((r) => r.r);
  if (bypass.length)
    out.push({
      level: 'warn',
      message: `Roles that bypass the policies: ${bypass.join(', ')} (superuser or BYPASSRLS): only super admins' connections should be among them.`,
    });
  const definers = (
    await c.query<{ f: string }>(
      `SELECT DISTINCT p.oid::regprocedure::text AS f FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND EXISTS (SELECT 1 FROM unnest($1::text[]) t WHERE p.prosrc ~* ('\\m' || t || '\\M'))`,
      [tables],
    )
  ).rows.map((r) => r.f);
  for (const f of definers)
    out.push({ level: 'warn', message: `SECURITY DEFINER function ${f} names a tenant table: it runs as its owner, and its owner may bypass the policies.` });
  const views = (
    await c.query<{ v: string; kind: string; invoker: boolean }>(
      `SELECT DISTINCT v.oid::regclass::text AS v, v.relkind::text AS kind, coalesce(v.reloptions::text[] @> ARRAY['security_invoker=true'], false) AS invoker
       FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid JOIN pg_class v ON v.oid = w.ev_class JOIN pg_class t ON t.oid = d.refobjid
       JOIN pg_namespace n ON n.oid = t.relnamespace
       WHERE n.nspname = $2 AND t.relname = ANY($1) AND v.oid <> t.oid AND v.relkind IN ('v', 'm')`,
      [tables, plan.schema],
    )
  ).rows;
  for (const v of views) {
    if (v.kind === 'm') out.push({ level: 'warn', message: `Materialized view ${v.v} holds a copy of tenant rows that no policy covers.` });
    else if (!v.invoker)
      out.push({
        level: 'warn',
        message: `View ${v.v} runs as its owner (no security_invoker): it reads past the policies. ALTER VIEW ${v.v} SET (security_invoker = true).`,
      });
  }
  const triggers = (
    await c.query<{ t: string; tg: string; f: string }>(
      `SELECT c.relname::text AS t, g.tgname::text AS tg, p.oid::regprocedure::text AS f FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_proc p ON p.oid = g.tgfoid
       WHERE NOT g.tgisinternal AND p.prosecdef AND n.nspname = $2 AND c.relname = ANY($1)`,
      [tables, plan.schema],
    )
  ).rows;
  for (const t of triggers) out.push({ level: 'warn', message: `Trigger ${t.tg} on ${t.t} runs ${t.f} as its owner (SECURITY DEFINER).` });
  if (out.length === 0)
    out.push({
      level: 'ok',
      message: 'No SECURITY DEFINER function or trigger, owner-run view, materialized view or bypassing role stands beside the policies.',
    });
  return out;
}

export async function readRlsPlan(c: pg.ClientBase, catalog: Catalog, planned?: PlannedCompanyIds): Promise<RlsPlan> {
  return planRls(await readSchemaSnapshot(c), catalog, planned);
}
