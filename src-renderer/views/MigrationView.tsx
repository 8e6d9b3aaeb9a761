import { useWrites } from '../stores/safetyStore.ts';
import { scopeOf } from '../../src-shared/scope.ts';
import { useEffect, useRef, useState } from 'react';
import { MAX_TRIGGER_OVERHEAD, OTHER_COLUMNS, otherColumnsText, type TriggerCost } from '../../src-shared/migration.ts';
import { useSession } from '../stores/sessionStore.ts';
import { useMigration } from '../stores/migrationStore.ts';
import { bytes as mib, count as fmt, duration as eta } from '../../src-shared/format.ts';
import { download } from '../download.ts';
import { StaticWhen } from '../components/When.tsx';
import { MigrationRuns } from './MigrationRuns.tsx';
import { MigrationHealth } from './MigrationHealth.tsx';
import { MigrationRls } from './MigrationRls.tsx';

/** The fill trigger's measured cost on a table's writes: inserts, and changes of owner or parent. */
function TriggerCostCell({ cost }: { cost: TriggerCost | undefined }) {
  if (!cost || cost.ratio === null) return <span className="muted">{cost?.note ?? '–'}</span>;
  return (
    <span
      className={cost.ratio > MAX_TRIGGER_OVERHEAD ? 'bad-text' : undefined}
      title={`measured on a copy of ${cost.sampleRows} rows: inserts ${cost.insertRatio}×, changes of owner or parent ${cost.updateRatio}× (other updates do not fire it)`}
    >
      {cost.ratio}×
    </span>
  );
}

const PHASES: Record<number, string> = {
  1: 'Phase 1 · HIGH: data leakage risk (critical tables first)',
  2: 'Phase 2 · MEDIUM: user-specific',
  3: 'Phase 3 · LOW: system-wide',
};

/**
 * The company_id migration of the CRM's PostgreSQL: the schema audit, the plan by phase (its SQL,
 * estimates, preflight), the run with per-table progress bars, pause / resume / throttle, its log,
 * verification, rollback with confirmation, and every run recorded in the database.
 */
