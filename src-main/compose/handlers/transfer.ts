import { markImported } from '../../cache/queries/meta.ts';
import { exportTenant, importInto, readExport } from '../../data/tenantExport.ts';
import { recordOperator } from '../../session/offline.ts';
import { saveConnection, type HandlersFor, type Kernel } from '../kernel.ts';
import { caller, dataTenant, requireWholeCompany } from '../scope.ts';

type Channels = 'cache:export' | 'cache:import';

/** A tenant's cache sealed in one file for support staff on another machine, and opened there. */
export function transferHandlers(k: Kernel): HandlersFor<Channels> {
  return {
    'cache:export': async ({ tenant, passphrase }) => {
      requireWholeCompany(k, 'An export');
      const { s } = caller(k);
      const company = dataTenant(k, tenant);
      const name =
        k
          .session()
          .tenantsKnown()
          .find((t) => t.id === company)?.name ?? company;
      const { bytes, meta } = await exportTenant(
        (await k.cacheFor(s.connection)).raw,
        k.connections.get(s.connection),
        { id: company, name },
        passphrase,
        s.user.email,
      );
      const slug =
        name
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '-')
          .replace(/^-|-$/g, '') || 'tenant';
      return { fileName: `tenantscope-${slug}-${meta.exportedAt.slice(0, 10)}.tscopy`, data: bytes.toString('base64'), rows: meta.rows, bytes: bytes.length };
    },
    'cache:import': async ({ name, data, passphrase }) => {
      const opened = await readExport(Buffer.from(data, 'base64'), passphrase);
      try {
        const { meta } = opened;
        await saveConnection(
          k,
          { ...meta.profile, name, description: `${meta.tenant.name}, exported by ${meta.exportedBy} on ${meta.exportedAt.slice(0, 10)} (offline copy)` },
          { replace: false },
        );
        const raw = (await k.cacheFor(name)).raw;
        const rows = importInto(raw, opened.file, meta.tenant.id);
        markImported(raw, { tenant: meta.tenant.name, exportedBy: meta.exportedBy, exportedAt: meta.exportedAt });
        const user = { id: 'support', email: 'support', name: `Support (copy of ${meta.tenant.name})` };
        const draft = {
          connection: name,
          user,
          role: 'company_admin' as const,
          company: meta.tenant,
          canSwitchTenant: false,
          selectedTenant: meta.tenant.id,
          signedInAt: new Date().toISOString(),
          offline: true,
          dataAsOf: meta.dataAsOf,
        };
        await recordOperator(raw, 'support', draft, [meta.tenant], passphrase);
        const s = k.session().openOffline(name, { user, role: 'company_admin', company: meta.tenant, tenants: [meta.tenant], dataAsOf: meta.dataAsOf });
        k.status();
        return { connection: name, tenant: meta.tenant, rows, exportedBy: meta.exportedBy, exportedAt: meta.exportedAt, session: s };
      } finally {
        opened.cleanup();
      }
    },
  };
}
