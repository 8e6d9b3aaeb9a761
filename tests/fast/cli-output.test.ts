import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { confirm, createOut } from '../../src-main/cli/output.ts';
import { fitLabel } from '../../src-shared/format.ts';

/** The CLI asks before a destructive step on a terminal, and says how a long command ended when its output went elsewhere. */

function terminal(answer: string | null) {
  const input = Object.assign(new PassThrough(), { isTTY: true });
  const output = new PassThrough();
  let asked = '';
  output.on('data', (d) => (asked += d));
  if (answer !== null) setTimeout(() => input.write(`${answer}\n`), 10);
  return { input, output, asked: () => asked };
}

describe('confirm', () => {
  it('asks on a terminal and takes only yes for yes', async () => {
    for (const [answer, expected] of [
      ['y', 'yes'],
      ['YES', 'yes'],
      ['', 'no'],
      ['n', 'no'],
      ['maybe', 'no'],
    ] as const) {
      const t = terminal(answer);
      expect(await confirm('Roll back run 2?', { yes: false, input: t.input, output: t.output }), answer).toBe(expected);
      expect(t.asked()).toBe('Roll back run 2? [y/N] ');
    }
  });

  it('--yes answers for the operator, and off a terminal nobody is asked', async () => {
    const t = terminal(null);
    expect(await confirm('Roll back run 2?', { yes: true, input: t.input, output: t.output })).toBe('yes');
    expect(t.asked()).toBe('');
    const pipe = Object.assign(new PassThrough(), { isTTY: false });
    expect(await confirm('Roll back run 2?', { yes: false, input: pipe })).toBe('not-asked');
    // what a question would need is not even read when nobody is asked it
    let built = 0;
    const question = async () => {
      built++;
      return 'Roll back run 2?';
    };
    expect(await confirm(question, { yes: false, input: pipe })).toBe('not-asked');
    expect(await confirm(question, { yes: true, input: pipe })).toBe('yes');
    expect(built).toBe(0);
    const t2 = terminal('y');
    expect(await confirm(question, { yes: false, input: t2.input, output: t2.output })).toBe('yes');
    expect(built).toBe(1);
    expect(t2.asked()).toBe('Roll back run 2? [y/N] ');
  });
});

describe('the closing summary', () => {
  it('goes to stderr when the result went to a file or a pipe, and is not repeated under a result on the terminal', () => {
    const written: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    const stdout = process.stdout.write.bind(process.stdout);
    process.stderr.write = ((chunk: string) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      const piped = createOut(false, false);
      piped.text('# report\n');
      piped.summary('3 probes: 1 leak');
      const onTerminal = createOut(false, true);
      onTerminal.text('# report\n');
      onTerminal.summary('not repeated');
      const asJson = createOut(true, true);
      asJson.result({ ok: true }, () => 'unused');
      asJson.summary('after the JSON');
    } finally {
      process.stderr.write = original;
      process.stdout.write = stdout;
    }
    expect(written).toEqual(['3 probes: 1 leak\n', 'after the JSON\n']);
  });
});

describe('progress labels', () => {
  it('fit their column whole, or cut after a whole word with an ellipsis', () => {
    expect(fitLabel('Acme · calls', 20)).toBe('Acme · calls        ');
    expect(fitLabel('Globex Corporation · document_signatures', 34)).toBe('Globex Corporation ·…'.padEnd(34));
    expect(fitLabel('document_signatures backfill batch', 26)).toBe('document_signatures…'.padEnd(26));
    // one long word is cut where it must be
    expect(fitLabel('a_table_name_longer_than_the_column', 20)).toBe('a_table_name_longer…');
    for (const l of ['Acme Corporation · contacts', 'x'.repeat(80), 'run 12 · step 3/18 · calls backfill']) expect(fitLabel(l, 26)).toHaveLength(26);
  });
});
