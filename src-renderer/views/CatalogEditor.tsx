import type { Derivation, Resource } from '../../src-shared/catalog.ts';
import { useCatalog } from '../stores/catalogStore.ts';

const CLASSES = ['tenant', 'user-owned', 'global', 'system'] as const;
const PRIORITIES = ['', 'HIGH', 'MEDIUM', 'LOW'] as const;

function derivationText(d: Derivation): string {
  switch (d.kind) {
    case 'own':
      return `own column ${d.field}`;
    case 'owner':
      return `owner ${d.field} → users`;
    case 'parent':
      return `parent ${d.field} → ${d.resource}`;
    default:
      return 'none';
  }
}

function Row({ r, editable }: { r: Resource; editable: boolean }) {
  const { update, confirm } = useCatalog();
  const doubtful = r.uncertain.length > 0;
  return (
    <tr className={doubtful ? 'uncertain' : undefined} data-testid={`catalog-row-${r.name}`}>
      <td>
        <strong>{r.name}</strong>
        <div className="muted small">{r.endpoints.list ?? r.endpoints.get ?? '—'}</div>
      </td>
      <td>{r.table ?? <span className="muted">?</span>}</td>
      <td>
        {editable ? (
          <select aria-label={`Class of ${r.name}`} value={r.class} onChange={(e) => update(r.name, { class: e.target.value as Resource['class'] })}>
            {CLASSES.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        ) : (
          r.class
        )}
      </td>
      <td className="small">{derivationText(r.derivation)}</td>
      <td>
        {editable ? (
          <select
            aria-label={`Priority of ${r.name}`}
            data-testid={`priority-${r.name}`}
            value={r.priority ?? ''}
            onChange={(e) => update(r.name, { priority: (e.target.value || null) as Resource['priority'] })}
          >
            {PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {p || 'has company_id'}
              </option>
            ))}
          </select>
        ) : (
          <span className={`prio ${r.priority ?? 'none'}`}>{r.priority ?? 'has company_id'}</span>
        )}
      </td>
      <td className="small">{r.references.map((x) => `${x.field} → ${x.resource}`).join(', ') || '—'}</td>
      <td className="small">
        {editable ? (
          <input
            aria-label={`Field that names a record of ${r.name}`}
            title="Where another record points at one of these, the Data view shows this field instead of the id (guessed when empty: name, full_name, title, subject, email…)"
            value={r.labelField ?? ''}
            placeholder="guessed"
            onChange={(e) => update(r.name, { labelField: e.target.value.trim() || undefined })}
            style={{ width: 110 }}
            data-testid={`label-field-${r.name}`}
          />
        ) : (
          (r.labelField ?? <span className="muted">guessed</span>)
        )}
      </td>
      <td>
        {doubtful ? (
          <details>
            <summary className="warn-text" data-testid={`uncertain-${r.name}`}>
              {r.uncertain.length} to confirm
            </summary>
            <ul className="small">
              {r.uncertain.map((u) => (
                <li key={u}>{u}</li>
              ))}
            </ul>
            {editable && (
              <button type="button" onClick={() => confirm(r.name)} data-testid={`confirm-${r.name}`}>
                Confirm
              </button>
            )}
          </details>
        ) : (
          <span className="ok-text">confirmed</span>
        )}
      </td>
    </tr>
  );
}

/** The tenancy catalog of one connection: discovered, checked for drift, edited and saved. */
export function CatalogEditor() {
  const { connection, catalog, editable, dirty, busy, drift, usedDatabase, error, saved, discover, save, close } = useCatalog();
  if (!connection) return null;
  const uncertain = catalog?.resources.filter((r) => r.uncertain.length).length ?? 0;
  const count = (p: string | null) => catalog?.resources.filter((r) => r.priority === p).length ?? 0;
  return (
    <section className="card catalog" aria-labelledby="catalog-title" data-testid="catalog-editor">
      <div className="row between">
        <div>
          <h2 id="catalog-title">Tenancy catalog — {connection}</h2>
          {catalog && (
            <div className="muted small" data-testid="catalog-summary">
              {catalog.resources.length} resources: {count(null)} with company_id, {count('HIGH')} HIGH, {count('MEDIUM')} MEDIUM, {count('LOW')} LOW without ·{' '}
              {uncertain} to confirm
            </div>
          )}
        </div>
        <div className="row">
          <button type="button" onClick={() => void discover()} disabled={!!busy} data-testid="catalog-discover">
            {busy === 'discovering' ? 'Discovering…' : 'Discover from the CRM'}
          </button>
          {editable && (
            <button type="button" className="primary" onClick={() => void save()} disabled={!dirty || !!busy} data-testid="catalog-save">
              {busy === 'saving' ? 'Saving…' : 'Save catalog'}
            </button>
          )}
          <button type="button" onClick={close} aria-label="Close the catalog">
            Close
          </button>
        </div>
      </div>
      {!editable && <p className="muted small">The demo's catalog ships with the app and is read-only; discovery here shows drift only.</p>}
      {error && (
        <div className="alert" role="alert">
          {error}
        </div>
      )}
      {saved && (
        <div className="toast" role="status">
          Catalog saved.
        </div>
      )}
      {drift && (
        <div className={drift.length ? 'alert' : 'toast'} role="status" data-testid="catalog-drift">
          {drift.length ? (
            <>
              <strong>{drift.length} differences from the saved catalog</strong>
              {usedDatabase === false && ' (no database URL: tables not read)'}
              <ul className="small">
                {drift.slice(0, 30).map((d, i) => (
                  <li key={i}>{d.message}</li>
                ))}
              </ul>
            </>
          ) : (
            `No drift: the CRM matches the saved catalog${usedDatabase ? ' (API and database read)' : ' (API read; no database URL)'}.`
          )}
        </div>
      )}
      {busy === 'loading' && <p className="muted">Loading…</p>}
      {catalog && catalog.resources.length === 0 && <p className="muted">No resources yet: discover them from the CRM.</p>}
      {catalog && catalog.resources.length > 0 && (
        <div className="scroll">
          <table className="grid" data-testid="catalog-table">
            <thead>
              <tr>
                <th>Resource</th>
                <th>Table</th>
                <th>Class</th>
                <th>Company from</th>
                <th>Priority</th>
                <th>References</th>
                <th>Named by</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {catalog.resources.map((r) => (
                <Row key={r.name} r={r} editable={editable} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