export function MigrationView() {
  const { writes, why } = useWrites();
  const { session } = useSession();
  const st = useMigration();
  const [tables, setTables] = useState('');
  const [notNull, setNotNull] = useState(false);
  const [batchSize, setBatchSize] = useState('');
  const [delayMs, setDelayMs] = useState('');
  const [backup, setBackup] = useState(true);
  const [probeUrl, setProbeUrl] = useState('');
  const [rlsAfter, setRlsAfter] = useState(false);
  const [rlsOut, setRlsOut] = useState(true);
  const [confirm, setConfirm] = useState<null | { kind: 'run' } | { kind: 'rollback'; runId: number }>(null);
  const logBox = useRef<HTMLDivElement>(null);
  const logFollows = useRef(true);
  const superAdmin = !!session && scopeOf(session).everyCompany;
  const load = st.load;
  const offline = !!session?.offline;
  useEffect(() => {
    if (superAdmin && !offline) void load();
  }, [superAdmin, offline, load]);
  // the log follows its newest line inside its own box (never the page), unless the reader scrolled up in it
  useEffect(() => {
    const box = logBox.current;
    if (box && logFollows.current) box.scrollTop = box.scrollHeight;
  }, [st.log.length]);
  if (!session) return null;
  if (!superAdmin) {
    return (
      <section aria-labelledby="mig-title" data-testid="view-migration">
        <h1 id="mig-title">Migration</h1>
        <div className="pending" role="note">
          The company_id migration changes the CRM's database for every company: a super admin plans and runs it. The audit on the Audit view shows how far your
          own company's data is.
        </div>
      </section>
    );
  }
  if (offline) {
    return (
      <section aria-labelledby="mig-title" data-testid="view-migration">
        <h1 id="mig-title">Migration</h1>
        <div className="pending" role="note" data-testid="mig-offline">
          Offline: the migration works on the CRM's own database, which needs the network. Sign in online to plan, run, verify or roll it back.
        </div>
      </section>
    );
  }
  const list = tables
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const running = st.busy === 'run';
  const p = st.progress;
  const paused = p?.status === 'paused';
  const latest = st.status?.runs[0];
  const unfinished = st.status?.unfinished ?? null;
  const missing = st.audit.filter((t) => !t.hasCompanyId);
  const rowsMissing = st.audit.reduce((a, t) => a + t.missing, 0);
  const byPhase = (phase: number) => (p ? p.tables.filter((t) => t.phase === phase) : []);
  const plan = st.plan?.plan;
  return (
    <section aria-labelledby="mig-title" data-testid="view-migration" className="migration">
      <div className="row between">
        <h1 id="mig-title">Migration</h1>
        <div className="row">
          <button type="button" onClick={() => void st.load()} disabled={!!st.busy} data-testid="mig-refresh">
            Refresh
          </button>
          <button type="button" onClick={() => void st.verify()} disabled={!!st.busy || !latest || latest.status === 'rolled-back'} data-testid="mig-verify">
            {st.busy === 'verify' ? 'Verifying…' : 'Verify'}
          </button>
          <button
            type="button"
            className="danger"
            onClick={() => latest && setConfirm({ kind: 'rollback', runId: latest.id })}
            disabled={!!st.busy || !latest || latest.status === 'rolled-back' || !writes}
            title={why}
            data-testid="mig-rollback"
          >
            Roll back…
          </button>
        </div>
      </div>
      <p className="muted">
        Adds company_id to every table that lacks it, the way the seed's Phase 1 asks, without stopping the CRM: the column is added nullable, a trigger fills
        it for rows old code still writes, the backfill walks each table in short batches by key range, indexes are built concurrently, and foreign keys are
        added NOT VALID, then validated. Every DDL waits at most its lock_timeout and retries. State lives in the CRM's database: a crashed run resumes where it
        stopped.
      </p>
      {st.error && (
        <div className="alert" role="alert" data-testid="mig-error">
          {st.error}
        </div>
      )}
      {st.notice && (
        <div className="toast" role="status" data-testid="mig-notice">
          {st.notice}
        </div>
      )}

      <p className="small muted" data-testid="mig-scope">
        Measured in the CRM's database, now; the Audit view measures the local cache (the rows synced so far), so its counts follow the last sync.
      </p>
      <div className="cards" data-testid="mig-audit">
        <div className="card">
          <div className="muted small">Tables without company_id</div>
          <strong className={missing.length ? 'bad-text' : 'ok-text'}>
            {missing.length} of {st.audit.length}
          </strong>
        </div>
        <div
          className="card"
          title="Counted in the CRM's database, now. The Audit view counts the local cache (the rows synced so far)."
          data-testid="mig-rows-missing"
        >
          <div className="muted small">Rows missing company_id · in the CRM's database, now</div>
          <strong>{fmt(rowsMissing)}</strong>
        </div>
        <div className="card">
          <div className="muted small">Without index on company_id</div>
          <strong>{st.audit.filter((t) => t.hasCompanyId && !t.indexOnCompanyId).length}</strong>
        </div>
        <div
          className="card"
          data-testid="mig-cross-references"
          title={
            st.audit
              .flatMap((t) =>
                t.crossReferences
                  .filter((x) => x.count)
                  .map((x) => `${t.table}.${x.field} → ${x.table}: ${x.count} (${x.ids.slice(0, 5).join(', ')}${x.count > 5 ? ', …' : ''})`),
              )
              .join('\n') || 'No row points into another company'
          }
        >
          <div className="muted small">Rows pointing into another company</div>
          <strong className={st.audit.some((t) => (t.childMismatches ?? 0) > 0) ? 'bad-text' : undefined}>
            {fmt(st.audit.reduce((a, t) => a + (t.childMismatches ?? 0), 0))}
          </strong>
        </div>
        <div className="card">
          <div className="muted small">Unique keys without company_id</div>
          <strong>{st.audit.reduce((a, t) => a + t.uniqueWithoutCompany.length, 0)}</strong>
        </div>
        <div className="card">
          <div className="muted small">Citus-ready tables</div>
          <strong>
            {st.audit.filter((t) => t.citus.ready).length} of {st.audit.length}
          </strong>
        </div>
      </div>

      {unfinished !== null && !running && (
        <div className="alert" role="status" data-testid="mig-unfinished">
          Run {unfinished} is not finished ({st.status?.runs.find((r) => r.id === unfinished)?.status}
          {st.status?.runs.find((r) => r.id === unfinished)?.message ? `: ${st.status?.runs.find((r) => r.id === unfinished)?.message}` : ''}).{' '}
          <button
            type="button"
            className="primary"
            onClick={() =>
              void st.run({
                tables: [],
                notNull,
                resume: true,
                batchSize: batchSize ? Number(batchSize) : undefined,
                delayMs: delayMs ? Number(delayMs) : undefined,
              })
            }
            disabled={!writes}
            title={why}
            data-testid="mig-resume"
          >
            Resume run {unfinished}
          </button>
        </div>
      )}

      <form
        className="card mig-col"
        onSubmit={(e) => {
          e.preventDefault();
          void st.makePlan({ tables: list, notNull });
        }}
        data-testid="mig-plan-form"
      >
        <div className="row">
          <label className="row small">
            Tables{' '}
            <input
              value={tables}
              onChange={(e) => setTables(e.target.value)}
              placeholder="calls, emails (all when empty)"
              style={{ width: 220 }}
              data-testid="mig-tables"
            />
          </label>
          <label className="row small">
            <input type="checkbox" checked={notNull} onChange={(e) => setNotNull(e.target.checked)} data-testid="mig-notnull" />{' '}
            <span title="CHECK (company_id IS NOT NULL), added NOT VALID and then validated, on tables with no orphans left">Also NOT NULL</span>
          </label>
          <label className="row small">
            Batch{' '}
            <input
              type="number"
              min={1}
              value={batchSize}
              onChange={(e) => setBatchSize(e.target.value)}
              placeholder="5000"
              style={{ width: 80 }}
              data-testid="mig-batch"
            />
          </label>
          <label className="row small">
            Pause (ms){' '}
            <input
              type="number"
              min={0}
              value={delayMs}
              onChange={(e) => setDelayMs(e.target.value)}
              placeholder="0"
              style={{ width: 70 }}
              data-testid="mig-delay"
            />
          </label>
          <div className="spacer" />
          <button type="submit" disabled={!!st.busy || unfinished !== null} data-testid="mig-plan">
            {st.busy === 'plan' ? 'Planning…' : 'Plan'}
          </button>
          <button
            type="button"
            className="primary"
            disabled={!!st.busy || !plan || !plan.tables.length || unfinished !== null || !writes}
            title={why}
            onClick={() => setConfirm({ kind: 'run' })}
            data-testid="mig-run"
          >
            Run…
          </button>
        </div>
      </form>

      {confirm && (
        <div className="card confirm" role="alertdialog" aria-labelledby="mig-confirm-title" data-testid="mig-confirm">
          <strong id="mig-confirm-title">{confirm.kind === 'run' ? `Run the plan on ${plan?.database}?` : `Roll back run ${confirm.runId}?`}</strong>
          <p className="small">
            {confirm.kind === 'run'
              ? `This changes the CRM's database: ${plan?.tables.length} tables get company_id, a fill trigger, an index and a foreign key; about ${fmt(plan?.estimate.rows ?? 0)} rows are written. The CRM keeps serving. You can pause at any time, and roll back afterwards.`
              : 'This drops what the run added: the company_id columns it added (with every value in them), their triggers, indexes, foreign keys and checks. The schema and data are then compared with before the run. Running the plan again adds them back.'}
          </p>
          {confirm.kind === 'run' && (
            <label className="row small" data-testid="mig-backup-option">
              <input type="checkbox" checked={backup} onChange={(e) => setBackup(e.target.checked)} data-testid="mig-backup" />
              Back up these tables first
              {plan?.backupEstimate ? ` (about ${mib(plan.backupEstimate.bytes)}, about ${eta(plan.backupEstimate.seconds)})` : ''}
              {!backup && <span className="warn-text"> · the run records that it took no backup</span>}
            </label>
          )}
          {confirm.kind === 'run' && (
            <label
              className="row small"
              data-testid="mig-rls-after-option"
              title="The policies are generated from the catalog; see the row-level security card below"
            >
              <input type="checkbox" checked={rlsAfter} onChange={(e) => setRlsAfter(e.target.checked)} data-testid="mig-rls-after" />
              Then apply row-level security, once the run is done and verified
            </label>
          )}
          {confirm.kind === 'rollback' && (
            <label className="row small" data-testid="mig-rls-out-option">
              <input type="checkbox" checked={rlsOut} onChange={(e) => setRlsOut(e.target.checked)} data-testid="mig-rls-out" />
              Take row-level security out first, if it is applied (its policies read the columns the rollback drops; without this the rollback refuses)
            </label>
          )}
          {confirm.kind === 'run' && (
            <label className="row small" title="Timed with every health sample: the run waits while it answers slowly (over 1 s) or with an error">
              Application URL to watch (optional){' '}
              <input
                type="url"
                value={probeUrl}
                onChange={(e) => setProbeUrl(e.target.value)}
                placeholder="https://crm.example.com/health"
                style={{ width: 320 }}
                data-testid="mig-probe-url"
              />
            </label>
          )}
          <div className="row">
            <button
              type="button"
              className={confirm.kind === 'run' ? 'primary' : 'danger'}
              data-testid="mig-confirm-yes"
              onClick={() => {
                const c = confirm;
                setConfirm(null);
                if (c.kind === 'run')
                  void st.run({
                    tables: list,
                    notNull,
                    batchSize: batchSize ? Number(batchSize) : undefined,
                    delayMs: delayMs ? Number(delayMs) : undefined,
                    backup,
                    probeUrl: probeUrl.trim() || undefined,
                    rls: rlsAfter,
                  });
                else void st.rollBack(c.runId, rlsOut);
              }}
            >
              {confirm.kind === 'run' ? 'Run the migration' : 'Roll back'}
            </button>
            <button type="button" onClick={() => setConfirm(null)} data-testid="mig-confirm-no">
              Cancel
            </button>
          </div>
        </div>
      )}

      {p && (
        <div className="card progress mig-head" role="status" aria-live="polite" data-testid="mig-progress">
          <div className="row between small">
            <strong>
              Run {p.runId} · {p.status}
              {p.message ? `: ${p.message}` : ''}
            </strong>
            <span className="muted">
              step {p.overall.stepsDone} of {p.overall.steps} · {fmt(p.overall.done)} of {fmt(p.overall.total)} rows
              {p.status === 'running'
                ? ` · ${fmt(p.overall.rate)} rows/s · about ${eta(p.overall.etaSeconds)} left · batch ${fmt(p.batchSize)}${p.delayMs ? `, pause ${p.delayMs} ms` : ''}`
                : ''}
            </span>
          </div>
          <div
            className="bar"
            role="progressbar"
            aria-label="Migration, all tables"
            aria-valuemin={0}
            aria-valuemax={p.overall.total}
            aria-valuenow={p.overall.done}
          >
            <span style={{ width: `${p.overall.total ? (100 * p.overall.done) / p.overall.total : 0}%` }} />
          </div>
          {running && (
            <div className="row small">
              {paused || p.status !== 'running' ? null : (
                <button type="button" onClick={() => void st.control({ pause: true })} data-testid="mig-pause">
                  Pause
                </button>
              )}
              <label className="row">
                Batch{' '}
                <input
                  type="number"
                  min={1}
                  defaultValue={p.batchSize}
                  style={{ width: 80 }}
                  onBlur={(e) => void st.control({ batchSize: Number(e.target.value) })}
                  data-testid="mig-throttle-batch"
                />
              </label>
              <label className="row">
                Pause (ms){' '}
                <input
                  type="number"
                  min={0}
                  defaultValue={p.delayMs}
                  style={{ width: 70 }}
                  onBlur={(e) => void st.control({ delayMs: Number(e.target.value) })}
                  data-testid="mig-throttle-delay"
                />
              </label>
            </div>
          )}
        </div>
      )}
      {p?.health && p.status === 'running' && <MigrationHealth health={p.health} />}
      {p && (
        <div className="card progress" data-testid="mig-tables">
          {[1, 2, 3].map(
            (phase) =>
              byPhase(phase).length > 0 && (
                <div key={phase} className="mig-col" data-testid={`mig-phase-${phase}`}>
                  <div className="muted small">{PHASES[phase]}</div>
                  {byPhase(phase).map((t) => (
                    <div key={t.table} className="mig-table" data-testid={`mig-table-${t.table}`}>
                      <span className="mig-name">{t.table}</span>
                      <div className="bar" role="progressbar" aria-label={t.table} aria-valuemin={0} aria-valuemax={t.total} aria-valuenow={t.done}>
                        <span style={{ width: `${t.status === 'done' ? 100 : t.total ? (100 * t.done) / t.total : 0}%` }} />
                      </div>
                      <span className="small muted">
                        {t.status === 'done' ? (
                          <span className="ok-text">done</span>
                        ) : t.status === 'running' ? (
                          `${t.step} · ${fmt(t.done)} of ${fmt(t.total)}${t.rate ? ` · ${fmt(t.rate)}/s · ${eta(t.etaSeconds)}` : ''}`
                        ) : (
                          t.status
                        )}
                      </span>
                    </div>
                  ))}
                </div>
              ),
          )}
        </div>
      )}

      {st.verification && (
        <div className="card" data-testid="mig-verification">
          <strong className={st.verification.ok ? 'ok-text' : 'bad-text'}>
            {st.verification.ok
              ? `Run ${st.verification.runId} verified`
              : `Run ${st.verification.runId} does not verify${st.verification.fingerprintsEqual ? '' : ': fingerprints differ (the application wrote to these tables during the run, or something else changed them)'}`}
          </strong>
          <table className="grid small">
            <thead>
              <tr>
                <th scope="col">Table</th>
                <th scope="col">Rows</th>
                <th scope="col">Missing</th>
                <th scope="col">Orphans</th>
                <th scope="col">Index</th>
                <th scope="col">Foreign key</th>
                <th scope="col">Not null</th>
                <th scope="col">{OTHER_COLUMNS[0]!.toUpperCase() + OTHER_COLUMNS.slice(1)}</th>
                <th scope="col">Problems</th>
              </tr>
            </thead>
            <tbody>
              {st.verification.tables.map((t) => (
                <tr key={t.table} data-testid={`mig-verify-${t.table}`}>
                  <td>{t.table}</td>
                  <td>{fmt(t.rows)}</td>
                  <td>{fmt(t.missing)}</td>
                  <td>
                    {t.orphans.count ? (
                      <details>
                        <summary>{t.orphans.count}</summary>
                        <code className="small">
                          {t.orphans.ids.join(', ')}
                          {t.orphans.count > t.orphans.ids.length ? ' …' : ''}
                        </code>
                      </details>
                    ) : (
                      0
                    )}
                  </td>
                  <td className={t.index === 'valid' ? 'ok-text' : 'bad-text'}>{t.index}</td>
                  <td className={t.foreignKey === 'validated' ? 'ok-text' : 'bad-text'}>{t.foreignKey}</td>
                  <td>{t.notNull}</td>
                  <td className={t.fingerprint.equal ? 'ok-text' : 'warn-text'}>{otherColumnsText(t.fingerprint, t.rows)}</td>
                  <td>{t.problems.join('; ') || '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {st.rollback && (
        <div className="card" data-testid="mig-rollback-result">
          <strong>Rollback of run {st.rollback.runId}</strong>
          <ul className="small">
            {st.rollback.tables.map((t) => (
              <li key={t.table}>
                {t.table}: schema {t.schemaEqual ? 'as before' : <span className="bad-text">differs</span>}, data{' '}
                {t.fingerprintEqual ? 'as before' : <span className="warn-text">differs</span>}
              </li>
            ))}
          </ul>
        </div>
      )}

      {plan && !running && (
        <div className="card mig-col" data-testid="mig-plan-view">
          <div className="row between">
            <strong>
              Plan: {plan.tables.length} tables, {plan.steps.length} steps, {fmt(plan.estimate.rows)} rows · about {eta(plan.estimate.seconds)} of backfill ·{' '}
              {mib(plan.estimate.bytes)} more on disk
            </strong>
            <button
              type="button"
              onClick={() => download(`tenantscope-migration-${plan.createdAt.slice(0, 10)}.sql`, st.plan!.sql, 'application/sql')}
              data-testid="mig-export"
            >
              Export SQL
            </button>
          </div>
          <ul className="checks small" data-testid="mig-preflight">
            {st.plan!.preflight.map((c, i) => (
              <li key={i} className={c.level === 'fail' ? 'bad-text' : c.level === 'warn' ? 'warn-text' : 'ok-text'}>
                {c.level === 'ok' ? '✓' : c.level === 'warn' ? '!' : '✗'} {c.message}
              </li>
            ))}
          </ul>
          {[1, 2, 3].map(
            (phase) =>
              plan.tables.some((t) => t.phase === phase) && (
                <div key={phase}>
                  <div className="muted small">{PHASES[phase]}</div>
                  <table className="grid small">
                    <thead>
                      <tr>
                        <th scope="col">Table</th>
                        <th scope="col">company_id from</th>
                        <th scope="col">Rows</th>
                        <th scope="col">Orphans</th>
                        <th scope="col">About</th>
                        <th scope="col">On disk</th>
                        <th
                          scope="col"
                          title="How much slower the fill trigger makes an insert (and a change of owner or parent), measured on a copy of a sample of the table's rows"
                        >
                          Trigger cost
                        </th>
                        <th scope="col">Note</th>
                      </tr>
                    </thead>
                    <tbody>
                      {plan.tables
                        .filter((t) => t.phase === phase)
                        .map((t) => (
                          <tr key={t.table} data-testid={`mig-plan-${t.table}`}>
                            <td>{t.table}</td>
                            <td>
                              {t.derivation.kind === 'owner'
                                ? `owner (${t.derivation.field} → ${t.derivation.usersTable})`
                                : `parent (${t.derivation.field} → ${t.derivation.parentTable})`}
                            </td>
                            <td>{fmt(t.rows)}</td>
                            <td>{t.orphansPredicted}</td>
                            <td>{eta(t.estimate.seconds)}</td>
                            <td>
                              +{mib(t.estimate.columnBytes + t.estimate.indexBytes)}{' '}
                              <span className="muted">(+{mib(t.estimate.transientBytes)} until vacuum)</span>
                            </td>
                            <td data-testid={`mig-trigger-${t.table}`}>
                              <TriggerCostCell cost={st.plan!.triggerCost.find((x) => x.table === t.table)} />
                            </td>
                            <td className="muted">{t.note ?? ''}</td>
                          </tr>
                        ))}
                    </tbody>
                  </table>
                </div>
              ),
          )}
          {plan.skipped
            .filter((x) => !x.reason.endsWith('filled'))
            .map((x) => (
              <div key={x.table} className="small warn-text">
                Left as is: {x.table}: {x.reason}
              </div>
            ))}
          <details>
            <summary>The plan as SQL ({plan.steps.length} steps)</summary>
            <pre className="small sql" data-testid="mig-sql">
              {st.plan!.sql}
            </pre>
          </details>
        </div>
      )}

      <div className="card" data-testid="mig-log">
        <strong>Log{latest ? ` · run ${latest.id}` : ''}</strong>
        <div
          className="log small"
          role="log"
          aria-live="polite"
          ref={logBox}
          data-testid="mig-log-lines"
          onScroll={(e) => {
            const b = e.currentTarget;
            logFollows.current = b.scrollHeight - b.scrollTop - b.clientHeight < 24;
          }}
        >
          {st.log.length ? (
            st.log.map((l, i) => (
              <div key={i}>
                <span className="muted">
                  <StaticWhen at={l.at} clock />
                </span>{' '}
                {l.message}
              </div>
            ))
          ) : (
            <div className="muted">Nothing has run yet.</div>
          )}
        </div>
      </div>

      <MigrationRls />
      <MigrationRuns />
    </section>
  );
}
