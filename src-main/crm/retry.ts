import type { AxiosError } from 'axios';

export interface RetryPolicy {
  attempts: number;
  baseMs: number;
  capMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseMs: 250, capMs: 8000 };

/** An answer worth trying again (429, 5xx), carried as an error. */
export class TransientAnswer extends Error {
  constructor(
    readonly status: number,
    readonly headers: Record<string, unknown>,
    readonly request: string,
    readonly reason?: string,
  ) {
    super(`${request} answered ${reason ?? status}`);
  }
}

/** What went wrong with a try, in a few words: the status, "truncated body", "timed out", "connection reset". */
export function transientReason(e: unknown): string {
  if (e instanceof TransientAnswer) return e.reason ?? String(e.status);
  const err = e as AxiosError;
  const code = err.code ?? '';
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT' || /timeout/i.test(err.message ?? '')) return 'timed out';
  if (code === 'ECONNRESET' || /aborted|socket hang up/i.test(err.message ?? '')) return 'connection dropped';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (err.response) return String(err.response.status);
  return code || 'no answer';
}

/** Transient: no answer, a timeout, a truncated body, 429 or a 5xx. */
export function isTransient(e: unknown): boolean {
  if (e instanceof TransientAnswer) return true;
  const err = e as AxiosError;
  if (!err.isAxiosError) return false;
  // a page over the size limit does not shrink by asking again
  if (/maxContentLength/.test(err.message ?? '')) return false;
  // no answer, or an answer whose body never arrived whole (the connection went away mid-body)
  if (!err.response || err.response.status < 400) return true;
  return err.response.status === 429 || err.response.status >= 500;
}

/** Delay before the next try: Retry-After when the server gives one, else exponential with full jitter. */
export function retryDelay(e: unknown, attempt: number, policy: RetryPolicy, random = Math.random): number {
  const header = e instanceof TransientAnswer ? e.headers['retry-after'] : (e as AxiosError).response?.headers?.['retry-after'];
  if (header !== undefined) {
    const secs = Number(header);
    const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(String(header)) - Date.now();
    if (Number.isFinite(ms) && ms >= 0) return Math.min(ms, 60_000);
  }
  return Math.round(random() * Math.min(policy.capMs, policy.baseMs * 2 ** attempt));
}

export async function withRetry<T>(
  fn: () => Promise<T>,
  opts: { policy?: RetryPolicy; onRetry?: (e: unknown, attempt: number, delayMs: number) => void; signal?: AbortSignal } = {},
): Promise<T> {
  const policy = opts.policy ?? DEFAULT_RETRY;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isTransient(e) || attempt + 1 >= policy.attempts || opts.signal?.aborted) throw e;
      const delay = retryDelay(e, attempt, policy);
      opts.onRetry?.(e, attempt + 1, delay);
      await sleep(delay, opts.signal);
      if (opts.signal?.aborted) throw e;
    }
  }
}

/** setTimeout as a promise that a signal ends early. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
