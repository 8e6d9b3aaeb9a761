import { useEffect, useState, type FormEvent } from 'react';
import { useConnections } from '../stores/connectionsStore.ts';
import { call } from '../api.ts';
import { useCatalog } from '../stores/catalogStore.ts';
import { CatalogEditor } from './CatalogEditor.tsx';
import type { ConnectionSummary } from '../../src-shared/contract.ts';

const STATUS_ICON: Record<string, string> = { pass: '✔', fail: '✖', warn: '!', skipped: '–' };

function ConnectionForm({ editing, onDone }: { editing: ConnectionSummary | null; onDone: () => void }) {
  const { save, error } = useConnections();
  const [name, setName] = useState(editing?.name ?? '');
  const [baseUrl, setBaseUrl] = useState(editing?.baseUrl ?? 'https://');
  const [identities, setIdentities] = useState((editing?.identities ?? []).map((i) => `${i.label}=${i.username ?? ''}`).join('\n'));
  const [databaseUrl, setDatabaseUrl] = useState('');
  const [localError, setLocalError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const parsed = identities.split('\n').map((l) => l.trim()).filter(Boolean).map((line) => {
      const [label, username] = line.split('=');
      return { label: (label ?? '').trim(), username: (username ?? '').trim() || undefined };
    });
    if (parsed.some((i) => !i.label)) return setLocalError('Each identity line reads Label=username.');
    // start from the built-in profile's shape (sign-in, whoami and companies endpoints); adjust in the profile file for other CRMs
    const { profile } = await call('connections:get', { name: editing?.name ?? 'demo' });
    const { embedded: _e, demoPassword: _d, description: _x, ...shape } = profile;
    const ok = await save({ profile: { ...shape, name, baseUrl, identities: parsed }, replace: !!editing, ...(databaseUrl ? { databaseUrl } : {}) });
    if (ok) onDone();
  };

  return (
    <form className="card form" onSubmit={(e) => void submit(e)} data-testid="connection-form" aria-label={editing ? `Edit ${editing.name}` : 'Add a connection'}>
      <h2>{editing ? `Edit ${editing.name}` : 'Add a connection'}</h2>
      <label>Name<input value={name} onChange={(e) => setName(e.target.value)} disabled={!!editing} required pattern="[a-z0-9][a-z0-9_\-]*" title="lower-case letters, digits, - or _" data-testid="connection-name" /></label>
      <label>API address<input value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} required data-testid="connection-url" /></label>
      <label>Identities for isolation tests <span className="muted small">one per line: Label=email (passwords are asked when used, never stored in the file)</span>
        <textarea rows={4} value={identities} onChange={(e) => setIdentities(e.target.value)} data-testid="connection-identities" />
      </label>
      <label>PostgreSQL URL (optional, super-admin work) <input type="password" value={databaseUrl} onChange={(e) => setDatabaseUrl(e.target.value)} placeholder="postgres://…" data-testid="connection-db" /></label>
      {(localError ?? error) && <div className="alert" role="alert">{localError ?? error}</div>}
      <div className="row">
        <button type="submit" className="primary" data-testid="connection-save">Save</button>
        <button type="button" onClick={onDone}>Cancel</button>
      </div>
    </form>
  );
}

export function ConnectionsView() {
  const { list, load, test, tests, remove, lastRemoved, undo, error } = useConnections();
  const [form, setForm] = useState<{ editing: ConnectionSummary | null } | null>(null);
  const openCatalog = useCatalog((s) => s.open);
  const catalogOpen = useCatalog((s) => s.connection);
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <section aria-labelledby="connections-title" data-testid="view-connections">
      <div className="row between">
        <h1 id="connections-title">Connections</h1>
        <button type="button" className="primary" onClick={() => setForm({ editing: null })} data-testid="connection-add">Add connection</button>
      </div>
      {lastRemoved && (
        <div className="toast" role="status" data-testid="undo-toast">
          Removed “{lastRemoved.name}”. <button type="button" onClick={() => void undo()} data-testid="undo">Undo</button>
        </div>
      )}
      {error && !form && <div className="alert" role="alert">{error}</div>}
      {form && <ConnectionForm editing={form.editing} onDone={() => setForm(null)} />}
      {catalogOpen && <CatalogEditor />}
      <ul className="cards">
        {list.map((c) => {
          const t = tests[c.name];
          return (
            <li key={c.name} className="card" data-testid={`connection-${c.name}`}>
              <div className="row between">
                <div>
                  <h2>{c.name}</h2>
                  <div className="muted small">{c.embedded ? 'Embedded reference CRM, started on demand' : c.baseUrl}</div>
                </div>
                <div className="row">
                  <button type="button" onClick={() => void test(c.name)} disabled={t?.running} data-testid={`test-${c.name}`}>{t?.running ? 'Testing…' : 'Test connection'}</button>
                  <button type="button" onClick={() => void openCatalog(c.name)} data-testid={`catalog-${c.name}`}>Catalog</button>
                  {!c.embedded && <button type="button" onClick={() => setForm({ editing: c })}>Edit</button>}
                  {!c.embedded && <button type="button" className="danger" onClick={() => void remove(c.name)} data-testid={`remove-${c.name}`}>Remove</button>}
                </div>
              </div>
              <div className="small">Sign-in: {c.authKind} · Identities: {c.identities.map((i) => i.label).join(', ') || 'none'} · Database: {c.hasDatabaseUrl ? 'set' : 'not set'}</div>
              {t?.error && <div className="alert" role="alert">{t.error}</div>}
              {t?.checks && (
                <ul className={`checks ${t.ok ? 'ok' : 'bad'}`} data-testid={`checks-${c.name}`}>
                  {t.checks.map((ch) => (
                    <li key={ch.name} className={ch.status}><span aria-hidden>{STATUS_ICON[ch.status]}</span> <strong>{ch.name}</strong> {ch.message}</li>
                  ))}
                </ul>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
