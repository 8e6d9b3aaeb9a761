import type { ConnectionProfile } from '../../src-shared/profile.ts';
import { CrmClient } from '../../src-main/crm/crmClient.ts';
import type { ProbeIdentity } from '../../src-main/isolation/isolationRunner.ts';
import { signInIdentity } from '../../src-main/crm/transport.ts';
import { MODELS } from '../../src-crm/models.ts';
import type { TestCrm } from './crm.ts';

export const DEMO_IDENTITIES: Array<[string, string]> = [
  ['Super admin', 'super@tenantscope.test'],
  ['Acme admin', 'admin@acme.test'],
  ['Globex admin', 'admin@globex.test'],
  ['Globex user', 'user@globex.test'],
  ['Initech admin', 'admin@initech.test'],
  ['No company', 'nobody@tenantscope.test'],
];

/** sign-ins again after a 401, over the test run */
export const refreshes = { count: 0 };

export async function probeIdentities(profile: ConnectionProfile, list = DEMO_IDENTITIES): Promise<ProbeIdentity[]> {
  const client = new CrmClient(profile);
  return Promise.all(
    list.map(async ([label, email]) => {
      const who = await signInIdentity(client, label, { username: email, password: 'demo' });
      const refresh = who.refresh;
      return {
        ...who,
        refresh: () => {
          refreshes.count++;
          return refresh();
        },
      };
    }),
  );
}

/** Canary and probe records still on the server (not soft-deleted), found by what they carry. */
export async function leftOnServer(crm: TestCrm): Promise<number> {
  let n = 0;
  for (const m of MODELS) {
    const cols = (
      await crm.pool.query(`SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND data_type IN ('text', 'character varying')`, [m.name])
    ).rows.map((r) => r.column_name as string);
    if (!cols.length) continue;
    const k = Number(
      (
        await crm.pool.query(
          `SELECT count(*) FROM ${m.name} WHERE deleted_at IS NULL AND (${cols.map((c) => `${c} LIKE '%TenantScope canary%' OR ${c} LIKE '%TenantScope probe%' OR ${c} LIKE 'canary-ts-%'`).join(' OR ')})`,
        )
      ).rows[0].count,
    );
    if (k && process.env.DEBUG_LEFT) console.log('left', m.name, k);
    n += k;
  }
  return n;
}
