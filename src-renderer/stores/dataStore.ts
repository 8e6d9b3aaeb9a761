import { create } from 'zustand';
import type { Input, Output } from '../../src-shared/contract.ts';
import { ApiError, call } from '../api.ts';
import { keepNearest } from '../gridWindows.ts';

type Row = Output<'records:query'>['rows'][number];
type Detail = Output<'records:get'>;
type View = Output<'views:list'>['views'][number];
export type Sort = { field: string; dir: 'asc' | 'desc' } | undefined;
export type Filter = NonNullable<Input<'records:query'>['filters']>[number];

/** Rows are fetched in windows of this many as the grid scrolls to them. */
export const PAGE = 200;
/**
 * Windows kept at most: those nearest the rows in view stay, the rest are dropped (and fetched
 * again if scrolled back to), so that scrolling through a million rows keeps a small heap instead
 * of every row seen, whose garbage collection would stall the frames.
 */
export const KEEP_PAGES = 24;
const LAST_RESOURCE = 'tenantscope.data.resource';

interface DataState {
  tenant: string | null;
  resources: { resource: string; rows: number }[];
  /** when the tenant's cached data was synced; null never, undefined not read yet */
  asOf: string | null | undefined;
  resource: string | null;
  search: string;
  sort: Sort;
  filters: Filter[];
  /** bumps with every change of query: windows of an older query are dropped */
  generation: number;
  total: number | null;
  /** with a search: how far the cache's search index is made (null: none, the rows were read) */
  searchIndex: Output<'records:query'>['searchIndex'];
  columns: string[];
  pages: Map<number, Row[]>;
  /** the first window in view, which the windows kept are nearest to (not rendered from) */
  focus: number;
  /** reference field → id → the referenced record's label, gathered from every window fetched */
  labels: Record<string, Record<string, string>>;
  /** reference field → ids it points at in another company (the grid keeps their warning) */
  crossing: Record<string, Set<string>>;
  loading: Set<number>;
  detail: Detail | null;
  detailError: string | null;
  views: View[];
  error: string | null;
  openTenant(tenant: string | null): Promise<void>;
  setResource(resource: string): void;
  setSearch(search: string): void;
  setSort(field: string): void;
  setFilter(field: string, value: string): void;
  ensure(page: number): Promise<void>;
  /** the rows in view changed: fetch the windows they need (the first window in view, the last) */
  view(first: number, last: number): void;
  open(resource: string, id: string): Promise<void>;
  close(): void;
  loadViews(): Promise<void>;
  saveView(name: string): Promise<void>;
  applyView(view: View): Promise<void>;
  deleteView(id: number): Promise<void>;
}

/** the state but the windows of rows and what is gathered from them: what the Data view's toolbar and record render from */
export const withoutRows = ({ pages: _pages, focus: _focus, loading: _loading, labels: _labels, crossing: _crossing, ...rest }: DataState) => rest;

const message = (e: unknown) => (e instanceof ApiError ? e.message : 'Something went wrong talking to the console.');

