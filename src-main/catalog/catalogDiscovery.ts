import type { Catalog, Derivation, Resource } from '../../src-shared/catalog.ts';
import type { Priority, TenancyClass } from '../../src-shared/tenancy.ts';
import type { ApiResource, JsonSchema } from './openapiDiscovery.ts';
import type { DbTable } from './databaseDiscovery.ts';

const COMPANY = /^(company|tenant|organization|organisation|org|account)_?id$/i;
const OWNER = /^(owner|user|created_by|author|reporter|assignee|member)_?id$/i;
const PERSONAL_OWNER = /^(user|member)_?id$/i;
const SYSTEM = /(^|_)(logs?|sessions?|audits?|events?)$|^audit/i;
const REF = /^(.+?)_?id$/i;

const singular = (w: string) =>
  w
    .replace(/ies$/, 'y')
    .replace(/(ss|x|ch|sh)es$/, '$1')
    .replace(/s$/, '');
const tokens = (name: string) => name.toLowerCase().split('_').filter(Boolean).map(singular);

function jaccard(a: Set<string>, b: Set<string>) {
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  return inter / (a.size + b.size - inter || 1);
}

/** Best table for each API resource: the one whose columns match its fields, names breaking ties. */
function matchTables(api: ApiResource[], tables: DbTable[]): Map<ApiResource, { table: DbTable; doubt: string | null }> {
  const scored: Array<{ r: ApiResource; t: DbTable; score: number }> = [];
  for (const r of api) {
    const fields = new Set(Object.keys(r.fields));
    for (const t of tables) {
      const cols = new Set(t.columns.map((c) => c.name));
      const nameTokens = tokens(r.pathName);
      const tableTokens = tokens(t.name);
      const shared = nameTokens.filter((x) => tableTokens.includes(x)).length / Math.max(nameTokens.length, tableTokens.length);
      scored.push({ r, t, score: jaccard(fields, cols) + 0.1 * shared });
    }
  }
  scored.sort((a, b) => b.score - a.score);
  const out = new Map<ApiResource, { table: DbTable; doubt: string | null }>();
  const used = new Set<string>();
  for (const s of scored) {
    if (out.has(s.r) || used.has(s.t.name) || s.score < 0.5) continue;
    const rival = scored.find((x) => x.r === s.r && x.t !== s.t && !used.has(x.t.name));
    const doubt = rival && s.score - rival.score < 0.03 ? `table: ${s.t.name} and ${rival.t.name} fit its fields about equally; confirm` : null;
    out.set(s.r, { table: s.t, doubt });
    used.add(s.t.name);
  }
  return out;
}

function placeholder(field: string, schema: JsonSchema, ref: string | undefined): unknown {
  if (ref) return `{{ref:${ref}}}`;
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (schema.format === 'date-time') return '2026-01-01T00:00:00Z';
  if (schema.format === 'date') return '2026-01-01';
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  if (type === 'integer' || type === 'number') return 1;
  if (type === 'boolean') return true;
  if (type === 'array') return [];
  if (type === 'object') return {};
  if (/email/i.test(field)) return 'canary-{{marker}}@example.test';
  if (/password|secret/i.test(field)) return '{{marker}}-Pw1!';
  return 'TenantScope canary {{marker}}';
}

export interface DiscoveryInput {
  api: ApiResource[];
  db?: DbTable[];
}

/** What drafting a resource needs to know of the others: its table, its name, how a field names its target. */
interface Drafting {
  db?: DbTable[];
  users: string;
  tableOf(r: ApiResource): DbTable | undefined;
  nameOf(r: ApiResource): string;
  doubtOf(r: ApiResource): string | undefined;
  byTable: Map<string, string>;
  guessTarget(field: string): { resource?: string; doubt?: string };
}

/**
 * Turns what the OpenAPI document (and, when given, the database) says into a tenancy catalog.
 * Whatever cannot be decided from these facts is written into `uncertain` for a person to confirm.
 */
