import type { ViewId } from '../stores/uiStore.ts';

const PLANNED: Partial<Record<ViewId, { title: string; what: string }>> = {
  audit: {
    title: 'Audit',
    what: 'Findings measured from the synced cache: models with and without company_id, rows still missing it, cross-tenant references, leaks seen while syncing, and the audit document regenerated from those facts.',
  },
  migration: {
    title: 'Migration',
    what: 'The company_id migration for super admins: a lock-safe plan per table, live progress with pause and resume, verification, and rollback.',
  },
  isolation: {
    title: 'Isolation',
    what: 'The isolation-test runner: canary records per company, probes as every other identity, and a verdict per resource, operation and role.',
  },
  data: { title: 'Data', what: "Tenant inspection on the cache: a grid per resource with search and filters, and each record's provenance and references." },
};

/** A capability that has not landed says so plainly; it never shows invented data. */
export function PendingView({ view }: { view: ViewId }) {
  const p = PLANNED[view];
  return (
    <section aria-labelledby="pending-title" data-testid={`view-${view}`}>
      <h1 id="pending-title">{p?.title ?? view}</h1>
      <div className="pending" role="note">
        <strong>Not built yet.</strong> {p?.what}
      </div>
    </section>
  );
}