export const useData = create<DataState>((set, get) => {
  /** while the search index is made, its progress is asked every few seconds (as long as the same search is shown) */
  const followSearchIndex = (generation: number) =>
    setTimeout(async () => {
      if (get().generation !== generation || !get().search) return;
      try {
        const { status } = await call('records:searchIndex', {});
        if (get().generation !== generation) return;
        set({ searchIndex: status });
        if (status && !status.ready) followSearchIndex(generation);
      } catch {
        // the next search asks again
      }
    }, 2000);
  /** a new query: drop the windows, fetch the first with the count */
  const requery = (patch: Partial<DataState>) => {
    set({ ...patch, generation: get().generation + 1, pages: new Map(), focus: 0, labels: {}, crossing: {}, loading: new Set(), total: null, error: null });
    void get().ensure(0);
  };
  return {
    tenant: null,
    resources: [],
    asOf: undefined,
    resource: null,
    search: '',
    sort: undefined,
    filters: [],
    generation: 0,
    total: null,
    searchIndex: null,
    columns: [],
    pages: new Map(),
    focus: 0,
    labels: {},
    crossing: {},
    loading: new Set(),
    detail: null,
    detailError: null,
    views: [],
    error: null,
    async openTenant(tenant) {
      // the resource last looked at is asked for at once, beside the list of resources (not after it)
      const guess = get().resource ?? localStorage.getItem(LAST_RESOURCE);
      const early =
        tenant && guess
          ? (requery({ tenant, resource: guess, detail: null, ...(tenant !== get().tenant ? { asOf: undefined } : {}) }), get().generation)
          : null;
      try {
        const r = await call('records:resources', { tenant: tenant ?? undefined });
        const resource = r.resources.find((x) => x.resource === guess)?.resource ?? r.resources[0]?.resource ?? null;
        if (early !== null && r.tenant === tenant && resource === guess) set({ resources: r.resources, asOf: r.asOf });
        else requery({ tenant: r.tenant, resources: r.resources, asOf: r.asOf, resource, detail: null });
      } catch (e) {
        set({ error: message(e), resources: [], resource: null });
      }
    },
    setResource(resource) {
      localStorage.setItem(LAST_RESOURCE, resource);
      requery({ resource, sort: undefined, filters: [], columns: [] });
    },
    setSearch(search) {
      requery({ search });
    },
    setSort(field) {
      const s = get().sort;
      requery({ sort: s?.field === field ? (s.dir === 'asc' ? { field, dir: 'desc' } : undefined) : { field, dir: 'asc' } });
    },
    setFilter(field, value) {
      const filters = get().filters.filter((f) => f.field !== field);
      requery({ filters: value ? [...filters, { field, op: 'contains', value }] : filters });
    },
    async ensure(page) {
      const st = get();
      if (!st.resource || !st.tenant || st.pages.has(page) || st.loading.has(page)) return;
      const generation = st.generation;
      st.loading.add(page);
      try {
        const r = await call('records:query', {
          tenant: st.tenant,
          resource: st.resource,
          search: st.search || undefined,
          sort: st.sort,
          filters: st.filters.length ? st.filters : undefined,
          offset: page * PAGE,
          limit: PAGE,
          count: page === 0,
        });
        if (get().generation !== generation) return;
        const pages = keepNearest(new Map(get().pages).set(page, r.rows), get().focus, KEEP_PAGES);
        const known = get().columns;
        const columns = known.length ? [...known, ...r.columns.filter((c) => !known.includes(c))] : r.columns;
        const labels = { ...get().labels };
        for (const [field, byId] of Object.entries(r.labels)) labels[field] = { ...labels[field], ...byId };
        const crossing = { ...get().crossing };
        for (const [field, ids] of Object.entries(r.crossing)) crossing[field] = new Set([...(crossing[field] ?? []), ...ids]);
        set({
          pages,
          columns,
          labels,
          crossing,
          ...(r.total !== null ? { total: r.total } : {}),
          ...(page === 0 ? { searchIndex: r.searchIndex ?? null } : {}),
        });
        if (page === 0 && r.searchIndex && !r.searchIndex.ready) followSearchIndex(generation);
      } catch (e) {
        if (get().generation === generation) set({ error: message(e) });
      } finally {
        get().loading.delete(page);
      }
    },
    view(first, last) {
      set({ focus: first });
      for (let p = first; p <= last; p++) void get().ensure(p);
    },
    async open(resource, id) {
      try {
        const d = await call('records:get', { resource, id });
        set({
          detail: d.record ? d : null,
          detailError: d.record ? null : `${resource} ${id} is not in ${'your cache'}: it belongs to a company you cannot see, or it was never synced.`,
        });
      } catch (e) {
        set({ detail: null, detailError: message(e) });
      }
    },
    close() {
      set({ detail: null, detailError: null });
    },
    async loadViews() {
      try {
        set({ views: (await call('views:list', {})).views });
      } catch (e) {
        set({ error: message(e) });
      }
    },
    async saveView(name) {
      const st = get();
      if (!st.resource) return;
      try {
        await call('views:save', {
          name,
          resource: st.resource,
          tenant: st.tenant,
          state: { search: st.search || undefined, sort: st.sort, filters: st.filters.length ? st.filters : undefined },
        });
        await get().loadViews();
      } catch (e) {
        set({ error: message(e) });
      }
    },
    async applyView(view) {
      if (view.tenant && view.tenant !== get().tenant) await get().openTenant(view.tenant);
      requery({ resource: view.resource, search: view.state.search ?? '', sort: view.state.sort, filters: view.state.filters ?? [], columns: [] });
    },
    async deleteView(id) {
      try {
        await call('views:delete', { id });
        await get().loadViews();
      } catch (e) {
        set({ error: message(e) });
      }
    },
  };
});