export function discoverCatalog({ api: all, db }: DiscoveryInput): Catalog & { tenantsPath: string | null } {
  // the tenants themselves (companies): the table company fields point at, or a collection named so
  const tenantTables = new Set(db?.flatMap((t) => t.foreignKeys.filter((f) => COMPANY.test(f.column)).map((f) => f.table)) ?? []);
  const preMatch = db ? matchTables(all, db) : new Map();
  const tenants =
    all.find((r) => tenantTables.has((preMatch.get(r)?.table as DbTable | undefined)?.name ?? '')) ??
    all.find((r) => /^(companies|tenants|organizations|organisations|orgs)$/.test(r.pathName));
  const api = all.filter((r) => r !== tenants);
  const matches = db ? matchTables(api, db) : new Map();
  const tableOf = (r: ApiResource) => matches.get(r)?.table as DbTable | undefined;
  const nameOf = (r: ApiResource) => tableOf(r)?.name ?? r.pathName;
  const names = [...new Map(api.map((r) => [nameOf(r), r])).keys()];
  const byTable = new Map(api.filter((r) => tableOf(r)).map((r) => [tableOf(r)!.name, nameOf(r)]));
  const users = usersOf(names, byTable, db);
  const ctx: Drafting = {
    db,
    users,
    tableOf,
    nameOf,
    byTable,
    doubtOf: (r) => matches.get(r)?.doubt,
    guessTarget: (field) => guessTarget(field, users, names),
  };
  const draft = api.map((r) => draftResource(r, ctx));
  settleClasses(draft, users);
  return { users, resources: draft.sort((a, b) => a.name.localeCompare(b.name)), tenantsPath: tenants?.collectionPath ?? null };
}

/** The users resource: named so, or the table most owner fields point at. */
function usersOf(names: string[], byTable: Map<string, string>, db?: DbTable[]): string {
  let users = names.find((n) => /^(users|members|accounts_users)$/.test(n));
  if (!users && db) {
    const counts = new Map<string, number>();
    for (const t of db) for (const fk of t.foreignKeys) if (OWNER.test(fk.column)) counts.set(fk.table, (counts.get(fk.table) ?? 0) + 1);
    const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    users = top ? (byTable.get(top) ?? top) : undefined;
  }
  return users ?? 'users';
}

/** The resource a field like `contact_id` points at, by name; a doubt when several could be meant. */
function guessTarget(field: string, users: string, names: string[]): { resource?: string; doubt?: string } {
  const m = field.match(REF);
  if (!m) return {};
  const base = singular(m[1]!.toLowerCase().replace(/_$/, ''));
  if (OWNER.test(field)) return { resource: users };
  const candidates = names.filter((n) => {
    const t = tokens(n);
    return t[t.length - 1] === base;
  });
  const exact = candidates.filter((n) => tokens(n).length === 1);
  if (exact.length === 1) return { resource: exact[0] };
  if (candidates.length === 1) return { resource: candidates[0] };
  if (candidates.length > 1)
    return { resource: candidates.sort((a, b) => a.length - b.length)[0], doubt: `${field}: could point at ${candidates.join(' or ')}; confirm` };
  return {};
}

/** One resource of the catalog from its collection: table, id field, references, how its company is derived, a body template. */
function draftResource(r: ApiResource, ctx: Drafting): Resource {
  const table = ctx.tableOf(r);
  const name = ctx.nameOf(r);
  const uncertain: string[] = [];
  const doubt = ctx.doubtOf(r);
  if (doubt) uncertain.push(doubt);
  if (!ctx.db) uncertain.push('table: no database was given; confirm the table');
  else if (!table) uncertain.push('table: no table of the database matches its fields; confirm the table');
  const apiFields = Object.keys(r.fields);
  const columns = table ? table.columns.map((c) => c.name) : apiFields;
  const companyField = apiFields.find((f) => COMPANY.test(f)) ?? null;
  const companyColumn = columns.find((c) => COMPANY.test(c)) ?? companyField;
  const idField = apiFields.includes('id') ? 'id' : (apiFields.find((f) => /^id$|_id$/i.test(f) && f.toLowerCase() === `${singular(name)}_id`) ?? 'id');
  const references = referencesOf(ctx, table, name, columns, idField, companyColumn, uncertain);
  const { derivation, owner, ownerless } = derivationOf(ctx, r, table, name, columns, companyColumn, references, uncertain);
  const { body, changeField } = templateOf(r, idField, companyField, owner, references);
  return {
    ...(changeField ? { changeField } : {}),
    ...(ownerless ? { ownerless } : {}),
    name,
    endpoints: r.operations,
    updateMethod: r.updateMethod,
    table: table?.name ?? null,
    idField,
    companyField,
    class: 'tenant',
    derivation,
    priority: null,
    references,
    bodyTemplate: body,
    uncertain,
  };
}

