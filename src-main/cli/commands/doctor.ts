// tenantscope doctor: what this machine has and lacks
import { resolveHome } from '../../core/home.ts';
import { json, program, run } from '../kit.ts';
import { EXIT, table } from '../output.ts';

program
  .command('doctor')
  .description('Check this machine: Node, the native SQLite module, Chromium, Electron, and that the demo CRM starts')
  .option('--no-demo', 'skip starting the demo CRM')
  .action((o: { demo: boolean }) =>
    run(json(), async (out) => {
      const { runDoctor } = await import('../../compose/doctor.ts');
      const checks = await runDoctor({ home: resolveHome(), demo: o.demo, log: json() ? () => {} : (l) => out.info(l) });
      const ok = checks.every((c) => c.status !== 'fail');
      out.result({ ok, checks }, () => table(checks.map((c) => [c.status.toUpperCase(), c.name, c.message])));
      return ok ? EXIT.ok : EXIT.problem;
    }),
  );
