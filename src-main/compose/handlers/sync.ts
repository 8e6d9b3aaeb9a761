import type { Input, Output } from '../../../src-shared/contract.ts';
import { AppError } from '../../../src-shared/result.ts';
import { ALL } from '../../../src-shared/partitions.ts';
import { SyncService } from '../../sync/syncService.ts';
import type { Directory } from '../directory.ts';
import type { HandlersFor, Kernel } from '../kernel.ts';
import { caller, requireWholeCompany, tenantOf } from '../scope.ts';

type Channels = 'sync:run' | 'sync:cancel' | 'sync:status' | 'sync:proofs' | 'sync:prove' | 'cache:evict';

export function syncHandlers(k: Kernel, directory: Directory): HandlersFor<Channels> {
  const syncFor = async (): Promise<SyncService> => {
    const s = k.session().current()!;
    return new SyncService(await k.cacheFor(s.connection), k.connections.get(s.connection), k.bus);
  };
  return {
    'sync:run': (input) => runSync(k, directory, syncFor, input),
    'sync:cancel': () => {
      const running = k.running;
      if (running && running.window !== k.callerWindow() && k.session().current()?.role !== 'super_admin') {
        throw new AppError('forbidden', 'The running sync was started in another window: only that window or a super admin can cancel it.');
      }
      const was = !!running && !running.controller.signal.aborted;
      running?.controller.abort();
      return { cancelled: was };
    },
    'sync:status': async () => {
      const { s, scope } = caller(k);
      const sync = await syncFor();
      const parts = sync.partitions();
      const running = k.running;
      // a sync another window started is named to its own window and to super admins only
      const mine = running?.window === k.callerWindow() || scope.everyCompany;
      const shown = running
        ? mine
          ? { label: running.label, startedAt: running.startedAt, progress: running.progress }
          : { label: 'a sync started in another window', startedAt: running.startedAt, progress: null }
        : null;
      return {
        partitions: scope.everyCompany ? parts : parts.filter((p) => p.company_id === s.company?.id),
        running: shown,
        lastRun: scope.everyCompany ? sync.lastRun() : null,
      };
    },
    'sync:proofs': async ({ tenant }) => {
      const t = tenantOf(k, tenant);
      const { s } = caller(k);
      return { proofs: (await syncFor()).proofs(t.id, { role: s.role, email: s.user.email }) };
    },
    'sync:prove': async ({ tenant }) => {
      const t = tenantOf(k, tenant);
      return { proofs: await (await syncFor()).prove(k.session().identity(), t) };
    },
    'cache:evict': async ({ tenant }) => {
      requireWholeCompany(k, 'Evicting a partition');
      const t = tenantOf(k, tenant);
      const sync = await syncFor();
      const evicted = sync.evict(t.id);
      const remaining = sync.partitions().find((p) => p.company_id === t.id)?.rows ?? 0;
      return { tenant: t.id, evicted, remaining };
    },
  };
}

/** One sync at a time in this process: its targets by the caller's scope, its cancel switch, its label for other windows. */
async function runSync(
  k: Kernel,
  directory: Directory,
  syncFor: () => Promise<SyncService>,
  { tenants, all, pageSize }: Input<'sync:run'>,
): Promise<Output<'sync:run'>> {
  const { s } = caller(k);
  // every tenant: one unfiltered listing a resource, partitioned in the cache (32 requests, not 32 a tenant)
  let targets = all
    ? (k.session().requireSuperAdmin(), [{ id: ALL, name: 'every tenant' }])
    : tenants?.length
      ? tenants.map((t) => tenantOf(k, t))
      : [tenantOf(k, s.selectedTenant ?? s.company?.id ?? '')];
  // a super admin on a CRM with no company filter gets every company's rows in each listing:
  // one listing partitioned here, rather than the same listing once a tenant
  if (s.role === 'super_admin' && !k.connections.get(s.connection).sync.tenantParam) targets = [{ id: ALL, name: 'every tenant' }];
  const sync = await syncFor();
  if (k.running) throw new AppError('conflict', 'A sync is already running: wait for it or cancel it first.');
  await directory.beforeSync(sync);
  const controller = new AbortController();
  k.running = {
    controller,
    window: k.callerWindow(),
    label: all ? 'all tenants' : targets.map((t) => t.name).join(', '),
    startedAt: new Date().toISOString(),
    progress: null,
  };
  try {
    return await sync.run(k.session().identity(), targets, { pageSize, signal: controller.signal });
  } finally {
    k.running = null;
    directory.forget();
  }
}
