import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import type { Channel, Contract, EventPayload, Output } from '../../src-shared/contract.ts';
import { AppError } from '../../src-shared/result.ts';
import { bindingOf, ConnectionStore, DEMO } from '../connections/connectionStore.ts';
import { bindCache, cacheKeyFromEnv, cachePath, detachCache, pruneRemoved } from '../cache/cacheFiles.ts';
import { openCache, type OpenCache } from '../cache/cacheDb.ts';
import { DemoCrm } from '../demo/demoCrm.ts';
import { SafeMode } from '../session/safeMode.ts';
import { SessionService } from '../session/sessionService.ts';
import { EventBus } from '../core/eventBus.ts';
import { projectRoot } from '../core/home.ts';
import { createLogger, type Logger } from '../core/log.ts';
import type { SqliteKey } from '../core/sqlite.ts';
import { currentWindow, MAIN_WINDOW } from '../core/window.ts';
import { MemorySecretStore, secretKey, type SecretStore } from '../core/secretStore.ts';

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
/** one function a channel, given its parsed input, answering its output */
export type Handlers = { [C in Channel]: (input: ParsedInput<C>) => Promise<Output<C>> | Output<C> };
/** a capability's part of the table: the channels it serves */
export type HandlersFor<C extends Channel> = Pick<Handlers, C>;

/** the sync running now: one at a time, the cache has one writer */
export interface RunningSync {
  controller: AbortController;
  /** the window that started it */
  window: string;
  label: string;
  startedAt: string;
  progress: EventPayload<'onProgress'> | null;
}

/**
 * What every handler table is given: the stores, the demo CRM, the caller's session and the
 * connections' caches. Made once by createServices; the handlers hold no state of their own
 * beyond what they say.
 */
export interface Kernel {
  opts: ServicesOptions;
  version: string;
  log: Logger;
  bus: EventBus;
  secrets: SecretStore;
  connections: ConnectionStore;
  demo: DemoCrm;
  cacheKey: { key: SqliteKey; source: 'passphrase' | 'os-keyring' } | null;
  /** a window's session, made on its first call and marked most recently used */
  sessionOf(window: string): SessionService;
  /** a window's session if it has one, without making one or marking it used */
  peekSession(window: string): SessionService | undefined;
  /** every window's session (to sign out those on a connection that goes) */
  sessions(): Iterable<SessionService>;
  /** the window whose call is being served (the main window outside any call) */
  callerWindow(): string;
  /** the session of the window whose call is being served */
  session(): SessionService;
  /** the connection's cache, opened on first use */
  cacheFor(connection: string): Promise<OpenCache>;
  /** every cache opened so far */
  openCaches(): Iterable<Promise<OpenCache>>;
  /** closes a connection's cache and moves its files aside (a removal, or a connection pointed at another CRM) */
  setCacheAside(connection: string, tag: string): Promise<boolean>;
  /** starts the demo CRM when the connection is the demo */
  ensureCrm(connection: string): Promise<void>;
  /** Safe Mode's unlocks of production connections, by window */
  safeMode: SafeMode;
  /** tells every window the demo's state and its own session */
  status(): void;
  running: RunningSync | null;
}

export function createKernel(opts: ServicesOptions): Kernel {
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
  const sessions = new Map<string, SessionService>();
  const sessionOf = windowSessions(sessions, () => new SessionService(connections, ensureCrm));
  const callerWindow = () => currentWindow() ?? MAIN_WINDOW;
  const session = () => sessions.get(callerWindow()) ?? sessionOf(callerWindow());

  // one cache file a connection, opened on first use
  const caches = new Map<string, Promise<OpenCache>>();
  const cacheFor = cacheOpener(caches, async (connection) => openBound(opts.home, connection, bindingOf(connections.get(connection)), cacheKey?.key, log));
  const setCacheAside = async (connection: string, tag: string) => {
    const open = caches.get(connection);
    caches.delete(connection);
    if (open)
      await open.then(
        (c) => c.close(),
        () => {},
      );
    for (const s of sessions.values()) if (s.current()?.connection === connection) s.signOut();
    return detachCache(opts.home, connection, tag);
  };

  const kernel: Kernel = {
    opts,
    version,
    safeMode: new SafeMode(),
    log,
    bus,
    secrets,
    connections,
    demo,
    cacheKey,
    sessionOf,
    peekSession: (w) => sessions.get(w),
    sessions: () => sessions.values(),
    callerWindow,
    session,
    cacheFor,
    openCaches: () => caches.values(),
    setCacheAside,
    ensureCrm,
    status: () => bus.emit('onStatus', { demo: demo.current(), session: session().current() }),
    running: null,
  };
  bus.on('onProgress', (p) => {
    if (kernel.running && p.task.startsWith('sync:')) kernel.running.progress = p;
  });
  demo.onChange((s) => {
    connections.setDemoUrl(s.url);
    const dbUrl = demo.databaseUrl();
    if (dbUrl) secrets.set(secretKey(DEMO, 'databaseUrl'), dbUrl);
    else secrets.delete(secretKey(DEMO, 'databaseUrl'));
    kernel.status();
  });
  if (opts.startDemo) void demo.start();
  // removed connections' caches outlive their undo by a moment only
  try {
    const pruned = pruneRemoved(opts.home, 10 * 60 * 1000);
    if (pruned) log(`deleted the caches of ${pruned} removed connections`);
  } catch (e) {
    log(`could not prune removed caches: ${(e as Error).message}`);
  }
  return kernel;
}

