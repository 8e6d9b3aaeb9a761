import { useWrites } from '../stores/safetyStore.ts';
import { lazy, Suspense, useEffect, useState, type ReactNode } from 'react';
import { useSession } from '../stores/sessionStore.ts';
import { useSync } from '../stores/syncStore.ts';
import { NEEDS_CRM, type Output } from '../../src-shared/contract.ts';
import { count as fmt, duration as eta } from '../../src-shared/format.ts';
// the charts' library loads after the table is on screen
const TenantInsights = lazy(() => import('./TenantInsights.tsx').then((m) => ({ default: m.TenantInsights })));
import { ApiError, call } from '../api.ts';
import { download, fromBase64 } from '../download.ts';
import { When } from '../components/When.tsx';

type Partition = ReturnType<typeof useSync.getState>['partitions'][number];

function ProofBadge({
  proofs,
  partition,
  explain,
}: {
  proofs: ReturnType<typeof useSync.getState>['proofs'][string] | undefined;
  partition: Partition | undefined;
  explain: () => void;
}) {
  const drift = (n: number, at: ReactNode) => (
    <button type="button" className="link bad-text" onClick={explain} title="What differs, and why">
      drifted ({n}), as of {at} · what differs?
    </button>
  );
  if (!proofs) {
    // the last proof kept in the cache, from an earlier session
    if (!partition?.proven || !partition.proof_as_of) return <span className="muted">not proven</span>;
    const at = <When at={partition.proof_as_of} />;
    return partition.drifted ? drift(partition.drifted, at) : <span className="ok-text">in sync, as of {at}</span>;
  }
  const drifted = proofs.filter((p) => p.status === 'drifted');
  const countsOnly = proofs.filter((p) => p.status === 'counts-only').length;
  const asOf = proofs[0]?.asOf ? <When at={proofs[0].asOf} /> : '';
  if (drifted.length) return drift(drifted.length, asOf);
  const relisted = proofs.filter((p) => p.basis === 'relist').length;
  return (
    <span className="ok-text" title={relisted ? `${relisted} resources proven by listing them afresh (the CRM serves no manifest)` : undefined}>
      in sync{countsOnly ? ` (${countsOnly} counts only)` : ''}
      {relisted ? ' (by relist)' : ''}, as of {asOf}
    </span>
  );
}

type Proof = Output<'sync:proofs'>['proofs'][number];

/** A tenant's drifted proofs, opened: per resource the counts, the rows that differ by id, whose listings, and why. */
function DriftDetails({ tenant, name, close }: { tenant: string; name: string; close: () => void }) {
  const [proofs, setProofs] = useState<Proof[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    call('sync:proofs', { tenant }).then(
      (r) => setProofs(r.proofs.filter((p) => p.status === 'drifted')),
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  }, [tenant]);
  const ids = (label: string, list: string[], total: number) =>
    total ? (
      <div className="small">
        <span className="muted">
          {label} ({total}
          {total > list.length ? `, the first ${list.length}` : ''}):
        </span>{' '}
        {list.map((id) => (
          <code key={id} className="id">
            {id}
          </code>
        ))}
      </div>
    ) : null;
  return (
    <div className="card" role="region" aria-label={`What differs in ${name}`} data-testid="drift-details">
      <div className="row between">
        <strong>{name}: what differs from the CRM</strong>
        <button type="button" className="ghost" onClick={close} aria-label="Close">
          ✕
        </button>
      </div>
      {error && (
        <div className="alert" role="alert">
          {error}
        </div>
      )}
      {proofs && !proofs.length && <p className="muted small">No drift kept for this tenant.</p>}
      {proofs?.map((p) => (
        <div key={p.resource} className="drift" data-testid={`drift-${p.resource}`}>
          <div>
            <strong>{p.resource}</strong>{' '}
            <span className="muted small">
              cache {p.local.count} · server {p.server?.count ?? '?'} · {p.basis === 'relist' ? 'listed afresh' : "the CRM's manifest"}
              {p.by ? ` as ${p.by}` : ''}
              {p.cachedBy?.length ? ` · cached rows fetched by ${p.cachedBy.join(', ')}` : ''} · <When at={p.asOf} />
            </span>
          </div>
          {p.why && (
            <p className="small" data-testid={`drift-why-${p.resource}`}>
              {p.why}
            </p>
          )}
          {p.diff && (
            <>
              {ids('on the server, not in the cache', p.diff.missing, p.diff.counts.missing)}
              {ids('in the cache, not listed', p.diff.extra, p.diff.counts.extra)}
              {ids('changed on the server', p.diff.changed, p.diff.counts.changed)}
            </>
          )}
        </div>
      ))}
    </div>
  );
}

