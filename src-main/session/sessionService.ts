import { AppError } from '../../src-shared/result.ts';
import { NO_COMPANY_MESSAGE } from '../../src-shared/tenancy.ts';
import type { Session, Tenant } from '../../src-shared/contract.ts';
import type { ConnectionStore } from '../connections/connectionStore.ts';
import { CrmClient } from '../crm/crmClient.ts';
import { signInIdentity, type CrmIdentity } from '../crm/transport.ts';

interface Live {
  session: Session;
  /** the operator as the CRM knows them (their credentials in memory only, to sign in again when the token expires); null offline */
  who: CrmIdentity | null;
  /** null offline: nothing talks to the CRM */
  client: CrmClient | null;
  tenants: Tenant[];
}

/**
 * The operator's session. The role comes from the CRM (the token's owner, read back through
 * the profile's whoami endpoint), never from the renderer, and every tenant a call names is
 * checked here against it.
 */
export class SessionService {
  private live: Live | null = null;

  constructor(
    private readonly connections: ConnectionStore,
    private readonly ensureCrm: (connection: string) => Promise<void>,
  ) {}

  current(): Session | null {
    return this.live ? { ...this.live.session } : null;
  }

  async signIn(input: { connection: string; username?: string; password?: string; token?: string }): Promise<Session> {
    await this.ensureCrm(input.connection);
    const profile = this.connections.get(input.connection);
    const client = new CrmClient(profile);
    const who = await signInIdentity(
      client,
      input.username ?? 'operator',
      input.token ? { token: input.token } : { username: input.username!, password: input.password! },
    );
    const { me } = who;
    const token = who.token();
    if (me.role !== 'super_admin' && !me.companyId) {
      throw new AppError(
        'forbidden',
        `${NO_COMPANY_MESSAGE}: ${me.email || 'this user'} belongs to no company, so the console has nothing to show. Ask a super admin to assign one.`,
      );
    }
    // a CRM with no companies endpoint: the super admin starts with none listed (sync --all partitions by what it finds)
    const tenants = me.role === 'super_admin' ? ((await client.tenants(token)) ?? []) : [{ id: me.companyId!, name: me.companyName ?? me.companyId! }];
    const own = me.companyId ? (tenants.find((t) => t.id === me.companyId) ?? { id: me.companyId, name: me.companyName ?? me.companyId }) : null;
    const session: Session = {
      connection: profile.name,
      user: { id: me.id, email: me.email, name: me.name },
      role: me.role,
      company: own,
      canSwitchTenant: me.role === 'super_admin',
      selectedTenant: own?.id ?? tenants[0]?.id ?? null,
      signedInAt: new Date().toISOString(),
      offline: false,
      dataAsOf: null,
    };
    this.live = { session, who, client, tenants };
    return { ...session };
  }

  /** A session on the cache alone, with the role and tenants the CRM gave at the last online sign-in. */
  openOffline(
    connection: string,
    op: { user: Session['user']; role: Session['role']; company: Tenant | null; tenants: Tenant[]; dataAsOf: string | null },
  ): Session {
    const session: Session = {
      connection,
      user: op.user,
      role: op.role,
      company: op.company,
      canSwitchTenant: op.role === 'super_admin',
      selectedTenant: op.company?.id ?? op.tenants[0]?.id ?? null,
      signedInAt: new Date().toISOString(),
      offline: true,
      dataAsOf: op.dataAsOf,
    };
    this.live = { session, who: null, client: null, tenants: op.role === 'super_admin' ? op.tenants : op.company ? [op.company] : [] };
    return { ...session };
  }

  /** The operator as the sync engine and runners use it: a current token, and a way to renew it. */
  identity(): CrmIdentity {
    const who = this.require().who;
    if (!who) throw new AppError('offline', 'Offline: this needs the CRM. Sign in online to do it.');
    return who;
  }

  tenantsKnown(): Tenant[] {
    return this.require().tenants;
  }

  signOut(): boolean {
    const was = this.live !== null;
    this.live = null;
    return was;
  }

  require(): Live {
    if (!this.live) throw new AppError('unauthenticated', 'Sign in to a connection first.');
    return this.live;
  }

  requireSuperAdmin(): Live {
    const live = this.require();
    if (live.session.role !== 'super_admin') throw new AppError('forbidden', 'Only a super admin can do this.');
    return live;
  }

  /** Throws unless the operator may see `companyId`: super admins any, everyone else their own. */
  assertTenantAccess(companyId: string): void {
    const live = this.require();
    if (live.session.role === 'super_admin') {
      if (!live.tenants.some((t) => t.id === companyId)) throw new AppError('not-found', `The CRM has no company ${companyId}.`);
      return;
    }
    if (live.session.company?.id !== companyId) {
      throw new AppError('forbidden', `${live.session.role === 'company_admin' ? 'Company admins' : 'Users'} see their own company only.`);
    }
  }

  /**
   * Companies learnt elsewhere (the CRM's database, a sync) for a super admin on a CRM with no
   * companies endpoint: added to the tenants the session knows, never to a lower role's.
   */
  learnTenants(found: Tenant[]): void {
    const live = this.require();
    if (live.session.role !== 'super_admin') return;
    const known = new Map(live.tenants.map((t) => [t.id, t]));
    for (const t of found) if (!known.has(t.id) || known.get(t.id)!.name === t.id) known.set(t.id, t);
    live.tenants = [...known.values()].sort((a, b) => a.name.localeCompare(b.name));
    if (!live.session.selectedTenant && live.tenants[0]) live.session.selectedTenant = live.tenants[0].id;
  }

  async listTenants(): Promise<{ tenants: Tenant[]; selected: string | null }> {
    const live = this.require();
    if (live.session.role === 'super_admin' && live.client && live.who) live.tenants = (await live.client.tenants(live.who.token())) ?? live.tenants;
    return { tenants: live.tenants, selected: live.session.selectedTenant };
  }

  selectTenant(companyId: string): string {
    this.assertTenantAccess(companyId);
    const live = this.require();
    live.session.selectedTenant = companyId;
    return companyId;
  }
}
