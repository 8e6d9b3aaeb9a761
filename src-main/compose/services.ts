import type { Session } from '../../src-shared/contract.ts';
import type { Result } from '../../src-shared/result.ts';
import type { OpenCache } from '../cache/cacheDb.ts';
import type { ConnectionStore } from '../connections/connectionStore.ts';
import type { EventBus } from '../core/eventBus.ts';
import { MAIN_WINDOW } from '../core/window.ts';
import type { DemoCrm } from '../demo/demoCrm.ts';
import type { SessionService } from '../session/sessionService.ts';
import { Directory } from './directory.ts';
import { createDispatch } from './dispatch.ts';
import { auditHandlers } from './handlers/audit.ts';
import { catalogHandlers } from './handlers/catalog.ts';
import { codeHandlers } from './handlers/code.ts';
import { connectionHandlers } from './handlers/connections.ts';
import { dataHandlers } from './handlers/data.ts';
import { isolationHandlers } from './handlers/isolation.ts';
import { migrateHandlers } from './handlers/migrate.ts';
import { safetyHandlers } from './handlers/safety.ts';
import { sessionHandlers } from './handlers/session.ts';
import { syncHandlers } from './handlers/sync.ts';
import { transferHandlers } from './handlers/transfer.ts';
import { createKernel, type Handlers, type ServicesOptions } from './kernel.ts';

export { MAX_WINDOWS, type ServicesOptions } from './kernel.ts';

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

/** The composition root: the kernel, every capability's handler table, and the dispatcher over them. */
export function createServices(opts: ServicesOptions): Services {
  const k = createKernel(opts);
  const directory = new Directory(k);
  const handlers: Handlers = {
    'app:info': () => ({ version: k.version, mode: opts.mode, home: opts.home, demo: k.demo.current(), cacheEncryption: k.cacheKey?.source ?? 'off' }),
    'demo:status': () => k.demo.current(),
    'demo:start': () => k.demo.start(),
    ...connectionHandlers(k),
    ...sessionHandlers(k, directory),
    ...safetyHandlers(k),
    ...catalogHandlers(k),
    ...syncHandlers(k, directory),
    ...isolationHandlers(k),
    ...auditHandlers(k),
    ...dataHandlers(k),
    ...transferHandlers(k),
    ...migrateHandlers(k),
    ...codeHandlers(k),
  };
  return {
    cache: k.cacheFor,
    get session() {
      return k.sessionOf(MAIN_WINDOW);
    },
    sessionOf: (window) => k.peekSession(window)?.current() ?? null,
    bus: k.bus,
    connections: k.connections,
    demo: k.demo,
    dispatch: createDispatch(k, handlers),
    close: async () => {
      for (const s of k.sessions()) s.signOut();
      for (const c of k.openCaches()) await c.then((x) => x.close()).catch(() => {});
      await k.demo.stop();
    },
  };
}
