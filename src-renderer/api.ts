import { events, type Channel, type EventName, type EventPayload, type Input, type Output } from '../src-shared/contract.ts';
import type { AppErrorData, Result } from '../src-shared/result.ts';

/** A failed call, with the code and message the main process chose for the user. */
export class ApiError extends Error {
  constructor(readonly error: AppErrorData) {
    super(error.message);
  }
  get code() {
    return this.error.code;
  }
}

const WINDOW_KEY = 'tenantscope.window';

/**
 * This tab's id, kept for its life (reloads included): the host keeps one sign-in a tab, so a new
 * tab starts signed out and signing in here never changes another tab.
 */
function windowId(): string {
  let id = sessionStorage.getItem(WINDOW_KEY);
  if (!id) {
    id = crypto.randomUUID().replace(/-/g, '');
    sessionStorage.setItem(WINDOW_KEY, id);
  }
  return id;
}

interface Transport {
  call(channel: string, payload: unknown): Promise<Result<unknown>>;
  on(event: EventName, listener: (payload: unknown) => void): () => void;
}

/** The HTTP host's door: the same contract as Electron IPC. */
function httpTransport(): Transport {
  const tab = windowId();
  let source: EventSource | null = null;
  const listeners = new Map<EventName, Set<(p: unknown) => void>>();
  const ensureSource = () => {
    if (source) return;
    source = new EventSource(`/api/events?window=${tab}`);
    for (const name of Object.keys(events) as EventName[]) {
      source.addEventListener(name, (e) => {
        const payload = JSON.parse((e as MessageEvent<string>).data) as unknown;
        listeners.get(name)?.forEach((l) => l(payload));
      });
    }
  };
  return {
    async call(channel, payload) {
      try {
        const res = await fetch(`/api/call/${encodeURIComponent(channel)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-tenantscope-window': tab },
          body: JSON.stringify(payload ?? {}),
        });
        return (await res.json()) as Result<unknown>;
      } catch {
        return { ok: false, error: { code: 'offline', message: 'The console host does not answer. Is it still running?' } };
      }
    },
    on(event, listener) {
      ensureSource();
      const set = listeners.get(event) ?? new Set();
      set.add(listener);
      listeners.set(event, set);
      return () => set.delete(listener);
    },
  };
}

const transport: Transport = window.api ?? httpTransport();

export async function call<C extends Channel>(channel: C, input: Input<C>): Promise<Output<C>> {
  const r = await transport.call(channel, input);
  if (!r.ok) throw new ApiError(r.error);
  return r.value as Output<C>;
}

export function on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
  return transport.on(event, listener as (p: unknown) => void);
}

export const runningIn: 'desktop' | 'browser' = window.api ? 'desktop' : 'browser';
