import type { Output } from '../contract.ts';
import { escapeHtml, markdownToSafeHtml, mdBlock, mdCode, mdText } from '../markdown.ts';
import { ALL } from '../partitions.ts';

type AuditResult = Output<'audit:run'>;
type Finding = AuditResult['findings'][number];
export type Severity = Finding['severity'];

/** most severe first */
export const SEVERITY_ORDER: Severity[] = ['HIGH', 'MEDIUM', 'LOW'];

/** The open findings at or above a severity (what `audit --fail-on` fails on). */
export function atOrAbove(findings: Finding[], level: Severity): Finding[] {
  const max = SEVERITY_ORDER.indexOf(level);
  return findings.filter((f) => !f.accepted && SEVERITY_ORDER.indexOf(f.severity) <= max);
}

const pct = (a: number, b: number) => (b ? Math.round((100 * a) / b) : 0);
const day = (iso: string) => new Date(iso).toLocaleDateString('en-US', { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' });

/**
 * The audit document in the seed's shape (models with and without company_id, priorities,
 * progress, next actions), dated, and generated from the measurements: every count adds up.
 */
export function auditMarkdown(a: AuditResult, connection: string): string {
  const withId = a.models.filter((m) => m.hasCompanyId);
  const without = a.models.filter((m) => !m.hasCompanyId);
  const group = (p: Severity) => without.filter((m) => (m.priority ?? 'HIGH') === p);
  const open = a.findings.filter((f) => !f.accepted);
  const lines: string[] = [
    `# Multi-Tenancy Audit: ${mdText(connection)}`,
    `## Date: ${day(a.generatedAt)}`,
    '',
    `Measured by TenantScope from the local cache${a.asOf ? `, data as of ${mdText(a.asOf)}` : ' (nothing synced yet)'}${a.scope === ALL ? '' : `, for company ${mdText(a.scope)} only`}. ${a.models.length} models, ${a.models.reduce((s, m) => s + m.rows, 0)} cached rows.`,
    '',
    '## Database Models Status',
    '',
    `### Models WITH \`company_id\` (${withId.length})`,
    ...withId.map((m, i) => `${i + 1}. **${mdText(m.resource)}**: ${m.rows} rows${m.missing ? `, **${m.missing} with company_id NULL**` : ', all filled'}`),
    '',
    `### Models MISSING \`company_id\` (${without.length})`,
  ];
  let n = withId.length;
  for (const p of ['HIGH', 'MEDIUM', 'LOW'] as Severity[]) {
    const ms = group(p);
    if (!ms.length) continue;
    lines.push('', `#### ${p} PRIORITY (${ms.length})`);
    for (const m of ms)
      lines.push(
        `${++n}. **${mdText(m.resource)}**: ${m.rows} rows; ${m.fillable} can be filled from their owner or parent${m.orphans ? `, **${m.orphans} orphans** need a person` : ''}`,
      );
  }
  lines.push(
    '',
    '## Progress Tracking',
    '',
    `- **Models migrated**: ${withId.length}/${a.models.length} (${pct(withId.length, a.models.length)}%)`,
    `- **Models pending**: ${without.length}/${a.models.length} (${pct(without.length, a.models.length)}%)`,
    `- **Rows still missing company_id**: ${a.progress.rowsMissing} (in the local cache, data as of ${a.asOf ?? 'never'}; \`tenantscope migrate audit\` counts the CRM's database)`,
    `- **Endpoints proven isolated**: ${a.progress.isolationRunId === null ? 'no isolation run yet' : `${a.progress.endpointsProven}/${a.progress.endpointsProbed} of the resources probed, each as its latest complete isolation run found it (up to run ${a.progress.isolationRunId})`}`,
    `- **Findings**: ${open.length} open (${a.counts.HIGH} HIGH, ${a.counts.MEDIUM} MEDIUM, ${a.counts.LOW} LOW)${a.findings.length - open.length ? `, ${a.findings.length - open.length} accepted` : ''}`,
  );
  if (a.diff)
    lines.push(
      `- **Since audit ${a.diff.previousRunId}**: ${a.diff.new.length} new, ${a.diff.fixed.length} fixed, ${a.diff.accepted.length} accepted, ${a.diff.stillOpen.length} still open`,
    );
  lines.push('', '## Findings', '');
  if (!a.findings.length) lines.push('None.');
  for (const f of a.findings) lines.push(...findingMarkdown(f));
  lines.push('', ...phase2Markdown(a));
  lines.push('', '## Next Immediate Actions', '');
  const actions = nextActions(a);
  lines.push(
    ...(actions.length ? actions.map((x, i) => `${i + 1}. ${x}`) : ['Nothing left: every model has company_id, every row is filled, and no finding is open.']),
    '',
  );
  return lines.join('\n');
}

function findingMarkdown(f: Finding): string[] {
  const out = [
    `### ${f.severity} · ${mdText(f.title)}${f.accepted ? ' (accepted)' : ''}`,
    '',
    `- id ${mdCode(f.id)}, check ${mdCode(f.check)}`,
    `- evidence: ${mdCode(f.evidence.path)}${f.evidence.ids.length ? `; ids ${f.evidence.ids.slice(0, 5).map(mdCode).join(', ')}${f.count > 5 ? ` and ${f.count - 5} more` : ''}` : ''}`,
    `- remediation: ${mdText(f.remediation)}`,
  ];
  if (f.accepted) out.push(`- accepted by ${mdText(f.accepted.by)} on ${mdText(f.accepted.at)}: ${mdText(f.accepted.reason)}`);
  if (f.sql) out.push('', ...mdBlock(f.sql, 'sql'));
  out.push('');
  return out;
}

function nextActions(a: AuditResult): string[] {
  const out: string[] = [];
  const open = a.findings.filter((f) => !f.accepted);
  const leaks = open.filter((f) => f.check === 'leak-evidence');
  if (leaks.length) out.push(`**NOW**: scope the endpoints that returned other companies' rows: ${leaks.map((f) => mdText(f.resource)).join(', ')}`);
  const crossing = open.filter((f) => f.check === 'cross-tenant-reference');
  if (crossing.length)
    out.push(`**NOW**: correct the references that cross companies: ${crossing.map((f) => `${mdText(f.resource)} (${f.count})`).join(', ')}`);
  for (const p of ['HIGH', 'MEDIUM', 'LOW'] as Severity[]) {
    const ms = open.filter((f) => f.check === 'missing-company-id' && f.severity === p).map((f) => mdText(f.resource));
    if (ms.length) out.push(`**${p === 'HIGH' ? 'TODAY' : p === 'MEDIUM' ? 'NEXT' : 'LATER'}**: add and fill company_id on ${ms.join(', ')}`);
  }
  const orphans = open.filter((f) => f.check === 'orphans');
  if (orphans.length)
    out.push(`Decide the company of ${orphans.reduce((s, f) => s + f.count, 0)} orphan rows (${orphans.map((f) => mdText(f.resource)).join(', ')})`);
  if (a.progress.isolationRunId === null) out.push('Run the isolation test (`tenantscope test`) to prove each endpoint');
  else if (a.progress.endpointsProven < a.progress.endpointsProbed)
    out.push(`Fix the ${a.progress.endpointsProbed - a.progress.endpointsProven} endpoints the isolation run did not prove, then run it again`);
  return out;
}

export function auditHtml(a: AuditResult, connection: string): string {
  // the values in it come from a CRM: nothing in them is markup, and nothing in the page runs
  const body = markdownToSafeHtml(auditMarkdown(a, connection));
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"><title>Multi-tenancy audit: ${escapeHtml(connection)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:900px;margin:2em auto;padding:0 1em;color:#1f2328}code,pre{background:#f4f5f7;border-radius:4px}pre{padding:10px;overflow:auto}h3{margin-top:1.6em}</style>
</head><body>\n${body}\n</body></html>\n`;
}

export function auditSarif(a: AuditResult): string {
  const checks = [...new Set(a.findings.map((f) => f.check))];
  return (
    JSON.stringify(
      {
        $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
        version: '2.1.0',
        runs: [
          {
            tool: {
              driver: {
                name: 'TenantScope audit',
                informationUri: 'https://github.com/',
                rules: checks.map((c) => ({ id: c, shortDescription: { text: c.replace(/-/g, ' ') } })),
              },
            },
            results: a.findings
              .filter((f) => !f.accepted)
              .map((f) => ({
                ruleId: f.check,
                level: f.severity === 'HIGH' ? 'error' : f.severity === 'MEDIUM' ? 'warning' : 'note',
                message: { text: `${f.title}. ${f.remediation}` },
                locations: [{ logicalLocations: [{ name: f.resource ?? f.check, fullyQualifiedName: f.evidence.path, kind: 'resource' }] }],
                partialFingerprints: { finding: f.id },
              })),
          },
        ],
      },
      null,
      2,
    ) + '\n'
  );
}

/** The seed's "Phase 2: Files to Update", from the last source audit of the backend (or how to get it). */
function phase2Markdown(a: AuditResult): string[] {
  const p = a.phase2;
  const out = ['## Phase 2: API Endpoints: Files to Update', ''];
  if (!p)
    return [
      ...out,
      "Not measured yet: `tenantscope code audit --src <backend folder> --connection <name>` (or the Audit view's Source code tab) lists them from the source.",
    ];
  out.push(
    `From the source audit of ${mdCode(p.root)} on ${day(p.generatedAt)}: ${p.findings} findings${p.isolationRunId === null ? '' : `, checked against isolation run #${p.isolationRunId}`}.`,
  );
  if (!p.files.length) return [...out, '', 'None: every handler scopes tenant data by company.'];
  const groups: Array<[string, typeof p.files]> = [
    ['Priority 1: Critical Endpoints', p.files.filter((f) => f.counts.HIGH)],
    ['Priority 2', p.files.filter((f) => !f.counts.HIGH && f.counts.MEDIUM)],
    ['Priority 3: Other Files', p.files.filter((f) => !f.counts.HIGH && !f.counts.MEDIUM)],
  ];
  let n = 0;
  for (const [title, files] of groups) {
    if (!files.length) continue;
    out.push('', `#### **${title}**`);
    for (const f of files) {
      const counts = SEVERITY_ORDER.filter((s) => f.counts[s]).map((s) => `${f.counts[s]} ${s}`);
      out.push(`${++n}. **${mdCode(f.file)}**: ${counts.join(', ')}${f.handlers.length ? ` (${f.handlers.map(mdCode).join(', ')})` : ''}`);
    }
  }
  return out;
}
