// Edits into unified diffs that `git apply` takes: one per finding, and one for all of them.
import { structuredPatch } from 'diff';
import type { Edit } from './python/fix.ts';

/** A file's text with edits applied (later offsets first; an edit overlapping one already applied is left out, import lines once). */
export function applyEdits(text: string, edits: Edit[]): string {
  const seen = new Set<string>();
  const unique = edits.filter((e) => {
    const key = e.importLine ? `import:${e.text}` : `${e.start}:${e.end}:${e.text}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const sorted = unique.sort((a, b) => b.start - a.start || b.end - a.end);
  let out = text;
  let floor = Infinity;
  for (const e of sorted) {
    if (e.end > floor && e.start !== e.end) continue;
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
    floor = Math.min(floor, e.start);
  }
  return out;
}

/** A git-style unified diff of one file. */
export function fileDiff(path: string, before: string, after: string): string {
  if (before === after) return '';
  const p = structuredPatch(`a/${path}`, `b/${path}`, before, after, '', '', { context: 3 });
  const hunks = p.hunks.map((h) => `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@\n${h.lines.join('\n')}\n`).join('');
  return `diff --git a/${path} b/${path}\n--- a/${path}\n+++ b/${path}\n${hunks}`;
}

/** The diff of a set of edits over the files they touch. */
export function diffOf(edits: Edit[], textOf: (path: string) => string): string {
  const byFile = new Map<string, Edit[]>();
  for (const e of edits) byFile.set(e.file, [...(byFile.get(e.file) ?? []), e]);
  return [...byFile.keys()]
    .sort()
    .map((f) => fileDiff(f, textOf(f), applyEdits(textOf(f), byFile.get(f)!)))
    .join('');
}
