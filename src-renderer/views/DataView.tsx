import { scopeOf } from '../../src-shared/scope.ts';
import { memo, useEffect, useMemo, useRef, useState } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useShallow } from 'zustand/react/shallow';
import { useSession } from '../stores/sessionStore.ts';
import { PAGE, useData, withoutRows } from '../stores/dataStore.ts';
import { count, isInstant } from '../../src-shared/format.ts';
import { StaticWhen, When } from '../components/When.tsx';
import { placeRows } from '../gridWindows.ts';

const ROW = 32;
const MAX_COLUMNS = 7;
const columnsOf = (known: string[]) => [
  'id',
  'updated_at',
  ...known.filter((c) => !['id', 'updated_at', 'created_at', 'deleted_at'].includes(c)).slice(0, MAX_COLUMNS),
];
const templateOf = (columns: string[]) => ({
  gridTemplateColumns: `150px 170px repeat(${columns.length - 2}, minmax(120px, 1fr))`,
  minWidth: 320 + (columns.length - 2) * 120,
});
const cellText = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
/** a value as the grid shows it: a timestamp the way every view shows one (its exact value on hover), anything else as text */
const Cell = ({ value }: { value: unknown }) => (isInstant(value) ? <StaticWhen at={value} /> : <>{cellText(value)}</>);
/** a reference: the record it points at by its label, the id on hover; an id with no label in this tenant stays an id */
const Ref = ({ id, label }: { id: string; label: string }) => (
  <span className="ref-label" title={id}>
    {label}
  </span>
);

/**
 * Tenant inspection from the cache, with no network: pick a tenant (super admins) and a resource;
 * a virtualized grid fetches windows of rows as it scrolls (a million rows stay smooth), sorts by a
 * column, filters per column and searches the payload; views can be saved. A row opens its record:
 * fields, provenance, what it points at (references into another tenant flagged with the finding
 * that names them) and who points at it.
 */
