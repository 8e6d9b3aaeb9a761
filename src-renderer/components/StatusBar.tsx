import { useSession } from '../stores/sessionStore.ts';
import { runningIn } from '../api.ts';

export function StatusBar() {
  const { session, demo } = useSession();
  return (
    <footer className="statusbar" data-testid="status-bar">
      <span>Connection: <strong>{session?.connection ?? '—'}</strong></span>
      <span>Identity: {session ? `${session.user.email} (${session.role})` : 'signed out'}</span>
      <span>Sync: not built yet</span>
      {demo && <span data-testid="demo-state">Demo CRM: {demo.state}{demo.url ? ` at ${demo.url}` : ''}</span>}
      <span className="spacer" />
      <span className="muted">{runningIn === 'desktop' ? 'Desktop' : 'Browser (HTTP host)'}</span>
    </footer>
  );
}