/**
 * One session a window: each tab of the HTTP host signs in for itself and a new one starts signed
 * out; the desktop window and the CLI are the main window. A window's session is made on its first
 * call and marked most recently used; the least recently used beyond MAX_WINDOWS are forgotten.
 */
function windowSessions(sessions: Map<string, SessionService>, make: () => SessionService): (window: string) => SessionService {
  return (window) => {
    let s = sessions.get(window);
    if (s) sessions.delete(window);
    else s = make();
    sessions.set(window, s); // most recent last
    for (const w of sessions.keys()) {
      if (sessions.size <= MAX_WINDOWS) break;
      if (w !== MAIN_WINDOW && w !== window) sessions.delete(w);
    }
    return s;
  };
}

/** A connection's cache opened once and shared; a failed open is tried again on the next call. */
function cacheOpener(caches: Map<string, Promise<OpenCache>>, open: (connection: string) => Promise<OpenCache>): (connection: string) => Promise<OpenCache> {
  return (connection) => {
    let c = caches.get(connection);
    if (!c) {
      c = open(connection);
      caches.set(connection, c);
      c.catch(() => caches.delete(connection));
    }
    return c;
  };
}

/** Opens a connection's cache (encrypting a plain one when a key is given) and checks it was filled from the CRM the connection points at. */
async function openBound(home: string, connection: string, binding: string, key: SqliteKey | undefined, log: Logger): Promise<OpenCache> {
  const cache = await openCache(cachePath(home, connection), { key });
  if (cache.encryptedNow) log(`connection ${connection}: its cache was plain SQLite and is now encrypted (SQLCipher)`);
  try {
    bindCache(cache.raw, connection, binding);
  } catch (e) {
    await cache.close();
    throw e;
  }
  return cache;
}

/**
 * The calls that change a connection (its address, sign-in, identities, role mapping, catalog) or
 * remove it: once it has been used (it has a cache, so its rows and offline verifiers are worth
 * something), only a super admin signed in to it may. The local operator at the CLI is not asked.
 */
export function requireConnectionAdmin(k: Kernel, input: { name?: string; connection?: string; profile?: unknown }): void {
  if (k.opts.mode === 'cli') return;
  const profileName = (input.profile as { name?: unknown } | undefined)?.name;
  const name = input.name ?? input.connection ?? (typeof profileName === 'string' ? profileName : undefined);
  if (!name || !k.connections.list().profiles.some((p) => p.name === name) || !existsSync(cachePath(k.opts.home, name))) return;
  const s = k.session().current();
  if (s?.connection === name && s.role === 'super_admin') return;
  throw new AppError(
    'forbidden',
    `Connection "${name}" has been used: only a super admin signed in to it can change or remove it. Sign in to "${name}" as a super admin, or use \`tenantscope connections\` on this machine.`,
  );
}

/**
 * Saves a connection; a cache filled from another CRM is never opened under it: a new connection
 * starts with an empty cache (whatever a removed one of that name left is set aside), and one
 * pointed at another CRM has its cache set aside (the store drops its secrets).
 */
export async function saveConnection(k: Kernel, profile: unknown, o: Parameters<ConnectionStore['save']>[1]) {
  const saved = k.connections.save(profile, o);
  if (saved.rebound || saved.created) {
    if (await k.setCacheAside(saved.profile.name, `${saved.rebound ? 'rebound' : 'stale'}-${Date.now()}`)) {
      k.log(
        `connection ${saved.profile.name}: a cache made for ${saved.rebound ? 'the CRM it pointed at before' : 'an earlier connection of that name'} was set aside in cache/detached`,
      );
    }
  }
  return saved;
}
