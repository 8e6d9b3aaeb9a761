import { counted } from '../../src-shared/format.ts';
import { OUTSIDE, UNASSIGNED } from '../../src-shared/partitions.ts';
import { findingId, type Pass } from './pass.ts';

/** The passes over what crosses tenants: references, rows handed to another company, shared data, users without a company. */

/** References that cross tenants: one pass over every reference, the target's company from the covering index, the referring row only on a mismatch. */
export function referencesPass({ db, catalog, company, params, byName, add }: Pass): void {
  // a row's company comes through its owner or parent reference, which cannot disagree with it: those
  // are left out, as a CASE on the resource (a list subquery per reference cost a third of the pass)
  const derived = catalog.resources.flatMap((r) => (r.derivation.kind === 'owner' || r.derivation.kind === 'parent' ? [[r.name, r.derivation.field]] : []));
  const through = Object.fromEntries(
    derived.flatMap(([r, f], i) => [
      [`dr${i}`, r],
      [`df${i}`, f],
    ]),
  );
  const notDerived = derived.length
    ? `(f.resource IS NULL OR f.field IS NOT CASE f.resource ${derived.map((_, i) => `WHEN @dr${i} THEN @df${i}`).join(' ')} END)`
    : 'TRUE';
  const crossing = db
    .prepare(
      `SELECT r.resource AS resource, f.field AS field, r.id AS id
      FROM refs f CROSS JOIN records t ON t.resource = f.target_resource AND t.id = f.target_id
      CROSS JOIN records r ON r.rid = f.rid
      WHERE ${notDerived}
        AND t.deleted = 0 AND t.company_id <> f.company_id
        AND f.company_id NOT IN ('${UNASSIGNED}', '${OUTSIDE}') AND t.company_id NOT IN ('${UNASSIGNED}', '${OUTSIDE}') AND r.deleted = 0
        ${company ? 'AND f.company_id = @company' : ''}
      ORDER BY r.resource, f.field, r.id`,
    )
    .all({ ...params, ...through }) as Array<{ resource: string; field: string; id: string }>;
  const groups = new Map<string, string[]>();
  for (const c of crossing) {
    const r = byName.get(c.resource);
    // a row whose company comes through this very reference cannot disagree with it
    if (!r || ((r.derivation.kind === 'owner' || r.derivation.kind === 'parent') && r.derivation.field === c.field)) continue;
    const key = `${c.resource}\u0000${c.field}`;
    groups.set(key, [...(groups.get(key) ?? []), c.id]);
  }
  for (const [key, rowIds] of groups) {
    const [resource, field] = key.split('\u0000') as [string, string];
    const target = byName.get(resource)!.references.find((x) => x.field === field)?.resource ?? '?';
    add({
      id: findingId('cross-tenant-reference', resource, field),
      check: 'cross-tenant-reference',
      severity: 'HIGH',
      resource,
      count: rowIds.length,
      title: `${counted(rowIds.length, `${resource} row`)} ${rowIds.length === 1 ? 'points' : 'point'} at another company's ${target} (${field})`,
      evidence: { ids: rowIds.slice(0, 20), path: `${resource}.${field} → ${target}.company_id ≠ ${resource}'s company` },
      remediation: `Each of these ${resource} rows links to another company's ${target}: correct or clear ${field}, and validate on write that ${field} belongs to the caller's company.`,
      sql: null,
    });
  }
}

