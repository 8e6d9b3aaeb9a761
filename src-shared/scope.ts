import type { Session } from './contract.ts';

/**
 * What a signed-in operator may see, in one place: every role check over rows (the Data view,
 * the audit, the overview, the sync status) reads this rather than the role.
 */
export interface Scope {
  /** a super admin: every company's rows, and the tenant switcher */
  everyCompany: boolean;
  /** the one company a company admin or a user sees ('' for none); null for a super admin */
  own: string | null;
  /** a plain user reads only the rows their own syncs fetched (by email); undefined for the others */
  seenBy: string | undefined;
  /** whose proofs and leak evidence are shown: null for a super admin (everyone's) */
  identity: string | null;
  /** may run what covers a whole company (its audit, an export, an eviction): not a plain user */
  wholeCompany: boolean;
}

export function scopeOf(s: Pick<Session, 'role' | 'company' | 'user'>): Scope {
  const everyCompany = s.role === 'super_admin';
  return {
    everyCompany,
    own: everyCompany ? null : (s.company?.id ?? ''),
    seenBy: s.role === 'user' ? s.user.email : undefined,
    identity: everyCompany ? null : s.user.email,
    wholeCompany: s.role !== 'user',
  };
}
