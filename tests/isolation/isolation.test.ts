import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConnectionProfileSchema } from '../../src-shared/profile.ts';
import type { Verdict } from '../../src-shared/tenancy.ts';
import type { Resource } from '../../src-shared/catalog.ts';
import { openCache } from '../../src-main/cache/cacheDb.ts';
import { EventBus } from '../../src-main/core/eventBus.ts';
import { IsolationRunner, type Operation, type ProbeIdentity } from '../../src-main/isolation/isolationRunner.ts';
import { fixedProfile, legacyProfile, parseProfile, type EnforcementProfile, type ResourceRule } from '../../src-crm/enforcement.ts';
import { FINISHED_MODELS, MODELS } from '../../src-crm/models.ts';
import { startTestCrm, type TestCrm } from '../support/crm.ts';
import { referenceProfile } from '../support/console.ts';
import { leftOnServer, probeIdentities, refreshes } from '../support/isolation.ts';

/** One record a company: the CRM refuses a second (409), so these are probed on an existing record, reads only. */
const SINGLETONS = new Set(['twilio_settings']);

/** What the reference CRM's enforcement profile says each probe must find: the ground truth. */
export function truth(rule: ResourceRule, resource: Resource, who: ProbeIdentity, op: Operation): Verdict {
  const template = Object.values(resource.bodyTemplate ?? {});
  const hasMarker = template.some((v) => typeof v === 'string' && v.includes('{{marker}}'));
  const changeable = template.some((v) => (typeof v === 'string' && v.includes('{{marker}}') && !/@|Pw1/.test(v)) || typeof v === 'number');
  if (op === 'search' && (!hasMarker || SINGLETONS.has(resource.name))) return 'skipped';
  if ((op === 'update' || op === 'delete') && SINGLETONS.has(resource.name) && who.role !== 'super_admin') return 'skipped';
  // a second one is refused as a duplicate (409), whichever company it would land in; a user with no company is refused first
  if (op === 'create' && SINGLETONS.has(resource.name) && who.role !== 'super_admin') return !who.companyId && rule.create === 'token' ? 'enforced' : 'skipped';
  if (op === 'update' && !changeable && who.role !== 'super_admin') return 'skipped';
  if (who.role === 'super_admin') return ['list', 'search', 'read'].includes(op) ? 'enforced' : 'skipped';
  const noCompany = !who.companyId;
  if (op === 'list' || op === 'search') return rule.list === 'none' ? 'leak' : 'enforced';
  if (op === 'create') {
    if (resource.name === 'users' && who.role === 'user') return 'enforced';
    return rule.create === 'body' ? 'leak' : 'enforced';
  }
  const scope = rule[op];
  if (scope === 'none') return 'leak';
  // a user with no company is refused before the row is looked at, whatever the id
  if (noCompany && scope === 'company') return 'enforced';
  return rule.foreign === 403 ? 'exists-oracle' : 'enforced';
}

/** A random enforcement profile: every resource's list, read, update, delete scope, create rule and foreign status. */
function randomProfile(rnd: () => number, name: string): EnforcementProfile {
  const pickOne = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const resources: Record<string, ResourceRule> = {};
  for (const m of MODELS) {
    const scopes = m.owner || m.parent ? (['company', 'user', 'none'] as const) : (['company', 'none'] as const);
    resources[m.name] = {
      list: pickOne(scopes),
      read: pickOne(scopes),
      update: pickOne(scopes),
      delete: pickOne(scopes),
      create: pickOne(['token', 'body'] as const),
      foreign: pickOne([404, 403] as const),
    };
  }
  return parseProfile({ name, extends: 'fixed', resources }, name);
}

async function runAgainst(crm: TestCrm, only?: string[], opts: ConstructorParameters<typeof IsolationRunner>[3] = {}) {
  const profile = ConnectionProfileSchema.parse(referenceProfile('ref', crm.url));
  const cache = await openCache(join(mkdtempSync(join(tmpdir(), 'tenantscope-iso-')), 'c.sqlite'));
  const runner = new IsolationRunner(cache, profile, new EventBus(), opts);
  const identities = await probeIdentities(profile);
  const report = await runner.run(identities, { only });
  return { report, identities, cache, profile };
}

