import { create } from 'zustand';
import type { Output } from '../../src-shared/contract.ts';
import { ApiError, call, on } from '../api.ts';

type Partition = Output<'sync:status'>['partitions'][number];
type Proof = Output<'sync:prove'>['proofs'][number];
type Report = Output<'sync:run'>;

interface SyncState {
  partitions: Partition[];
  running: string | null;
  progress: { label: string; done: number; message: string | null } | null;
  report: Report | null;
  proofs: Record<string, Proof[]>;
  error: string | null;
  load(): Promise<void>;
  sync(input: { tenants?: string[]; all?: boolean }, label: string): Promise<void>;
  prove(tenant: string): Promise<void>;
  evict(tenant: string): Promise<void>;
}

const message = (e: unknown) => (e instanceof ApiError ? e.message : 'Something went wrong talking to the console.');

export const useSync = create<SyncState>((set, get) => ({
  partitions: [],
  running: null,
  progress: null,
  report: null,
  proofs: {},
  error: null,
  async load() {
    try {
      const { partitions } = await call('sync:status', {});
      set({ partitions, error: null });
    } catch (e) {
      set({ error: message(e) });
    }
  },
  async sync(input, label) {
    set({ running: label, progress: null, error: null, report: null });
    const off = on('onProgress', (p) => { if (p.task.startsWith('sync:')) set({ progress: { label: p.label, done: p.done, message: p.message } }); });
    try {
      const report = await call('sync:run', { ...input, all: input.all ?? false });
      set({ report });
      const synced = [...new Set(report.outcomes.map((o) => o.tenant))];
      const tenants = synced.includes('*') ? (await call('tenants:list', {})).tenants.map((t) => t.id) : synced;
      for (const t of tenants) await get().prove(t);
      await get().load();
    } catch (e) {
      set({ error: message(e) });
    } finally {
      off();
      set({ running: null, progress: null });
    }
  },
  async prove(tenant) {
    try {
      const { proofs } = await call('sync:prove', { tenant });
      set({ proofs: { ...get().proofs, [tenant]: proofs } });
    } catch (e) {
      set({ error: message(e) });
    }
  },
  async evict(tenant) {
    try {
      await call('cache:evict', { tenant });
      const proofs = { ...get().proofs };
      delete proofs[tenant];
      set({ proofs });
      await get().load();
    } catch (e) {
      set({ error: message(e) });
    }
  },
}));
