import { useState } from 'react';
import { scopeOf } from '../../src-shared/scope.ts';
import { useAudit } from '../stores/auditStore.ts';
import { useIsolation } from '../stores/isolationStore.ts';
import { useSession } from '../stores/sessionStore.ts';
import { useSync } from '../stores/syncStore.ts';
import { useUi, type ViewId } from '../stores/uiStore.ts';

const DONE = 'tenantscope.firstRun.done';

/**
 * A first start's three steps, in the order that works (a sync fills the cache, the audit measures
 * it, the isolation test probes the CRM), each ticked once done here, each a button to its view;
 * dismissed for good with "Got it" (or Ctrl+K's list of everything, named in it).
 */
export function FirstRun() {
  const session = useSession((s) => s.session);
  const show = useUi((s) => s.show);
  const synced = useSync((s) => s.partitions.some((p) => p.rows > 0));
  const audited = useAudit((s) => !!s.audit);
  const probed = useIsolation((s) => s.runs.length > 0);
  const [done, setDone] = useState(() => localStorage.getItem(DONE) === '1');
  if (done || !session || session.offline) return null;
  const superAdmin = scopeOf(session).everyCompany;
  const steps: Array<{ view: ViewId; title: string; what: string; ticked: boolean }> = [
    {
      view: 'tenants',
      title: 'Sync',
      what: superAdmin
        ? 'Copy a tenant (or all) into the local cache: Sync on the Tenants view.'
        : 'Copy your company into the local cache: Sync on the Tenants view.',
      ticked: synced,
    },
    {
      view: 'audit',
      title: 'Audit',
      what: 'Measure the cache: models without company_id, orphans, references into another company, leak evidence.',
      ticked: audited,
    },
    ...(superAdmin
      ? [
          {
            view: 'isolation' as const,
            title: 'Isolation test',
            what: 'Prove it against the CRM: canary records in one company, probed as every other identity (read-only on production).',
            ticked: probed,
          },
        ]
      : []),
  ];
  const dismiss = () => {
    localStorage.setItem(DONE, '1');
    setDone(true);
  };
  return (
    <div className="card first-run" role="region" aria-labelledby="first-run-title" data-testid="first-run">
      <div className="row between">
        <strong id="first-run-title">Start here</strong>
        <button type="button" className="small" onClick={dismiss} data-testid="first-run-dismiss">
          Got it
        </button>
      </div>
      <ol className="first-run-steps">
        {steps.map((s) => (
          <li key={s.view} className={s.ticked ? 'done' : ''} data-testid={`first-run-${s.view}`}>
            <button type="button" className="link" onClick={() => show(s.view)}>
              {s.ticked ? '✓ ' : ''}
              {s.title}
            </button>{' '}
            <span className="muted small">{s.what}</span>
          </li>
        ))}
      </ol>
      <p className="muted small">Ctrl+K finds any view, tenant, resource, run or action; Alt+1…6 switch views.</p>
    </div>
  );
}
