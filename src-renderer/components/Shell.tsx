import { useSession } from '../stores/sessionStore.ts';
import { useUi, VIEWS, type ViewId } from '../stores/uiStore.ts';
import { ROLE_LABEL } from '../../src-shared/tenancy.ts';
import { TenantsView } from '../views/TenantsView.tsx';
import { ConnectionsView } from '../views/ConnectionsView.tsx';
import { PendingView } from '../views/PendingView.tsx';
import { IsolationView } from '../views/IsolationView.tsx';
import { AuditView } from '../views/AuditView.tsx';
import { MigrationView } from '../views/MigrationView.tsx';
import { DataView } from '../views/DataView.tsx';
import { useEffect } from 'react';
import { useSafety } from '../stores/safetyStore.ts';
import { SafetyBadge } from './SafetyBadge.tsx';
import { CommandPalette } from './CommandPalette.tsx';
import { FirstRun } from './FirstRun.tsx';
import { StatusBar } from './StatusBar.tsx';
import { When } from './When.tsx';

function CurrentView({ view }: { view: ViewId }) {
  switch (view) {
    case 'tenants':
      return <TenantsView />;
    case 'connections':
      return <ConnectionsView />;
    case 'isolation':
      return <IsolationView />;
    case 'audit':
      return <AuditView />;
    case 'migration':
      return <MigrationView />;
    case 'data':
      return <DataView />;
    default:
      return <PendingView view={view} />;
  }
}

export function Shell() {
  const { session, tenants, selectTenant, signOut, error } = useSession();
  const { view, show, theme, toggleTheme, palette, setPalette } = useUi();
  const safety = useSafety();
  const signedIn = session ? `${session.connection}@${session.signedInAt}` : null;
  const loadSafety = safety.load;
  const clearSafety = safety.clear;
  // Safe Mode of each sign-in: a new person on a production connection starts read-only
  useEffect(() => {
    if (signedIn) void loadSafety();
    else clearSafety();
  }, [signedIn, loadSafety, clearSafety]);
  if (!session) return null;
  const selected = tenants.find((t) => t.id === session.selectedTenant);
  const level = safety.status?.level;
  return (
    <div
      className={`shell${level && level !== 'demo' ? ` framed level-${level}` : ''}`}
      style={level ? ({ '--conn-color': safety.status!.color } as React.CSSProperties) : undefined}
      data-testid="shell"
      data-level={level}
    >
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="brand" aria-label="TenantScope">
          <span className="logo" aria-hidden>
            ◧
          </span>{' '}
          TenantScope
        </div>
        <div className="tenant">
          {session.canSwitchTenant ? (
            <label>
              <span className="muted">Tenant</span>{' '}
              <select data-testid="tenant-switcher" value={session.selectedTenant ?? ''} onChange={(e) => void selectTenant(e.target.value)}>
                {tenants.map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.name}
                  </option>
                ))}
              </select>
            </label>
          ) : (
            <span className="badge" data-testid="own-company">
              {selected?.name ?? session.company?.name}
            </span>
          )}
        </div>
        <button type="button" className="ghost palette-open" onClick={() => setPalette(true)} data-testid="palette-open" title="Command palette">
          Search… <kbd>Ctrl+K</kbd>
        </button>
        <div className="spacer" />
        <SafetyBadge />
        <button
          type="button"
          className="ghost"
          onClick={toggleTheme}
          aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}
          data-testid="theme-toggle"
        >
          {theme === 'dark' ? '☀ Light' : '☾ Dark'}
        </button>
        <div className="who">
          <span data-testid="who">{session.user.email}</span>{' '}
          <span className="role" data-testid="role">
            {ROLE_LABEL[session.role]}
          </span>
        </div>
        <button type="button" className="ghost" onClick={() => void signOut()} data-testid="sign-out">
          Sign out
        </button>
      </header>
      <nav className="sidebar" aria-label="Views">
        <ul>
          {VIEWS.map((v, i) => (
            <li key={v.id}>
              <button
                type="button"
                aria-current={view === v.id ? 'page' : undefined}
                onClick={() => show(v.id)}
                data-testid={`nav-${v.id}`}
                title={`Alt+${i + 1}`}
              >
                {v.label}
                <kbd>Alt+{i + 1}</kbd>
              </button>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        {session.offline && (
          <div className="offline-banner" role="status" data-testid="offline-banner">
            <strong>Offline</strong>, data as of {session.dataAsOf ? <When at={session.dataAsOf} /> : 'never synced'}: the audit and the Data view work from the
            cache; syncing, proving, isolation tests and the migration wait for the CRM.
          </div>
        )}
        {error && (
          <div className="alert" role="alert" data-testid="shell-error">
            {error}
          </div>
        )}
        <FirstRun />
        <CurrentView view={view} />
      </main>
      <StatusBar />
      <CommandPalette open={palette} setOpen={setPalette} />
    </div>
  );
}
