/**
 * Timestamps a CRM sends are compared as instants, not as strings: "…:20.5Z" and "…:20.52Z"
 * (PostgreSQL drops trailing zeros) or "+01:00" beside "Z" do not sort as text.
 */
const ISO = /^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d+))?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Microseconds since the epoch, or null when the text is not an ISO 8601 instant. */
export function instantOf(text: string): number | null {
  const m = ISO.exec(text.trim());
  if (!m) return null;
  const zone =
    !m[3] || m[3].toUpperCase() === 'Z' ? 'Z' : m[3].length === 3 ? `${m[3]}:00` : m[3].includes(':') ? m[3] : `${m[3].slice(0, 3)}:${m[3].slice(3)}`;
  const ms = Date.parse(`${m[1]!.replace(' ', 'T')}${zone}`);
  if (Number.isNaN(ms)) return null;
  const micros = Number(((m[2] ?? '') + '000000').slice(0, 6));
  return ms * 1000 + micros;
}

/** True when a is a later instant than b; texts that are not instants compare as text. */
export function isLater(a: string, b: string): boolean {
  const x = instantOf(a);
  const y = instantOf(b);
  return x !== null && y !== null ? x > y : a > b;
}

/**
 * The latest of many timestamps, each parsed once (a page of rows offers one each: comparing
 * pairs would parse the running latest again for every row). Texts that are not instants
 * compare as text, as in isLater.
 */
export class Latest {
  private text: string | null = null;
  /** the instant of `text`, parsed when a comparison first needs it */
  private at: number | null | undefined = undefined;

  offer(text: string): void {
    const cur = this.text;
    if (cur === null) {
      this.text = text;
      this.at = undefined;
      return;
    }
    // two UTC texts of one shape ("…T…Z", the same length) order as text: no parse (a sync offers a million)
    if (text.length === cur.length && text.endsWith('Z') && cur.endsWith('Z') && text[10] === cur[10] && text[16] === cur[16]) {
      if (text > cur) {
        this.text = text;
        this.at = undefined;
      }
      return;
    }
    const at = instantOf(text);
    if (this.at === undefined) this.at = instantOf(cur);
    if (at !== null && this.at !== null ? at > this.at : text > cur) {
      this.text = text;
      this.at = at;
    }
  }

  get value(): string | null {
    return this.text;
  }
}