export function DataView() {
  const { session, tenants } = useSession();
  // everything but the windows of rows, which only the grid's rows render (a window arriving does not render the toolbar)
  const st = useData(useShallow(withoutRows));
  const [search, setSearch] = useState(st.search);
  /** the saved view the grid shows, until the search is changed by hand */
  const [viewId, setViewId] = useState('');
  const [viewName, setViewName] = useState('');
  const superAdmin = !!session && scopeOf(session).everyCompany;
  const wanted = superAdmin ? (session?.selectedTenant ?? null) : (session?.company?.id ?? null);
  const { openTenant, loadViews } = st;
  useEffect(() => {
    void openTenant(wanted);
    void loadViews();
  }, [wanted, openTenant, loadViews]);
  // debounce the search box
  // (it waits on the typing only: rows arriving meanwhile do not start its 250 ms again)
  const applied = st.search;
  const applySearch = st.setSearch;
  useEffect(() => {
    if (search === applied) return;
    const t = setTimeout(() => applySearch(search), 250);
    return () => clearTimeout(t);
  }, [search, applied, applySearch]);
  const { generation } = st;
  const columns = useMemo(() => columnsOf(st.columns), [st.columns]);
  const template = useMemo(() => templateOf(columns), [columns]);
  // Escape closes an open record, wherever the focus is
  const recordOpen = !!(st.detail || st.detailError);
  const closeRecord = st.close;
  useEffect(() => {
    if (!recordOpen) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') closeRecord();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [recordOpen, closeRecord]);
  if (!session) return null;
  const tenantName = (id: string | null) => tenants.find((t) => t.id === id)?.name ?? (id === session.company?.id ? session.company?.name : null) ?? id ?? '–';
  const d = st.detail;
  return (
    <section aria-labelledby="data-title" data-testid="view-data" className="data">
      <div className="row between">
        <h1 id="data-title">Data</h1>
        <span className="muted small" data-testid="data-asof">
          {st.tenant ? (
            <>
              {tenantName(st.tenant)} · from the local cache,{' '}
              {st.asOf === undefined ? (
                'reading…'
              ) : st.asOf ? (
                <>
                  data as of <When at={st.asOf} />
                </>
              ) : (
                'never synced (sync it first)'
              )}
            </>
          ) : null}
        </span>
      </div>
      <div className="row toolbar">
        {superAdmin ? <span className="small muted">Tenant: pick it in the top bar</span> : <span className="badge">{session.company?.name}</span>}
        <label className="row small">
          Resource
          <select value={st.resource ?? ''} onChange={(e) => st.setResource(e.target.value)} data-testid="data-resource">
            {st.resources.map((r) => (
              <option key={r.resource} value={r.resource}>
                {r.resource} ({count(r.rows)})
              </option>
            ))}
          </select>
        </label>
        <label className="row small">
          Search{' '}
          <input
            type="search"
            value={search}
            onChange={(e) => {
              setSearch(e.target.value);
              setViewId('');
            }}
            placeholder="anything in the record"
            data-testid="data-search"
          />
        </label>
        <span className="small muted" data-testid="data-count" aria-live="polite">
          {st.total === null ? 'counting…' : `${count(st.total)} ${st.total === 1 ? 'row' : 'rows'}`}
        </span>
        {st.search && st.searchIndex && !st.searchIndex.ready ? (
          <span
            className="small muted"
            data-testid="data-search-index"
            title="Until it is made, a search reads every cached row; it is made once, in the background, and kept current by each sync."
          >
            making the search index: {st.searchIndex.percent}%
          </span>
        ) : null}
        <div className="spacer" />
        <label className="row small">
          View
          <select
            value={st.views.some((v) => String(v.id) === viewId) ? viewId : ''}
            onChange={(e) => {
              const v = st.views.find((x) => String(x.id) === e.target.value);
              setViewId(v ? String(v.id) : '');
              if (v) {
                setSearch(v.state.search ?? '');
                void st.applyView(v);
              }
            }}
            data-testid="data-views"
          >
            <option value="">{st.views.length ? 'open a saved view…' : 'no saved views'}</option>
            {st.views.map((v) => (
              <option key={v.id} value={v.id}>
                {v.name}
              </option>
            ))}
          </select>
        </label>
        <form
          className="row small"
          onSubmit={(e) => {
            e.preventDefault();
            if (viewName.trim()) {
              void st.saveView(viewName.trim());
              setViewName('');
            }
          }}
        >
          <input
            value={viewName}
            onChange={(e) => setViewName(e.target.value)}
            placeholder="name this view"
            style={{ width: 130 }}
            data-testid="data-view-name"
          />
          <button type="submit" disabled={!viewName.trim() || !st.resource} data-testid="data-view-save">
            Save view
          </button>
        </form>
      </div>
      {st.error && (
        <div className="alert" role="alert" data-testid="data-error">
          {st.error}
        </div>
      )}
      {!st.resources.length && !st.error && (
        <div className="pending" role="note" data-testid="data-empty">
          Nothing of this tenant is in the cache yet: sync it on the Tenants view.
        </div>
      )}
      <div className={`data-body${d || st.detailError ? ' with-detail' : ''}`}>
        <div
          className="data-grid"
          role="grid"
          aria-rowcount={(st.total ?? 0) + 1}
          aria-colcount={columns.length}
          aria-label={`${st.resource ?? ''} rows`}
          data-testid="data-grid"
        >
          <div className="data-head" role="row" style={template}>
            {columns.map((c) => (
              <div
                key={c}
                role="columnheader"
                className="data-cell"
                aria-sort={st.sort?.field === c ? (st.sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}
              >
                <button type="button" className="ghost" onClick={() => st.setSort(c)} title={`${c}: sort by it`} data-testid={`sort-${c}`}>
                  {c}
                  {st.sort?.field === c ? (st.sort.dir === 'asc' ? ' ▲' : ' ▼') : ''}
                </button>
                <input
                  aria-label={`filter ${c}`}
                  placeholder="filter"
                  defaultValue={st.filters.find((f) => f.field === c)?.value ?? ''}
                  key={`${c}-${generation === 0 ? 0 : 1}`}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter') st.setFilter(c, (e.target as HTMLInputElement).value);
                  }}
                  onBlur={(e) => {
                    if ((st.filters.find((f) => f.field === c)?.value ?? '') !== e.target.value) st.setFilter(c, e.target.value);
                  }}
                  data-testid={`filter-${c}`}
                />
              </div>
            ))}
          </div>
          {st.total === 0 && st.resource && (
            <div className="pending" role="note" data-testid="data-no-match">
              No {st.resource} rows match{st.search ? ` “${st.search}”` : ''}
              {st.filters.length ? `${st.search ? ' and' : ''} the column filters` : ''}
              {!st.search && !st.filters.length ? ' in the cache' : ''}.
              {st.search || st.filters.length ? ' Clear the search or the filters to see them all.' : ''}
            </div>
          )}
          <GridRows columns={columns} template={template} selectedId={d?.record?.id ?? null} />
        </div>
        {(d || st.detailError) && (
          <aside className="card record" aria-label="Record" data-testid="data-record">
            <div className="row between">
              <strong>{d ? `${d.record!.resource} ${d.record!.id}` : 'Not found'}</strong>
              <button type="button" className="ghost" onClick={st.close} aria-label="Close the record">
                ✕
              </button>
            </div>
            {st.detailError && (
              <div className="alert" role="alert">
                {st.detailError}
              </div>
            )}
            {d?.record && (
              <>
                <p className="small muted" data-testid="record-provenance">
                  Company {tenantName(d.record.companyId)} · fetched by {d.record.fetchedBy} from {d.record.fetchedFrom} at <When at={d.record.fetchedAt} />
                  {d.record.deleted ? ' · deleted on the server' : ''}
                </p>
                {d.refs.some((r) => r.crossTenant) && (
                  <div className="alert" role="alert" data-testid="record-cross">
                    This record points into another company:{' '}
                    {d.refs
                      .filter((r) => r.crossTenant)
                      .map((r) => r.finding?.title)
                      .join('; ')}
                  </div>
                )}
                <h2 className="small">Points at</h2>
                <ul className="refs small" data-testid="record-refs">
                  {d.refs.length ? (
                    d.refs.map((r) => (
                      <li key={r.field} className={r.crossTenant ? 'cross' : ''} data-testid={`ref-${r.field}`}>
                        <code>{r.field}</code> →{' '}
                        <button type="button" className="link" onClick={() => void st.open(r.resource, r.id)}>
                          {r.resource} {r.label && <strong className="ref-name">{r.label}</strong>} {r.id}
                        </button>{' '}
                        <span className="muted">{r.companyId === null ? 'not in the cache' : tenantName(r.companyId)}</span>
                        {r.crossTenant && r.finding && (
                          <div className="bad-text">
                            another company · {r.finding.severity}: {r.finding.title}
                          </div>
                        )}
                      </li>
                    ))
                  ) : (
                    <li className="muted">nothing</li>
                  )}
                </ul>
                {d.referencedBy.length > 0 && (
                  <>
                    <h2 className="small">Pointed at by</h2>
                    <ul className="refs small" data-testid="record-referenced-by">
                      {d.referencedBy.map((r) => (
                        <li key={`${r.resource}-${r.id}-${r.field}`} className={r.crossTenant ? 'cross' : ''}>
                          <button type="button" className="link" onClick={() => void st.open(r.resource, r.id)}>
                            {r.resource} {r.id}
                          </button>{' '}
                          <code>{r.field}</code>
                          {r.crossTenant ? <span className="bad-text"> · {tenantName(r.companyId)}</span> : null}
                        </li>
                      ))}
                    </ul>
                  </>
                )}
                <h2 className="small">Fields</h2>
                <table className="grid small" data-testid="record-fields">
                  <tbody>
                    {Object.entries(d.record.payload).map(([k, v]) => (
                      <tr key={k}>
                        <th scope="row">{k}</th>
                        <td>
                          <Cell value={v} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            )}
          </aside>
        )}
      </div>
    </section>
  );
}

/**
 * The scrolling rows, apart from the toolbar and header so that a scroll renders only them. Rows
 * are keyed by their slot (`placeRows`), not by their index, so that scrolling reuses DOM nodes and
 * only changes their text and position.
 */
const GridRows = memo(function GridRows({
  columns,
  template,
  selectedId,
}: {
  columns: string[];
  template: { gridTemplateColumns: string; minWidth: number };
  selectedId: string | null;
}) {
  const total = useData((s) => s.total);
  const pages = useData((s) => s.pages);
  const generation = useData((s) => s.generation);
  const view = useData((s) => s.view);
  const resource = useData((s) => s.resource);
  const open = useData((s) => s.open);
  const labels = useData((s) => s.labels);
  const crossing = useData((s) => s.crossing);
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({ count: total ?? 0, getScrollElement: () => scroller.current, estimateSize: () => ROW, overscan: 3, useFlushSync: false });
  const items = virtual.getVirtualItems();
  const placed = useRef(new Map<number, number>());
  const slots = (placed.current = placeRows(
    items.map((it) => it.index),
    placed.current,
  ));
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? 0;
  useEffect(() => {
    view(Math.floor(first / PAGE), Math.floor(last / PAGE));
  }, [first, last, view, generation]);
  useEffect(() => {
    scroller.current?.scrollTo({ top: 0 });
  }, [generation]);
  // the first rows painted: a mark the grid benchmark reads
  // (the rows a previous visit left in the store do not count: only a window fetched since this view opened)
  const painted = useRef(generation);
  useEffect(() => {
    if (pages.has(0) && painted.current !== generation) {
      painted.current = generation;
      requestAnimationFrame(() => performance.mark('data-first-rows'));
    }
  }, [pages, generation]);
  return (
    <div ref={scroller} className="data-scroll" style={{ minWidth: template.minWidth }} data-testid="data-scroll">
      <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
        {items.map((it) => {
          const r = pages.get(Math.floor(it.index / PAGE))?.[it.index % PAGE];
          return (
            <div
              key={slots.get(it.index)}
              role="row"
              aria-rowindex={it.index + 2}
              className={`data-row${r?.deleted ? ' deleted' : ''}${r && selectedId === r.id ? ' selected' : ''}`}
              style={{ ...template, transform: `translateY(${it.start}px)`, height: ROW }}
              onClick={() => r && resource && void open(resource, r.id)}
              data-testid={r ? `row-${r.id}` : undefined}
              tabIndex={r ? 0 : -1}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && r && resource) void open(resource, r.id);
              }}
            >
              {columns.map((c) => (
                <div key={c} role="gridcell" className="data-cell">
                  {!r ? (
                    '…'
                  ) : labels[c]?.[String(r.fields[c])] ? (
                    <Ref id={String(r.fields[c])} label={labels[c]![String(r.fields[c])]!} />
                  ) : crossing[c]?.has(String(r.fields[c])) ? (
                    <span className="ref-cross" title="Points into another company: open the row for the finding">
                      {String(r.fields[c])}
                    </span>
                  ) : (
                    <Cell value={c === 'id' ? r.id : c === 'updated_at' ? r.updatedAt : r.fields[c]} />
                  )}
                </div>
              ))}
            </div>
          );
        })}
      </div>
    </div>
  );
});
