import type { MigrationProgress } from '../../src-shared/migration.ts';

const shown = (v: number | null, unit: string) => (v === null ? '–' : `${Number.isInteger(v) || v >= 100 ? Math.round(v) : v.toFixed(1)} ${unit}`);

/**
 * What the runner watches between batches, live: each signal beside the threshold that makes the
 * run wait, and why it waits now.
 */
export function MigrationHealth({ health }: { health: NonNullable<MigrationProgress['health']> }) {
  return (
    <div className="card" data-testid="mig-health">
      <div className="row between small">
        <strong>Database health</strong>
        {health.waiting ? (
          <span className="warn-text" role="status" data-testid="mig-health-waiting">
            Waiting: {health.waiting}
          </span>
        ) : (
          <span className="ok-text">every signal under its threshold</span>
        )}
      </div>
      <div className="signals small">
        {health.signals.map((s) => (
          <div
            key={s.name}
            className={`signal ${s.value === null ? 'muted' : s.ok ? '' : 'bad-text'}`}
            title={s.note ?? undefined}
            data-testid={`mig-signal-${s.name}`}
          >
            <span className="muted">{s.label}</span>
            <strong>{s.value === null ? (s.note ?? '–') : shown(s.value, s.unit)}</strong>
            <span className="muted">
              {s.ok ? '≤' : '>'} {s.threshold} {s.unit}
            </span>
          </div>
        ))}
      </div>
    </div>
  );
}
