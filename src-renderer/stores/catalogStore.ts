import { create } from 'zustand';
import type { Catalog, Resource } from '../../src-shared/catalog.ts';
import type { DriftItemData } from '../../src-shared/contract.ts';
import { ApiError, call } from '../api.ts';

interface CatalogState {
  connection: string | null;
  catalog: Catalog | null;
  editable: boolean;
  dirty: boolean;
  busy: 'loading' | 'discovering' | 'saving' | null;
  drift: DriftItemData[] | null;
  usedDatabase: boolean | null;
  error: string | null;
  saved: boolean;
  open(connection: string): Promise<void>;
  close(): void;
  discover(): Promise<void>;
  update(name: string, patch: Partial<Resource>): void;
  confirm(name: string): void;
  save(): Promise<void>;
}

const message = (e: unknown) => (e instanceof ApiError ? e.message : 'Something went wrong talking to the console.');

export const useCatalog = create<CatalogState>((set, get) => ({
  connection: null,
  catalog: null,
  editable: false,
  dirty: false,
  busy: null,
  drift: null,
  usedDatabase: null,
  error: null,
  saved: false,
  async open(connection) {
    set({ connection, catalog: null, busy: 'loading', drift: null, error: null, dirty: false, saved: false, usedDatabase: null });
    try {
      const { catalog, editable } = await call('catalog:get', { connection });
      set({ catalog, editable, busy: null });
    } catch (e) {
      set({ busy: null, error: message(e) });
    }
  },
  close() {
    set({ connection: null, catalog: null, drift: null, error: null, dirty: false });
  },
  async discover() {
    const connection = get().connection;
    if (!connection) return;
    set({ busy: 'discovering', error: null, saved: false });
    try {
      const r = await call('catalog:discover', { connection, useDatabase: true });
      // the discovered catalog replaces the shown one only where the user may save it
      set({ drift: r.drift, usedDatabase: r.usedDatabase, busy: null, ...(get().editable ? { catalog: r.catalog, dirty: true } : {}) });
    } catch (e) {
      set({ busy: null, error: message(e) });
    }
  },
  update(name, patch) {
    const c = get().catalog;
    if (!c) return;
    set({ catalog: { ...c, resources: c.resources.map((r) => (r.name === name ? { ...r, ...patch } : r)) }, dirty: true, saved: false });
  },
  confirm(name) {
    get().update(name, { uncertain: [] });
  },
  async save() {
    const { connection, catalog } = get();
    if (!connection || !catalog) return;
    set({ busy: 'saving', error: null });
    try {
      const r = await call('catalog:save', { connection, catalog });
      set({ catalog: r.catalog, dirty: false, busy: null, saved: true });
    } catch (e) {
      set({ busy: null, error: message(e) });
    }
  },
}));
