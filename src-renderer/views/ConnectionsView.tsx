import { useEffect, useState, type FormEvent } from 'react';
import { useConnections } from '../stores/connectionsStore.ts';
import { ApiError, call } from '../api.ts';
import { useCatalog } from '../stores/catalogStore.ts';
import { CatalogEditor } from './CatalogEditor.tsx';
import type { ConnectionSummary } from '../../src-shared/contract.ts';
import { defaultLevel, LEVEL_COLORS, LEVEL_HELP } from '../../src-shared/safety.ts';

const STATUS_ICON: Record<string, string> = { pass: '✔', fail: '✖', warn: '!', skipped: '–' };

type LevelChoice = '' | 'staging' | 'production';

/** Safe Mode's level and colour for a connection being added or edited ('' : by its address). */
function SafetyFields({
  url,
  level,
  setLevel,
  color,
  setColor,
}: {
  url: string;
  level: LevelChoice;
  setLevel: (l: LevelChoice) => void;
  color: string | null;
  setColor: (c: string | null) => void;
}) {
  const byAddress = defaultLevel({ embedded: false, baseUrl: url });
  const shown = level || byAddress;
  return (
    <div className="row small" data-testid="connection-safety">
      <label className="row">
        Safe Mode{' '}
        <select value={level} onChange={(e) => setLevel(e.target.value as LevelChoice)} data-testid="connection-level" style={{ width: 'auto' }}>
          <option value="">by its address ({byAddress})</option>
          <option value="staging">staging</option>
          <option value="production">production</option>
        </select>
      </label>
      <label className="row">
        Colour{' '}
        <input
          type="color"
          value={color ?? LEVEL_COLORS[shown]}
          onChange={(e) => setColor(e.target.value)}
          data-testid="connection-color"
          style={{ width: 44, padding: 2 }}
        />
      </label>
      <span className="muted">{LEVEL_HELP[shown]}</span>
    </div>
  );
}

/** The profile's safety field from the form's choice: nothing when left to the address and its colour. */
const safetyField = (level: LevelChoice, color: string | null, url: string) =>
  level || color ? { safety: { level: level || defaultLevel({ embedded: false, baseUrl: url }), ...(color ? { color } : {}) } } : {};

function ConnectionForm({ editing, onDone }: { editing: ConnectionSummary | null; onDone: () => void }) {
  const { save, error } = useConnections();
  const [name, setName] = useState(editing?.name ?? '');
  const [baseUrl, setBaseUrl] = useState(editing?.baseUrl ?? 'https://');
  const [identities, setIdentities] = useState((editing?.identities ?? []).map((i) => `${i.label}=${i.username ?? ''}`).join('\n'));
  const [databaseUrl, setDatabaseUrl] = useState('');
  const [localError, setLocalError] = useState<string | null>(null);
  const [level, setLevel] = useState<LevelChoice>(editing?.safety.chosen ? (editing.safety.level as LevelChoice) : '');
  const [color, setColor] = useState<string | null>(editing?.safety.chosen ? editing.safety.color : null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const parsed = identities
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map((line) => {
        const [label, username] = line.split('=');
        return { label: (label ?? '').trim(), username: (username ?? '').trim() || undefined };
      });
    if (parsed.some((i) => !i.label)) return setLocalError('Each identity line reads Label=username.');
    // an edit keeps the connection's own shape (sign-in, whoami, paging, catalog)
    const { profile } = await call('connections:get', { name: editing?.name ?? 'demo' });
    const { embedded: _e, demoPassword: _d, description: _x, safety: _s, ...shape } = profile;
    const ok = await save({
      profile: { ...shape, name, baseUrl, identities: parsed, ...safetyField(level, color, baseUrl) },
      replace: !!editing,
      ...(databaseUrl ? { databaseUrl } : {}),
    });
    if (ok) onDone();
  };

  return (
    <form
      className="card form"
      onSubmit={(e) => void submit(e)}
      data-testid="connection-form"
      aria-label={editing ? `Edit ${editing.name}` : 'Add a connection'}
    >
      <h2>{editing ? `Edit ${editing.name}` : 'Add a connection'}</h2>
      <label>
        Name
        <input
          value={name}
          onChange={(e) => setName(e.target.value)}
          disabled={!!editing}
          required
          pattern="[a-z0-9][a-z0-9_\-]*"
          title="lower-case letters, digits, - or _"
          data-testid="connection-name"
        />
      </label>
      <label>
        API address
        <input value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} required data-testid="connection-url" />
      </label>
      <label>
        Identities for isolation tests <span className="muted small">one per line: Label=email (passwords are asked when used, never stored in the file)</span>
        <textarea rows={4} value={identities} onChange={(e) => setIdentities(e.target.value)} data-testid="connection-identities" />
      </label>
      <label>
        PostgreSQL URL (optional, super-admin work){' '}
        <input type="password" value={databaseUrl} onChange={(e) => setDatabaseUrl(e.target.value)} placeholder="postgres://…" data-testid="connection-db" />
      </label>
      <SafetyFields url={baseUrl} level={level} setLevel={setLevel} color={color} setColor={setColor} />
      {(localError ?? error) && (
        <div className="alert" role="alert">
          {localError ?? error}
        </div>
      )}
      <div className="row">
        <button type="submit" className="primary" data-testid="connection-save">
          Save
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

type Discovered = Awaited<ReturnType<typeof call<'connections:discover'>>>;

const parseIdentities = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      const [label, username] = line.split('=');
      return { label: (label ?? '').trim(), username: (username ?? '').trim() || undefined };
    });

