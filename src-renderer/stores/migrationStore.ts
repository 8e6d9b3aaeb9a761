import { create } from 'zustand';
import type { EventPayload, Output } from '../../src-shared/contract.ts';
import { ApiError, call, on } from '../api.ts';

type Plan = Output<'migrate:plan'>;
type Status = Output<'migrate:status'>;

interface MigrationState {
  audit: Output<'migrate:audit'>['tables'];
  plan: Plan | null;
  status: Status | null;
  progress: EventPayload<'onMigration'> | null;
  log: { at: string; message: string }[];
  verification: Output<'migrate:verify'> | null;
  rollback: Output<'migrate:rollback'> | null;
  /** the last backup restored into a scratch database and compared */
  backupCheck: Output<'migrate:backupVerify'> | null;
  busy: 'plan' | 'run' | 'verify' | 'rollback' | 'backup' | null;
  notice: string | null;
  error: string | null;
  load(): Promise<void>;
  makePlan(opts: { tables: string[]; notNull: boolean }): Promise<void>;
  run(opts: {
    tables: string[];
    notNull: boolean;
    batchSize?: number;
    delayMs?: number;
    resume?: boolean;
    backup?: boolean;
    probeUrl?: string;
    /** apply row-level security once the run is done and verified */
    rls?: boolean;
  }): Promise<void>;
  control(input: { pause?: boolean; batchSize?: number; delayMs?: number }): Promise<void>;
  verify(): Promise<void>;
  /** rls: take the row-level security phase out first */
  rollBack(runId: number, rls?: boolean): Promise<void>;
  verifyBackup(runId: number): Promise<void>;
}

const message = (e: unknown) => (e instanceof ApiError ? e.message : 'Something went wrong talking to the console.');

let subscribed = false;
/** the run whose record is being fetched for the runs table */
let listing: number | null = null;

export const useMigration = create<MigrationState>((set, get) => {
  const follow = () => {
    if (subscribed) return;
    subscribed = true;
    on('onMigration', (p) => {
      set({ progress: p });
      // a run that has just started is recorded in the CRM's database: list it now, not when it ends
      if (p.runId !== listing && !get().status?.runs.some((r) => r.id === p.runId)) {
        listing = p.runId;
        void call('migrate:status', {}).then(
          (status) => set({ status }),
          () => {
            listing = null;
          },
        );
      }
    });
    on('onMigrationLog', (l) => set({ log: [...get().log, { at: l.at, message: l.message }].slice(-300) }));
  };
  const refresh = async () => {
    const [status, audit] = await Promise.all([call('migrate:status', {}), call('migrate:audit', {})]);
    set({ status, audit: audit.tables, progress: status.running ?? get().progress, log: get().busy === 'run' ? get().log : status.log });
  };
  return {
    audit: [],
    plan: null,
    status: null,
    progress: null,
    log: [],
    verification: null,
    rollback: null,
    backupCheck: null,
    busy: null,
    notice: null,
    error: null,
    async load() {
      follow();
      try {
        await refresh();
        set({ error: null });
      } catch (e) {
        set({ error: message(e) });
      }
    },
    async makePlan({ tables, notNull }) {
      set({ busy: 'plan', error: null, notice: null });
      try {
        set({ plan: await call('migrate:plan', { tables: tables.length ? tables : undefined, notNull }) });
      } catch (e) {
        set({ error: message(e) });
      } finally {
        set({ busy: null });
      }
    },
    async run({ tables, notNull, batchSize, delayMs, resume, backup, probeUrl, rls }) {
      follow();
      // a resumed run keeps its log and progress on screen; a new one starts clean
      set({ busy: 'run', error: null, notice: null, verification: null, rollback: null, ...(resume ? {} : { log: [], progress: null }) });
      let ended: Partial<MigrationState> = {};
      try {
        const r = await call('migrate:run', {
          tables: tables.length ? tables : undefined,
          notNull,
          batchSize,
          delayMs,
          resume: resume ?? false,
          backup: backup ?? true,
          probeUrl,
          rls: rls ?? false,
        });
        ended = {
          verification: r.verification,
          notice:
            r.status === 'paused'
              ? `Run ${r.runId} paused: everything done so far stays. Resume goes on from there.`
              : r.verification?.ok
                ? `Run ${r.runId} done and verified.`
                : `Run ${r.runId} done; the verification found problems (below).`,
          ...(r.rls ? (r.rls.applied ? {} : { error: r.rls.message[0]!.toUpperCase() + r.rls.message.slice(1) + '.' }) : {}),
        };
        if (r.rls?.applied) ended.notice += ` Row-level security phase ${r.rls.applied.id} applied to ${r.rls.applied.tables.length} tables.`;
      } catch (e) {
        ended = { error: message(e) };
      } finally {
        // the runs and the audit as the run left them, before the view says how it ended
        await refresh().catch(() => {});
        set({ ...ended, busy: null, plan: null });
      }
    },
    async control(input) {
      try {
        await call('migrate:control', input);
      } catch (e) {
        set({ error: message(e) });
      }
    },
    async verify() {
      set({ busy: 'verify', error: null });
      try {
        set({ verification: await call('migrate:verify', {}) });
      } catch (e) {
        set({ error: message(e) });
      } finally {
        set({ busy: null });
      }
    },
    async verifyBackup(runId) {
      set({ busy: 'backup', error: null, notice: null, backupCheck: null });
      try {
        set({ backupCheck: await call('migrate:backupVerify', { runId }) });
      } catch (e) {
        set({ error: message(e) });
      } finally {
        set({ busy: null });
      }
    },
    async rollBack(runId, rls) {
      set({ busy: 'rollback', error: null, notice: null });
      try {
        const r = await call('migrate:rollback', { runId, confirm: true, rls: rls ?? false });
        set({
          rollback: r,
          verification: null,
          progress: null,
          notice: r.ok
            ? `Run ${r.runId} rolled back: every table's schema and data are as before the run.`
            : `Run ${r.runId} rolled back, but some tables differ from before (the application wrote to them meanwhile).`,
        });
      } catch (e) {
        set({ error: message(e) });
      } finally {
        set({ busy: null });
        await refresh().catch(() => {});
      }
    },
  };
});
