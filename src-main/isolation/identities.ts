import type { ConnectionProfile } from '../../src-shared/profile.ts';
import { AppError } from '../../src-shared/result.ts';
import { CrmClient } from '../crm/crmClient.ts';
import type { ProbeIdentity } from './isolationRunner.ts';

/**
 * Signs in every identity the connection names (password, or a pasted token), asks the CRM who
 * each is, and keeps the credentials in memory to sign in again when a token expires.
 */
export async function signInIdentities(profile: ConnectionProfile, secretFor: (label: string) => string | undefined): Promise<ProbeIdentity[]> {
  const client = new CrmClient(profile);
  if (!profile.identities.length) throw new AppError('invalid-input', `Connection "${profile.name}" names no identities to probe with: add a super admin, a company admin and a user in two companies, and a user with no company.`);
  return Promise.all(profile.identities.map(async (identity) => {
    const secret = secretFor(identity.label);
    if (!secret) throw new AppError('invalid-input', `No password or token for "${identity.label}"${identity.passwordEnv ? `: set ${identity.passwordEnv}` : identity.tokenEnv ? `: set ${identity.tokenEnv}` : ''}.`);
    const pasted = !identity.username || (identity.tokenEnv && !identity.passwordEnv);
    let token = pasted ? secret : (await client.signIn(identity.username!, secret)).token;
    const me = await client.whoami(token);
    return {
      label: identity.label, email: me.email, role: me.role, companyId: me.companyId, userId: me.id,
      token: () => token,
      refresh: async () => {
        if (pasted) throw new AppError('unauthenticated', `The pasted token of "${identity.label}" expired: paste a new one.`);
        return (token = (await client.signIn(identity.username!, secret)).token);
      },
    };
  }));
}
