import type { Catalog, Resource } from '../../src-shared/catalog.ts';

/**
 * A catalog against the one saved before: what a person confirmed is kept across a new
 * discovery, and what changed since (resources, tables, derivations) is listed as drift.
 */

/** A resource's identity across runs: its collection path (names can be guesses, paths are facts). */
const keyOf = (r: Resource) => r.endpoints.list ?? r.endpoints.create ?? r.endpoints.get ?? r.name;

function pairUp(saved: Catalog, now: Catalog): Array<[Resource | undefined, Resource | undefined]> {
  const byKey = new Map(saved.resources.map((r) => [keyOf(r), r]));
  const byName = new Map(saved.resources.map((r) => [r.name, r]));
  const used = new Set<Resource>();
  const pairs: Array<[Resource | undefined, Resource | undefined]> = [];
  for (const n of now.resources) {
    const s = byKey.get(keyOf(n)) ?? byName.get(n.name);
    if (s && !used.has(s)) {
      used.add(s);
      pairs.push([s, n]);
    } else pairs.push([undefined, n]);
  }
  for (const s of saved.resources) if (!used.has(s)) pairs.push([s, undefined]);
  return pairs;
}

/**
 * Keeps what a person confirmed in a saved catalog over fresh guesses: the resource's name (and
 * its table, when discovery had no database), class, priority and body template. Resources are
 * matched by their collection path.
 */
export function keepConfirmed(discovered: Catalog, saved: Catalog): Catalog {
  const pairs = pairUp(saved, discovered).filter((p): p is [Resource, Resource] => !!p[0] && !!p[1]);
  const rename = new Map(pairs.map(([s, n]) => [n.name, s.name]));
  const to = (name: string) => rename.get(name) ?? name;
  const prior = new Map(pairs.map(([s, n]) => [n, s]));
  return {
    users: to(discovered.users),
    resources: discovered.resources
      .map((r) => {
        const s = prior.get(r);
        const renamed: Resource = {
          ...r,
          name: to(r.name),
          references: r.references.map((x) => ({ ...x, resource: to(x.resource) })),
          derivation: r.derivation.kind === 'parent' ? { ...r.derivation, resource: to(r.derivation.resource) } : r.derivation,
        };
        if (!s) return renamed;
        const confirmed = (field: string) => !s.uncertain.some((u) => u.startsWith(`${field}:`));
        const keepTable = r.table === null && s.table !== null && confirmed('table');
        return {
          ...renamed,
          table: keepTable ? s.table : r.table,
          class: confirmed('class') ? s.class : r.class,
          priority: confirmed('priority') ? s.priority : r.priority,
          bodyTemplate: Object.keys(s.bodyTemplate).length ? s.bodyTemplate : r.bodyTemplate,
          ...(confirmed('ownerless') && s.ownerless ? { ownerless: s.ownerless } : {}),
          uncertain: r.uncertain.filter(
            (u) => !['class', 'priority', 'ownerless', ...(keepTable ? ['table'] : [])].some((f) => u.startsWith(`${f}:`) && confirmed(f)),
          ),
        };
      })
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}

export interface DriftItem {
  resource: string;
  change: 'added' | 'removed' | 'changed';
  field: string | null;
  saved: unknown;
  now: unknown;
  message: string;
}

/** What the CRM says now against a saved catalog: new or vanished resources, endpoints, company fields, derivations, references. */
export function catalogDrift(saved: Catalog, now: Catalog): DriftItem[] {
  const out: DriftItem[] = [];
  const pairs = pairUp(saved, now);
  for (const [s, n] of pairs) {
    if (!s && n)
      out.push({
        resource: n.name,
        change: 'added',
        field: null,
        saved: null,
        now: n.endpoints,
        message: `${n.name} is new: the CRM serves it at ${keyOf(n)}`,
      });
    if (s && !n)
      out.push({
        resource: s.name,
        change: 'removed',
        field: null,
        saved: s.endpoints,
        now: null,
        message: `${s.name} is no longer served by the CRM (${keyOf(s)})`,
      });
  }
  for (const [s, n] of pairs) {
    if (!s || !n) continue;
    const name = s.name;
    const cmp = (field: string, x: unknown, y: unknown, message: string) => {
      if (JSON.stringify(x) !== JSON.stringify(y)) out.push({ resource: name, change: 'changed', field, saved: x, now: y, message });
    };
    for (const op of ['list', 'get', 'create', 'update', 'delete'] as const)
      cmp(
        `endpoints.${op}`,
        s.endpoints[op] ?? null,
        n.endpoints[op] ?? null,
        `${name}: ${op} endpoint ${s.endpoints[op] ?? 'none'} is now ${n.endpoints[op] ?? 'gone'}`,
      );
    if (n.table !== null) cmp('table', s.table, n.table, `${name}: table ${s.table} is now ${n.table}`);
    const hadCompany = s.derivation.kind === 'own';
    const hasCompany = n.derivation.kind === 'own';
    if (hadCompany !== hasCompany)
      out.push({
        resource: name,
        change: 'changed',
        field: 'company',
        saved: s.derivation,
        now: n.derivation,
        message: `${name} ${hasCompany ? 'gained' : 'lost'} its company_id column`,
      });
    else
      cmp(
        'derivation',
        s.derivation,
        n.derivation,
        `${name}: its company is now derived ${n.derivation.kind === 'none' ? 'from nothing' : `through ${'field' in n.derivation ? n.derivation.field : ''}`}`,
      );
    cmp('companyField', s.companyField, n.companyField, `${name}: the API's company field ${s.companyField ?? 'none'} is now ${n.companyField ?? 'none'}`);
    const refs = (r: Resource) => r.references.map((x) => `${x.field}->${x.resource}`).sort();
    const [before, after] = [refs(s), refs(n)];
    const gained = after.filter((x) => !before.includes(x));
    const lost = before.filter((x) => !after.includes(x));
    cmp(
      'references',
      before,
      after,
      `${name}: references ${[gained.length ? `now include ${gained.join(', ')}` : '', lost.length ? `no longer include ${lost.join(', ')}` : ''].filter(Boolean).join('; ')}`,
    );
  }
  return out;
}
