import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCache } from '../../src-main/cache/cacheDb.ts';
import { EventBus } from '../../src-main/core/eventBus.ts';
import { discover } from '../../src-main/catalog/catalogService.ts';
import { signInIdentities } from '../../src-main/crm/transport.ts';
import { IsolationRunner } from '../../src-main/isolation/isolationRunner.ts';
import { otherCrmProfile, startOtherCrm } from '../support/otherCrm.ts';

describe('the isolation runner against a differently shaped CRM', () => {
  it('finds its by-id leaks and unscoped notes through other paths, offset paging, integer ids and nested comments; nothing left', async () => {
    const other = await startOtherCrm();
    try {
      const { catalog } = await discover({ url: other.url, databaseUrl: other.databaseUrl, itemsField: 'results' });
      const profile = {
        ...otherCrmProfile(other, catalog),
        identities: [
          { label: 'Root', username: 'root' },
          { label: 'Ada (Umbrella)', username: 'ada' },
          { label: 'Bob (Hooli)', username: 'bob' },
        ],
      };
      const identities = await signInIdentities(profile, () => 'pw');
      const cache = await openCache(join(mkdtempSync(join(tmpdir(), 'tenantscope-iso-other-')), 'c.sqlite'));
      const before = Object.fromEntries(
        await Promise.all(
          ['tickets', 'ticket_comments', 'notes'].map(async (t) => [t, Number((await other.pool.query(`SELECT count(*) FROM ${t}`)).rows[0].count)]),
        ),
      );
      const report = await new IsolationRunner(cache, profile, new EventBus()).run(identities);
      const v = (resource: string, who: string, op: string) =>
        report.results.find((r) => r.resource === resource && r.identity === who && r.operation === op)?.verdict;
      const table = Object.fromEntries(
        ['tickets', 'ticket_comments', 'notes', 'kb_articles'].map((res) => [
          res,
          ['list', 'read', 'update', 'delete', 'create'].map((op) => v(res, 'Bob (Hooli)', op)).join(' '),
        ]),
      );
      // this CRM scopes ticket lists by org, and nothing else: by id anything goes
      expect(table).toEqual({
        tickets: 'enforced leak leak leak enforced',
        ticket_comments: 'leak leak leak leak leak',
        notes: 'leak leak leak leak leak',
        kb_articles: 'skipped skipped skipped skipped skipped',
      });
      expect(['list', 'read'].map((op) => v('tickets', 'Root', op))).toEqual(['enforced', 'enforced']);
      expect(report.cleanup.leftover).toEqual([]);
      const after = Object.fromEntries(
        await Promise.all(
          ['tickets', 'ticket_comments', 'notes'].map(async (t) => [t, Number((await other.pool.query(`SELECT count(*) FROM ${t}`)).rows[0].count)]),
        ),
      );
      expect(after).toEqual(before);
      await cache.close();
    } finally {
      await other.close();
    }
  }, 60_000);
});
