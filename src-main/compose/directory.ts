import type { ConnectionProfile } from '../../src-shared/profile.ts';
import { cachedCompanies } from '../cache/queries/records.ts';
import { readDirectory } from '../catalog/databaseDiscovery.ts';
import type { SyncService } from '../sync/syncService.ts';
import type { Kernel } from './kernel.ts';

/** The table holding the catalog's users (the owners of owner-derived rows). */
const usersTableOf = (profile: ConnectionProfile) => profile.catalog.resources.find((r) => r.name === profile.catalog.users)?.table ?? profile.catalog.users;

/**
 * Who belongs to which company, and the companies' names, on a CRM that does not list them: from
 * its database when the connection has its URL (super admins only: the URL is theirs), the
 * operator's own from their /me, or the partitions the cache holds.
 */
export class Directory {
  /** the sessions whose companies were learnt ("window@connection@signedInAt"): a window asks for tenants often, the database is read once */
  private readonly learnt = new Set<string>();

  constructor(private readonly k: Kernel) {}

  /** Before a sync: the owners' companies of a CRM with no users (or companies) endpoint. */
  async beforeSync(sync: SyncService): Promise<void> {
    const s = this.k.session().current()!;
    const profile = this.k.connections.get(s.connection);
    if (s.company) sync.rememberUsers([{ id: s.user.id, companyId: s.company.id }], 'whoami');
    const usersListed = profile.catalog.resources.some((r) => r.name === profile.catalog.users && r.endpoints.list);
    const url = this.k.connections.databaseUrl(s.connection);
    if ((usersListed && profile.tenants) || !url || s.role !== 'super_admin') return;
    const found = await readDirectory(url, usersTableOf(profile), { users: !usersListed });
    sync.rememberUsers(found.users, 'database');
    if (!profile.tenants) this.k.session().learnTenants(found.companies);
  }

  /**
   * A super admin on a CRM with no companies endpoint: the companies from its database (named) when
   * the connection has its URL, else the partitions the cache holds (by id). Once a session, and
   * again after each sync (which may have found more).
   */
  async learnCompanies(): Promise<void> {
    const s = this.k.session().current();
    if (!s || s.role !== 'super_admin' || s.offline) return;
    const profile = this.k.connections.get(s.connection);
    if (profile.tenants) return;
    const key = `${this.k.callerWindow()}@${s.connection}@${s.signedInAt}`;
    if (this.learnt.has(key)) return;
    const url = this.k.connections.databaseUrl(s.connection);
    if (url) this.k.session().learnTenants((await readDirectory(url, usersTableOf(profile), { users: false })).companies);
    else {
      const ids = cachedCompanies((await this.k.cacheFor(s.connection)).raw);
      this.k.session().learnTenants(ids.map((id) => ({ id, name: id })));
    }
    this.learnt.add(key); // a failed read is tried again on the next call
  }

  /** after a sync, which may have found more companies */
  forget(): void {
    this.learnt.clear();
  }

  /** learnCompanies, logging rather than failing the call that wanted them */
  async learnQuietly(): Promise<void> {
    await this.learnCompanies().catch((e: Error) => this.k.log(`could not learn the companies: ${e.message}`));
  }
}
