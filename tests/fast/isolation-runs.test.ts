import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConnectionProfileSchema } from '../../src-shared/profile.ts';
import { openCache } from '../../src-main/cache/cacheDb.ts';
import { EventBus } from '../../src-main/core/eventBus.ts';
import { IsolationRunner, type ProbeIdentity } from '../../src-main/isolation/isolationRunner.ts';
import { referenceProfile } from '../support/console.ts';
import { tempHome } from '../support/cli.ts';

/** The run history tells the truth: a refused run is not recorded, an interrupted one says so. */
describe('the isolation run history', () => {
  it('a run refused for its inputs leaves no run behind; a run whose process died ends "interrupted" with what it probed; a live one stays running', async () => {
    const cache = await openCache(join(tempHome('iso-runs'), 'c.sqlite'));
    try {
      const profile = ConnectionProfileSchema.parse(referenceProfile('ref', 'http://127.0.0.1:9'));
      const who = (label: string, role: ProbeIdentity['role'], companyId: string | null): ProbeIdentity => ({
        label,
        email: `${label}@x.test`,
        role,
        companyId,
        userId: label,
        me: { id: label, email: `${label}@x.test`, name: label, role, companyId, companyName: null },
        token: () => 't',
        refresh: async () => 't',
      });
      const runner = new IsolationRunner(cache, profile, new EventBus());
      const runs = () =>
        cache.raw.prepare('SELECT id, outcome, probes, leaks, message FROM isolation_runs ORDER BY id').all() as Array<{
          id: number;
          outcome: string;
          probes: number;
          leaks: number;
          message: string | null;
        }>;
      // refused before anything is sent: an unknown resource, and no second company to probe with
      await expect(runner.run([who('acme', 'company_admin', 'c1'), who('globex', 'user', 'c2')], { only: ['nope'] })).rejects.toMatchObject({
        code: 'invalid-input',
        message: 'No resource named nope in the catalog.',
      });
      await expect(runner.run([who('acme', 'company_admin', 'c1')])).rejects.toMatchObject({ code: 'invalid-input' });
      expect(runs()).toEqual([]);

      // a run killed mid-way (its process is gone) and one of a live process
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
      const insert = cache.raw.prepare("INSERT INTO isolation_runs (started_at, pid) VALUES ('2026-12-01T00:00:00Z', ?)");
      const killed = Number(insert.run(Number(dead)).lastInsertRowid);
      const live = Number(insert.run(process.pid).lastInsertRowid);
      cache.raw
        .prepare(
          "INSERT INTO isolation_results (run_id, resource, identity, operation, verdict, detail, evidence) VALUES (?, 'calls', 'globex', 'read', 'leak', 'read it', '[]'), (?, 'calls', 'globex', 'list', 'enforced', 'refused', '[]')",
        )
        .run(killed, killed);
      expect(IsolationRunner.settleInterrupted(cache.raw)).toBe(1);
      expect(runs()).toEqual([
        {
          id: killed,
          outcome: 'interrupted',
          probes: 2,
          leaks: 1,
          message: expect.stringMatching(/ended before it finished \(killed or crashed\); what it had probed is kept/),
        },
        { id: live, outcome: 'running', probes: 0, leaks: 0, message: null },
      ]);
    } finally {
      await cache.close();
    }
  });
});
