import { describe, expect, it } from 'vitest';
import type { Output } from '../../src-shared/contract.ts';
import { isolationSummary } from '../../src-shared/isolation.ts';
import { toJunit, toMarkdown, toSarif } from '../../src-shared/reports/isolation.ts';
import { noVerdicts, VERDICT_ORDER, VERDICTS, VerdictSchema, type Verdict } from '../../src-shared/tenancy.ts';

/** one probe a verdict, each on its own resource, as a run reports them */
function reportOf(verdicts: Verdict[]): Output<'isolation:run'> {
  const counts = noVerdicts();
  for (const v of verdicts) counts[v]++;
  return {
    runId: 7,
    readOnly: false,
    owner: 'Acme admin',
    identities: ['Globex admin'],
    resources: verdicts.map((v) => `res-${v}`),
    results: verdicts.map((v) => ({
      resource: `res-${v}`,
      identity: 'Globex admin',
      operation: 'read' as const,
      verdict: v,
      detail: `detail of ${v}`,
      evidence: [{ request: `GET /api/res-${v}/1`, status: 200, excerpt: '{}' }],
    })),
    counts,
    cleanup: { removed: 1, leftover: [] },
    complete: true,
    seconds: 1.5,
    overhead: 0,
    requests: verdicts.length,
  };
}

describe('the VERDICTS table is the one place a verdict is defined', () => {
  const report = reportOf(VERDICT_ORDER);
  const junit = toJunit(report);
  const sarif = JSON.parse(toSarif(report)) as {
    runs: Array<{
      tool: { driver: { rules: Array<{ id: string; defaultConfiguration: { level: string } }> } };
      results: Array<{ ruleId: string; level: string }>;
    }>;
  };
  const markdown = toMarkdown(report);
  const summary = isolationSummary({ probes: report.results.length, seconds: 1.5, counts: report.counts, cleanup: report.cleanup });

  for (const v of VERDICT_ORDER) {
    const info = VERDICTS[v];
    it(`${v}: the contract accepts it, and every report, count and summary takes it as its outcome "${info.outcome}" says`, () => {
      expect(VerdictSchema.parse(v)).toBe(v);
      expect(noVerdicts()[v]).toBe(0);
      expect(info.colour).not.toBe('');
      // JUnit: a failure, an error, a skip, or a plain passing case
      const testcase = new RegExp(`<testcase classname="isolation\\.res-${v}"[^>]*>(.*?)</testcase>`).exec(junit)?.[1];
      expect(testcase, junit).toBeDefined();
      const element = { fail: `<failure type="${v}"`, error: `<error type="${v}"`, skip: '<skipped', pass: '' }[info.outcome];
      if (element) expect(testcase).toContain(element);
      else expect(testcase).toBe('');
      // SARIF: a rule and a result exactly for the failing verdicts, at their level
      const rule = sarif.runs[0]!.tool.driver.rules.find((r) => r.id === v);
      const result = sarif.runs[0]!.results.find((r) => r.ruleId === v);
      if (info.outcome === 'fail') {
        expect(rule?.defaultConfiguration.level).toBe(info.sarifLevel);
        expect(result?.level).toBe(info.sarifLevel);
      } else {
        expect(rule).toBeUndefined();
        expect(result).toBeUndefined();
      }
      // Markdown: a column in the table, and a finding when it fails or errs
      expect(markdown.split('\n').find((l) => l.startsWith('| resource |'))).toContain(` ${v} `);
      expect(markdown.includes(`**${v}** res-${v}`)).toBe(info.outcome === 'fail' || info.outcome === 'error');
      // the run's one-line summary names what counts against a proof
      expect(summary.includes(`1 ${v}`)).toBe(info.proof === 'against');
    });
  }

  it('lists the verdicts worst first: a leak before anything else, the skipped last', () => {
    expect(VERDICT_ORDER[0]).toBe('leak');
    expect(VERDICT_ORDER.at(-1)).toBe('skipped');
    expect(VERDICT_ORDER.filter((v) => VERDICTS[v].proof === 'proves')).toEqual(['enforced']);
  });
});
