// tenantscope host: the console over HTTP on 127.0.0.1 (npm start's fallback without Electron)
import { resolveHome } from '../../core/home.ts';
import { createLogger } from '../../core/log.ts';
import { json, program } from '../kit.ts';
import { createOut, EXIT } from '../output.ts';

program
  .command('host')
  .description('Serve the console over HTTP on 127.0.0.1 (what npm start falls back to without Electron)')
  .option('--port <n>', 'port (default: any free port)', (v) => Number(v), 0)
  .option('--no-demo', 'do not start the demo CRM until it is used')
  .action(async (o: { port: number; demo: boolean }) => {
    const out = createOut(json());
    // loaded here, not when the CLI starts (tenantscope --help does not need the host)
    const [{ createServices }, { startHttpHost }] = await Promise.all([import('../../compose/services.ts'), import('../../host/httpHost.ts')]);
    const services = createServices({ home: resolveHome(), mode: 'browser', startDemo: o.demo, log: createLogger('tenantscope') });
    void startHttpHost(services, { port: o.port }).then(
      (host) => {
        process.stdout.write(`TENANTSCOPE_URL=${host.openUrl}\n`);
        out.info(`TenantScope is running at ${host.openUrl}\nOpen that address in your browser. Stop with Ctrl+C.`);
        const stop = async () => {
          await host.close().catch(() => {});
          await services.close();
          process.exit(0);
        };
        process.on('SIGINT', () => void stop());
        process.on('SIGTERM', () => void stop());
      },
      (e: Error) => {
        out.info(`error: the host could not start: ${e.message}`);
        process.exit(EXIT.failed);
      },
    );
  });