/** Rows the CRM handed to another company's identity. */
export function leaksPass({ db, company, params, add, idsOf }: Pass): void {
  const leakRows = db
    .prepare(
      `SELECT resource, count(*) AS n, group_concat(identity, ', ') AS who FROM (SELECT DISTINCT resource, id, identity FROM leaks
      WHERE 1 = 1 ${company ? 'AND (identity_company_id = @company OR company_id = @company)' : ''}) GROUP BY resource ORDER BY resource`,
    )
    .all(params) as Array<{ resource: string; n: number; who: string }>;
  for (const l of leakRows) {
    const who = [...new Set(l.who.split(', '))].join(', ');
    add({
      id: findingId('leak-evidence', l.resource),
      check: 'leak-evidence',
      severity: 'HIGH',
      resource: l.resource,
      count: l.n,
      title: `The CRM returned ${counted(l.n, `${l.resource} row`)} of another company to ${who}`,
      evidence: {
        ids: idsOf(
          `SELECT id FROM leaks WHERE resource = @resource ${company ? 'AND (identity_company_id = @company OR company_id = @company)' : ''} ORDER BY id`,
          { ...params, resource: l.resource },
        ),
        path: `leaks: ${l.resource} fetched by ${who}`,
      },
      remediation: `Scope the ${l.resource} endpoints by the caller's company_id (the list, and reads by id).`,
      sql: null,
    });
  }
}

/** Shared data that is really shared: rows of a global resource that belong to one company. */
export function sharedPass({ db, catalog, part, params, add, idsOf }: Pass): void {
  for (const r of catalog.resources.filter((x) => x.class === 'global')) {
    const n = db
      .prepare(`SELECT count(*) FROM records r WHERE r.resource = @resource AND r.deleted = 0 AND r.company_id <> '${UNASSIGNED}' ${part}`)
      .pluck()
      .get({ ...params, resource: r.name }) as number;
    if (!n) continue;
    add({
      id: findingId('not-shared', r.name),
      check: 'not-shared',
      severity: 'LOW',
      resource: r.name,
      count: n,
      title: `${counted(n, 'row')} of ${r.name}, marked shared by every company, ${n === 1 ? 'belongs' : 'belong'} to one company`,
      evidence: {
        ids: idsOf(`SELECT r.id FROM records r WHERE r.resource = @resource AND r.deleted = 0 AND r.company_id <> '${UNASSIGNED}' ORDER BY r.id`, {
          resource: r.name,
        }),
        path: `${r.name}: class global, company set`,
      },
      remediation: `Either ${r.name} is per company (change its class in the catalog, add company_id) or these rows should lose their company.`,
      sql: null,
    });
  }
}

/** Users with no company who are not super admins; the super admins, to review. */
export function usersPass({ db, catalog, company, byName, add }: Pass): void {
  const users = byName.get(catalog.users);
  if (users) {
    const companyField = users.companyField ?? 'company_id';
    const noCompany = db
      .prepare(
        `SELECT r.id FROM records r WHERE r.resource = @resource AND r.deleted = 0 AND json_extract(r.payload, '$.${companyField}') IS NULL
        AND coalesce(json_extract(r.payload, '$.role'), '') <> 'super_admin' ORDER BY r.id`,
      )
      .pluck()
      .all({ resource: users.name }) as string[];
    if (noCompany.length && !company)
      add({
        id: findingId('user-without-company'),
        check: 'user-without-company',
        severity: 'MEDIUM',
        resource: users.name,
        count: noCompany.length,
        title: `${counted(noCompany.length, 'user')} who ${noCompany.length === 1 ? 'is not a super admin has' : 'are not super admins have'} no company`,
        evidence: { ids: noCompany.slice(0, 20), path: `${users.name}.${companyField} IS NULL, role ≠ super_admin` },
        remediation: 'Give each a company, or deactivate them: the CRM refuses them everywhere ("No company associated").',
        sql: null,
      });
    const supers = db
      .prepare(`SELECT r.id FROM records r WHERE r.resource = @resource AND r.deleted = 0 AND json_extract(r.payload, '$.role') = 'super_admin' ORDER BY r.id`)
      .pluck()
      .all({ resource: users.name }) as string[];
    if (supers.length && !company)
      add({
        id: findingId('super-admins'),
        check: 'super-admins',
        severity: 'LOW',
        resource: users.name,
        count: supers.length,
        title: `${supers.length} super admin${supers.length === 1 ? '' : 's'} can see every company`,
        evidence: { ids: supers.slice(0, 20), path: `${users.name}.role = super_admin` },
        remediation: 'Keep super admins few and known; review this list.',
        sql: null,
      });
  }
}
