import { create } from 'zustand';
import type { Output } from '../../src-shared/contract.ts';
import { ApiError, call } from '../api.ts';

type Audit = Output<'audit:run'>;
type Finding = Audit['findings'][number];

interface AuditState {
  audit: Audit | null;
  loading: boolean;
  selected: Finding | null;
  error: string | null;
  /** a super admin's drill-down into one tenant; null: every tenant */
  tenant: string | null;
  run(tenant?: string | null): Promise<void>;
  select(f: Finding | null): void;
  accept(id: string, reason: string): Promise<void>;
}

const message = (e: unknown) => (e instanceof ApiError ? e.message : 'Something went wrong talking to the console.');

export const useAudit = create<AuditState>((set, get) => ({
  audit: null,
  loading: false,
  selected: null,
  error: null,
  tenant: null,
  async run(tenant) {
    const t = tenant === undefined ? get().tenant : tenant;
    set({ loading: true, error: null, tenant: t });
    try {
      const audit = await call('audit:run', t ? { tenant: t } : {});
      // bench/audit measures from here to the dashboard's paint
      performance.mark('tenantscope:audit-data');
      const sel = get().selected;
      set({ audit, selected: sel ? (audit.findings.find((f) => f.id === sel.id) ?? null) : null });
    } catch (e) {
      set({ error: message(e) });
    } finally {
      set({ loading: false });
    }
  },
  select: (selected) => set({ selected }),
  async accept(id, reason) {
    try {
      await call('audit:accept', { id, reason });
      await get().run();
    } catch (e) {
      set({ error: message(e) });
    }
  },
}));
