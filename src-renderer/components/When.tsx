import { useEffect, useState } from 'react';
import { clockTime, when } from '../../src-shared/format.ts';

/** Every shown time moves on together: "5 min ago" becomes "6 min ago" without a reload. */
let listeners = new Set<() => void>();
let ticker: ReturnType<typeof setInterval> | null = null;
function useMinute(): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const tick = () => setNow(Date.now());
    listeners.add(tick);
    ticker ??= setInterval(() => listeners.forEach((l) => l()), 30_000);
    return () => {
      listeners.delete(tick);
      if (listeners.size === 0 && ticker) {
        clearInterval(ticker);
        ticker = null;
        listeners = new Set();
      }
    };
  }, []);
  return now;
}

/**
 * An instant as every view shows one (src-shared/format.ts `when`): relative when recent, the exact
 * time on hover; `clock` shows the local time of day instead (a log's lines).
 */
export function When({ at, clock, testId }: { at: string; clock?: boolean; testId?: string }) {
  const shown = when(at, useMinute());
  const { text, exact } = clock ? { ...shown, text: clockTime(at) } : shown;
  return (
    <time dateTime={at} title={exact} data-testid={testId}>
      {text}
    </time>
  );
}

/** The same, read once when drawn, with no ticker of its own: for the many cells of a scrolling grid. */
export function StaticWhen({ at }: { at: string }) {
  const { text, exact } = when(at);
  return (
    <time dateTime={at} title={exact}>
      {text}
    </time>
  );
}
