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

const Time = ({ at, text, exact }: { at: string; text: string; exact: string }) => (
  <time dateTime={at} title={exact}>
    {text}
  </time>
);

/** An instant as every view shows one (src-shared/format.ts `when`): relative when recent, the exact time on hover. */
export function When({ at }: { at: string }) {
  return <Time at={at} {...when(at, useMinute())} />;
}

/**
 * The same, read once when drawn, with no ticker of its own: for the many cells of a scrolling
 * grid; `clock` shows the local time of day instead (a log's lines, which never read "ago").
 */
export function StaticWhen({ at, clock }: { at: string; clock?: boolean }) {
  const { text, exact } = when(at);
  return <Time at={at} exact={exact} text={clock ? clockTime(at) : text} />;
}
