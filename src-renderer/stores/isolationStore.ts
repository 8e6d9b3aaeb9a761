import { create } from 'zustand';
import type { EventPayload, Output } from '../../src-shared/contract.ts';
import { diffRuns, isolationSummary } from '../../src-shared/isolation.ts';
import { ApiError, call, on } from '../api.ts';

type Result = Output<'isolation:run'>['results'][number];
type Run = Output<'isolation:runs'>['runs'][number];

interface IsolationState {
  runs: Run[];
  /** the run shown in the matrix: the one running, or one picked from the history */
  shownRunId: number | null;
  results: Result[];
  identities: string[];
  resources: string[];
  running: boolean;
  progress: EventPayload<'onProgress'> | null;
  selected: Result | null;
  compareWith: number | null;
  diff: ReturnType<typeof diffRuns> | null;
  summary: string | null;
  error: string | null;
  load(): Promise<void>;
  run(opts: { readOnly: boolean; only: string[] }): Promise<void>;
  show(runId: number): Promise<void>;
  select(r: Result | null): void;
  compare(runId: number | null): Promise<void>;
}

const message = (e: unknown) => (e instanceof ApiError ? e.message : 'Something went wrong talking to the console.');
/** the matrix's axes in one order, live or reloaded: identities and resources by name */
const axes = (results: Result[]) => ({
  identities: [...new Set(results.map((r) => r.identity))].sort(),
  resources: [...new Set(results.map((r) => r.resource))].sort(),
});
/** a run with something to show or compare (a refused or interrupted run may have no probe at all) */
const hasResults = (r: { probes: number }) => r.probes > 0;

export const useIsolation = create<IsolationState>((set, get) => ({
  runs: [],
  shownRunId: null,
  results: [],
  identities: [],
  resources: [],
  running: false,
  progress: null,
  selected: null,
  compareWith: null,
  diff: null,
  summary: null,
  error: null,
  async load() {
    try {
      const { runs } = await call('isolation:runs', {});
      set({ runs, error: null });
      const latest = runs.find(hasResults);
      if (get().shownRunId === null && latest && !get().running) await get().show(latest.id);
    } catch (e) {
      set({ error: message(e) });
    }
  },
  async run({ readOnly, only }) {
    set({ running: true, results: [], selected: null, diff: null, compareWith: null, summary: null, error: null, progress: null, shownRunId: null });
    const offResult = on('onIsolationResult', ({ runId, result }) => {
      const results = [...get().results, result];
      set({ shownRunId: runId, results, ...axes(results) });
    });
    const offProgress = on('onProgress', (p) => {
      if (p.task.startsWith('isolation:')) set({ progress: p });
    });
    try {
      const report = await call('isolation:run', { readOnly, only: only.length ? only : undefined });
      set({
        shownRunId: report.runId,
        results: report.results,
        ...axes(report.results),
        summary: isolationSummary({ probes: report.results.length, seconds: report.seconds, counts: report.counts, cleanup: report.cleanup }),
      });
      const { runs } = await call('isolation:runs', {});
      set({ runs });
      const previous = runs.find((r) => r.id < report.runId && r.outcome !== 'running' && hasResults(r));
      if (previous) await get().compare(previous.id);
    } catch (e) {
      set({ error: message(e) });
    } finally {
      offResult();
      offProgress();
      set({ running: false, progress: null });
    }
  },
  async show(runId) {
    try {
      const { run, results } = await call('isolation:results', { runId });
      const counts: Record<string, number> = {};
      for (const r of results) counts[r.verdict] = (counts[r.verdict] ?? 0) + 1;
      // the summary the run had live, from what was kept with it
      set({
        shownRunId: runId,
        results,
        ...axes(results),
        selected: null,
        diff: null,
        compareWith: null,
        summary: isolationSummary({ probes: results.length, seconds: run.seconds, counts, cleanup: run.cleanup }),
      });
    } catch (e) {
      set({ error: message(e) });
    }
  },
  select: (selected) => set({ selected }),
  async compare(runId) {
    if (runId === null) return set({ compareWith: null, diff: null });
    try {
      const { results } = await call('isolation:results', { runId });
      set({ compareWith: runId, diff: diffRuns(results, get().results) });
    } catch (e) {
      set({ error: message(e) });
    }
  },
}));
