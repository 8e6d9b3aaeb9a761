import { ALL } from '../../src-shared/partitions.ts';
import { scopeOf } from '../../src-shared/scope.ts';
import { useEffect, useRef, useState } from 'react';
import { useSession } from '../stores/sessionStore.ts';
import { useAudit } from '../stores/auditStore.ts';
import { call } from '../api.ts';
import { download } from '../download.ts';
import { FindingCard } from '../components/FindingCard.tsx';
import { count } from '../../src-shared/format.ts';
import type { Output } from '../../src-shared/contract.ts';
import { CodeAuditView } from './CodeAuditView.tsx';
import { When } from '../components/When.tsx';

const pct = (a: number, b: number) => (b ? Math.round((100 * a) / b) : 0);

/** The seed's audit tables, live from the cache: models, progress, findings with their evidence. */
export function AuditView() {
  const { session, tenants } = useSession();
  const { audit, loading, selected, error, run, select, accept, tenant } = useAudit();
  const [reason, setReason] = useState('');
  const [tab, setTab] = useState<'data' | 'code'>('data');
  const [record, setRecord] = useState<Output<'records:get'>['record'] | 'none' | null>(null);
  const openRecord = (resource: string, id: string) =>
    void call('records:get', { resource, id }).then(
      (r) => setRecord(r.record ?? 'none'),
      () => setRecord('none'),
    );
  const evidenceRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    void run();
  }, [run]);
  // the first frame painted with this audit's data (bench/audit reads the two marks)
  useEffect(() => {
    if (audit) requestAnimationFrame(() => performance.mark('tenantscope:audit-painted'));
  }, [audit]);
  // the evidence opens below the lists: bring it into view
  useEffect(() => {
    setRecord(null);
    evidenceRef.current?.scrollIntoView?.({ block: 'nearest', behavior: 'smooth' });
  }, [selected?.id]);
  if (!session) return null;
  const { everyCompany } = scopeOf(session);
  const open = audit?.findings.filter((f) => !f.accepted) ?? [];
  const maxRows = Math.max(1, ...(audit?.models.map((m) => m.rows) ?? [1]));
  // the data (from the cache) and, for super admins, the CRM's own source (a folder of this machine)
  const tabs = (
    <div role="tablist" className="tabs" aria-label="What to audit">
      <button type="button" role="tab" aria-selected={tab === 'data'} onClick={() => setTab('data')} data-testid="audit-tab-data">
        Data
      </button>
      {everyCompany && (
        <button type="button" role="tab" aria-selected={tab === 'code'} onClick={() => setTab('code')} data-testid="audit-tab-code">
          Source code
        </button>
      )}
    </div>
  );
  if (tab === 'code')
    return (
      <section aria-labelledby="audit-title" data-testid="view-audit" className="audit">
        <h1 id="audit-title">Audit</h1>
        {tabs}
        <CodeAuditView />
      </section>
    );
  return (
    <section aria-labelledby="audit-title" data-testid="view-audit" className="audit">
      <div className="row between">
        <h1 id="audit-title">Audit</h1>
        <div className="row">
          {everyCompany && (
            <label className="row small">
              Tenant
              <select value={tenant ?? ''} onChange={(e) => void run(e.target.value || null)} data-testid="audit-tenant" style={{ width: 'auto' }}>
                <option value="">Every tenant</option>
                {tenants.map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.name}
                  </option>
                ))}
              </select>
            </label>
          )}
          <button type="button" onClick={() => void run()} disabled={loading} data-testid="audit-run">
            {loading ? 'Measuring…' : 'Measure again'}
          </button>
          <button
            type="button"
            disabled={!audit}
            onClick={() => void call('audit:report', { format: 'md' }).then((r) => download(r.fileName, r.text, 'text/markdown'))}
            data-testid="audit-export-md"
          >
            Export Markdown
          </button>
          <button
            type="button"
            disabled={!audit}
            onClick={() => void call('audit:report', { format: 'html' }).then((r) => download(r.fileName, r.text, 'text/html'))}
          >
            Export HTML
          </button>
          <button
            type="button"
            disabled={!audit}
            onClick={() => audit && download(`tenantscope-audit-${audit.generatedAt.slice(0, 10)}.json`, JSON.stringify(audit, null, 2), 'application/json')}
            data-testid="audit-export"
          >
            Export JSON
          </button>
        </div>
      </div>
      {tabs}
      <p className="muted" data-testid="audit-asof">
        Measured from the local cache, with no network
        {audit ? <>: data as of {audit.asOf ? <When at={audit.asOf} /> : 'never — sync a tenant first'}</> : null}
        {!everyCompany
          ? ` · ${session.company?.name ?? 'your company'} only`
          : audit && audit.scope !== ALL
            ? ` · ${tenants.find((t) => t.id === audit.scope)?.name ?? audit.scope} only`
            : ''}
        .
      </p>
      {error && (
        <div className="alert" role="alert">
          {error}
        </div>
      )}
      {audit && (
        <>
          <div className="tiles" data-testid="audit-progress">
            <div className="card tile">
              <div className="muted small">Models with company_id</div>
              <div className="big">
                {audit.progress.modelsMigrated}/{audit.progress.modelsTotal}
              </div>
              <div
                className="bar"
                role="progressbar"
                aria-label="Models migrated"
                aria-valuenow={audit.progress.modelsMigrated}
                aria-valuemax={audit.progress.modelsTotal}
              >
                <span style={{ width: `${pct(audit.progress.modelsMigrated, audit.progress.modelsTotal)}%` }} />
              </div>
            </div>
            <div
              className="card tile"
              title="Counted in the cache, in the rows synced so far. The Migration view counts the CRM's database itself, now: the two differ by what has not been synced, or changed since."
              data-testid="audit-rows-missing"
            >
              <div className="muted small">Rows still missing company_id · in the cache</div>
              <div className="big">{count(audit.progress.rowsMissing)}</div>
            </div>
            <div className="card tile">
              <div className="muted small">Endpoints proven isolated</div>
              <div className="big">{audit.progress.isolationRunId === null ? '—' : `${audit.progress.endpointsProven}/${audit.progress.endpointsProbed}`}</div>
              <div className="muted small">
                {audit.progress.isolationRunId === null
                  ? 'no isolation run yet'
                  : `of the resources probed; each as its latest complete run found it (up to run #${audit.progress.isolationRunId})`}
              </div>
            </div>
            <div className="card tile">
              <div className="muted small">Open findings</div>
              <div className="big" data-testid="audit-open">
                {open.length}
              </div>
              <div className="small">
                <span className="sev HIGH">{audit.counts.HIGH} HIGH</span> · <span className="sev MEDIUM">{audit.counts.MEDIUM} MEDIUM</span> ·{' '}
                <span className="sev LOW">{audit.counts.LOW} LOW</span>
              </div>
            </div>
          </div>
          {audit.diff && (
            <p className="small muted" data-testid="audit-diff">
              Since audit #{audit.diff.previousRunId}: {audit.diff.new.length} new, {audit.diff.fixed.length} fixed, {audit.diff.accepted.length} accepted,{' '}
              {audit.diff.stillOpen.length} still open.
            </p>
          )}
          <div className="columns">
            <div>
              <h2>Models</h2>
              <table className="grid models" data-testid="audit-models">
                <thead>
                  <tr>
                    <th scope="col">Model</th>
                    <th scope="col">company_id</th>
                    <th scope="col">Priority</th>
                    <th scope="col">Rows: filled · fillable · orphans</th>
                  </tr>
                </thead>
                <tbody>
                  {audit.models
                    .slice()
                    .sort(
                      (a, b) =>
                        Number(a.hasCompanyId) - Number(b.hasCompanyId) ||
                        ['HIGH', 'MEDIUM', 'LOW'].indexOf(a.priority ?? 'HIGH') - ['HIGH', 'MEDIUM', 'LOW'].indexOf(b.priority ?? 'HIGH') ||
                        a.resource.localeCompare(b.resource),
                    )
                    .map((m) => (
                      <tr key={m.resource} data-testid={`model-${m.resource}`}>
                        <td>{m.resource}</td>
                        <td>{m.hasCompanyId ? <span className="ok-text">yes</span> : <span className="bad-text">missing</span>}</td>
                        <td>{m.hasCompanyId ? '' : <span className={`prio ${m.priority ?? 'HIGH'}`}>{m.priority}</span>}</td>
                        <td>
                          <div
                            className="stack"
                            title={`${m.rows - m.missing} filled, ${m.fillable} fillable, ${m.orphans} orphans`}
                            style={{ width: `${Math.max(4, (100 * m.rows) / maxRows)}%` }}
                          >
                            <span className="filled" style={{ flexGrow: m.rows - m.missing }} />
                            <span className="fillable" style={{ flexGrow: m.fillable }} />
                            <span className="orphan" style={{ flexGrow: m.orphans }} />
                          </div>
                          <span className="small muted">
                            {m.rows - m.missing} · {m.fillable} · {m.orphans}
                          </span>
                        </td>
                      </tr>
                    ))}
                </tbody>
              </table>
            </div>
            <div>
              <h2>Findings</h2>
              <ul className="findings" data-testid="audit-findings">
                {audit.findings.map((f) => (
                  <li key={f.id}>
                    <button
                      type="button"
                      className={`finding${selected?.id === f.id ? ' sel' : ''}${f.accepted ? ' accepted' : ''}`}
                      onClick={() => select(f)}
                      data-testid={`finding-${f.id}`}
                    >
                      <span className={`sev ${f.severity}`}>{f.severity}</span> {f.title}
                      {f.accepted && <span className="muted small"> · accepted</span>}
                    </button>
                  </li>
                ))}
              </ul>
            </div>
          </div>
          {selected && (
            <FindingCard
              severity={selected.severity}
              title={selected.title}
              onClose={() => select(null)}
              testId="audit-evidence"
              label="Finding evidence"
              cardRef={evidenceRef}
            >
              <div className="small">
                Evidence: <code>{selected.evidence.path}</code>
              </div>
              {selected.evidence.ids.length > 0 && (
                <div className="small">
                  Records{selected.count > selected.evidence.ids.length ? ` (first ${selected.evidence.ids.length} of ${selected.count})` : ''}:{' '}
                  {selected.evidence.ids.map((id) => (
                    <button
                      type="button"
                      key={id}
                      className="id link"
                      onClick={() => selected.resource && openRecord(selected.resource, id)}
                      data-testid={`evidence-${id}`}
                    >
                      {id}
                    </button>
                  ))}
                </div>
              )}
              {record && record !== 'none' && record.resource === selected.resource && (
                <div className="record" data-testid="evidence-record">
                  <div className="small muted">
                    {record.resource} <code>{record.id}</code> · company <code>{record.companyId}</code>
                    {record.deleted ? ' · deleted on the server' : ''} · fetched by {record.fetchedBy} from <code>{record.fetchedFrom}</code> at{' '}
                    <When at={record.fetchedAt} />
                  </div>
                  <pre className="sql">{JSON.stringify(record.payload, null, 2)}</pre>
                </div>
              )}
              {record === 'none' && <div className="small muted">That record is not in the cache you can read.</div>}
              <div>{selected.remediation}</div>
              {selected.sql && <pre className="sql">{selected.sql}</pre>}
              {selected.accepted ? (
                <div className="small muted">
                  Accepted by {selected.accepted.by} on <When at={selected.accepted.at} />: {selected.accepted.reason}
                </div>
              ) : (
                everyCompany && (
                  <form
                    className="row"
                    onSubmit={(e) => {
                      e.preventDefault();
                      if (reason.trim()) void accept(selected.id, reason).then(() => setReason(''));
                    }}
                  >
                    <input
                      value={reason}
                      onChange={(e) => setReason(e.target.value)}
                      placeholder="Why this is acceptable (kept with the finding)"
                      aria-label="Reason to accept"
                      data-testid="audit-reason"
                    />
                    <button type="submit" disabled={!reason.trim()} data-testid="audit-accept">
                      Accept
                    </button>
                  </form>
                )
              )}
            </FindingCard>
          )}
        </>
      )}
    </section>
  );
}
