import type { HandlersFor, Kernel } from '../kernel.ts';

type Channels = 'safety:status' | 'safety:unlock' | 'safety:lock';

/** Safe Mode on the caller's connection (signed-in: the dispatcher has checked there is a session). */
export function safetyHandlers(k: Kernel): HandlersFor<Channels> {
  const profile = () => k.connections.get(k.session().require().session.connection);
  return {
    'safety:status': () => k.safeMode.status(k.callerWindow(), profile()),
    'safety:unlock': ({ name, minutes }) => {
      const p = profile();
      const s = k.safeMode.unlock(k.callerWindow(), p, name, minutes);
      if (s.level === 'production') k.log(`safe mode: writes on ${p.name} unlocked until ${s.unlockedUntil} (window ${k.callerWindow()})`);
      return s;
    },
    'safety:lock': () => {
      const p = profile();
      k.safeMode.lock(k.callerWindow(), p.name);
      return k.safeMode.status(k.callerWindow(), p);
    },
  };
}
