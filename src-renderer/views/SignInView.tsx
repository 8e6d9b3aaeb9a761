import { useEffect, useState, type FormEvent } from 'react';
import { useSession } from '../stores/sessionStore.ts';
import { useConnections } from '../stores/connectionsStore.ts';

export function SignInView() {
  const { signIn, openOffline, importCopy, unreachable, phase, error, demo } = useSession();
  const [importing, setImporting] = useState<null | { data: string; fileName: string }>(null);
  const [passphrase, setPassphrase] = useState('');
  const { list, load } = useConnections();
  const [connection, setConnection] = useState('demo');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  useEffect(() => {
    void load();
  }, [load]);
  const current = list.find((c) => c.name === connection);
  const busy = phase === 'signing-in';

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void signIn({ connection, username, password });
  };

  return (
    <div className="signin">
      <form className="card" onSubmit={submit} aria-labelledby="signin-title" data-testid="sign-in-form">
        <h1 id="signin-title">
          <span className="logo" aria-hidden>
            ◧
          </span>{' '}
          TenantScope
        </h1>
        <p className="muted">Sign in to a CRM. Your role there decides what the console shows.</p>
        <label>
          Connection
          <select value={connection} onChange={(e) => setConnection(e.target.value)} data-testid="sign-in-connection">
            {list.map((c) => (
              <option key={c.name} value={c.name}>
                {c.name}
                {c.embedded ? ' (embedded demo CRM)' : ` — ${c.baseUrl}`}
              </option>
            ))}
          </select>
        </label>
        <label>
          Email
          <input autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required data-testid="sign-in-username" />
        </label>
        <label>
          Password
          <input
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
            data-testid="sign-in-password"
          />
        </label>
        {error && (
          <div className="alert" role="alert" data-testid="sign-in-error">
            {error}
          </div>
        )}
        {unreachable && (
          <div className="toast" role="status" data-testid="sign-in-offline-hint">
            <span>
              The CRM does not answer. If you signed in to this connection here before, <strong>Open offline</strong> works from its cache: the audit and the
              Data view run, syncing and tests wait for the CRM.
            </span>
          </div>
        )}
        <div className="row">
          <button type="submit" className="primary" disabled={busy} data-testid="sign-in-submit">
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
          <button
            type="button"
            disabled={busy || !username || !password}
            onClick={() => void openOffline({ connection, username, password })}
            title="Open the console on this connection's cache, with no CRM (for someone who signed in here online before)"
            data-testid="sign-in-offline"
          >
            Open offline
          </button>
        </div>
        {current?.embedded && (
          <div className="quick">
            <p className="muted">
              Demo identities (password <code>demo</code>):
            </p>
            <div className="chips">
              {current.identities.map((i) => (
                <button
                  key={i.label}
                  type="button"
                  className="chip"
                  disabled={busy}
                  onClick={() => void signIn({ connection, username: i.username!, password: 'demo' })}
                  data-testid={`quick-${i.username}`}
                >
                  {i.label}
                </button>
              ))}
            </div>
            {demo && (
              <p className="muted small" data-testid="demo-status">
                Demo CRM: {demo.state}
                {demo.message ? ` — ${demo.message}` : ''}
              </p>
            )}
          </div>
        )}
        <details className="quick" data-testid="import-copy">
          <summary>Open a tenant's copy from another machine…</summary>
          <p className="muted small">
            A file exported from the Tenants view (<code>.tscopy</code>), sealed with a passphrase. It opens offline as a connection of its own; later, sign in
            to it offline as <code>support</code> with the same passphrase.
          </p>
          <input
            type="file"
            accept=".tscopy,.tsx"
            data-testid="import-file"
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (!f) return;
              void f.arrayBuffer().then((buf) => {
                let bin = '';
                const bytes = new Uint8Array(buf);
                for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
                setImporting({ data: btoa(bin), fileName: f.name });
              });
            }}
          />
          <input type="password" placeholder="passphrase" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} data-testid="import-passphrase" />
          <button
            type="button"
            disabled={busy || !importing || !passphrase}
            data-testid="import-open"
            onClick={() => {
              const name =
                (importing!.fileName
                  .replace(/\.(tscopy|tsx)$/, '')
                  .replace(/^tenantscope-/, '')
                  .toLowerCase()
                  .replace(/[^a-z0-9_-]+/g, '-')
                  .slice(0, 50) || 'copy') + '-copy';
              void importCopy({ name, data: importing!.data, passphrase });
            }}
          >
            Open the copy
          </button>
        </details>
      </form>
    </div>
  );
}
