import { AppError } from '../../../src-shared/result.ts';
import { listRuns, runResults } from '../../cache/queries/isolationRuns.ts';
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
      return { runs: listRuns(raw) };
    },
    'isolation:results': async ({ runId }) => {
      const found = runResults((await cache()).raw, runId);
      if (!found) throw new AppError('not-found', `There is no isolation run ${runId}.`);
      return found;
    },
  };
}
