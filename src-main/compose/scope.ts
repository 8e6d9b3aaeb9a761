import type { Session, Tenant } from '../../src-shared/contract.ts';
import { AppError } from '../../src-shared/result.ts';
import { scopeOf, type Scope } from '../../src-shared/scope.ts';
import type { Kernel } from './kernel.ts';

/** The caller's session (the dispatcher has checked there is one) and what it may see. */
export function caller(k: Kernel): { s: Session; scope: Scope } {
  const s = k.session().current()!;
  return { s, scope: scopeOf(s) };
}

/** A tenant given by id or name, checked against the operator's role. */
export function tenantOf(k: Kernel, given: string): Tenant {
  const t = k
    .session()
    .tenantsKnown()
    .find((x) => x.id === given || x.name.toLowerCase() === given.toLowerCase());
  if (!t) throw new AppError(k.session().current()?.role === 'super_admin' ? 'not-found' : 'forbidden', `"${given}" is not a company you can see.`);
  k.session().assertTenantAccess(t.id);
  return t;
}

/** The tenant the Data view reads: the one asked for (checked), else a super admin's selected tenant or the operator's own company. */
export function dataTenant(k: Kernel, given?: string): string {
  if (given) return tenantOf(k, given).id;
  const { s, scope } = caller(k);
  const pick = scope.everyCompany ? s.selectedTenant : (s.company?.id ?? null);
  if (!pick) throw new AppError('invalid-input', 'Pick a tenant.');
  return pick;
}

/** What covers a whole company (its audit, an export, an eviction) is a company admin's or a super admin's. */
export function requireWholeCompany(k: Kernel, what: string): void {
  const s = k.session().current();
  if (s && !scopeOf(s).wholeCompany)
    throw new AppError('forbidden', `${what} covers the whole company, beyond the rows the CRM gives you: a company admin or a super admin does it.`);
}

/** The companies whose rows the caller sees: every known one for a super admin, else their own. */
export function visibleTenants(k: Kernel): Tenant[] {
  const { s, scope } = caller(k);
  return scope.everyCompany ? k.session().tenantsKnown() : s.company ? [s.company] : [];
}
