import { create } from 'zustand';
import type { Check, ConnectionSummary } from '../../src-shared/contract.ts';
import { ApiError, call } from '../api.ts';

interface ConnectionsState {
  list: ConnectionSummary[];
  loading: boolean;
  error: string | null;
  tests: Record<string, { running: boolean; ok?: boolean; checks?: Check[]; error?: string }>;
  lastRemoved: { name: string; undoToken: string } | null;
  load(): Promise<void>;
  test(name: string): Promise<void>;
  save(input: { profile: unknown; replace: boolean; databaseUrl?: string | null; secrets?: Record<string, string> }): Promise<boolean>;
  remove(name: string): Promise<void>;
  undo(): Promise<void>;
}

const message = (e: unknown) => (e instanceof ApiError ? e.message : 'Something went wrong talking to the console.');

export const useConnections = create<ConnectionsState>((set, get) => ({
  list: [],
  loading: false,
  error: null,
  tests: {},
  lastRemoved: null,
  async load() {
    set({ loading: true });
    try {
      const { connections } = await call('connections:list', {});
      set({ list: connections, loading: false, error: null });
    } catch (e) {
      set({ loading: false, error: message(e) });
    }
  },
  async test(name) {
    set({ tests: { ...get().tests, [name]: { running: true } } });
    try {
      const r = await call('connections:test', { name });
      set({ tests: { ...get().tests, [name]: { running: false, ok: r.ok, checks: r.checks } } });
    } catch (e) {
      set({ tests: { ...get().tests, [name]: { running: false, ok: false, error: message(e) } } });
    }
  },
  async save(input) {
    try {
      await call('connections:save', input);
      set({ error: null });
      await get().load();
      return true;
    } catch (e) {
      set({ error: message(e) });
      return false;
    }
  },
  async remove(name) {
    try {
      const r = await call('connections:remove', { name });
      set({ lastRemoved: { name, undoToken: r.undoToken }, error: null });
      await get().load();
    } catch (e) {
      set({ error: message(e) });
    }
  },
  async undo() {
    const last = get().lastRemoved;
    if (!last) return;
    try {
      await call('connections:restore', { undoToken: last.undoToken });
      set({ lastRemoved: null });
      await get().load();
    } catch (e) {
      set({ error: message(e) });
    }
  },
}));
