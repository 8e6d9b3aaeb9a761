import { AppError } from '../../../src-shared/result.ts';
import { reattachCache } from '../../cache/cacheFiles.ts';
import { discoverProfile } from '../../catalog/catalogService.ts';
import { testConnection } from '../../connections/connectionTester.ts';
import { saveConnection, type HandlersFor, type Kernel } from '../kernel.ts';

type Channels =
  'connections:list' | 'connections:get' | 'connections:discover' | 'connections:save' | 'connections:remove' | 'connections:restore' | 'connections:test';

export function connectionHandlers(k: Kernel): HandlersFor<Channels> {
  const { connections } = k;
  return {
    'connections:list': () => ({ connections: connections.list().profiles.map((p) => connections.summary(p)) }),
    'connections:get': ({ name }) => ({ profile: connections.get(name), hasDatabaseUrl: connections.databaseUrl(name) !== undefined }),
    'connections:discover': async ({ name, url, databaseUrl, databaseUrlEnv, identities }) => {
      if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl))
        throw new AppError('invalid-input', 'The database URL must start with postgres:// or postgresql://', { databaseUrl: 'a postgres:// URL' });
      return discoverProfile({ name, url, databaseUrl: databaseUrl || undefined, databaseUrlEnv, identities });
    },
    'connections:save': async ({ profile, replace, databaseUrl, secrets }) => {
      const { profile: saved, rebound } = await saveConnection(k, profile, { replace, databaseUrl, secrets });
      return {
        connection: connections.summary(saved),
        ...(rebound
          ? {
              notice:
                'The connection now points at another CRM (address or sign-in): its stored passwords, tokens and database URL were dropped, and its cache was set aside. Give the secrets again.',
            }
          : {}),
      };
    },
    'connections:remove': async ({ name }) => {
      const undoToken = connections.remove(name);
      await k.setCacheAside(name, `removed-${undoToken}`);
      return { removed: name, undoToken };
    },
    'connections:restore': ({ undoToken }) => {
      const restored = connections.restore(undoToken);
      reattachCache(k.opts.home, restored.name, `removed-${undoToken}`);
      return { connection: connections.summary(restored) };
    },
    'connections:test': async ({ name, username, password, token }) => {
      await k.ensureCrm(name);
      const profile = connections.get(name);
      const first = profile.identities[0];
      const user = username ?? (token ? undefined : first?.username);
      const secret = password ?? (user && first && user === first.username ? connections.secretFor(profile, first.label) : undefined);
      return testConnection(profile, { username: user, password: secret, token });
    },
  };
}
