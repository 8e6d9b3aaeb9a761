import { useWrites } from '../stores/safetyStore.ts';
import { useEffect, useRef, useState } from 'react';
import { useMigration } from '../stores/migrationStore.ts';
import type { Output } from '../../src-shared/contract.ts';
import { VERDICTS, type Verdict } from '../../src-shared/tenancy.ts';
import { ApiError, call } from '../api.ts';
import { StaticWhen } from '../components/When.tsx';

type Plan = Output<'migrate:rlsPlan'>;
type Proof = Output<'migrate:rlsProve'>;

const paint = (v: Verdict) => ({ '--verdict': VERDICTS[v].colour }) as React.CSSProperties;
const message = (e: unknown) => (e instanceof ApiError ? e.message : 'Something went wrong talking to the console.');

/**
 * Row-level security as the phase after the backfill: the policies per table (and what is left
 * out), the pitfalls read from the database, apply and roll back with confirmation, and the
 * canary matrix at the database as the application's role.
 */
export function MigrationRls() {
  const { writes, why } = useWrites();
  const [plan, setPlan] = useState<Plan | null>(null);
  const [proof, setProof] = useState<Proof | null>(null);
  const [role, setRole] = useState('');
  const [busy, setBusy] = useState<null | 'plan' | 'apply' | 'prove' | 'rollback'>(null);
  const [asking, setAsking] = useState<null | 'apply' | 'rollback'>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const act = async (what: NonNullable<typeof busy>, fn: () => Promise<void>) => {
    setBusy(what);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(null);
    }
  };
  const load = () => act('plan', async () => setPlan(await call('migrate:rlsPlan', {})));
  // a run that ends (with --rls, its phase applied) or a rollback changes what the card shows: read it again
  const newest = useMigration((s) => {
    const r = s.status?.runs[0];
    return r ? `${r.id}:${r.status}` : '';
  });
  const shown = useRef(false);
  shown.current = plan !== null;
  useEffect(() => {
    if (shown.current) void call('migrate:rlsPlan', {}).then(setPlan, () => {});
  }, [newest]);
  const applied = plan?.applied ?? null;
  return (
    <div className="card mig-col" data-testid="mig-rls">
      <div className="row between">
        <strong>Row-level security · after the backfill</strong>
        <div className="row">
          <button type="button" disabled={!!busy} onClick={() => void load()} data-testid="mig-rls-plan">
            {busy === 'plan' ? 'Reading…' : plan ? 'Read again' : 'Plan'}
          </button>
          <button
            type="button"
            disabled={!!busy || !plan || !!applied || !plan.tables.length || !writes}
            title={why}
            onClick={() => setAsking('apply')}
            data-testid="mig-rls-apply"
          >
            Apply…
          </button>
          <button
            type="button"
            className="danger"
            disabled={!!busy || !applied || !writes}
            title={why}
            onClick={() => setAsking('rollback')}
            data-testid="mig-rls-rollback"
          >
            Roll back…
          </button>
        </div>
      </div>
      <p className="small muted">
        The database refuses another company's rows whatever the code forgets: each tenant table gets RLS (forced), a restrictive policy on company_id against
        the setting app.company_id, and a policy a command. The application sets the company with SET LOCAL in every transaction; super admins use a role with
        BYPASSRLS.
      </p>
      {error && (
        <div className="alert" role="alert" data-testid="mig-rls-error">
          {error}
        </div>
      )}
      {notice && (
        <div className="toast" role="status" data-testid="mig-rls-notice">
          {notice}
        </div>
      )}
      {asking && (
        <div className="card confirm" role="alertdialog" aria-labelledby="mig-rls-confirm-title" data-testid="mig-rls-confirm">
          <strong id="mig-rls-confirm-title">
            {asking === 'apply' ? `Apply row-level security to ${plan?.tables.length} tables?` : `Roll back phase ${applied?.id}?`}
          </strong>
          <p className="small">
            {asking === 'apply'
              ? 'From then on a connection that does not set app.company_id sees no tenant rows, and one that does sees its company only. Roll back removes the policies.'
              : "The policies are dropped and each table's row-level security is put back as it was; another company's rows are reachable again wherever the code does not filter."}
          </p>
          <div className="row">
            <button
              type="button"
              className={asking === 'apply' ? 'primary' : 'danger'}
              data-testid="mig-rls-confirm-yes"
              onClick={() => {
                const what = asking;
                setAsking(null);
                void act(what, async () => {
                  if (what === 'apply') {
                    const r = await call('migrate:rlsApply', { confirm: true });
                    setNotice(`Row-level security phase ${r.id} applied to ${r.tables.length} tables. Prove it as the application's role.`);
                  } else {
                    const r = await call('migrate:rlsRollback', { confirm: true });
                    setNotice(`Phase ${r.id} rolled back: ${r.tables.length} tables as they were.`);
                  }
                  setProof(null);
                  setPlan(await call('migrate:rlsPlan', {}));
                });
              }}
            >
              {asking === 'apply' ? 'Apply the policies' : 'Roll back'}
            </button>
            <button type="button" onClick={() => setAsking(null)} data-testid="mig-rls-confirm-no">
              Cancel
            </button>
          </div>
        </div>
      )}
      {plan && (
        <>
          <div className="small" data-testid="mig-rls-state">
            {applied ? (
              <span className="ok-text">
                Phase {applied.id} applied to {applied.tables} tables by {applied.appliedBy}, <StaticWhen at={applied.appliedAt} />.
              </span>
            ) : (
              <span>
                Not applied. {plan.tables.length} tables would take policies
                {plan.tables.some((t) => t.makeIndex) ? `, ${plan.tables.filter((t) => t.makeIndex).length} after an index on company_id` : ''}.
              </span>
            )}
          </div>
          <ul className="checks small" data-testid="mig-rls-pitfalls">
            {plan.pitfalls.map((p, i) => (
              <li key={i} className={p.level === 'fail' ? 'bad-text' : p.level === 'warn' ? 'warn-text' : 'ok-text'}>
                {p.level === 'ok' ? '✓' : '!'} {p.message}
              </li>
            ))}
            {[...new Set(plan.left.map((l) => l.reason))].map((reason) => (
              <li key={reason} className="muted">
                Left out ({reason}):{' '}
                {plan.left
                  .filter((l) => l.reason === reason)
                  .map((l) => l.table)
                  .join(', ')}
              </li>
            ))}
          </ul>
          <details>
            <summary>The phase as SQL, and what the application must do</summary>
            <pre className="small sql" data-testid="mig-rls-sql">
              {plan.sql}
            </pre>
          </details>
          <form
            className="row small"
            onSubmit={(e) => {
              e.preventDefault();
              void act('prove', async () => setProof(await call('migrate:rlsProve', { role: role.trim() || undefined })));
            }}
          >
            <label className="row">
              Application's role{' '}
              <input
                value={role}
                onChange={(e) => setRole(e.target.value)}
                placeholder="the CRM's database role"
                style={{ width: 200 }}
                data-testid="mig-rls-role"
              />
            </label>
            <button type="submit" disabled={!!busy || !writes} title={why} data-testid="mig-rls-prove">
              {busy === 'prove' ? 'Proving…' : 'Prove at the database'}
            </button>
          </form>
        </>
      )}
      {proof && (
        <div data-testid="mig-rls-proof">
          <div className="small muted">
            As {proof.role} with app.company_id = {proof.company}, against each table's row of another company (all rolled back):
          </div>
          <table className="grid small">
            <thead>
              <tr>
                <th scope="col">Table</th>
                <th scope="col">Read</th>
                <th scope="col">Update</th>
                <th scope="col">Delete</th>
                <th scope="col">Insert</th>
                <th scope="col">Note</th>
              </tr>
            </thead>
            <tbody>
              {proof.rows.map((r) => (
                <tr key={r.table} data-testid={`mig-rls-row-${r.table}`}>
                  <td>{r.table}</td>
                  {([r.read, r.update, r.delete, r.insert] as Verdict[]).map((v, i) => (
                    <td key={i} className="verdict-text" style={paint(v)} title={VERDICTS[v].meaning}>
                      {v}
                    </td>
                  ))}
                  <td className="muted">{r.note ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
