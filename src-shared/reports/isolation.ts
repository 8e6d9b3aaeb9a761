import type { Output } from '../contract.ts';
import { mdCode, mdText } from '../markdown.ts';
import { VERDICT_ORDER, VERDICTS, verdictsWhere, type Verdict } from '../tenancy.ts';

type IsolationReport = Output<'isolation:run'>;
type ProbeResult = IsolationReport['results'][number];

const xml = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
const FAILING = verdictsWhere((v) => v.outcome === 'fail');
const evidenceText = (r: ProbeResult) => r.evidence.map((e) => `${e.request} -> ${e.status} ${e.excerpt}`).join('\n');

/** JUnit XML: a suite a resource, a case a (identity, operation); the verdicts whose outcome is 'fail' fail. */
export function toJunit(report: IsolationReport): string {
  const suites = report.resources.map((resource) => {
    const rs = report.results.filter((r) => r.resource === resource);
    const cases = rs.map((r) => {
      const name = xml(`${r.identity} · ${r.operation}`);
      const outcome = VERDICTS[r.verdict].outcome;
      const body =
        outcome === 'fail'
          ? `<failure type="${r.verdict}" message="${xml(r.detail)}">${xml(evidenceText(r))}</failure>`
          : outcome === 'error'
            ? `<error type="${r.verdict}" message="${xml(r.detail)}">${xml(evidenceText(r))}</error>`
            : outcome === 'skip'
              ? `<skipped message="${xml(r.detail)}"/>`
              : '';
      return `    <testcase classname="isolation.${xml(resource)}" name="${name}">${body}</testcase>`;
    });
    const count = (v: Verdict[]) => rs.filter((r) => v.includes(r.verdict)).length;
    return `  <testsuite name="isolation.${xml(resource)}" tests="${rs.length}" failures="${count(FAILING)}" errors="${count(verdictsWhere((v) => v.outcome === 'error'))}" skipped="${count(verdictsWhere((v) => v.outcome === 'skip'))}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="TenantScope isolation run ${report.runId}" tests="${report.results.length}">\n${suites.join('\n')}\n</testsuites>\n`;
}

/** SARIF 2.1.0: one result a failing probe (leak, suspect, existence oracle…), located at the resource and operation. */
export function toSarif(report: IsolationReport): string {
  const rules = FAILING.map((v) => ({
    id: v,
    shortDescription: { text: VERDICTS[v].meaning },
    defaultConfiguration: { level: VERDICTS[v].sarifLevel ?? 'warning' },
  }));
  const results = report.results
    .filter((r) => FAILING.includes(r.verdict))
    .map((r) => ({
      ruleId: r.verdict,
      level: VERDICTS[r.verdict].sarifLevel ?? 'warning',
      message: { text: `${r.resource} · ${r.identity} · ${r.operation}: ${r.detail}\n${evidenceText(r)}` },
      locations: [{ logicalLocations: [{ name: r.operation, fullyQualifiedName: `${r.resource}/${r.operation}`, kind: 'function' }] }],
      partialFingerprints: { probe: `${r.resource}/${r.identity}/${r.operation}/${r.verdict}` },
    }));
  return (
    JSON.stringify(
      {
        $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
        version: '2.1.0',
        runs: [{ tool: { driver: { name: 'TenantScope', informationUri: 'https://github.com/', rules } }, results }],
      },
      null,
      2,
    ) + '\n'
  );
}

/** Markdown: the verdicts a resource, then every failing probe with its evidence. */
export function toMarkdown(report: IsolationReport): string {
  const verdicts = VERDICT_ORDER;
  const lines = [
    `# Isolation run ${report.runId}`,
    '',
    `Canaries owned by **${mdText(report.owner)}**, probed as ${report.identities.map(mdText).join(', ')}${report.readOnly ? ' (read-only)' : ''}. ` +
      `${report.results.length} probes in ${report.seconds.toFixed(1)} s${report.complete ? '' : '; **the run did not complete**'}.`,
    '',
    `| resource | ${verdicts.join(' | ')} |`,
    `|---|${verdicts.map(() => '---:').join('|')}|`,
    ...report.resources.map(
      (res) => `| ${mdText(res)} | ${verdicts.map((v) => report.results.filter((r) => r.resource === res && r.verdict === v).length || '').join(' | ')} |`,
    ),
    `| **all** | ${verdicts.map((v) => `**${report.counts[v]}**`).join(' | ')} |`,
    '',
  ];
  const failing = report.results.filter((r) => VERDICTS[r.verdict].outcome === 'fail' || VERDICTS[r.verdict].outcome === 'error');
  if (failing.length) {
    lines.push('## Findings', '');
    for (const r of failing)
      lines.push(
        `- **${r.verdict}** ${mdText(r.resource)} · ${mdText(r.identity)} · ${r.operation}: ${mdText(r.detail)}`,
        ...r.evidence.map((e) => `  - ${mdCode(e.request)} → ${e.status}`),
      );
    lines.push('');
  }
  lines.push(
    `Cleanup: ${report.cleanup.removed} canary records removed${report.cleanup.leftover.length ? `; **${report.cleanup.leftover.length} could not be removed**: ${report.cleanup.leftover.map((l) => `${mdText(l.resource)} ${mdText(l.id ?? l.marker)} (${mdText(l.note)})`).join('; ')}` : ', none left'}.`,
    '',
  );
  return lines.join('\n');
}
