// What the migrate commands print: the plan's table, a run's live progress on stderr, a verification
import type { Output } from '../../../src-shared/contract.ts';
import { bytes as mib } from '../../../src-shared/format.ts';
import { OTHER_COLUMNS, otherColumnsText } from '../../../src-shared/migration.ts';
import { call } from '../kit.ts';
import { table, type Out } from '../output.ts';
import type { Services } from '../../compose/services.ts';
import { progressRenderer } from '../progressBars.ts';

export function planSummary(
  plan: Output<'migrate:plan'>['plan'],
  preflight: Output<'migrate:plan'>['preflight'],
  costs: Output<'migrate:plan'>['triggerCost'] = [],
): string {
  const cost = (table: string) => costs.find((c) => c.table === table)?.ratio;
  return [
    table([
      ['phase', 'table', 'company from', 'rows', 'orphans', 'about', 'disk', ...(costs.length ? ['trigger cost'] : [])],
      ...plan.tables.map((t) => [
        String(t.phase),
        t.table,
        t.derivation.kind === 'owner' ? `owner ${t.derivation.field}` : `parent ${t.derivation.parentTable}.${t.derivation.field}`,
        String(t.rows),
        String(t.orphansPredicted),
        `${Math.max(1, Math.ceil(t.estimate.seconds))} s`,
        `+${mib(t.estimate.columnBytes + t.estimate.indexBytes)} (+${mib(t.estimate.transientBytes)} until vacuum)`,
        ...(costs.length ? [cost(t.table) ? `${cost(t.table)}×` : '–'] : []),
      ]),
    ]),
    `${plan.tables.length} tables, ${plan.steps.length} steps, ${plan.estimate.rows} rows; about ${Math.ceil(plan.estimate.seconds)} s of backfill and ${mib(plan.estimate.bytes)} more on disk.`,
    ...plan.skipped.filter((x) => !x.reason.endsWith('filled')).map((x) => `left as is: ${x.table}: ${x.reason}`),
    ...preflight.map((p) => `${p.level.toUpperCase()} ${p.message}`),
  ].join('\n');
}

/** Live progress bars and log lines of a run on stderr, and Ctrl+C as a pause; returns what stops them. */
export function watchRun(services: Services, out: Out): () => void {
  const bars = progressRenderer(process.stderr, 5000, 'rows');
  const offProgress = services.bus.on('onMigration', (p) => {
    const running = p.tables.filter((t) => t.status === 'running');
    bars.update({
      task: `migrate:${p.runId}`,
      label: `run ${p.runId} · step ${p.overall.stepsDone}/${p.overall.steps}`,
      done: p.overall.done,
      total: p.overall.total,
      message: p.message,
      rate: Math.round(p.overall.rate),
      etaSeconds: p.overall.etaSeconds === null ? null : Math.round(p.overall.etaSeconds),
      parts: running.map((t) => ({
        label: `${t.table} ${t.step ?? ''}`,
        done: t.done,
        total: t.total,
        rate: Math.round(t.rate),
        etaSeconds: t.etaSeconds === null ? null : Math.round(t.etaSeconds),
      })),
    });
  });
  const offLog = services.bus.on('onMigrationLog', (l) => {
    // why the run waits, and when it goes on, show on a terminal too
    if (process.env.TENANTSCOPE_VERBOSE || !process.stderr.isTTY || /: (waiting|going on after waiting) /.test(l.message)) out.info(l.message);
  });
  const pause = () => {
    out.info('Pausing after the batch in hand…');
    void call(services, 'migrate:control', { pause: true });
  };
  process.once('SIGINT', pause);
  return () => {
    process.off('SIGINT', pause);
    offProgress();
    offLog();
    bars.stop();
  };
}

export function verificationText(v: Output<'migrate:verify'>): string {
  return [
    table([
      ['table', 'rows', 'missing', 'orphans', 'index', 'foreign key', 'not null', OTHER_COLUMNS, 'problems'],
      ...v.tables.map((t) => [
        t.table,
        String(t.rows),
        String(t.missing),
        String(t.orphans.count),
        t.index,
        t.foreignKey,
        t.notNull,
        otherColumnsText(t.fingerprint, t.rows),
        t.problems.join('; ') || '–',
      ]),
    ]),
    ...v.tables
      .filter((t) => t.orphans.count)
      .map(
        (t) =>
          `orphans in ${t.table} (no owner or parent company): ${t.orphans.ids.join(', ')}${t.orphans.count > t.orphans.ids.length ? ` … and ${t.orphans.count - t.orphans.ids.length} more` : ''}`,
      ),
    v.ok
      ? `Run ${v.runId} verified: every row has company_id but the orphans listed; indexes, foreign keys and fingerprints as they should be.`
      : `Run ${v.runId} does NOT verify${v.fingerprintsEqual ? '' : ' (fingerprints differ: something other than the migration changed these tables, such as the application writing during the run)'}.`,
  ].join('\n');
}
