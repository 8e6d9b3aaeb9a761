import { create } from 'zustand';
import type { DemoStatus, Session, Tenant } from '../../src-shared/contract.ts';
import { ApiError, call } from '../api.ts';

interface SessionState {
  phase: 'loading' | 'signed-out' | 'signing-in' | 'ready';
  session: Session | null;
  tenants: Tenant[];
  demo: DemoStatus | null;
  error: string | null;
  init(): Promise<void>;
  signIn(input: { connection: string; username?: string; password?: string; token?: string }): Promise<void>;
  /** the console on the connection's cache alone (no CRM), for someone who signed in there before */
  openOffline(input: { connection: string; username: string; password: string }): Promise<void>;
  /** a tenant export from another machine: becomes an offline connection, and opens */
  importCopy(input: { name: string; data: string; passphrase: string }): Promise<void>;
  /** the last sign-in failed because the CRM did not answer: offline is the way in */
  unreachable: boolean;
  signOut(): Promise<void>;
  selectTenant(id: string): Promise<void>;
  setDemo(d: DemoStatus): void;
}

const message = (e: unknown) => (e instanceof ApiError ? e.message : 'Something went wrong talking to the console.');

export const useSession = create<SessionState>((set, get) => ({
  phase: 'loading',
  session: null,
  tenants: [],
  demo: null,
  error: null,
  unreachable: false,
  async init() {
    try {
      const [{ session }, info] = await Promise.all([call('session:current', {}), call('app:info', {})]);
      set({ demo: info.demo });
      if (session) {
        const { tenants } = await call('tenants:list', {});
        set({ session, tenants, phase: 'ready' });
      } else set({ phase: 'signed-out' });
    } catch (e) {
      set({ phase: 'signed-out', error: message(e) });
    }
  },
  async signIn(input) {
    set({ phase: 'signing-in', error: null, unreachable: false });
    try {
      const session = await call('session:signIn', input);
      const { tenants } = await call('tenants:list', {});
      set({ session, tenants, phase: 'ready' });
    } catch (e) {
      set({ phase: 'signed-out', error: message(e), unreachable: e instanceof ApiError && e.code === 'unreachable' });
    }
  },
  async openOffline(input) {
    set({ phase: 'signing-in', error: null });
    try {
      const session = await call('session:openOffline', input);
      const { tenants } = await call('tenants:list', {});
      set({ session, tenants, phase: 'ready', unreachable: false });
    } catch (e) {
      set({ phase: 'signed-out', error: message(e) });
    }
  },
  async importCopy(input) {
    set({ phase: 'signing-in', error: null });
    try {
      const r = await call('cache:import', input);
      const { tenants } = await call('tenants:list', {});
      set({ session: r.session, tenants, phase: 'ready', unreachable: false });
    } catch (e) {
      set({ phase: 'signed-out', error: message(e) });
    }
  },
  async signOut() {
    await call('session:signOut', {});
    set({ session: null, tenants: [], phase: 'signed-out', error: null });
  },
  async selectTenant(id) {
    try {
      const { selected } = await call('tenants:select', { companyId: id });
      const s = get().session;
      if (s) set({ session: { ...s, selectedTenant: selected }, error: null });
    } catch (e) {
      set({ error: message(e) });
    }
  },
  setDemo(demo) {
    set({ demo });
  },
}));
