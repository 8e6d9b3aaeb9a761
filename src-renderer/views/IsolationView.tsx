import { useSafety, useWrites } from '../stores/safetyStore.ts';
import { scopeOf } from '../../src-shared/scope.ts';
import { useEffect, useState } from 'react';
import { useSession } from '../stores/sessionStore.ts';
import { useIsolation } from '../stores/isolationStore.ts';
import { VERDICT_ORDER, VERDICTS, type Verdict } from '../../src-shared/tenancy.ts';
import { NEEDS_CRM, type Output } from '../../src-shared/contract.ts';
import { call } from '../api.ts';
import { When } from '../components/When.tsx';

const OPS = ['list', 'search', 'read', 'update', 'delete', 'create'] as const;
const OP_LETTER: Record<string, string> = { list: 'L', search: 'S', read: 'R', update: 'U', delete: 'D', create: 'C' };
/** a verdict's colour and glyph, from the one VERDICTS table */
const paint = (v: Verdict) => ({ '--verdict': VERDICTS[v].colour }) as React.CSSProperties;

/** Resources × identities × operations, filling as probes finish; a cell opens its evidence. */
export function IsolationView() {
  const { session } = useSession();
  const st = useIsolation();
  const [readOnlyAsked, setReadOnly] = useState(false);
  const [only, setOnly] = useState('');
  const [asking, setAsking] = useState(false);
  const { writes, why } = useWrites();
  const safety = useSafety((s) => s.status);
  // Safe Mode: a locked production connection is probed read-only
  const readOnly = readOnlyAsked || !writes;
  const load = st.load;
  const superAdmin = !!session && scopeOf(session).everyCompany;
  // the last source audit of this connection: each cell links to the handler that serves it
  const [code, setCode] = useState<Output<'code:handlers'>>(null);
  useEffect(() => {
    if (superAdmin) void load();
    if (superAdmin) void call('code:handlers', {}).then(setCode, () => setCode(null));
  }, [superAdmin, load]);
  if (!session) return null;
  if (!superAdmin) {
    return (
      <section aria-labelledby="iso-title" data-testid="view-isolation">
        <h1 id="iso-title">Isolation</h1>
        <div className="pending" role="note">
          The isolation runner signs in as every identity of the connection (a super admin, company admins and users of two companies, a user with no company)
          and creates test records: a super admin runs it. Your own sync on the Tenants view is already a leakage check of what the CRM returns to you.
        </div>
      </section>
    );
  }
  const chosen = only
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const start = () => void st.run({ readOnly, only: chosen });
  const cell = (resource: string, identity: string, op: string) =>
    st.results.find((r) => r.resource === resource && r.identity === identity && r.operation === op);
  const counts = Object.fromEntries(VERDICT_ORDER.map((v) => [v, st.results.filter((r) => r.verdict === v).length])) as Record<Verdict, number>;
  const shown = st.runs.find((r) => r.id === st.shownRunId);
  return (
    <section aria-labelledby="iso-title" data-testid="view-isolation" className="isolation">
      <div className="row between">
        <h1 id="iso-title">Isolation</h1>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            // a run that writes into a CRM other than the demo says what it will do first
            if (!readOnly && safety && safety.level !== 'demo') setAsking(true);
            else start();
          }}
        >
          <label className="row small">
            Only{' '}
            <input
              value={only}
              onChange={(e) => setOnly(e.target.value)}
              placeholder="calls, emails (all when empty)"
              style={{ width: 200 }}
              data-testid="iso-only"
            />
          </label>
          <label className="row small">
            <input
              type="checkbox"
              checked={readOnly}
              disabled={!writes}
              title={why}
              onChange={(e) => setReadOnly(e.target.checked)}
              data-testid="iso-readonly"
            />{' '}
            Read-only (production: creates nothing)
          </label>
          <button
            type="submit"
            className="primary"
            disabled={st.running || session.offline}
            title={session.offline ? `Offline: ${NEEDS_CRM['isolation:run']}` : undefined}
            data-testid="iso-run"
          >
            {st.running ? 'Running…' : 'Run isolation test'}
          </button>
        </form>
      </div>
      {asking && safety && (
        <div className="card confirm" role="alertdialog" aria-labelledby="iso-confirm-title" data-testid="iso-confirm">
          <strong id="iso-confirm-title">
            Write canary records into {safety.connection} ({safety.level})?
          </strong>
          <p className="small">
            For each of {chosen.length ? `${chosen.length} resource${chosen.length > 1 ? 's' : ''} (${chosen.join(', ')})` : 'the catalog’s resources'}, one
            canary record is created in a company’s name, then every other identity tries to change, delete and create records there; the records the CRM lets
            them make are kept in a ledger. Every canary and probe record is deleted at the end (a run cut short deletes them at the next). A read-only run
            creates nothing.
          </p>
          <div className="row">
            <button
              type="button"
              className="primary"
              data-testid="iso-confirm-yes"
              onClick={() => {
                setAsking(false);
                start();
              }}
            >
              Run with writes
            </button>
            <button type="button" onClick={() => setAsking(false)}>
              Cancel
            </button>
          </div>
        </div>
      )}
      <p className="muted">
        Canary records are created as one company's admin, then every other company's identities, a user with no company and the super admin try to list,
        search, read, change, delete them and to create in that company's name. Writes are verified by reading back; every canary is deleted at the end.
      </p>
      {st.running && (
        <div className="progress card" role="status" aria-live="polite" data-testid="iso-progress">
          <div className="row between small">
            <strong>Probing</strong>
            <span className="muted">{st.progress ? `${st.progress.done} of ${st.progress.total} probes · ${st.progress.label}` : 'creating canaries…'}</span>
          </div>
          <div
            className="bar"
            role="progressbar"
            aria-label="Isolation probes"
            aria-valuemin={0}
            aria-valuemax={st.progress?.total ?? undefined}
            aria-valuenow={st.progress?.done}
          >
            <span style={{ width: `${st.progress?.total ? (100 * st.progress.done) / st.progress.total : 0}%` }} />
          </div>
        </div>
      )}
      {st.error && (
        <div className="alert" role="alert">
          {st.error}
        </div>
      )}
      {st.summary && (
        <div className={counts.leak ? 'alert' : 'toast'} role="status" data-testid="iso-summary">
          {st.summary}
        </div>
      )}
      <div className="legend row small" data-testid="iso-legend">
        {VERDICT_ORDER.map((v) => (
          <span key={v} className="row" title={VERDICTS[v].meaning}>
            <span className="cell" data-verdict={v} style={paint(v)} aria-hidden>
              {VERDICTS[v].mark}
            </span>
            {v} {counts[v]}
          </span>
        ))}
        <span className="muted">· letters: {OPS.map((o) => `${OP_LETTER[o]} ${o}`).join(', ')}</span>
      </div>
      {st.results.length > 0 ? (
        <div className="matrix-wrap">
          <table className="matrix" data-testid="iso-matrix" aria-label={`Isolation run ${st.shownRunId ?? ''}`}>
            <thead>
              <tr>
                <th scope="col" rowSpan={2}>
                  Resource
                </th>
                {st.identities.map((i) => (
                  <th key={i} scope="colgroup" colSpan={OPS.length}>
                    {i}
                  </th>
                ))}
              </tr>
              <tr>
                {st.identities.map((i) =>
                  OPS.map((o) => (
                    <th key={`${i}-${o}`} scope="col" className="op" title={o}>
                      {OP_LETTER[o]}
                    </th>
                  )),
                )}
              </tr>
            </thead>
            <tbody>
              {st.resources.map((res) => (
                <tr key={res}>
                  <th scope="row">{res}</th>
                  {st.identities.map((i) =>
                    OPS.map((o) => {
                      const r = cell(res, i, o);
                      return (
                        <td key={`${i}-${o}`}>
                          {r ? (
                            <button
                              type="button"
                              className={`cell${st.selected === r ? ' sel' : ''}`}
                              data-verdict={r.verdict}
                              style={paint(r.verdict)}
                              title={`${res} · ${i} · ${o}: ${r.verdict}`}
                              aria-label={`${res}, ${i}, ${o}: ${r.verdict}`}
                              onClick={() => st.select(r)}
                              data-testid={`cell-${res}-${i}-${o}`}
                            >
                              {VERDICTS[r.verdict].mark}
                            </button>
                          ) : (
                            <span className="cell pending-cell" aria-label="not yet" />
                          )}
                        </td>
                      );
                    }),
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        !st.running && (
          <p className="muted" data-testid="iso-empty">
            {st.runs.length
              ? shown
                ? `Run #${shown.id} has no results (${shown.outcome}${shown.message ? `: ${shown.message}` : ''}).`
                : 'No run with results yet on this connection: the runs below ended before probing anything.'
              : 'No isolation run yet on this connection: Run isolation test (above) fills this matrix, resource by identity by operation, as the probes finish.'}
          </p>
        )
      )}
      {st.selected && (
        <div className="card evidence" data-testid="iso-evidence" aria-label="Evidence">
          <div className="row between">
            <strong className="verdict-text" style={paint(st.selected.verdict)}>
              {st.selected.verdict}
            </strong>
            <button type="button" onClick={() => st.select(null)}>
              Close
            </button>
          </div>
          <div>
            {st.selected.resource} · {st.selected.identity} · {st.selected.operation}: {st.selected.detail}
          </div>
          <HandlerOf code={code} resource={st.selected.resource} operation={st.selected.operation} />
          <ul className="small">
            {st.selected.evidence.map((e, k) => (
              <li key={k}>
                <code>{e.request}</code> → <strong>{e.status}</strong>
                {e.excerpt && <div className="muted excerpt">{e.excerpt}</div>}
              </li>
            ))}
          </ul>
        </div>
      )}
      <h2>History</h2>
      <table className="grid" data-testid="iso-history">
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Started</th>
            <th scope="col">Outcome</th>
            <th scope="col">Probes</th>
            <th scope="col">Leaks</th>
            <th scope="col" aria-label="Actions" />
          </tr>
        </thead>
        <tbody>
          {st.runs.map((r) => (
            <tr key={r.id} className={r.id === st.shownRunId ? 'selected' : undefined}>
              <td>
                #{r.id}
                {r.readOnly ? <span className="muted small"> read-only</span> : null}
              </td>
              <td className="small">
                <When at={r.startedAt} />
              </td>
              <td className={r.outcome === 'leaks' ? 'bad-text' : undefined}>{r.outcome}</td>
              <td>{r.probes}</td>
              <td>{r.leaks}</td>
              <td className="row">
                <button type="button" disabled={st.running || r.id === st.shownRunId} onClick={() => void st.show(r.id)}>
                  Show
                </button>
                {shown && r.id !== shown.id && (
                  <button
                    type="button"
                    disabled={st.running || r.probes === 0}
                    title={r.probes === 0 ? 'This run has no results to compare' : undefined}
                    onClick={() => void st.compare(r.id)}
                    data-testid={`iso-compare-${r.id}`}
                  >
                    Compare
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {st.diff && (
        <div className="card" data-testid="iso-diff">
          <strong>
            Run #{st.shownRunId} against #{st.compareWith}
          </strong>
          : {st.diff.filter((d) => d.kind === 'new leak').length} new leaks, {st.diff.filter((d) => d.kind === 'fixed').length} fixed,{' '}
          {st.diff.filter((d) => d.kind === 'still leaking').length} still leaking.
          <ul className="small">
            {st.diff
              .filter((d) => d.kind !== 'still leaking')
              .slice(0, 50)
              .map((d) => (
                <li key={`${d.kind}${d.resource}${d.identity}${d.operation}`}>
                  <span className={d.kind === 'fixed' ? 'ok-text' : 'bad-text'}>{d.kind}</span> {d.resource} · {d.identity} · {d.operation}
                </li>
              ))}
          </ul>
        </div>
      )}
    </section>
  );
}

/** Where the source serves a cell (from the last source audit), or how to find out. */
function HandlerOf({ code, resource, operation }: { code: Output<'code:handlers'>; resource: string; operation: string }) {
  if (!code) return <div className="small muted">Audit → Source code links each cell to the handler that serves it.</div>;
  const h = code.handlers.find((x) => x.resource === resource && x.operation === operation);
  if (!h)
    return (
      <div className="small muted">
        The source audit of {code.root} found no handler serving {resource} {operation}.
      </div>
    );
  return (
    <div className="small" data-testid="iso-handler">
      In the source: <code>{h.handler}</code> at <code>{`${h.file}:${h.line}`}</code> ·{' '}
      <span className={`scope ${h.scoping}`}>{h.scoping.replace('-', ' ')}</span>
    </div>
  );
}
