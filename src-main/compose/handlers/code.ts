import { auditSource } from '../../codeaudit/codeAudit.ts';
import type { HandlersFor, Kernel } from '../kernel.ts';

type Channels = 'code:audit';

export function codeHandlers(k: Kernel): HandlersFor<Channels> {
  return {
    'code:audit': async ({ src, connection, afterMigration }) => {
      const catalog = connection ? k.connections.get(connection).catalog : undefined;
      const started = performance.now();
      return auditSource(src, {
        catalog,
        afterMigration,
        onProgress: (done, total) => {
          const secs = Math.max((performance.now() - started) / 1000, 0.001);
          k.bus.emit('onProgress', {
            task: 'code:audit',
            label: `Reading ${src}`,
            done,
            total,
            message: `${done} of ${total} files`,
            rate: Math.round(done / secs),
            etaSeconds: Math.ceil((total - done) / Math.max(done / secs, 0.001)),
          });
        },
      });
    },
  };
}