/** The fields that point at other resources: real foreign keys with a database, guesses by name without one. */
function referencesOf(
  { users, byTable, guessTarget }: Drafting,
  table: DbTable | undefined,
  name: string,
  columns: string[],
  idField: string,
  companyColumn: string | null,
  uncertain: string[],
): Resource['references'] {
  const fkOf = (field: string) => table?.foreignKeys.find((f) => f.column === field);
  const references: Resource['references'] = [];
  for (const f of columns) {
    if (f === idField || f === companyColumn || !REF.test(f) || f === 'id') continue;
    const fk = fkOf(f);
    if (table && !fk) continue; // with a database, only real foreign keys are references
    const target = fk ? (byTable.get(fk.table) ?? (fk.table === users ? users : undefined)) : undefined;
    const guess = target ? { resource: target } : guessTarget(f);
    if (!guess.resource || (guess.resource === name && !fk)) continue;
    if (guess.doubt) uncertain.push(guess.doubt);
    references.push({ field: f, resource: guess.resource });
  }
  return references;
}

/** How the resource's company is known: its own company field, its owner's, or its parent's (a nested collection's path names the parent). */
function derivationOf(
  { users, guessTarget }: Drafting,
  r: ApiResource,
  table: DbTable | undefined,
  name: string,
  columns: string[],
  companyColumn: string | null,
  references: Resource['references'],
  uncertain: string[],
): { derivation: Derivation; owner: string | undefined; ownerless: Resource['ownerless'] } {
  const owner = columns.find((c) => OWNER.test(c) && references.some((x) => x.field === c && x.resource === users)) ?? (name === users ? undefined : undefined);
  const norm = (x: string) => x.replace(/_/g, '').toLowerCase();
  const nestedParam = r.parentParams[0];
  const nested = nestedParam ? (columns.find((c) => norm(c) === norm(nestedParam)) ?? nestedParam) : undefined;
  const parentRef =
    (nested && references.find((x) => x.field === nested)) ??
    references.find(
      (x) =>
        x.resource !== users &&
        x.resource !== name &&
        (table ? table.columns.find((c) => c.name === x.field)?.nullable === false : r.required.includes(x.field)),
    );
  let derivation: Derivation;
  if (companyColumn) derivation = { kind: 'own', field: companyColumn };
  else if (owner) derivation = { kind: 'owner', field: owner };
  else if (parentRef) derivation = { kind: 'parent', field: parentRef.field, resource: parentRef.resource };
  else if (nested) {
    const target = guessTarget(nested).resource;
    derivation = target ? { kind: 'parent', field: nested, resource: target } : { kind: 'none' };
    if (target) references.push({ field: nested, resource: target });
  } else derivation = { kind: 'none' };
  // rows with no owner: orphans, or (a template, a default) rows every company shares? a guess for a person to confirm
  let ownerless: Resource['ownerless'];
  if (derivation.kind === 'owner') {
    const nullable = table ? table.columns.find((c) => c.name === derivation.field)?.nullable === true : !r.required.includes(derivation.field);
    if (nullable && /template|preset|default|categor|setting|snippet|library/i.test(name)) {
      ownerless = 'shared';
      uncertain.push(`ownerless: rows with no ${derivation.field} guessed to be shared by every company (system ${name}); confirm, or say they are orphans`);
    }
  }
  if (derivation.kind === 'parent' && !table)
    uncertain.push(`derivation: company through ${derivation.field} -> ${derivation.resource} is a guess without the database; confirm`);
  if (derivation.kind === 'none') uncertain.push('derivation: no company, owner or parent field found; confirm it is shared or system data');
  return { derivation, owner, ownerless };
}

