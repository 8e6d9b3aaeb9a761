import type { EventPayload } from '../../src-shared/contract.ts';

type Part = { label: string; done: number; total: number | null; state: 'waiting' | 'running' | 'done' | 'failed'; startedAt: number; rate: number };

/**
 * Rows, pages, rate and ETA of a sync, per tenant and resource and overall, sent as onProgress
 * events at most every `intervalMs` (and always when a part starts or ends).
 */
export class SyncProgress {
  private readonly parts = new Map<string, Part>();
  private readonly started = Date.now();
  private lastEmit = 0;
  pages = 0;

  constructor(
    private readonly task: string,
    private readonly emit: (p: EventPayload<'onProgress'>) => void,
    private readonly intervalMs = 250,
  ) {}

  /** A part to come, with the rows it is expected to bring when known (a count from the server, or the cache's). */
  expect(key: string, label: string, total: number | null): void {
    const old = this.parts.get(key);
    this.parts.set(key, { label, done: old?.done ?? 0, total, state: old?.state ?? 'waiting', startedAt: 0, rate: 0 });
  }

  start(key: string, label: string): void {
    const p = this.parts.get(key) ?? { label, done: 0, total: null, state: 'waiting' as const, startedAt: 0, rate: 0 };
    this.parts.set(key, { ...p, state: 'running', startedAt: Date.now() });
    this.tick(true);
  }

  add(key: string, rows: number, pages: number): void {
    const p = this.parts.get(key);
    if (!p) return;
    p.done += rows;
    this.pages += pages;
    p.rate = p.done / Math.max((Date.now() - p.startedAt) / 1000, 0.001);
    this.tick();
  }

  end(key: string, state: 'done' | 'failed'): void {
    const p = this.parts.get(key);
    if (!p) return;
    p.state = state;
    // an incremental listing has no total beforehand: once done, what it brought is its total
    if (state === 'done' && (p.total === null || p.total < p.done)) p.total = p.done;
    this.tick(true);
  }

  snapshot(): EventPayload<'onProgress'> {
    const all = [...this.parts.values()];
    const done = all.reduce((a, p) => a + p.done, 0);
    const known = all.filter((p) => p.total !== null);
    // rows still to come: what each unfinished part with a total has left
    const left = all.reduce((a, p) => a + (p.state === 'done' || p.state === 'failed' || p.total === null ? 0 : Math.max(p.total - p.done, 0)), 0);
    const secs = Math.max((Date.now() - this.started) / 1000, 0.001);
    const rate = done / secs;
    const total = known.length ? done + left : null;
    const running = all.filter((p) => p.state === 'running');
    const label = running.map((p) => p.label).join(', ') || 'finishing';
    const finished = all.filter((p) => p.state === 'done').length;
    const failed = all.filter((p) => p.state === 'failed').length;
    return {
      task: this.task,
      label,
      done,
      total,
      message: `${finished} of ${all.length} listings done${failed ? `, ${failed} failed` : ''} · ${this.pages} pages · ${Math.round(rate)} rows/s`,
      rate: Math.round(rate),
      etaSeconds: total !== null && rate > 0 ? Math.ceil(left / rate) : null,
      parts: running.map((p) => ({
        label: p.label,
        done: p.done,
        total: p.total,
        rate: Math.round(p.rate),
        etaSeconds: p.total !== null && p.rate > 0 ? Math.ceil(Math.max(p.total - p.done, 0) / p.rate) : null,
      })),
    };
  }

  tick(force = false): void {
    const now = Date.now();
    if (!force && now - this.lastEmit < this.intervalMs) return;
    this.lastEmit = now;
    this.emit(this.snapshot());
  }
}