/** A bar that fills with done/total, or runs back and forth while the total is unknown. */
function ProgressBar({ done, total, label, thin }: { done: number; total: number | null; label: string; thin?: boolean }) {
  const share = total ? Math.min(done / total, 1) : null;
  return (
    <div
      className={`bar${share === null ? ' indeterminate' : ''}${thin ? ' thin' : ''}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={total ?? undefined}
      aria-valuenow={total ? done : undefined}
    >
      <span style={share === null ? undefined : { width: `${(share * 100).toFixed(1)}%` }} />
    </div>
  );
}

/** A tenant's cache to one file sealed with a passphrase, for support staff on another machine. */
function ExportButton({ tenant }: { tenant: { id: string; name: string } }) {
  const [open, setOpen] = useState(false);
  const [passphrase, setPassphrase] = useState('');
  const [state, setState] = useState<string | null>(null);
  if (!open)
    return (
      <button type="button" onClick={() => setOpen(true)} data-testid={`export-${tenant.name}`}>
        Export…
      </button>
    );
  return (
    <form
      className="row small"
      onSubmit={(e) => {
        e.preventDefault();
        setState('Sealing…');
        void call('cache:export', { tenant: tenant.id, passphrase }).then(
          (r) => {
            download(r.fileName, fromBase64(r.data), 'application/octet-stream');
            setState(`${fmt(r.rows)} rows sealed in ${r.fileName}. Give the passphrase separately.`);
            setPassphrase('');
          },
          (err: unknown) => setState(err instanceof ApiError ? err.message : 'The export failed.'),
        );
      }}
    >
      <input
        type="password"
        placeholder="passphrase (8+ characters)"
        minLength={8}
        value={passphrase}
        onChange={(e) => setPassphrase(e.target.value)}
        aria-label={`Passphrase for ${tenant.name}'s export`}
        data-testid={`export-passphrase-${tenant.name}`}
      />
      <button type="submit" disabled={passphrase.length < 8} data-testid={`export-go-${tenant.name}`}>
        Export
      </button>
      <button
        type="button"
        className="ghost"
        onClick={() => {
          setOpen(false);
          setState(null);
        }}
      >
        Close
      </button>
      {state && (
        <span className="muted" role="status" data-testid={`export-state-${tenant.name}`}>
          {state}
        </span>
      )}
    </form>
  );
}

export function TenantsView() {
  const { session, tenants, selectTenant } = useSession();
  const { writes, why } = useWrites();
  const { partitions, running, progress, cancelling, notice, report, proofs, error, load, sync, prove, evict, cancel } = useSync();
  const [explained, setExplained] = useState<{ id: string; name: string } | null>(null);
  useEffect(() => {
    void load();
  }, [load]);
  if (!session) return null;
  const part = (id: string) => partitions.find((p) => p.company_id === id);
  const unassigned = part('unassigned');
  // offline, what needs the CRM is off, and says why
  const offSync = session.offline ? `Offline: ${NEEDS_CRM['sync:run']}` : undefined;
  const offProve = session.offline ? `Offline: ${NEEDS_CRM['sync:prove']}` : undefined;
  return (
    <section aria-labelledby="tenants-title" data-testid="view-tenants">
      <div className="row between">
        <h1 id="tenants-title">Tenants</h1>
        {session.canSwitchTenant && (
          <button
            type="button"
            className="primary"
            disabled={!!running || !!offSync}
            title={offSync}
            onClick={() => void sync({ all: true }, 'all tenants')}
            data-testid="sync-all"
          >
            Sync all tenants
          </button>
        )}
      </div>
      <p className="muted">
        {session.canSwitchTenant
          ? `As a super admin you can inspect all ${tenants.length} companies the CRM reports.`
          : `As a ${session.role === 'company_admin' ? 'company admin' : 'user'} you see your own company only. Syncing it is also a leakage check: any row of another company the CRM hands you is recorded.`}
      </p>
      {running && (
        <div className="progress card" role="status" aria-live="polite" data-testid="sync-progress">
          <div className="row between">
            <strong>Syncing {running}</strong>
            <button type="button" onClick={() => void cancel()} disabled={cancelling} data-testid="sync-cancel">
              {cancelling ? 'Cancelling…' : 'Cancel'}
            </button>
          </div>
          <ProgressBar done={progress?.done ?? 0} total={progress?.total ?? null} label={`Syncing ${running}`} />
          <div className="row between small" data-testid="sync-overall">
            <span>{progress ? `${fmt(progress.done)}${progress.total !== null ? ` of ${fmt(progress.total)}` : ''} rows` : 'Connecting…'}</span>
            <span className="muted">
              {progress?.rate ? `${fmt(progress.rate)} rows/s` : ''}
              {progress?.etaSeconds != null ? ` · ${eta(progress.etaSeconds)} left` : ''}
            </span>
          </div>
          {progress?.parts?.map((part) => (
            <div key={part.label} className="part" data-testid="sync-part">
              <div className="row between small">
                <span>{part.label}</span>
                <span className="muted">
                  {fmt(part.done)}
                  {part.total !== null ? ` / ${fmt(part.total)}` : ''} · {fmt(part.rate)} rows/s{part.etaSeconds != null ? ` · ${eta(part.etaSeconds)}` : ''}
                </span>
              </div>
              <ProgressBar done={part.done} total={part.total} label={part.label} thin />
            </div>
          ))}
          {progress?.message && <div className="muted small">{progress.message}</div>}
        </div>
      )}
      {notice && (
        <div className="toast" role="status" data-testid="sync-notice">
          {notice}
        </div>
      )}
      {error && (
        <div className="alert" role="alert">
          {error}
        </div>
      )}
      {report && !running && (
        <div className={report.leaks || report.outcomes.some((o) => o.status === 'failed') ? 'alert' : 'toast'} role="status" data-testid="sync-report">
          Synced {report.rows} rows in {report.pages} pages{report.retries ? `, ${report.retries} retries` : ''}
          {report.deletions ? `, ${report.deletions} deletions` : ''}.
          {report.leaks > 0 && <strong> Leak: the CRM returned {report.leaks} rows of other companies to you.</strong>}
          {report.outcomes
            .filter((o) => o.status === 'failed' || o.status === 'warning')
            .map((o) => (
              <div key={`${o.tenant}/${o.resource}`} className="small">
                {o.status === 'warning' ? 'Warning: ' : ''}
                {o.message}
              </div>
            ))}
        </div>
      )}
      <table className="grid" data-testid="tenants-table">
        <thead>
          <tr>
            <th scope="col">Company</th>
            <th scope="col">Rows cached</th>
            <th scope="col">Last sync</th>
            <th scope="col">Proof</th>
            <th scope="col">Leak evidence</th>
            <th scope="col" aria-label="Actions" />
          </tr>
        </thead>
        <tbody>
          {tenants.map((t) => {
            const p = part(t.id);
            return (
              <tr
                key={t.id}
                aria-selected={t.id === session.selectedTenant}
                className={t.id === session.selectedTenant ? 'selected' : undefined}
                data-testid={`tenant-${t.name}`}
              >
                <td>
                  {t.name}
                  <div className="muted small">
                    <code>{t.id}</code>
                  </div>
                </td>
                <td data-testid="tenant-rows">
                  {p ? p.rows : <span className="muted">not synced</span>}
                  {p?.deleted ? <span className="muted small"> (+{p.deleted} deleted)</span> : null}
                </td>
                <td className="small">{p?.last_sync ? <When at={p.last_sync} /> : '—'}</td>
                <td className="small" data-testid="tenant-proof">
                  <ProofBadge proofs={proofs[t.id]} partition={p} explain={() => setExplained({ id: t.id, name: t.name })} />
                </td>
                <td>{p?.leaks ? <span className="bad-text">{p.leaks} rows</span> : <span className="muted">none</span>}</td>
                <td>
                  <div className="row">
                    <button
                      type="button"
                      disabled={!!running || !!offSync}
                      title={offSync}
                      onClick={() => void sync({ tenants: [t.id] }, t.name)}
                      data-testid={`sync-${t.name}`}
                    >
                      Sync
                    </button>
                    {p && (
                      <button type="button" disabled={!!running || !!offProve} title={offProve} onClick={() => void prove(t.id)}>
                        Prove
                      </button>
                    )}
                    {p && <ExportButton tenant={t} />}
                    {p && (
                      <button
                        type="button"
                        className="danger"
                        disabled={!!running || !writes}
                        title={why}
                        onClick={() => {
                          if (window.confirm(`Remove ${t.name}'s ${p.rows} cached rows? A sync brings them back.`)) void evict(t.id);
                        }}
                        data-testid={`evict-${t.name}`}
                      >
                        Evict
                      </button>
                    )}
                    {t.id === session.selectedTenant ? (
                      <span className="badge">Inspecting</span>
                    ) : session.canSwitchTenant ? (
                      <button type="button" onClick={() => void selectTenant(t.id)}>
                        Inspect
                      </button>
                    ) : null}
                  </div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {explained && (
        <DriftDetails
          key={`${explained.id}-${proofs[explained.id]?.[0]?.asOf ?? ''}`}
          tenant={explained.id}
          name={explained.name}
          close={() => setExplained(null)}
        />
      )}
      <Suspense fallback={null}>
        <TenantInsights refresh={`${report?.rows ?? ''}-${partitions.map((p) => `${p.company_id}:${p.rows}:${p.last_sync}`).join(',')}`} />
      </Suspense>
      {unassigned && session.canSwitchTenant && (
        <p className="muted small">
          Unassigned partition: {unassigned.rows} rows whose company cannot be derived (shared data, or owners the CRM has not assigned).
        </p>
      )}
    </section>
  );
}
