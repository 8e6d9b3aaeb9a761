import { Marked } from 'marked';

/**
 * Markdown and HTML built from values a CRM supplied (resource names, ids, request paths, reasons):
 * a value is text, never markup. Shared by the audit and isolation reports.
 */

/**
 * A value as Markdown text: the characters that would start a code span, a link, emphasis, a
 * table cell or raw HTML are escaped (an underscore inside a word is left alone: GFM keeps it).
 */
export function mdText(value: unknown): string {
  return String(value ?? '')
    .replace(/[\\`*[\]<>|]/g, '\\$&')
    .replace(/\r?\n/g, ' ');
}

/** A value as a Markdown code span: fenced with more backticks than it holds, so it cannot end the span. */
export function mdCode(value: unknown): string {
  const s = String(value ?? '').replace(/\r?\n/g, ' ');
  const run = Math.max(0, ...[...s.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(run + 1);
  const pad = s.startsWith('`') || s.endsWith('`') || run ? ' ' : '';
  return `${fence}${pad}${s}${pad}${fence}`;
}

/** A fenced code block that the value cannot close. */
export function mdBlock(value: string, lang = ''): string[] {
  const run = Math.max(2, ...[...value.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(run + 1);
  return [`${fence}${lang}`, value, fence];
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const safe = new Marked({
  async: false,
  renderer: {
    // raw HTML in the Markdown is shown as text, never parsed
    html: ({ text }) => escapeHtml(text),
    // links only to web and mail addresses; images as their alt text (no requests out of a report)
    link({ href, tokens }) {
      const text = this.parser.parseInline(tokens);
      return /^(https?:|mailto:|#)/i.test(href) ? `<a href="${escapeHtml(href)}" rel="noopener noreferrer">${text}</a>` : text;
    },
    image: ({ text }) => escapeHtml(text),
  },
});

/** Markdown as HTML in which nothing runs: raw HTML escaped, only http(s) and mail links, no images. */
export function markdownToSafeHtml(markdown: string): string {
  return safe.parse(markdown) as string;
}
