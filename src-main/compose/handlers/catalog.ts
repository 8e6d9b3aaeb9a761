import { AppError } from '../../../src-shared/result.ts';
import { catalogDrift } from '../../catalog/drift.ts';
import { checkDrift, discover, parseCatalog } from '../../catalog/catalogService.ts';
import type { HandlersFor, Kernel } from '../kernel.ts';

type Channels = 'catalog:get' | 'catalog:discover' | 'catalog:save' | 'catalog:check';

export function catalogHandlers(k: Kernel): HandlersFor<Channels> {
  const { connections } = k;
  return {
    'catalog:get': ({ connection }) => {
      const profile = connections.get(connection);
      return { catalog: profile.catalog, editable: !profile.embedded };
    },
    'catalog:discover': async ({ connection, useDatabase, url, databaseUrl: givenDatabase, itemsField }) => {
      if (!connection) {
        // an address no connection holds yet (`tenantscope catalog discover --url`): nothing to compare with.
        // The CLI's only: a window discovers through connections:discover, and is no probe of other hosts
        if (k.opts.mode !== 'cli')
          throw new AppError(
            'forbidden',
            'Discovering a catalog from an address is for `tenantscope catalog discover`; in the console, add a connection (Connections → Discover).',
          );
        if (givenDatabase && !/^postgres(ql)?:\/\//.test(givenDatabase))
          throw new AppError('invalid-input', 'The database URL must start with postgres:// or postgresql://', { databaseUrl: 'a postgres:// URL' });
        const found = await discover({ url: url!, databaseUrl: givenDatabase || undefined, itemsField: itemsField ?? 'items' });
        return { catalog: found.catalog, drift: [], tenantsPath: found.tenantsPath, usedDatabase: found.usedDatabase };
      }
      await k.ensureCrm(connection);
      const profile = connections.get(connection);
      const databaseUrl = useDatabase ? connections.databaseUrl(connection) : undefined;
      const found = await discover({
        url: profile.baseUrl,
        openapiPath: profile.openapiPath,
        databaseUrl,
        itemsField: profile.paging.itemsField,
        saved: profile.catalog,
      });
      return { catalog: found.catalog, drift: catalogDrift(profile.catalog, found.catalog), tenantsPath: found.tenantsPath, usedDatabase: found.usedDatabase };
    },
    'catalog:save': ({ connection, catalog }) => {
      const profile = connections.get(connection);
      if (profile.embedded)
        throw new AppError('conflict', "The demo connection's catalog ships with the app; add a connection of your own to keep an edited catalog.");
      const parsed = parseCatalog(catalog);
      connections.save({ ...profile, catalog: parsed }, { replace: true }); // the same CRM: nothing is rebound
      return { catalog: parsed };
    },
    'catalog:check': async ({ connection, databaseUrl }) => {
      // a database address given here (not the connection's own) is tried with whatever it holds:
      // a super admin's to ask, so the check is no probe of other hosts or passwords from any window
      if (databaseUrl && k.opts.mode !== 'cli') {
        const s = k.session().current();
        if (!(s?.connection === connection && s.role === 'super_admin'))
          throw new AppError(
            'forbidden',
            `Checking the catalog against another database than the connection's own needs a super admin signed in to "${connection}".`,
          );
      }
      await k.ensureCrm(connection);
      const profile = connections.get(connection);
      const { drift } = await checkDrift(profile.catalog, {
        url: profile.baseUrl,
        openapiPath: profile.openapiPath,
        databaseUrl: databaseUrl ?? connections.databaseUrl(connection),
        itemsField: profile.paging.itemsField,
      });
      return { drift };
    },
  };
}
