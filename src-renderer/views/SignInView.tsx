import { useEffect, useState, type FormEvent } from 'react';
import { useSession } from '../stores/sessionStore.ts';
import { useConnections } from '../stores/connectionsStore.ts';

export function SignInView() {
  const { signIn, phase, error, demo } = useSession();
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
        <h1 id="signin-title"><span className="logo" aria-hidden>◧</span> TenantScope</h1>
        <p className="muted">Sign in to a CRM. Your role there decides what the console shows.</p>
        <label>
          Connection
          <select value={connection} onChange={(e) => setConnection(e.target.value)} data-testid="sign-in-connection">
            {list.map((c) => (
              <option key={c.name} value={c.name}>{c.name}{c.embedded ? ' (embedded demo CRM)' : ` — ${c.baseUrl}`}</option>
            ))}
          </select>
        </label>
        <label>
          Email
          <input autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required data-testid="sign-in-username" />
        </label>
        <label>
          Password
          <input type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required data-testid="sign-in-password" />
        </label>
        {error && <div className="alert" role="alert" data-testid="sign-in-error">{error}</div>}
        <button type="submit" className="primary" disabled={busy} data-testid="sign-in-submit">{busy ? 'Signing in…' : 'Sign in'}</button>
        {current?.embedded && (
          <div className="quick">
            <p className="muted">Demo identities (password <code>demo</code>):</p>
            <div className="chips">
              {current.identities.map((i) => (
                <button key={i.label} type="button" className="chip" disabled={busy} onClick={() => void signIn({ connection, username: i.username!, password: 'demo' })} data-testid={`quick-${i.username}`}>
                  {i.label}
                </button>
              ))}
            </div>
            {demo && <p className="muted small" data-testid="demo-status">Demo CRM: {demo.state}{demo.message ? ` — ${demo.message}` : ''}</p>}
          </div>
        )}
      </form>
    </div>
  );
}