/** The body a canary is created with, and the field an update probe changes. */
function templateOf(
  r: ApiResource,
  idField: string,
  companyField: string | null,
  owner: string | undefined,
  references: Resource['references'],
): { body: Record<string, unknown>; changeField: string | undefined } {
  const body: Record<string, unknown> = {};
  for (const f of r.required) {
    if (f === companyField || f === owner || f === idField) continue;
    body[f] = placeholder(f, r.writable[f] ?? {}, references.find((x) => x.field === f)?.resource);
  }
  // something for an update probe to change in every canary: when no required field can carry a
  // marker or a number, an optional free-text field does
  const textField = (f: string, sch: JsonSchema) => {
    const type = Array.isArray(sch.type) ? sch.type : [sch.type];
    return (
      type.includes('string') &&
      !sch.format &&
      !sch.enum &&
      f !== idField &&
      !REF.test(f) &&
      !/email|password|secret|url|phone|date|time|status|state|type|currency|code|country|language|locale|timezone/i.test(f)
    );
  };
  const marked = (f: string) => typeof body[f] === 'string' && String(body[f]).includes('{{marker}}');
  if (!Object.keys(body).some((f) => marked(f) || typeof body[f] === 'number')) {
    const optional = Object.entries(r.writable).find(([f, sch]) => !r.required.includes(f) && f !== companyField && f !== owner && textField(f, sch));
    if (optional) body[optional[0]] = placeholder(optional[0], optional[1], undefined);
  }
  // the field an update probe changes: one the update body accepts, a marked one of the template first
  const updatable = Object.entries(r.updatable);
  const changeField = updatable.find(([f, sch]) => marked(f) && textField(f, sch))?.[0] ?? updatable.find(([f, sch]) => textField(f, sch))?.[0];
  return { body, changeField };
}

/** Class and priority, parents before children. */
function settleClasses(draft: Resource[], users: string): void {
  const byName = new Map(draft.map((r) => [r.name, r]));
  const referenced = new Set(draft.flatMap((r) => r.references.filter((x) => x.resource !== users).map((x) => x.resource)));
  const settled = new Set<string>();
  const settle = (r: Resource, depth = 0): void => {
    if (settled.has(r.name) || depth > 10) return;
    const system = SYSTEM.test(r.name);
    let cls: TenancyClass;
    let priority: Priority | null;
    let why: string;
    switch (r.derivation.kind) {
      case 'own':
        cls = 'tenant';
        priority = null;
        why = '';
        break;
      case 'owner':
        cls = system ? 'system' : 'user-owned';
        priority = system ? 'LOW' : PERSONAL_OWNER.test(r.derivation.field) && !referenced.has(r.name) ? 'MEDIUM' : 'HIGH';
        why = system
          ? 'a system table'
          : priority === 'MEDIUM'
            ? 'personal to its user and referenced by nothing'
            : 'business data reached only through its owner';
        break;
      case 'parent': {
        const parent = byName.get(r.derivation.resource);
        if (parent) settle(parent, depth + 1);
        cls = parent?.class ?? 'user-owned';
        priority = parent?.priority ?? 'HIGH';
        why = `inherits from ${r.derivation.resource}`;
        break;
      }
      default:
        cls = system ? 'system' : 'global';
        priority = 'LOW';
        why = system ? 'a system table' : 'shared data';
    }
    r.class = cls;
    r.priority = priority;
    if (priority) r.uncertain.push(`priority: ${priority} guessed (${why}); confirm`);
    settled.add(r.name);
  };
  draft.forEach((r) => settle(r));
}
