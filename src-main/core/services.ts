import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { contract, isChannel, NEEDS_CRM, type Channel, type Contract, type EventPayload, type Output, type Session } from '../../src-shared/contract.ts';
import { AppError, type Result } from '../../src-shared/result.ts';
import { describeIssues, type ConnectionProfile } from '../../src-shared/profile.ts';
import { bindingOf, ConnectionStore, DEMO } from '../connections/connectionStore.ts';
import { bindCache, cacheKeyFromEnv, cachePath, detachCache, pruneRemoved, reattachCache } from '../cache/cacheFiles.ts';
import type { SqliteKey } from './sqlite.ts';
import { testConnection } from '../connections/connectionTester.ts';
import { DemoCrm } from '../demo/demoCrm.ts';
import { checkDrift, discover, discoverProfile, parseCatalog } from '../catalog/catalogService.ts';
import { catalogDrift } from '../catalog/catalogDiscovery.ts';
import { dataAsOf, openCache, OUTSIDE, UNASSIGNED, type OpenCache } from '../cache/cacheDb.ts';
import { ALL, SyncService } from '../sync/syncService.ts';
import { readDirectory } from '../catalog/databaseDiscovery.ts';
import { SessionService } from '../session/sessionService.ts';
import { IsolationRunner } from '../isolation/isolationRunner.ts';
import { acceptFinding, runAudit } from '../audit/auditService.ts';
import { auditHtml, auditMarkdown } from '../audit/auditReport.ts';
import { signInIdentities } from '../crm/transport.ts';
import { EventBus } from './eventBus.ts';
import { offlineOperator, recordOperator } from '../session/offline.ts';
import { MigrationService } from '../migrate/migrationService.ts';
import { exportTenant, importInto, readExport } from '../data/tenantExport.ts';
import { deleteView, listViews, queryRecords, recordDetail, resourceCounts, saveView, tenantOverview } from '../data/dataService.ts';
import { projectRoot } from './home.ts';
import { createLogger, redact, type Logger } from './log.ts';
import { currentWindow, inWindow, MAIN_WINDOW } from './window.ts';
import { MemorySecretStore, secretKey, type SecretStore } from './secretStore.ts';

export interface ServicesOptions {
  home: string;
  mode: 'desktop' | 'browser' | 'cli';
  secrets?: SecretStore;
  log?: Logger;
  /** start the demo CRM now instead of on first use */
  startDemo?: boolean;
  /**
   * what encrypts the caches (SQLCipher): the desktop's key from the OS keyring, or a passphrase;
   * by default TENANTSCOPE_CACHE_KEY, and none (plain SQLite) when that is unset
   */
  cacheKey?: { key: SqliteKey; source: 'passphrase' | 'os-keyring' } | null;
}

/** the most windows (browser tabs of the HTTP host) that keep a session at once */
export const MAX_WINDOWS = 64;

type ParsedInput<C extends Channel> = z.output<Contract[C]['input']>;
type Handlers = { [C in Channel]: (input: ParsedInput<C>) => Promise<Output<C>> | Output<C> };

export interface Services {
  bus: EventBus;
  connections: ConnectionStore;
  /** the main window's session (the desktop window's, the CLI's) */
  readonly session: SessionService;
  /** a window's session as it stands, without making one (the HTTP host's event stream) */
  sessionOf(window: string): Session | null;
  demo: DemoCrm;
  /** The cache of a connection, opened on first use (the offline audit reads it without signing in). */
  cache(connection: string): Promise<OpenCache>;
  /**
   * The one door every other door goes through: parse, check access, run, parse the answer, as
   * the given window (the main window when none is given).
   */
  dispatch(channel: string, payload: unknown, from?: { window?: string }): Promise<Result<unknown>>;
  close(): Promise<void>;
}

