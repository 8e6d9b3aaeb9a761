/** CLI conventions: --json prints one JSON document on stdout; progress and logs go to stderr. */
export const EXIT = { ok: 0, problem: 1, failed: 2 } as const;

export interface Out {
  json: boolean;
  /** the command's result: a JSON document, or the human text */
  result(doc: unknown, human: () => string): void;
  info(line: string): void;
}

export function createOut(json: boolean): Out {
  return {
    json,
    result(doc, human) {
      process.stdout.write(json ? JSON.stringify(doc, null, 2) + '\n' : human() + '\n');
    },
    info(line) {
      process.stderr.write(line + '\n');
    },
  };
}

/** A plain table for terminals. */
export function table(rows: string[][]): string {
  if (!rows.length) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
