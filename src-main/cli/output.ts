/** CLI conventions: --json prints one JSON document on stdout; progress and logs go to stderr. */
import { createInterface } from 'node:readline/promises';

export const EXIT = { ok: 0, problem: 1, failed: 2 } as const;

export interface Out {
  json: boolean;
  /** the command's result: a JSON document, or the human text */
  result(doc: unknown, human: () => string): void;
  /** a report as text on stdout (Markdown, JUnit…), in place of result */
  text(text: string): void;
  info(line: string): void;
  /**
   * The one line a long command ends with, on stderr: said whenever stdout went elsewhere (a file,
   * a pipe, --json), not repeated under a result a person already sees on the terminal.
   */
  summary(line: string): void;
}

export function createOut(json: boolean, stdoutIsTerminal = !!process.stdout.isTTY): Out {
  let seen = false; // a person read the result on their terminal
  return {
    json,
    result(doc, human) {
      process.stdout.write(json ? JSON.stringify(doc, null, 2) + '\n' : human() + '\n');
      seen = !json && stdoutIsTerminal;
    },
    text(text) {
      process.stdout.write(text);
      seen = stdoutIsTerminal;
    },
    info(line) {
      process.stderr.write(line + '\n');
    },
    summary(line) {
      if (!seen) process.stderr.write(line + '\n');
    },
  };
}

/**
 * Asks before a destructive step, on a terminal only: `question [y/N]` (the question may be
 * built only then), no unless the answer is yes. `--yes` answers for the operator; off a terminal nobody can answer ('not-asked'), and the
 * caller decides (a rollback refuses, a resumable run goes on).
 */
export async function confirm(
  question: string | (() => Promise<string>),
  opts: { yes: boolean; input?: NodeJS.ReadableStream & { isTTY?: boolean }; output?: NodeJS.WritableStream },
): Promise<'yes' | 'no' | 'not-asked'> {
  if (opts.yes) return 'yes';
  const input = opts.input ?? process.stdin;
  if (!input.isTTY) return 'not-asked';
  // what the question needs (a run's number, say) is read only when someone will be asked it
  const text = typeof question === 'string' ? question : await question();
  const rl = createInterface({ input, output: opts.output ?? process.stderr });
  try {
    const answer = await rl.question(`${text} [y/N] `);
    return /^y(es)?$/i.test(answer.trim()) ? 'yes' : 'no';
  } finally {
    rl.close();
  }
}

/** A plain table for terminals. */
export function table(rows: string[][]): string {
  if (!rows.length) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
