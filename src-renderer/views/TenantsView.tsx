import { useSession } from '../stores/sessionStore.ts';

export function TenantsView() {
  const { session, tenants, selectTenant } = useSession();
  if (!session) return null;
  return (
    <section aria-labelledby="tenants-title" data-testid="view-tenants">
      <h1 id="tenants-title">Tenants</h1>
      <p className="muted">
        {session.canSwitchTenant
          ? `As a super admin you can inspect all ${tenants.length} companies the CRM reports.`
          : `As a ${session.role === 'company_admin' ? 'company admin' : 'user'} you see your own company only.`}
      </p>
      <table className="grid" data-testid="tenants-table">
        <thead>
          <tr><th scope="col">Company</th><th scope="col">Id</th><th scope="col">Rows, findings, last sync</th><th scope="col" aria-label="Actions" /></tr>
        </thead>
        <tbody>
          {tenants.map((t) => (
            <tr key={t.id} aria-selected={t.id === session.selectedTenant} className={t.id === session.selectedTenant ? 'selected' : undefined}>
              <td>{t.name}</td>
              <td><code>{t.id}</code></td>
              <td className="muted">Not built yet: arrives with the sync cache</td>
              <td>
                {t.id === session.selectedTenant ? <span className="badge">Inspecting</span>
                  : session.canSwitchTenant ? <button type="button" onClick={() => void selectTenant(t.id)}>Inspect</button> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
