import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { referenceProfile } from './console.ts';
import { DEMO_IDENTITIES } from './isolation.ts';
import { runCli, tempHome, type CliOptions, type CliRun } from './cli.ts';

/** A fresh console home whose connection "ref" is the test CRM, its identities' passwords in TENANTSCOPE_REF_PW. */
export function referenceHome(crm: { url: string }, prefix: string): string {
  const home = tempHome(prefix);
  const identities = DEMO_IDENTITIES.map(([label, username]) => ({ label, username, passwordEnv: 'TENANTSCOPE_REF_PW' }));
  writeFileSync(join(home, 'connections.json'), JSON.stringify({ version: 1, connections: [{ ...referenceProfile('ref', crm.url), identities }] }));
  return home;
}

/** `tenantscope <args> --connection ref` against the test CRM and its database, in `home`. */
export function referenceCli(crm: { databaseUrl: string }, home: string, json = true) {
  return (args: string[], opts: Partial<CliOptions> = {}): Promise<CliRun> =>
    runCli([...args, '--connection', 'ref', '--db-env', 'TENANTSCOPE_REF_DB', ...(json ? ['--json'] : [])], {
      home,
      env: { TENANTSCOPE_REF_PW: 'demo', TENANTSCOPE_REF_DB: crm.databaseUrl },
      ...opts,
    });
}
