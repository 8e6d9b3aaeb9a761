import { existsSync } from 'node:fs';
import { AppError } from '../../../src-shared/result.ts';
import { cachePath } from '../../cache/cacheFiles.ts';
import { importedCopy } from '../../cache/queries/meta.ts';
import { offlineOperator, recordOperator } from '../../session/offline.ts';
import type { Directory } from '../directory.ts';
import type { HandlersFor, Kernel } from '../kernel.ts';

type Channels = 'session:signIn' | 'session:openOffline' | 'session:current' | 'session:signOut' | 'tenants:list' | 'tenants:select';

export function sessionHandlers(k: Kernel, directory: Directory): HandlersFor<Channels> {
  /** an imported copy is opened offline: a failed sign-in to it says so rather than "check the email and password" */
  const copyRefusal = async (connection: string, e: unknown): Promise<never> => {
    const cache = e instanceof AppError && existsSync(cachePath(k.opts.home, connection)) ? await k.cacheFor(connection).catch(() => null) : null;
    const m = cache ? importedCopy(cache.raw) : null;
    if (!m) throw e;
    throw new AppError(
      e instanceof AppError && e.code === 'unreachable' ? 'unreachable' : 'bad-credentials',
      `"${connection}" is an offline copy of ${m.tenant}, exported by ${m.exportedBy} on ${m.exportedAt.slice(0, 10)}: it opens offline, as "support" with the copy's passphrase (Open offline), not by signing in to the CRM.`,
    );
  };
  return {
    'session:signIn': async (input) => {
      await k
        .session()
        .signIn(input)
        .catch((e: unknown) => copyRefusal(input.connection, e));
      await directory.learnQuietly();
      const s = k.session().current()!;
      // remembered in the connection's cache, so that the console can open offline later
      if (input.username) {
        try {
          await recordOperator((await k.cacheFor(s.connection)).raw, input.username, s, k.session().tenantsKnown(), input.password);
        } catch (e) {
          k.log(`could not record the operator for offline use: ${(e as Error).message}`);
        }
      }
      k.status();
      return s;
    },
    'session:openOffline': async ({ connection, username, password }) => {
      k.connections.get(connection);
      const op = await offlineOperator((await k.cacheFor(connection)).raw, username, password);
      const s = k.session().openOffline(connection, op);
      k.status();
      return s;
    },
    'session:current': () => ({ session: k.session().current() }),
    'session:signOut': () => {
      const signedOut = k.session().signOut();
      // an unlock of writes goes with the person who made it
      k.safeMode.lock(k.callerWindow());
      k.status();
      return { signedOut };
    },
    'tenants:list': async () => {
      await directory.learnQuietly();
      return k.session().listTenants();
    },
    'tenants:select': ({ companyId }) => {
      const selected = k.session().selectTenant(companyId);
      k.status();
      return { selected };
    },
  };
}