function compare(report: Awaited<ReturnType<typeof runAgainst>>['report'], identities: ProbeIdentity[], enforcement: EnforcementProfile, catalog: Resource[]) {
  const wrong: string[] = [];
  for (const r of report.results) {
    const who = identities.find((i) => i.label === r.identity)!;
    const expected = truth(
      enforcement.rules[r.resource]!,
      catalog.find((x) => x.name === r.resource)!,
      who,
      r.operation,
    );
    if (r.verdict !== expected) wrong.push(`${r.resource} · ${r.identity} · ${r.operation}: ${r.verdict} (expected ${expected}) — ${r.detail}`);
  }
  return wrong;
}

describe('isolation runner against the reference CRM', () => {
  it('under legacy: exactly the leaks the profile has, nothing else; no canary left', async () => {
    const crm = await startTestCrm({ profile: 'legacy' });
    try {
      const { report, identities, profile } = await runAgainst(crm);
      expect(compare(report, identities, legacyProfile(), profile.catalog.resources)).toEqual([]);
      // the leaky resources are the seed's 21 without company_id, and the half-done SMS reads
      const leaky = new Set(report.results.filter((r) => r.verdict === 'leak').map((r) => r.resource));
      expect([...leaky].sort()).toEqual(
        [...MODELS.filter((m) => !FINISHED_MODELS.includes(m.name)).map((m) => m.name), 'scheduled_sms', 'sms_messages', 'sms_templates'].sort(),
      );
      expect(report.cleanup.leftover).toEqual([]);
      expect(await leftOnServer(crm)).toBe(0);
    } finally {
      await crm.close();
    }
  }, 240_000);

  it('tokens that expire mid-run are refreshed by signing in again; a rate limit spaces the requests; the verdicts stay right', async () => {
    const crm = await startTestCrm({ profile: 'legacy', tokenTtl: 2 });
    try {
      const before = refreshes.count;
      const { report, identities, profile } = await runAgainst(crm, ['calls', 'contacts'], { concurrency: 2, minIntervalMs: 25 });
      expect(report.seconds).toBeGreaterThan(2); // longer than a token lives
      expect(refreshes.count - before).toBeGreaterThan(0);
      expect(report.requests / report.seconds).toBeLessThan(1000 / 25 + 1);
      expect(compare(report, identities, legacyProfile(), profile.catalog.resources)).toEqual([]);
      expect(report.counts.error).toBe(0);
      expect(await leftOnServer(crm)).toBe(0);
    } finally {
      await crm.close();
    }
  }, 120_000);

  it('under fixed: no leak, no suspect, no oracle', async () => {
    const crm = await startTestCrm({ profile: 'fixed' });
    try {
      const { report, identities, profile } = await runAgainst(crm);
      expect(compare(report, identities, fixedProfile(), profile.catalog.resources)).toEqual([]);
      expect(report.counts.leak + report.counts.suspect + report.counts['exists-oracle'] + report.counts.error).toBe(0);
      expect(await leftOnServer(crm)).toBe(0);
    } finally {
      await crm.close();
    }
  }, 240_000);

  it("under 20 random enforcement profiles: the verdicts equal each profile's truth exactly; no canary left", async () => {
    const base = await startTestCrm({ profile: 'fixed' });
    let seed = 20261127;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    try {
      for (let i = 0; i < 20; i++) {
        const enforcement = randomProfile(rnd, `random-${i}`);
        // the same seeded database under another profile: a new server, no new seed
        const crm = await startTestCrm({ profile: enforcement, databaseUrl: base.databaseUrl, seed: false });
        try {
          const { report, identities, profile } = await runAgainst(crm);
          expect(compare(report, identities, enforcement, profile.catalog.resources), enforcement.name).toEqual([]);
          expect(report.cleanup.leftover, enforcement.name).toEqual([]);
          expect(await leftOnServer(crm), enforcement.name).toBe(0);
        } finally {
          await crm.close();
        }
      }
    } finally {
      await base.close();
    }
  }, 600_000);
});
