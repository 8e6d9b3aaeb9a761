import cliProgress from 'cli-progress';
import type { EventPayload } from '../../src-shared/contract.ts';
import { count as fmt, duration as eta, fitLabel } from '../../src-shared/format.ts';

/** the width of a bar's label: long enough for "tenant · resource" and a migration step */
const LABEL = 34;

type Progress = EventPayload<'onProgress'>;

/**
 * Progress of long work on stderr: on a terminal, bars (overall and one a listing running, via
 * cli-progress); elsewhere (CI logs, a pipe), one plain line every few seconds.
 */
export function progressRenderer(stream: NodeJS.WriteStream = process.stderr, everyMs = 5000, unit = 'rows'): { update(p: Progress): void; stop(): void } {
  if (!stream.isTTY) {
    let last = 0;
    let latest: Progress | null = null;
    const line = (p: Progress) =>
      stream.write(
        `${fmt(p.done)}${p.total !== null ? ` of ${fmt(p.total)}` : ''} ${unit} · ${fmt(p.rate ?? 0)} ${unit}/s${p.etaSeconds != null ? ` · about ${eta(p.etaSeconds)} left` : ''} · ${p.label}\n`,
      );
    return {
      update(p) {
        latest = p;
        if (Date.now() - last < everyMs) return;
        last = Date.now();
        line(p);
      },
      stop() {
        if (latest && last) line(latest);
      },
    };
  }
  const multi = new cliProgress.MultiBar(
    {
      stream,
      hideCursor: true,
      clearOnComplete: false,
      autopadding: true,
      barsize: 20,
      format: ` {label} |{bar}| {value}/{total} ${unit} · {rate}/s · {left}`,
    },
    cliProgress.Presets.shades_classic,
  );
  const overall = multi.create(1, 0, { label: fitLabel('all', LABEL), rate: '0', left: '…' });
  const parts = new Map<string, cliProgress.SingleBar>();
  return {
    update(p) {
      overall.setTotal(Math.max(p.total ?? p.done, 1));
      overall.update(p.done, {
        label: fitLabel('all', LABEL),
        rate: fmt(p.rate ?? 0),
        left: p.total !== null ? `${eta(p.etaSeconds)} left` : (p.message ?? ''),
      });
      const running = new Set((p.parts ?? []).map((x) => x.label));
      for (const [label, bar] of parts) {
        if (running.has(label)) continue;
        multi.remove(bar);
        parts.delete(label);
      }
      for (const part of p.parts ?? []) {
        const payload = { label: fitLabel(part.label, LABEL), rate: fmt(part.rate), left: part.total !== null ? `${eta(part.etaSeconds)} left` : '' };
        let bar = parts.get(part.label);
        if (!bar) {
          bar = multi.create(Math.max(part.total ?? part.done, 1), part.done, payload);
          parts.set(part.label, bar);
        }
        bar.setTotal(Math.max(part.total ?? part.done, 1));
        bar.update(part.done, payload);
      }
    },
    stop() {
      multi.stop();
    },
  };
}
