import type { CodeAuditResult, CodeFinding } from '../contract/code.ts';
import { mdBlock, mdCode, mdText } from '../markdown.ts';

type Severity = CodeFinding['severity'];
const ORDER: Severity[] = ['HIGH', 'MEDIUM', 'LOW'];

/** The findings at or above a severity (what `code audit --fail-on` fails on). */
export function codeAtOrAbove(findings: CodeFinding[], level: Severity): CodeFinding[] {
  return findings.filter((f) => ORDER.indexOf(f.severity) <= ORDER.indexOf(level));
}

/** The seed's Phase 2 "Files to update": per file, its findings by priority, most urgent file first. */
export function filesToUpdate(r: CodeAuditResult): Array<{ file: string; counts: Record<Severity, number>; handlers: string[] }> {
  const byFile = new Map<string, { file: string; counts: Record<Severity, number>; handlers: string[] }>();
  for (const f of r.findings) {
    if (!f.file) continue; // a leak no handler of the source serves
    const e = byFile.get(f.file) ?? { file: f.file, counts: { HIGH: 0, MEDIUM: 0, LOW: 0 }, handlers: [] };
    e.counts[f.severity]++;
    if (f.handler && !e.handlers.includes(f.handler)) e.handlers.push(f.handler);
    byFile.set(f.file, e);
  }
  return [...byFile.values()].sort((a, b) => b.counts.HIGH - a.counts.HIGH || b.counts.MEDIUM - a.counts.MEDIUM || a.file.localeCompare(b.file));
}

const SCOPING_WORD: Record<string, string> = {
  'by-company': 'by company',
  'by-user': 'by user only',
  'by-id': 'by id only',
  unscoped: 'unscoped',
  public: 'public (no user)',
  'no-queries': 'no tenant queries',
  'creates-only': 'creates only',
};

export function codeMarkdown(r: CodeAuditResult): string {
  const out: string[] = [];
  out.push(`# Source audit: ${mdText(r.root)}`, '');
  out.push(
    `${r.files} Python files (${r.lines.toLocaleString('en-US')} lines) read by ${mdText(r.analyzer)} on ${r.generatedAt.slice(0, 10)}: ${r.handlers.length} handlers, ${r.models.length} models, ${r.findings.length} findings (${r.counts.HIGH} HIGH, ${r.counts.MEDIUM} MEDIUM, ${r.counts.LOW} LOW).`,
    '',
  );
  if (r.isolation) {
    const by = (d: string) => r.findings.filter((f) => f.dynamic === d).length;
    out.push(
      `Checked against isolation run ${r.isolation.runId} of ${mdText(r.isolation.connection)} (${r.isolation.startedAt.slice(0, 16).replace('T', ' ')}): ${by('confirmed')} confirmed, ${by('refuted')} refuted, ${by('not-probed')} not probed; ${r.findings.filter((f) => f.kind === 'unexplained-leak').length} leaks the source does not explain.`,
      '',
    );
  }
  if (r.afterMigration) out.push('The fixes assume Phase 1 landed: every model has company_id and queries filter on it directly.', '');
  out.push('## Phase 2: files to update', '');
  const files = filesToUpdate(r);
  if (!files.length) out.push('None: every handler scopes tenant data by company.', '');
  else {
    out.push('| File | HIGH | MEDIUM | LOW | Handlers |', '|---|---:|---:|---:|---|');
    for (const f of files) out.push(`| ${mdCode(f.file)} | ${f.counts.HIGH} | ${f.counts.MEDIUM} | ${f.counts.LOW} | ${f.handlers.map(mdCode).join(', ')} |`);
    out.push('');
  }
  const dyn = !!r.isolation;
  out.push(
    '## Handlers',
    '',
    `| Method | Path | Handler | Resource · operation | Scoping | Guard |${dyn ? ' Runner |' : ''}`,
    `|---|---|---|---|---|---|${dyn ? '---|' : ''}`,
  );
  for (const h of r.handlers) {
    out.push(
      `| ${h.method} | ${mdCode(h.path)} | ${mdCode(`${h.handler}`)} ${mdText(`${h.file}:${h.line}`)} | ${mdText(h.resource ?? '–')} · ${h.operation} | ${SCOPING_WORD[h.scoping] ?? h.scoping} | ${h.guard === null ? '–' : h.guard ? 'yes' : 'no: company may be None'} |${dyn ? ` ${h.dynamic ?? '–'} |` : ''}`,
    );
  }
  out.push('');
  out.push('## Findings', '');
  for (const f of r.findings) {
    out.push(
      `### ${f.severity}: ${mdText(f.title)}`,
      '',
      `${mdCode(`${f.file}:${f.line}`)}`,
      '',
      `- **Does:** ${mdText(f.does)}`,
      `- **After:** ${mdText(f.after)}`,
      '',
    );
    if (f.diff) out.push(...mdBlock(f.diff.trimEnd(), 'diff'), '');
    else if (f.noFix) out.push(`No fix written: ${mdText(f.noFix)}.`, '');
  }
  if (r.skipped.length) {
    out.push('## Not read', '');
    for (const s of r.skipped) out.push(`- ${mdCode(s.path)}: ${mdText(s.reason)}`);
    out.push('');
  }
  return out.join('\n');
}

/** An absolute folder as a file: URI ending in "/" (SARIF's base for the findings' relative paths). */
function fileUri(folder: string): string {
  const p = folder.replace(/\\/g, '/');
  return 'file://' + encodeURI((p.startsWith('/') ? '' : '/') + p + (p.endsWith('/') ? '' : '/'));
}

/** SARIF 2.1.0 with physical locations, so that code scanning shows each finding on its line. */
export function codeSarif(r: CodeAuditResult): string {
  const kinds = [...new Set(r.findings.map((f) => f.kind))];
  const doc = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'TenantScope source audit', rules: kinds.map((k) => ({ id: k, shortDescription: { text: k.replace(/-/g, ' ') } })) } },
        originalUriBaseIds: { SRCROOT: { uri: fileUri(r.root) } },
        results: r.findings.map((f) => ({
          ruleId: f.kind,
          level: f.severity === 'HIGH' ? 'error' : f.severity === 'MEDIUM' ? 'warning' : 'note',
          message: { text: `${f.title}. ${f.does} ${f.after}` },
          locations: [{ physicalLocation: { artifactLocation: { uri: f.file, uriBaseId: 'SRCROOT' }, region: { startLine: f.line } } }],
          partialFingerprints: { finding: f.id },
          properties: { resource: f.resource, operation: f.operation, diff: f.diff, dynamic: f.dynamic, dynamicDetail: f.dynamicDetail },
        })),
      },
    ],
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
