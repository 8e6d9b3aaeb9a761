import { useAudit } from './auditStore.ts';
import { useCatalog } from './catalogStore.ts';
import { useData } from './dataStore.ts';
import { useIsolation } from './isolationStore.ts';
import { useMigration } from './migrationStore.ts';
import { useSession } from './sessionStore.ts';
import { useSync } from './syncStore.ts';

/** who is signed in, as far as what the window holds is concerned */
const whoOf = (s: ReturnType<typeof useSession.getState>['session']) => (s ? `${s.connection}\u0000${s.user.id}\u0000${s.signedInAt}` : null);

/**
 * What one operator's session loaded (rows, audits, runs, partitions, a migration's log) is
 * dropped when the window signs out or someone else signs in, so that the next person never sees
 * it, not even for the moment before their own answers arrive.
 */
export function forgetOnSessionChange(): () => void {
  return useSession.subscribe((now, before) => {
    if (whoOf(now.session) === whoOf(before.session)) return;
    const forget = <T>(store: { setState(state: T, replace: true): void; getInitialState(): T }) => store.setState(store.getInitialState(), true);
    forget(useData);
    forget(useAudit);
    forget(useIsolation);
    forget(useMigration);
    forget(useSync);
    forget(useCatalog);
  });
}
