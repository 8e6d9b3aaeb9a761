import { useEffect } from 'react';
import { useSession } from '../stores/sessionStore.ts';
import { useUi } from '../stores/uiStore.ts';
import { runningIn } from '../api.ts';
import { useSync } from '../stores/syncStore.ts';
import { When } from './When.tsx';

function SyncState() {
  const { running, partitions, load } = useSync();
  const who = useSession((s) => (s.session ? `${s.session.connection}@${s.session.signedInAt}` : null));
  const view = useUi((s) => s.view);
  // read again for each session and each view: a sync from the CLI or another tab shows here too
  useEffect(() => {
    if (who) void load();
  }, [who, view, load]);
  const last = partitions
    .map((p) => p.last_sync)
    .filter(Boolean)
    .sort()
    .pop();
  return (
    <span data-testid="sync-state">
      Sync:{' '}
      {running ? (
        `running (${running})`
      ) : last ? (
        <>
          cache as of <When at={last} />
        </>
      ) : (
        'nothing cached yet'
      )}
    </span>
  );
}

export function StatusBar() {
  const { session, demo } = useSession();
  return (
    <footer className="statusbar" data-testid="status-bar">
      <span>
        Connection: <strong>{session?.connection ?? '—'}</strong>
      </span>
      <span>Identity: {session ? `${session.user.email} (${session.role})` : 'signed out'}</span>
      <SyncState />
      {demo && (
        <span data-testid="demo-state">
          Demo CRM: {demo.state}
          {demo.url ? ` at ${demo.url}` : ''}
        </span>
      )}
      <span className="spacer" />
      <span className="muted">{runningIn === 'desktop' ? 'Desktop' : 'Browser (HTTP host)'}</span>
    </footer>
  );
}
