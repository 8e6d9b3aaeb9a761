import { create } from 'zustand';
import type { EventPayload, Output } from '../../src-shared/contract.ts';
import { ApiError, call, on } from '../api.ts';
import { ALL } from '../../src-shared/partitions.ts';

type Partition = Output<'sync:status'>['partitions'][number];
type Proof = Output<'sync:prove'>['proofs'][number];
type Report = Output<'sync:run'>;

interface SyncState {
  partitions: Partition[];
  running: string | null;
  progress: EventPayload<'onProgress'> | null;
  /** set while a cancel is on its way */
  cancelling: boolean;
  notice: string | null;
  report: Report | null;
  proofs: Record<string, Proof[]>;
  error: string | null;
  /** the sync state read again (calls made meanwhile share the read under way) */
  load(): Promise<void>;
  read(): Promise<void>;
  sync(input: { tenants?: string[]; all?: boolean }, label: string): Promise<void>;
  prove(tenant: string): Promise<void>;
  cancel(): Promise<void>;
  evict(tenant: string): Promise<void>;
}

const message = (e: unknown) => (e instanceof ApiError ? e.message : 'Something went wrong talking to the console.');

/** the sync state being read: the status bar and the Tenants view ask at the same moment, one read serves both */
let reading: Promise<void> | null = null;

export const useSync = create<SyncState>((set, get) => ({
  partitions: [],
  running: null,
  progress: null,
  cancelling: false,
  notice: null,
  report: null,
  proofs: {},
  error: null,
  load() {
    reading ??= get()
      .read()
      .finally(() => {
        reading = null;
      });
    return reading;
  },
  async read() {
    try {
      const { partitions, running } = await call('sync:status', {});
      set({ partitions, error: null });
      // a sync started before this page was opened (a reload, another window): follow it until it ends
      if (running && !get().running) {
        set({ running: running.label, progress: running.progress, report: null, notice: null });
        const off = on('onProgress', (p) => {
          if (p.task.startsWith('sync:')) set({ progress: p });
        });
        const timer = setInterval(() => {
          void call('sync:status', {}).then(
            (s) => {
              if (s.running) return;
              clearInterval(timer);
              off();
              const last = s.lastRun;
              set({
                running: null,
                progress: null,
                cancelling: false,
                partitions: s.partitions,
                notice:
                  last && last.outcome !== 'ok'
                    ? `The last sync ${last.outcome === 'partial' ? 'finished with errors' : `was ${last.outcome}`}: ${last.message ?? `${last.rows} rows`}`
                    : null,
              });
            },
            () => {},
          );
        }, 1000);
      }
    } catch (e) {
      set({ error: message(e) });
    }
  },
  async sync(input, label) {
    set({ running: label, progress: null, error: null, report: null, notice: null, cancelling: false });
    const off = on('onProgress', (p) => {
      if (p.task.startsWith('sync:')) set({ progress: p });
    });
    try {
      const report = await call('sync:run', { ...input, all: input.all ?? false });
      set({ report });
      const synced = [...new Set(report.outcomes.map((o) => o.tenant))];
      const tenants = synced.includes(ALL) ? (await call('tenants:list', {})).tenants.map((t) => t.id) : synced;
      for (const t of tenants) await get().prove(t);
      await get().load();
    } catch (e) {
      if (e instanceof ApiError && e.code === 'cancelled') {
        set({ notice: e.message });
        await get().load();
      } else set({ error: message(e) });
    } finally {
      off();
      set({ running: null, progress: null, cancelling: false });
    }
  },
  async cancel() {
    set({ cancelling: true });
    try {
      await call('sync:cancel', {});
    } catch (e) {
      set({ error: message(e), cancelling: false });
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