export function createServices(opts: ServicesOptions): Services {
  const log = opts.log ?? createLogger('tenantscope');
  const version = (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const bus = new EventBus();
  const fromEnv = opts.cacheKey === undefined ? cacheKeyFromEnv() : undefined;
  const cacheKey = opts.cacheKey ?? (fromEnv ? { key: fromEnv, source: 'passphrase' as const } : null);
  const secrets = opts.secrets ?? new MemorySecretStore();
  const connections = new ConnectionStore(opts.home, secrets);
  const demo = new DemoCrm(join(opts.home, 'demo-crm'), (l) => log(l));
  const ensureCrm = async (name: string) => {
    if (name !== DEMO) return;
    const s = await demo.start();
    if (s.state !== 'running') throw new AppError('unreachable', s.message ?? 'The demo CRM is not running.');
  };
  /**
   * One session a window: each tab of the HTTP host signs in for itself and a new one starts signed
   * out; the desktop window and the CLI are the main window. The least recently used windows beyond
   * MAX_WINDOWS are forgotten (signed out).
   */
  const sessions = new Map<string, SessionService>();
  /** a window's session, made on its first call and marked most recently used (once a call, in dispatch) */
  const sessionOf = (window: string) => {
    let s = sessions.get(window);
    if (s) sessions.delete(window);
    else s = new SessionService(connections, ensureCrm);
    sessions.set(window, s); // most recent last
    for (const w of sessions.keys()) {
      if (sessions.size <= MAX_WINDOWS) break;
      if (w !== MAIN_WINDOW && w !== window) sessions.delete(w);
    }
    return s;
  };
  /** the window whose call is being served (the main window outside any call) */
  const callerWindow = () => currentWindow() ?? MAIN_WINDOW;
  /** the session of the window whose call is being served */
  const session = () => sessions.get(callerWindow()) ?? sessionOf(callerWindow());
  /** the sync now running, one at a time: the cache has one writer; the window that started it */
  let running: AbortController | null = null;
  let runningWindow: string | null = null;
  let runningInfo: { label: string; startedAt: string; progress: EventPayload<'onProgress'> | null } | null = null;
  bus.on('onProgress', (p) => { if (runningInfo && p.task.startsWith('sync:')) runningInfo.progress = p; });
  const status = () => bus.emit('onStatus', { demo: demo.current(), session: session().current() });
  demo.onChange((s) => {
    connections.setDemoUrl(s.url);
    const dbUrl = demo.databaseUrl();
    if (dbUrl) secrets.set(secretKey(DEMO, 'databaseUrl'), dbUrl);
    else secrets.delete(secretKey(DEMO, 'databaseUrl'));
    status();
  });
  if (opts.startDemo) void demo.start();

  // one cache file a connection, opened on first use
  const caches = new Map<string, Promise<OpenCache>>();
  const cacheFor = (connection: string) => {
    let c = caches.get(connection);
    if (!c) {
      c = (async () => {
        const binding = bindingOf(connections.get(connection));
        const cache = await openCache(cachePath(opts.home, connection), { key: cacheKey?.key });
        if (cache.encryptedNow) log(`connection ${connection}: its cache was plain SQLite and is now encrypted (SQLCipher)`);
        try {
          bindCache(cache.raw, connection, binding);
        } catch (e) {
          await cache.close();
          throw e;
        }
        return cache;
      })();
      caches.set(connection, c);
      c.catch(() => caches.delete(connection));
    }
    return c;
  };
  /** Closes a connection's cache and moves its files aside (a removal, or a connection pointed at another CRM). */
  const setCacheAside = async (connection: string, tag: string) => {
    const open = caches.get(connection);
    caches.delete(connection);
    if (open) await open.then((c) => c.close(), () => {});
    for (const s of sessions.values()) if (s.current()?.connection === connection) s.signOut();
    return detachCache(opts.home, connection, tag);
  };
  /**
   * Saves a connection; a cache filled from another CRM is never opened under it: a new connection
   * starts with an empty cache (whatever a removed one of that name left is set aside), and one
   * pointed at another CRM has its cache set aside (the store drops its secrets).
   */
  const saveConnection = async (profile: unknown, o: Parameters<ConnectionStore['save']>[1]) => {
    const saved = connections.save(profile, o);
    if (saved.rebound || saved.created) {
      if (await setCacheAside(saved.profile.name, `${saved.rebound ? 'rebound' : 'stale'}-${Date.now()}`)) log(`connection ${saved.profile.name}: a cache made for ${saved.rebound ? 'the CRM it pointed at before' : 'an earlier connection of that name'} was set aside in cache/detached`);
    }
    return saved;
  };
  /**
   * The calls that change a connection (its address, sign-in, identities, role mapping, catalog) or
   * remove it: once it has been used (it has a cache, so its rows and offline verifiers are worth
   * something), only a super admin signed in to it may. The local operator at the CLI is not asked.
   */
  const requireConnectionAdmin = (input: { name?: string; connection?: string; profile?: unknown }) => {
    if (opts.mode === 'cli') return;
    const profileName = (input.profile as { name?: unknown } | undefined)?.name;
    const name = input.name ?? input.connection ?? (typeof profileName === 'string' ? profileName : undefined);
    if (!name || !connections.list().profiles.some((p) => p.name === name) || !existsSync(cachePath(opts.home, name))) return;
    const s = session().current();
    if (s?.connection === name && s.role === 'super_admin') return;
    throw new AppError('forbidden', `Connection "${name}" has been used: only a super admin signed in to it can change or remove it. Sign in to "${name}" as a super admin, or use \`tenantscope connections\` on this machine.`);
  };
  // removed connections' caches outlive their undo by a moment only
  try {
    const pruned = pruneRemoved(opts.home, 10 * 60 * 1000);
    if (pruned) log(`deleted the caches of ${pruned} removed connections`);
  } catch (e) {
    log(`could not prune removed caches: ${(e as Error).message}`);
  }
  const syncFor = async () => {
    const s = session().current()!;
    return new SyncService(await cacheFor(s.connection), connections.get(s.connection), bus);
  };
  /** The table holding the catalog's users (the owners of owner-derived rows). */
  const usersTableOf = (profile: ConnectionProfile) => profile.catalog.resources.find((r) => r.name === profile.catalog.users)?.table ?? profile.catalog.users;
  /**
   * A CRM with no users (or companies) endpoint: the owners' companies, and the companies' names,
   * from the CRM's database when the connection has its URL (super admins only: the URL is theirs);
   * the operator's own from their /me.
   */
  const learnDirectory = async (sync: SyncService) => {
    const s = session().current()!;
    const profile = connections.get(s.connection);
    if (s.company) sync.rememberUsers([{ id: s.user.id, companyId: s.company.id }], 'whoami');
    const usersListed = profile.catalog.resources.some((r) => r.name === profile.catalog.users && r.endpoints.list);
    const url = connections.databaseUrl(s.connection);
    if ((usersListed && profile.tenants) || !url || s.role !== 'super_admin') return;
    const found = await readDirectory(url, usersTableOf(profile), { users: !usersListed });
    sync.rememberUsers(found.users, 'database');
    if (!profile.tenants) session().learnTenants(found.companies);
  };
  /** the sessions whose companies were learnt ("window@connection@signedInAt"): a window asks for tenants often, the database is read once */
  const companiesLearnt = new Set<string>();
  /**
   * A super admin on a CRM with no companies endpoint: the companies from its database (named) when
   * the connection has its URL, else the partitions the cache holds (by id). Once a session, and
   * again after each sync (which may have found more).
   */
  const learnCompanies = async () => {
    const s = session().current();
    if (!s || s.role !== 'super_admin' || s.offline) return;
    const profile = connections.get(s.connection);
    if (profile.tenants) return;
    const key = `${callerWindow()}@${s.connection}@${s.signedInAt}`;
    if (companiesLearnt.has(key)) return;
    const url = connections.databaseUrl(s.connection);
    if (url) session().learnTenants((await readDirectory(url, usersTableOf(profile), { users: false })).companies);
    else {
      const ids = (await cacheFor(s.connection)).raw.prepare(`SELECT DISTINCT company_id FROM records WHERE company_id NOT IN ('${UNASSIGNED}', '${OUTSIDE}')`).pluck().all() as string[];
      session().learnTenants(ids.map((id) => ({ id, name: id })));
    }
    companiesLearnt.add(key); // a failed read is tried again on the next call
  };
  /** A tenant given by id or name, checked against the operator's role. */
  const resolveTenant = (given: string) => {
    const t = session().tenantsKnown().find((x) => x.id === given || x.name.toLowerCase() === given.toLowerCase());
    if (!t) throw new AppError(session().current()?.role === 'super_admin' ? 'not-found' : 'forbidden', `"${given}" is not a company you can see.`);
    session().assertTenantAccess(t.id);
    return t;
  };

  /** the tenant the Data view reads: a company admin's own company whatever is asked; a super admin's pick, or the selected tenant */
  /** a plain user reads the rows their own sync fetched, not the rest of their company's partition */
  const seenByOf = (s: { role: string; user: { email: string } }) => (s.role === 'user' ? s.user.email : undefined);
  /** what covers a whole company (its audit, an export, an eviction) is a company admin's or a super admin's */
  const notPlainUser = (what: string) => {
    if (session().current()?.role === 'user') throw new AppError('forbidden', `${what} covers the whole company, beyond the rows the CRM gives you: a company admin or a super admin does it.`);
  };
  const dataTenant = (given?: string): string => {
    const s = session().current()!;
    if (given) return resolveTenant(given).id;
    const pick = s.role === 'super_admin' ? s.selectedTenant : (s.company?.id ?? null);
    if (!pick) throw new AppError('invalid-input', 'Pick a tenant.');
    return pick;
  };
  const migration = new MigrationService(bus);
  /** the signed-in connection's catalog and the CRM's PostgreSQL (given, or the connection's) */
  const migrationTarget = async (given?: string) => {
    const s = session().current()!;
    await ensureCrm(s.connection);
    const url = given ?? connections.databaseUrl(s.connection);
    if (!url) throw new AppError('invalid-input', `Connection "${s.connection}" has no database URL: add the CRM's PostgreSQL to it (Connections), or give one.`);
    return { url, catalog: connections.get(s.connection).catalog, operator: s.user.email };
  };

  const handlers: Handlers = {
    'app:info': () => ({ version, mode: opts.mode, home: opts.home, demo: demo.current(), cacheEncryption: cacheKey?.source ?? 'off' }),
    'connections:list': () => {
      const { profiles } = connections.list();
      return { connections: profiles.map((p) => connections.summary(p)) };
    },
    'connections:get': ({ name }) => {
      const profile = connections.get(name);
      return { profile, hasDatabaseUrl: connections.databaseUrl(name) !== undefined };
    },
    'connections:discover': async ({ name, url, databaseUrl, databaseUrlEnv, identities }) => {
      if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) throw new AppError('invalid-input', 'The database URL must start with postgres:// or postgresql://', { databaseUrl: 'a postgres:// URL' });
      return discoverProfile({ name, url, databaseUrl: databaseUrl || undefined, databaseUrlEnv, identities });
    },
    'connections:save': async ({ profile, replace, databaseUrl, secrets: given }) => {
      const { profile: saved, rebound } = await saveConnection(profile, { replace, databaseUrl, secrets: given });
      return { connection: connections.summary(saved), ...(rebound ? { notice: 'The connection now points at another CRM (address or sign-in): its stored passwords, tokens and database URL were dropped, and its cache was set aside. Give the secrets again.' } : {}) };
    },
    'connections:remove': async ({ name }) => {
      const undoToken = connections.remove(name);
      await setCacheAside(name, `removed-${undoToken}`);
      return { removed: name, undoToken };
    },
    'connections:restore': ({ undoToken }) => {
      const restored = connections.restore(undoToken);
      reattachCache(opts.home, restored.name, `removed-${undoToken}`);
      return { connection: connections.summary(restored) };
    },
    'connections:test': async ({ name, username, password, token }) => {
      await ensureCrm(name);
      const profile = connections.get(name);
      const first = profile.identities[0];
      const user = username ?? (token ? undefined : first?.username);
      const secret = password ?? (user && first && user === first.username ? connections.secretFor(profile, first.label) : undefined);
      return testConnection(profile, { username: user, password: secret, token });
    },
    'session:signIn': async (input) => {
      let s = await session().signIn(input).catch(async (e: unknown) => {
        // an imported copy is opened offline: say so rather than "check the email and password"
        const copy = e instanceof AppError && existsSync(cachePath(opts.home, input.connection))
          ? ((await cacheFor(input.connection).catch(() => null))?.raw.prepare("SELECT value FROM cache_meta WHERE key = 'imported'").pluck().get() as string | undefined)
          : undefined;
        if (!copy) throw e;
        const m = JSON.parse(copy) as { tenant: string; exportedBy: string; exportedAt: string };
        throw new AppError(e instanceof AppError && e.code === 'unreachable' ? 'unreachable' : 'bad-credentials', `"${input.connection}" is an offline copy of ${m.tenant}, exported by ${m.exportedBy} on ${m.exportedAt.slice(0, 10)}: it opens offline, as "support" with the copy's passphrase (Open offline), not by signing in to the CRM.`);
      });
      await learnCompanies().catch((e: Error) => log(`could not learn the companies: ${e.message}`));
      s = session().current()!;
      // remembered in the connection's cache, so that the console can open offline later
      if (input.username) {
        try {
          await recordOperator((await cacheFor(s.connection)).raw, input.username, s, session().tenantsKnown(), input.password);
        } catch (e) {
          log(`could not record the operator for offline use: ${(e as Error).message}`);
        }
      }
      status();
      return s;
    },
    'session:openOffline': async ({ connection, username, password }) => {
      connections.get(connection);
      const op = await offlineOperator((await cacheFor(connection)).raw, username, password);
      const s = session().openOffline(connection, op);
      status();
      return s;
    },
    'session:current': () => ({ session: session().current() }),
    'session:signOut': () => {
      const signedOut = session().signOut();
      status();
      return { signedOut };
    },
    'tenants:list': async () => {
      await learnCompanies().catch((e: Error) => log(`could not learn the companies: ${e.message}`));
      return session().listTenants();
    },
    'tenants:select': ({ companyId }) => {
      const selected = session().selectTenant(companyId);
      status();
      return { selected };
    },
    'catalog:get': ({ connection }) => {
      const profile = connections.get(connection);
      return { catalog: profile.catalog, editable: !profile.embedded };
    },
    'catalog:discover': async ({ connection, useDatabase }) => {
      await ensureCrm(connection);
      const profile = connections.get(connection);
      const databaseUrl = useDatabase ? connections.databaseUrl(connection) : undefined;
      const found = await discover({ url: profile.baseUrl, openapiPath: profile.openapiPath, databaseUrl, itemsField: profile.paging.itemsField, saved: profile.catalog });
      return { catalog: found.catalog, drift: catalogDrift(profile.catalog, found.catalog), tenantsPath: found.tenantsPath, usedDatabase: found.usedDatabase };
    },
    'catalog:save': ({ connection, catalog }) => {
      const profile = connections.get(connection);
      if (profile.embedded) throw new AppError('conflict', 'The demo connection\'s catalog ships with the app; add a connection of your own to keep an edited catalog.');
      const parsed = parseCatalog(catalog);
      connections.save({ ...profile, catalog: parsed }, { replace: true }); // the same CRM: nothing is rebound
      return { catalog: parsed };
    },
    'catalog:check': async ({ connection, databaseUrl }) => {
      // a database address given here (not the connection's own) is tried with whatever it holds:
      // a super admin's to ask, so the check is no probe of other hosts or passwords from any window
      if (databaseUrl && opts.mode !== 'cli') {
        const s = session().current();
        if (!(s?.connection === connection && s.role === 'super_admin')) throw new AppError('forbidden', `Checking the catalog against another database than the connection's own needs a super admin signed in to "${connection}".`);
      }
      await ensureCrm(connection);
      const profile = connections.get(connection);
      const { drift } = await checkDrift(profile.catalog, { url: profile.baseUrl, openapiPath: profile.openapiPath, databaseUrl: databaseUrl ?? connections.databaseUrl(connection), itemsField: profile.paging.itemsField });
      return { drift };
    },
    'sync:run': async ({ tenants, all, pageSize }) => {
      const s = session().current()!;
      // every tenant: one unfiltered listing a resource, partitioned in the cache (32 requests, not 32 a tenant)
      let targets = all
        ? (session().requireSuperAdmin(), [{ id: ALL, name: 'every tenant' }])
        : tenants?.length ? tenants.map(resolveTenant) : [resolveTenant(s.selectedTenant ?? s.company?.id ?? '')];
      // a super admin on a CRM with no company filter gets every company's rows in each listing:
      // one listing partitioned here, rather than the same listing once a tenant
      if (s.role === 'super_admin' && !connections.get(s.connection).sync.tenantParam) targets = [{ id: ALL, name: 'every tenant' }];
      const sync = await syncFor();
      if (running) throw new AppError('conflict', 'A sync is already running: wait for it or cancel it first.');
      await learnDirectory(sync);
      running = new AbortController();
      runningWindow = callerWindow();
      runningInfo = { label: all ? 'all tenants' : targets.map((t) => t.name).join(', '), startedAt: new Date().toISOString(), progress: null };
      try {
        return await sync.run(session().identity(), targets, { pageSize, signal: running.signal });
      } finally {
        running = null;
        runningWindow = null;
        runningInfo = null;
        companiesLearnt.clear();
      }
    },
    'isolation:run': async ({ only, readOnly, concurrency, ratePerSecond }) => {
      const s = session().current()!;
      await ensureCrm(s.connection);
      const profile = connections.get(s.connection);
      const identities = await signInIdentities(profile, (label) => connections.secretFor(profile, label));
      const runner = new IsolationRunner(await cacheFor(s.connection), profile, bus, { concurrency, minIntervalMs: ratePerSecond ? 1000 / ratePerSecond : 0 });
      return runner.run(identities, { only, readOnly });
    },
    'isolation:runs': async () => {
      const s = session().current()!;
      const cache = await cacheFor(s.connection);
      IsolationRunner.settleInterrupted(cache.raw);
      const runs = cache.raw.prepare('SELECT id, started_at AS startedAt, finished_at AS finishedAt, read_only AS readOnly, outcome, probes, leaks, message FROM isolation_runs ORDER BY id DESC LIMIT 200').all() as Array<{ readOnly: number } & Record<string, unknown>>;
      return { runs: runs.map((r) => ({ ...r, readOnly: !!r.readOnly })) as Output<'isolation:runs'>['runs'] };
    },
    'isolation:results': async ({ runId }) => {
      const s = session().current()!;
      const raw = (await cacheFor(s.connection)).raw;
      const run = raw.prepare('SELECT id, started_at AS startedAt, finished_at AS finishedAt, outcome, read_only AS readOnly, seconds, cleanup FROM isolation_runs WHERE id = ?').get(runId) as { readOnly: number; cleanup: string | null } & Record<string, unknown> | undefined;
      if (!run) throw new AppError('not-found', `There is no isolation run ${runId}.`);
      run.cleanup = run.cleanup === null ? null : JSON.parse(run.cleanup);
      const rows = raw.prepare('SELECT resource, identity, operation, verdict, detail, evidence FROM isolation_results WHERE run_id = ? ORDER BY resource, identity, operation').all(runId) as Array<{ evidence: string } & Record<string, unknown>>;
      return { run: { ...run, readOnly: !!run.readOnly, seconds: (run.seconds as number | null) ?? null }, results: rows.map((r) => ({ ...r, evidence: JSON.parse(r.evidence) })) } as Output<'isolation:results'>;
    },
    'audit:run': async ({ tenant }) => {
      notPlainUser('The audit');
      const s = session().current()!;
      const profile = connections.get(s.connection);
      // a company admin's audit reads their own partition, and the leak evidence about their data;
      // a super admin's reads every partition, or drills down into one tenant
      const company = s.role === 'super_admin' ? (tenant ? resolveTenant(tenant).id : null) : (s.company?.id ?? '');
      return runAudit((await cacheFor(s.connection)).raw, profile.catalog, { company }) as Output<'audit:run'>;
    },
    'audit:report': async ({ format }) => {
      notPlainUser('The audit');
      const s = session().current()!;
      const profile = connections.get(s.connection);
      const company = s.role === 'super_admin' ? null : (s.company?.id ?? '');
      const result = runAudit((await cacheFor(s.connection)).raw, profile.catalog, { company });
      const text = format === 'html' ? auditHtml(result, s.connection) : auditMarkdown(result, s.connection);
      return { fileName: `tenantscope-audit-${s.connection}-${result.generatedAt.slice(0, 10)}.${format}`, text };
    },
    'records:get': async ({ resource, id }) => {
      const s = session().current()!;
      const own = s.role === 'super_admin' ? null : (s.company?.id ?? '');
      const found = recordDetail((await cacheFor(s.connection)).raw, connections.get(s.connection).catalog, { resource, id, company: own, seenBy: seenByOf(s) });
      return found ?? { record: null, refs: [], referencedBy: [] };
    },
    'tenants:overview': async () => {
      const s = session().current()!;
      const visible = s.role === 'super_admin' ? session().tenantsKnown() : s.company ? [s.company] : [];
      const overview = tenantOverview((await cacheFor(s.connection)).raw, connections.get(s.connection).catalog, visible, { identity: s.role === 'super_admin' ? null : s.user.email, seenBy: seenByOf(s) });
      // the company's audit is not a plain user's to read
      return s.role === 'user' ? { ...overview, tenants: overview.tenants.map((t) => ({ ...t, openFindings: null, missingCompanyId: 0 })), findingsHistory: [] } : overview;
    },
    'records:resources': async ({ tenant }) => {
      const s = session().current()!;
      const company = dataTenant(tenant);
      const raw = (await cacheFor(s.connection)).raw;
      return { tenant: company, resources: resourceCounts(raw, company, seenByOf(s)), asOf: dataAsOf(raw, company) };
    },
    'records:query': async (input) => {
      const s = session().current()!;
      const company = dataTenant(input.tenant);
      return { tenant: company, ...queryRecords((await cacheFor(s.connection)).raw, { ...input, company, seenBy: seenByOf(s) }) };
    },
    'views:list': async () => {
      const s = session().current()!;
      return { views: listViews((await cacheFor(s.connection)).raw, s.user.email) };
    },
    'views:save': async ({ name, resource, tenant, state }) => {
      const s = session().current()!;
      if (tenant) dataTenant(tenant);
      return { view: saveView((await cacheFor(s.connection)).raw, s.user.email, { name, resource, tenant, state }) };
    },
    'views:delete': async ({ id }) => {
      const s = session().current()!;
      return { deleted: deleteView((await cacheFor(s.connection)).raw, s.user.email, id) };
    },
    'audit:accept': async ({ id, reason }) => {
      const s = session().current()!;
      acceptFinding((await cacheFor(s.connection)).raw, id, reason, s.user.email);
      return { accepted: id };
    },
    'sync:cancel': () => {
      if (running && runningWindow !== callerWindow() && session().current()?.role !== 'super_admin') {
        throw new AppError('forbidden', 'The running sync was started in another window: only that window or a super admin can cancel it.');
      }
      const was = !!running && !running.signal.aborted;
      running?.abort();
      return { cancelled: was };
    },
    'sync:status': async () => {
      const s = session().current()!;
      const sync = await syncFor();
      const parts = sync.partitions();
      const own = s.role === 'super_admin';
      // a sync another window started is named to its own window and to super admins only
      const mine = runningWindow === callerWindow() || own;
      const shown = runningInfo && !mine ? { label: 'a sync started in another window', startedAt: runningInfo.startedAt, progress: null } : runningInfo;
      return { partitions: own ? parts : parts.filter((p) => p.company_id === s.company?.id), running: shown, lastRun: own ? sync.lastRun() : null };
    },
    'sync:proofs': async ({ tenant }) => {
      const t = resolveTenant(tenant);
      const s = session().current()!;
      return { proofs: (await syncFor()).proofs(t.id, { role: s.role, email: s.user.email }) };
    },
    'sync:prove': async ({ tenant }) => {
      const t = resolveTenant(tenant);
      return { proofs: await (await syncFor()).prove(session().identity(), t) };
    },
    'cache:evict': async ({ tenant }) => {
      notPlainUser('Evicting a partition');
      const t = resolveTenant(tenant);
      const sync = await syncFor();
      const evicted = sync.evict(t.id);
      const remaining = sync.partitions().find((p) => p.company_id === t.id)?.rows ?? 0;
      return { tenant: t.id, evicted, remaining };
    },
    'demo:status': () => demo.current(),
    'demo:start': () => demo.start(),
    'cache:export': async ({ tenant, passphrase }) => {
      notPlainUser('An export');
      const s = session().current()!;
      const company = dataTenant(tenant);
      const name = session().tenantsKnown().find((t) => t.id === company)?.name ?? company;
      const { bytes, meta } = await exportTenant((await cacheFor(s.connection)).raw, connections.get(s.connection), { id: company, name }, passphrase, s.user.email);
      const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'tenant';
      return { fileName: `tenantscope-${slug}-${meta.exportedAt.slice(0, 10)}.tscopy`, data: bytes.toString('base64'), rows: meta.rows, bytes: bytes.length };
    },
    'cache:import': async ({ name, data, passphrase }) => {
      const opened = await readExport(Buffer.from(data, 'base64'), passphrase);
      try {
        const { meta } = opened;
        await saveConnection({ ...meta.profile, name, description: `${meta.tenant.name}, exported by ${meta.exportedBy} on ${meta.exportedAt.slice(0, 10)} (offline copy)` }, { replace: false });
        const raw = (await cacheFor(name)).raw;
        const rows = importInto(raw, opened.file, meta.tenant.id);
        raw.prepare("INSERT OR REPLACE INTO cache_meta (key, value) VALUES ('imported', ?)").run(JSON.stringify({ tenant: meta.tenant.name, exportedBy: meta.exportedBy, exportedAt: meta.exportedAt }));
        const user = { id: 'support', email: 'support', name: `Support (copy of ${meta.tenant.name})` };
        const draft = { connection: name, user, role: 'company_admin' as const, company: meta.tenant, canSwitchTenant: false, selectedTenant: meta.tenant.id, signedInAt: new Date().toISOString(), offline: true, dataAsOf: meta.dataAsOf };
        await recordOperator(raw, 'support', draft, [meta.tenant], passphrase);
        const s = session().openOffline(name, { user, role: 'company_admin', company: meta.tenant, tenants: [meta.tenant], dataAsOf: meta.dataAsOf });
        status();
        return { connection: name, tenant: meta.tenant, rows, exportedBy: meta.exportedBy, exportedAt: meta.exportedAt, session: s };
      } finally {
        opened.cleanup();
      }
    },
    'migrate:audit': async ({ databaseUrl }) => {
      const t = await migrationTarget(databaseUrl);
      return migration.audit(t.url, t.catalog);
    },
    'migrate:plan': async (input) => {
      const t = await migrationTarget(input.databaseUrl);
      return migration.plan(t.url, t.catalog, input);
    },
    'migrate:run': async (input) => {
      const t = await migrationTarget(input.databaseUrl);
      return migration.run(t.url, t.catalog, t.operator, input);
    },
    'migrate:control': (input) => migration.controlRun(input),
    'migrate:status': async ({ databaseUrl }) => migration.status((await migrationTarget(databaseUrl)).url),
    'migrate:verify': async ({ runId, databaseUrl }) => migration.verify((await migrationTarget(databaseUrl)).url, runId),
    'migrate:rollback': async ({ runId, databaseUrl }) => {
      const t = await migrationTarget(databaseUrl);
      return migration.rollback(t.url, t.operator, runId);
    },
  };

  function dispatch(channel: string, payload: unknown, from: { window?: string } = {}): Promise<Result<unknown>> {
    const window = from.window ?? MAIN_WINDOW;
    sessionOf(window);
    return inWindow(window, () => serve(channel, payload));
  }

  async function serve(channel: string, payload: unknown): Promise<Result<unknown>> {
    if (typeof channel !== 'string' || !isChannel(channel)) {
      return { ok: false, error: { code: 'unknown-channel', message: `There is no call named "${String(channel).slice(0, 80)}".` } };
    }
    const spec = contract[channel];
    const parsed = spec.input.safeParse(payload ?? {});
    if (!parsed.success) {
      const fields = describeIssues(parsed.error.issues);
      const first = Object.entries(fields).slice(0, 3).map(([k, v]) => `${k}: ${v}`).join('; ');
      return { ok: false, error: { code: 'invalid-input', message: `Invalid input for ${channel}: ${first}`, fields } };
    }
    try {
      const access: string = spec.access;
      const offline = session().current()?.offline ? NEEDS_CRM[channel] : undefined;
      if (offline) throw new AppError('offline', `Offline (data as of ${session().current()?.dataAsOf ?? 'never'}): ${offline} Sign in online to do it.`);
      if (access === 'signed-in') session().require();
      if (access === 'super-admin') session().requireSuperAdmin();
      if (access === 'connection-admin') requireConnectionAdmin(parsed.data as { name?: string; connection?: string; profile?: unknown });
      const handler = handlers[channel] as (input: unknown) => Promise<unknown> | unknown;
      const value = await handler(parsed.data);
      const out = spec.output.safeParse(value);
      if (!out.success) {
        log(`internal: ${channel} produced an answer outside the contract: ${JSON.stringify(describeIssues(out.error.issues))}`);
        return { ok: false, error: { code: 'internal', message: `${channel} failed inside the console; the log has the details.` } };
      }
      return { ok: true, value: out.data };
    } catch (e) {
      if (e instanceof AppError) return { ok: false, error: e.toJSON() };
      log(`internal: ${channel}: ${redact((e as Error).stack ?? String(e))}`);
      return { ok: false, error: { code: 'internal', message: `${channel} failed inside the console; the log has the details.` } };
    }
  }

  return {
    cache: cacheFor,
    get session() {
      return sessionOf(MAIN_WINDOW);
    },
    sessionOf: (window) => sessions.get(window)?.current() ?? null,
    bus, connections, demo, dispatch,
    close: async () => {
      for (const s of sessions.values()) s.signOut();
      for (const c of caches.values()) await c.then((x) => x.close()).catch(() => {});
      await demo.stop();
    },
  };
}