/**
 * A new connection from the CRM's address alone: the console reads its OpenAPI document (and its
 * database, when given) for the sign-in, who is signed in, how lists page and every resource, and
 * shows what it found and what a person must confirm before anything is saved.
 */
function DiscoverForm({ onDone }: { onDone: () => void }) {
  const { save, error } = useConnections();
  const [name, setName] = useState('');
  const [url, setUrl] = useState('https://');
  const [identities, setIdentities] = useState('');
  const [databaseUrl, setDatabaseUrl] = useState('');
  const [busy, setBusy] = useState(false);
  const [found, setFound] = useState<Discovered | null>(null);
  const [localError, setLocalError] = useState<string | null>(null);
  const [level, setLevel] = useState<LevelChoice>('');
  const [color, setColor] = useState<string | null>(null);

  const discover = async (e: FormEvent) => {
    e.preventDefault();
    const parsed = parseIdentities(identities);
    if (parsed.some((i) => !i.label)) return setLocalError('Each identity line reads Label=username.');
    setBusy(true);
    setLocalError(null);
    setFound(null);
    try {
      setFound(await call('connections:discover', { name, url, identities: parsed, ...(databaseUrl ? { databaseUrl } : {}) }));
    } catch (err) {
      setLocalError(err instanceof ApiError ? err.message : 'Something went wrong talking to the console.');
    } finally {
      setBusy(false);
    }
  };
  const keep = async () => {
    if (!found) return;
    if (await save({ profile: { ...found.profile, ...safetyField(level, color, url) }, replace: false, ...(databaseUrl ? { databaseUrl } : {}) })) onDone();
  };
  const p = found?.profile;
  return (
    <form className="card form" onSubmit={(e) => void discover(e)} data-testid="connection-form" aria-label="Add a connection">
      <h2>Add a connection</h2>
      <p className="muted small">
        Give the CRM's address: the console reads its OpenAPI document (FastAPI serves one at /openapi.json) for how to sign in, who is signed in, how lists
        page and every resource. Nothing is saved until you say so.
      </p>
      <label>
        Name
        <input
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
          pattern="[a-z0-9][a-z0-9_\-]*"
          title="lower-case letters, digits, - or _"
          data-testid="connection-name"
        />
      </label>
      <label>
        CRM address, or its OpenAPI document's
        <input value={url} onChange={(e) => setUrl(e.target.value)} required data-testid="connection-url" />
      </label>
      <label>
        Identities for isolation tests <span className="muted small">one per line: Label=email (passwords are asked when used, never stored in the file)</span>
        <textarea rows={4} value={identities} onChange={(e) => setIdentities(e.target.value)} data-testid="connection-identities" />
      </label>
      <label>
        PostgreSQL URL (optional: tables, foreign keys and owners' companies; super-admin work){' '}
        <input type="password" value={databaseUrl} onChange={(e) => setDatabaseUrl(e.target.value)} placeholder="postgres://…" data-testid="connection-db" />
      </label>
      <SafetyFields url={url} level={level} setLevel={setLevel} color={color} setColor={setColor} />
      {(localError ?? error) && (
        <div className="alert" role="alert">
          {localError ?? error}
        </div>
      )}
      {found && p && (
        <div className="discovered" data-testid="connection-discovered">
          <h3>Found at {p.baseUrl}</h3>
          <ul className="small">
            <li>
              {p.catalog.resources.length} resources{found.usedDatabase ? ", matched with the database's tables" : ' (no database: tables are guesses)'}:{' '}
              {p.catalog.resources.map((r) => r.name).join(', ')}
            </li>
            {found.notes.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
          {found.toConfirm.length > 0 && (
            <>
              <h3>To confirm (Catalog, after saving)</h3>
              <ul className="small" data-testid="connection-to-confirm">
                {found.toConfirm.map((c) => (
                  <li key={c.resource}>
                    <strong>{c.resource}</strong>: {c.what.join('; ')}
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}
      <div className="row">
        <button type="submit" className={found ? '' : 'primary'} disabled={busy} data-testid="connection-discover">
          {busy ? 'Reading the CRM…' : found ? 'Read again' : 'Discover'}
        </button>
        {found && (
          <button type="button" className="primary" onClick={() => void keep()} data-testid="connection-save">
            Save connection
          </button>
        )}
        <button type="button" onClick={onDone}>
          Cancel
        </button>
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
        <button type="button" className="primary" onClick={() => setForm({ editing: null })} data-testid="connection-add">
          Add connection
        </button>
      </div>
      {lastRemoved && (
        <div className="toast" role="status" data-testid="undo-toast">
          Removed “{lastRemoved.name}”.{' '}
          <button type="button" onClick={() => void undo()} data-testid="undo">
            Undo
          </button>
        </div>
      )}
      {error && !form && (
        <div className="alert" role="alert">
          {error}
        </div>
      )}
      {form && (form.editing ? <ConnectionForm editing={form.editing} onDone={() => setForm(null)} /> : <DiscoverForm onDone={() => setForm(null)} />)}
      {catalogOpen && <CatalogEditor />}
      <ul className="cards">
        {list.map((c) => {
          const t = tests[c.name];
          return (
            <li key={c.name} className="card" data-testid={`connection-${c.name}`}>
              <div className="row between">
                <div>
                  <h2 className="row">
                    {c.name}{' '}
                    <span
                      className={`conn-badge level-${c.safety.level}`}
                      style={{ '--conn-color': c.safety.color } as React.CSSProperties}
                      title={`${LEVEL_HELP[c.safety.level]}${c.safety.chosen ? '' : ' (by its address)'}`}
                      data-testid={`connection-level-${c.name}`}
                    >
                      {c.safety.level}
                    </span>
                  </h2>
                  <div className="muted small">{c.embedded ? 'Embedded reference CRM, started on demand' : c.baseUrl}</div>
                </div>
                <div className="row">
                  <button type="button" onClick={() => void test(c.name)} disabled={t?.running} data-testid={`test-${c.name}`}>
                    {t?.running ? 'Testing…' : 'Test connection'}
                  </button>
                  <button type="button" onClick={() => void openCatalog(c.name)} data-testid={`catalog-${c.name}`}>
                    Catalog
                  </button>
                  {!c.embedded && (
                    <button type="button" onClick={() => setForm({ editing: c })}>
                      Edit
                    </button>
                  )}
                  {!c.embedded && (
                    <button type="button" className="danger" onClick={() => void remove(c.name)} data-testid={`remove-${c.name}`}>
                      Remove
                    </button>
                  )}
                </div>
              </div>
              <div className="small">
                Sign-in: {c.authKind} · Identities: {c.identities.map((i) => i.label).join(', ') || 'none'} · Database: {c.hasDatabaseUrl ? 'set' : 'not set'}
              </div>
              {t?.error && (
                <div className="alert" role="alert">
                  {t.error}
                </div>
              )}
              {t?.checks && (
                <ul className={`checks ${t.ok ? 'ok' : 'bad'}`} data-testid={`checks-${c.name}`}>
                  {t.checks.map((ch) => (
                    <li key={ch.name} className={ch.status}>
                      <span aria-hidden>{STATUS_ICON[ch.status]}</span> <strong>{ch.name}</strong> {ch.message}
                    </li>
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
