import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConnectionProfileSchema } from '../../src-shared/profile.ts';
import { openCache } from '../../src-main/cache/cacheDb.ts';
import { acceptFinding, runAudit } from '../../src-main/audit/auditService.ts';
import { referenceProfile } from '../support/console.ts';
import { tempHome } from '../support/cli.ts';

/** The audit's numbers say what they count (issue 22, point 4). */
describe("the audit's progress numbers", () => {
  it('endpoints proven: each resource as the latest complete run that probed it found it, so a narrower run later hides nothing', async () => {
    const cache = await openCache(join(tempHome('audit-numbers'), 'c.sqlite'));
    try {
      const { catalog } = ConnectionProfileSchema.parse(referenceProfile('ref', 'http://127.0.0.1:9'));
      const run = (outcome: string, readOnly: number) =>
        Number(
          cache.raw
            .prepare("INSERT INTO isolation_runs (started_at, finished_at, outcome, read_only) VALUES ('2026-12-01T00:00:00Z', '2026-12-01T00:01:00Z', ?, ?)")
            .run(outcome, readOnly).lastInsertRowid,
        );
      const result = cache.raw.prepare(
        "INSERT INTO isolation_results (run_id, resource, identity, operation, verdict, detail, evidence) VALUES (?, ?, 'globex', ?, ?, '', '[]')",
      );
      // a full run: calls, emails and documents enforced on list and read
      const full = run('ok', 0);
      for (const r of ['calls', 'emails', 'documents']) for (const op of ['list', 'read']) result.run(full, r, op, 'enforced');
      // later, a read-only run of two resources finds calls leaking
      const narrow = run('leaks', 1);
      result.run(narrow, 'calls', 'read', 'leak');
      result.run(narrow, 'emails', 'read', 'enforced');
      // and a run that did not complete says nothing
      const broken = run('incomplete', 0);
      result.run(broken, 'documents', 'read', 'leak');

      const a = runAudit(cache.raw, catalog);
      expect(a.progress).toMatchObject({ endpointsProbed: 3, endpointsProven: 2, isolationRunId: narrow });
    } finally {
      await cache.close();
    }
  });

  it('an accepted finding is its own state in the comparison with the last audit, not "fixed"', async () => {
    const cache = await openCache(join(tempHome('audit-accepted'), 'c.sqlite'));
    try {
      const { catalog } = ConnectionProfileSchema.parse(referenceProfile('ref', 'http://127.0.0.1:9'));
      // one user of no company: a finding
      cache.raw
        .prepare(
          "INSERT INTO records (company_id, resource, id, updated_at, payload, fetched_by, fetched_from, fetched_at) VALUES ('unassigned', 'users', 'u1', '2026-12-01', ?, 'x', '/api/users', '2026-12-01')",
        )
        .run(JSON.stringify({ id: 'u1', role: 'user', company_id: null, email: 'u1@x.test' }));
      const first = runAudit(cache.raw, catalog);
      expect(first.findings.length).toBeGreaterThan(0);
      const target = first.findings[0]!;
      acceptFinding(cache.raw, target.id, 'known, tracked elsewhere', 'super@x.test');
      const second = runAudit(cache.raw, catalog);
      expect(second.diff).toMatchObject({ previousRunId: first.runId, fixed: [], new: [] });
      expect(second.diff!.accepted).toEqual([target.id]);
      expect(second.diff!.stillOpen).not.toContain(target.id);
    } finally {
      await cache.close();
    }
  });
});
