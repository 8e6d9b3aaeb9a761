// The CLI door: `tenantscope <command>`. Each file under commands/ registers its commands on the
// root program as it is imported, in the order imported here (the order `--help` lists them).
import { EXIT } from './output.ts';
import { program } from './kit.ts';
import './commands/doctor.ts';
import './commands/connections.ts';
import './commands/catalog.ts';
import './commands/sync.ts';
import './commands/isolation.ts';
import './commands/audit.ts';
import './commands/migrate.ts';
import './commands/migrateBackup.ts';
import './commands/migrateRls.ts';
import './commands/cache.ts';
import './commands/code.ts';
import './commands/host.ts';

program.parseAsync().catch((e: Error) => {
  process.stderr.write(`error: ${e.message}\n`);
  process.exit(EXIT.failed);
});
