import { create } from 'zustand';
import type { EventPayload, Output } from '../../src-shared/contract.ts';
import { ApiError, call, on } from '../api.ts';

type CodeAudit = Output<'code:audit'>;
type Finding = CodeAudit['findings'][number];

interface CodeState {
  src: string;
  afterMigration: boolean;
  withIsolation: boolean;
  result: CodeAudit | null;
  running: boolean;
  progress: EventPayload<'onProgress'> | null;
  selected: Finding | null;
  error: string | null;
  set(patch: Partial<Pick<CodeState, 'src' | 'afterMigration' | 'withIsolation'>>): void;
  run(connection: string): Promise<void>;
  select(f: Finding | null): void;
}

const SRC_KEY = 'tenantscope.code.src';
const message = (e: unknown) => (e instanceof ApiError ? e.message : 'Something went wrong talking to the console.');

export const useCode = create<CodeState>((set, get) => ({
  src: localStorage.getItem(SRC_KEY) ?? '',
  afterMigration: false,
  withIsolation: true,
  result: null,
  running: false,
  progress: null,
  selected: null,
  error: null,
  set(patch) {
    if (patch.src !== undefined) localStorage.setItem(SRC_KEY, patch.src);
    set(patch);
  },
  async run(connection) {
    const { src, afterMigration, withIsolation } = get();
    set({ running: true, error: null, progress: null });
    const off = on('onProgress', (p) => {
      if (p.task === 'code:audit') set({ progress: p });
    });
    try {
      const input = { src, connection, afterMigration };
      let result: CodeAudit;
      try {
        result = await call('code:audit', withIsolation ? { ...input, isolationRun: 'latest' } : input);
      } catch (e) {
        // no isolation run yet: the source alone, said so
        if (!(withIsolation && e instanceof ApiError && e.code === 'not-found')) throw e;
        result = await call('code:audit', input);
        set({ error: `${e.message} The source was read without it.` });
      }
      const sel = get().selected;
      set({ result, selected: sel ? (result.findings.find((f) => f.id === sel.id) ?? null) : null });
    } catch (e) {
      set({ error: message(e) });
    } finally {
      off();
      set({ running: false, progress: null });
    }
  },
  select: (selected) => set({ selected }),
}));
