import { create } from 'zustand';
import type { Output } from '../../src-shared/contract.ts';
import { ApiError, call } from '../api.ts';

export type SafetyStatus = Output<'safety:status'>;

interface SafetyState {
  /** Safe Mode on the signed-in connection (null before it is read, or signed out) */
  status: SafetyStatus | null;
  error: string | null;
  load(): Promise<void>;
  unlock(name: string, minutes: number): Promise<boolean>;
  lock(): Promise<void>;
  clear(): void;
}

let expiry: ReturnType<typeof setTimeout> | null = null;

/** Safe Mode as the main process holds it: this store only mirrors it (the main process refuses writes itself). */
export const useSafety = create<SafetyState>((set, get) => {
  const show = (status: SafetyStatus) => {
    if (expiry) clearTimeout(expiry);
    expiry = null;
    // read again when the unlock runs out: the buttons lock with it
    if (status.unlockedUntil) expiry = setTimeout(() => void get().load(), Math.max(0, Date.parse(status.unlockedUntil) - Date.now()) + 500);
    set({ status, error: null });
  };
  return {
    status: null,
    error: null,
    async load() {
      try {
        show(await call('safety:status', {}));
      } catch {
        set({ status: null });
      }
    },
    async unlock(name, minutes) {
      try {
        show(await call('safety:unlock', { name, minutes }));
        return true;
      } catch (e) {
        set({ error: e instanceof ApiError ? e.message : 'Something went wrong talking to the console.' });
        return false;
      }
    },
    async lock() {
      show(await call('safety:lock', {}));
    },
    clear() {
      if (expiry) clearTimeout(expiry);
      expiry = null;
      set({ status: null, error: null });
    },
  };
});

/** Whether write actions are open on this connection now; why not, when they are not. */
export function useWrites(): { writes: boolean; why: string | undefined } {
  const s = useSafety((x) => x.status);
  const writes = !s || s.writes;
  return { writes, why: writes ? undefined : `${s!.connection} is production, read-only in Safe Mode: unlock writes at the top of the window first.` };
}
