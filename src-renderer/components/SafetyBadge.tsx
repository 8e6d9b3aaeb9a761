import { useEffect, useRef, useState } from 'react';
import { LEVEL_HELP, UNLOCK_MINUTES } from '../../src-shared/safety.ts';
import { useSafety } from '../stores/safetyStore.ts';

const CHOICES = [5, 15, 60, 240];

/** Minutes left of an unlock, ticking once a minute. */
function Left({ until }: { until: string }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(t);
  }, []);
  const m = Math.max(0, Math.ceil((Date.parse(until) - now) / 60_000));
  return <span title={`Locks again at ${new Date(until).toLocaleTimeString()}`}>{m} min</span>;
}

/**
 * The connection's name and Safe Mode level, always in sight, in its colour; on production, the
 * lock: unlocking asks for the connection's name, typed, and for how long.
 */
export function SafetyBadge() {
  const { status: s, error, unlock, lock } = useSafety();
  const [asking, setAsking] = useState(false);
  const [typed, setTyped] = useState('');
  const [minutes, setMinutes] = useState<number>(UNLOCK_MINUTES.default);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (asking) input.current?.focus();
  }, [asking]);
  if (!s) return null;
  return (
    <div className="safety" data-testid="safety">
      <span
        className={`conn-badge level-${s.level}`}
        style={{ '--conn-color': s.color } as React.CSSProperties}
        title={`${s.level}: ${LEVEL_HELP[s.level]}`}
        data-testid="safety-badge"
      >
        {s.connection === s.level ? s.connection : `${s.connection} · ${s.level}`}
      </span>
      {s.level === 'production' &&
        (s.writes ? (
          <span className="row small nowrap" data-testid="safety-unlocked">
            <span className="warn-text">Writes unlocked</span>·<Left until={s.unlockedUntil!} />
            <button type="button" className="small" onClick={() => void lock()} data-testid="safety-lock">
              Lock
            </button>
          </span>
        ) : (
          <button
            type="button"
            className="small"
            onClick={() => setAsking(true)}
            data-testid="safety-unlock"
            title="Production is read-only until you unlock writes"
          >
            Read-only · Unlock writes…
          </button>
        ))}
      {asking && (
        <div className="card confirm safety-dialog" role="dialog" aria-labelledby="safety-title" data-testid="safety-dialog">
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void unlock(typed, minutes).then((ok) => {
                if (ok) {
                  setAsking(false);
                  setTyped('');
                }
              });
            }}
          >
            <strong id="safety-title">Unlock writes on {s.connection}?</strong>
            <p className="small">
              This is a production CRM. While unlocked, this window can run migrations, isolation tests that create records, and evictions here; each still asks
              before it runs. Type the connection&apos;s name to go on.
            </p>
            <label className="row small">
              Name{' '}
              <input
                ref={input}
                value={typed}
                onChange={(e) => setTyped(e.target.value)}
                placeholder={s.connection}
                autoComplete="off"
                spellCheck={false}
                data-testid="safety-name"
              />
            </label>
            <label className="row small">
              For{' '}
              <select value={minutes} onChange={(e) => setMinutes(Number(e.target.value))} data-testid="safety-minutes">
                {CHOICES.map((m) => (
                  <option key={m} value={m}>
                    {m < 60 ? `${m} minutes` : `${m / 60} hour${m > 60 ? 's' : ''}`}
                  </option>
                ))}
              </select>
            </label>
            {error && (
              <div className="alert small" role="alert" data-testid="safety-error">
                {error}
              </div>
            )}
            <div className="row">
              <button type="submit" className="danger" disabled={typed !== s.connection} data-testid="safety-confirm">
                Unlock writes
              </button>
              <button type="button" onClick={() => setAsking(false)}>
                Cancel
              </button>
            </div>
          </form>
        </div>
      )}
    </div>
  );
}
