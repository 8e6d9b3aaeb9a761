import type { Output } from '../../../src-shared/contract.ts';
import { AppError } from '../../../src-shared/result.ts';
import { signInIdentities } from '../../crm/transport.ts';
import { IsolationRunner } from '../../isolation/isolationRunner.ts';
import type { HandlersFor, Kernel } from '../kernel.ts';
import { caller } from '../scope.ts';

type Channels = 'isolation:run' | 'isolation:runs' | 'isolation:results';

export function isolationHandlers(k: Kernel): HandlersFor<Channels> {
  const cache = async () => k.cacheFor(caller(k).s.connection);
  return {
    'isolation:run': async ({ only, readOnly, concurrency, ratePerSecond }) => {
      const { s } = caller(k);
      await k.ensureCrm(s.connection);
      const profile = k.connections.get(s.connection);
      const identities = await signInIdentities(profile, (label) => k.connections.secretFor(profile, label));
      const runner = new IsolationRunner(await cache(), profile, k.bus, { concurrency, minIntervalMs: ratePerSecond ? 1000 / ratePerSecond : 0 });
      return runner.run(identities, { only, readOnly });
    },
    'isolation:runs': async () => {
      const { raw } = await cache();
      IsolationRunner.settleInterrupted(raw);
      const runs = raw.prepare('SELECT id, started_at AS startedAt, finished_at AS finishedAt, read_only AS readOnly, outcome, probes, leaks, message FROM isolation_runs ORDER BY id DESC LIMIT 200').all() as Array<{ readOnly: number } & Record<string, unknown>>;
      return { runs: runs.map((r) => ({ ...r, readOnly: !!r.readOnly })) as Output<'isolation:runs'>['runs'] };
    },
    'isolation:results': async ({ runId }) => {
      const { raw } = await cache();
      const run = raw.prepare('SELECT id, started_at AS startedAt, finished_at AS finishedAt, outcome, read_only AS readOnly, seconds, cleanup FROM isolation_runs WHERE id = ?').get(runId) as { readOnly: number; cleanup: string | null } & Record<string, unknown> | undefined;
      if (!run) throw new AppError('not-found', `There is no isolation run ${runId}.`);
      run.cleanup = run.cleanup === null ? null : JSON.parse(run.cleanup);
      const rows = raw.prepare('SELECT resource, identity, operation, verdict, detail, evidence FROM isolation_results WHERE run_id = ? ORDER BY resource, identity, operation').all(runId) as Array<{ evidence: string } & Record<string, unknown>>;
      return { run: { ...run, readOnly: !!run.readOnly, seconds: (run.seconds as number | null) ?? null }, results: rows.map((r) => ({ ...r, evidence: JSON.parse(r.evidence) })) } as Output<'isolation:results'>;
    },
  };
}
