import { codeMarkdown, codeSarif, filesToUpdate } from '../../src-shared/reports/code.ts';
import { useEffect, useRef } from 'react';
import { useSession } from '../stores/sessionStore.ts';
import { useCode } from '../stores/codeStore.ts';
import { download } from '../download.ts';
import { FindingCard } from '../components/FindingCard.tsx';
import { count } from '../../src-shared/format.ts';

const SCOPING: Record<string, string> = {
  'by-company': 'by company',
  'by-user': 'by user only',
  'by-id': 'by id only',
  unscoped: 'unscoped',
  public: 'public',
  'no-queries': 'no tenant data',
  'creates-only': 'creates only',
};

/** A unified diff, its added and removed lines coloured. */
function Diff({ text }: { text: string }) {
  return (
    <pre className="diff" data-testid="code-diff">
      {text
        .trimEnd()
        .split('\n')
        .map((l, i) => (
          <div
            key={i}
            className={l.startsWith('+') && !l.startsWith('+++') ? 'add' : l.startsWith('-') && !l.startsWith('---') ? 'del' : l.startsWith('@@') ? 'hunk' : ''}
          >
            {l || ' '}
          </div>
        ))}
    </pre>
  );
}

/** The Audit view's Code tab: the CRM backend's own source, endpoint by endpoint, with the fix and the runner's verdict beside it. */
export function CodeAuditView() {
  const { session } = useSession();
  const { src, afterMigration, withIsolation, result, running, progress, selected, error, set, run, select } = useCode();
  const evidenceRef = useRef<HTMLDivElement>(null);
  // the fix opens below the list: bring it into view
  useEffect(() => {
    evidenceRef.current?.scrollIntoView?.({ block: 'nearest', behavior: 'smooth' });
  }, [selected?.id]);
  if (!session) return null;
  const by = (s: string) => result?.handlers.filter((h) => h.scoping === s).length ?? 0;
  const dyn = (d: string) => result?.findings.filter((f) => f.dynamic === d).length ?? 0;
  const stamp = result?.generatedAt.slice(0, 10) ?? '';
  return (
    <div data-testid="code-audit" className="code-audit">
      <p className="muted">
        Reads a checkout of the CRM&apos;s backend on this machine (Python: FastAPI routes, SQLAlchemy models and queries) and says how every endpoint scopes
        tenant data, at file and line, with a fix in the seed&apos;s AFTER style. Nothing is run and nothing is written into the checkout; the patch is yours to
        apply.
      </p>
      <form
        className="code-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (src.trim()) void run(session.connection);
        }}
      >
        <div className="row">
          <label className="row grow">
            Backend folder
            <input
              value={src}
              onChange={(e) => set({ src: e.target.value })}
              placeholder="/home/me/crm/backend"
              data-testid="code-src"
              aria-label="Backend folder"
            />
          </label>
          <button type="submit" className="primary" disabled={running || !src.trim()} data-testid="code-run">
            {running ? 'Reading…' : 'Read the source'}
          </button>
        </div>
        <div className="row small">
          <label className="row">
            <input type="checkbox" checked={withIsolation} onChange={(e) => set({ withIsolation: e.target.checked })} data-testid="code-with-isolation" />
            Check each finding against the latest isolation run of {session.connection}
          </label>
          <label className="row" title="Phase 1 landed: models gain company_id and queries filter on it directly">
            <input type="checkbox" checked={afterMigration} onChange={(e) => set({ afterMigration: e.target.checked })} />
            Write fixes for after the migration (company_id on every model)
          </label>
        </div>
      </form>
      {running && progress && (
        <div className="progress" role="status">
          <div className="small">
            {progress.done} of {progress.total ?? '?'} files
          </div>
          <div className="bar" role="progressbar" aria-valuenow={progress.done} aria-valuemax={progress.total ?? undefined}>
            <span style={{ width: `${progress.total ? (100 * progress.done) / progress.total : 30}%` }} />
          </div>
        </div>
      )}
      {error && (
        <div className="alert" role="alert">
          {error}
        </div>
      )}
      {result && (
        <>
          <div className="tiles" data-testid="code-tiles">
            <div className="card tile">
              <div className="muted small">Handlers</div>
              <div className="big">{result.handlers.length}</div>
              <div className="small">
                <span className="scope by-company">{by('by-company')} by company</span> <span className="scope by-user">{by('by-user')} by user</span>{' '}
                <span className="scope by-id">{by('by-id') + by('unscoped')} not scoped</span>
              </div>
            </div>
            <div className="card tile">
              <div className="muted small">Findings</div>
              <div className="big" data-testid="code-findings-count">
                {result.findings.length}
              </div>
              <div className="small">
                <span className="sev HIGH">{result.counts.HIGH} HIGH</span> · <span className="sev MEDIUM">{result.counts.MEDIUM} MEDIUM</span> ·{' '}
                <span className="sev LOW">{result.counts.LOW} LOW</span>
              </div>
            </div>
            <div className="card tile" data-testid="code-runner">
              <div className="muted small">The isolation runner says</div>
              {result.isolation ? (
                <>
                  <div className="big">{dyn('confirmed')} confirmed</div>
                  <div className="small muted">
                    {dyn('refuted')} refuted · {dyn('not-probed')} not probed · {result.findings.filter((f) => f.kind === 'unexplained-leak').length} leaks the
                    code does not explain (run #{result.isolation.runId})
                  </div>
                </>
              ) : (
                <div className="small muted">not checked: run an isolation test, then read the source again</div>
              )}
            </div>
            <div className="card tile">
              <div className="muted small">Read</div>
              <div className="big">{count(result.files)} files</div>
              <div className="small muted">
                {count(result.lines)} lines in {(result.tookMs / 1000).toFixed(1)} s{result.skipped.length ? ` · ${result.skipped.length} not read` : ''}
              </div>
            </div>
          </div>
          <div className="row">
            <button
              type="button"
              disabled={!result.patch}
              onClick={() => download(`tenantscope-phase2-${stamp}.patch`, result.patch, 'text/x-diff')}
              data-testid="code-patch"
            >
              Download the patch
            </button>
            <button type="button" onClick={() => download(`tenantscope-code-audit-${stamp}.md`, codeMarkdown(result), 'text/markdown')}>
              Export Markdown
            </button>
            <button type="button" onClick={() => download(`tenantscope-code-audit-${stamp}.sarif`, codeSarif(result), 'application/json')}>
              Export SARIF
            </button>
          </div>
          <div className="columns">
            <div>
              <h2>Phase 2: files to update</h2>
              <table className="grid" data-testid="code-files">
                <thead>
                  <tr>
                    <th scope="col">File</th>
                    <th scope="col">HIGH</th>
                    <th scope="col">MEDIUM</th>
                    <th scope="col">LOW</th>
                  </tr>
                </thead>
                <tbody>
                  {filesToUpdate(result).map((f) => (
                    <tr key={f.file}>
                      <td>
                        <code>{f.file}</code>
                      </td>
                      <td>{f.counts.HIGH || ''}</td>
                      <td>{f.counts.MEDIUM || ''}</td>
                      <td>{f.counts.LOW || ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <h2>Findings</h2>
              <ul className="findings" data-testid="code-findings">
                {result.findings.map((f) => (
                  <li key={f.id}>
                    <button
                      type="button"
                      className={`finding${selected?.id === f.id ? ' sel' : ''}`}
                      onClick={() => select(f)}
                      data-testid={`code-finding-${f.kind}`}
                    >
                      <span className={`sev ${f.severity}`}>{f.severity}</span> {f.title}
                      {f.dynamic && <span className={`dyn ${f.dynamic}`}> {f.dynamic}</span>}
                    </button>
                  </li>
                ))}
              </ul>
            </div>
            <div className="code-fix">
              {selected ? (
                <FindingCard
                  severity={selected.severity}
                  title={selected.title}
                  onClose={() => select(null)}
                  testId="code-evidence"
                  label="Finding and its fix"
                  cardRef={evidenceRef}
                >
                  <div className="small">
                    <code>{`${selected.file}:${selected.line}`}</code>
                    {selected.resource && ` · ${selected.resource} ${selected.operation ?? ''}`}
                  </div>
                  <p>{selected.does}</p>
                  <p>
                    <strong>After:</strong> {selected.after}
                  </p>
                  {selected.dynamic && (
                    <p className="small" data-testid="code-dynamic">
                      <span className={`dyn ${selected.dynamic}`}>{selected.dynamic}</span> {selected.dynamicDetail}
                    </p>
                  )}
                  {selected.diff ? <Diff text={selected.diff} /> : selected.noFix && <p className="small muted">No fix written: {selected.noFix}.</p>}
                </FindingCard>
              ) : (
                <p className="muted small">Pick a finding to see what the code does, the seed&apos;s AFTER, the fix as a diff and what the runner saw.</p>
              )}
            </div>
          </div>
          <h2>Handlers</h2>
          <table className="grid handlers" data-testid="code-handlers">
            <thead>
              <tr>
                <th scope="col">Endpoint</th>
                <th scope="col">Handler</th>
                <th scope="col">Scoping</th>
                {result.isolation && <th scope="col">Runner</th>}
              </tr>
            </thead>
            <tbody>
              {result.handlers.map((h) => (
                <tr key={`${h.method} ${h.path} ${h.handler}`} data-testid={`handler-${h.handler}`}>
                  <td>
                    <span className="small muted">{h.method}</span> <code>{h.path}</code>
                  </td>
                  <td
                    title={h.queries
                      .map((q) => `${q.model} at ${q.file}:${q.line} ${SCOPING[q.scoping]}${q.via.length > 1 ? ` via ${q.via.join(' → ')}` : ''}`)
                      .join('\n')}
                  >
                    {h.handler}
                    <div className="small muted">{`${h.file}:${h.line}`}</div>
                  </td>
                  <td>
                    <span className={`scope ${h.scoping}`}>{SCOPING[h.scoping]}</span>
                    {h.guard === false && (
                      <span className="small warn-text" title="The company compared may be None: a user with no company matches rows with none">
                        {' '}
                        · no guard
                      </span>
                    )}
                  </td>
                  {result.isolation && (
                    <td>
                      <span className={`dyn ${h.dynamic ?? 'not-probed'}`}>{h.dynamic ?? '–'}</span>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
