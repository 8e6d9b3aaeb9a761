/** How numbers read in the window and on the command line. */

/** 1,234,567 */
export const count = (n: number) => Math.round(n).toLocaleString('en-US');
/** "1 user", "2 users": a number and its noun, as a sentence says it */
export const counted = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** 42 s, 3 min 5 s, 2 h 10 min; '…' when not known yet; anything left is at least 1 s, never '0 s' */
export function duration(seconds: number | null | undefined): string {
  if (seconds == null) return '…';
  const s = seconds > 0 ? Math.max(1, Math.round(seconds)) : 0;
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** 26 KiB, 1.5 MiB, 2.10 GiB */
export const bytes = (b: number) =>
  b < 1048576 ? `${Math.max(1, Math.round(b / 1024))} KiB` : b < 1073741824 ? `${(b / 1048576).toFixed(1)} MiB` : `${(b / 1073741824).toFixed(2)} GiB`;

/**
 * A label in a column of `width` characters: whole when it fits, else cut after its last whole
 * word (or `·`/`/` part) with an ellipsis, never in the middle of a word when a break is near.
 */
export function fitLabel(label: string, width: number): string {
  if (label.length <= width) return label.padEnd(width);
  const room = label.slice(0, width - 1);
  const cut = Math.max(room.lastIndexOf(' '), room.lastIndexOf('/'), room.lastIndexOf('·'));
  const kept = (cut >= width / 2 ? room.slice(0, cut) : room).trimEnd();
  return `${kept}…`.padEnd(width);
}

/** An ISO 8601 instant with a time, as CRMs send timestamps (2026-01-05T20:40:00Z, …+02:00, …123456Z). */
export const isInstant = (v: unknown): v is string =>
  typeof v === 'string' && /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(v) && !Number.isNaN(Date.parse(v));

// made once: a formatter made per call costs about a third of a millisecond, and a grid shows hundreds of times
let formats: { full: Intl.DateTimeFormat; medium: Intl.DateTimeFormat; time: Intl.DateTimeFormat; clock: Intl.DateTimeFormat } | null = null;
const fmt = () =>
  (formats ??= {
    full: new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'long' }),
    medium: new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }),
    time: new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' }),
    clock: new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit', second: '2-digit' }),
  });

/** A local time of day with seconds (a log's lines). */
export const clockTime = (iso: string) => (Number.isNaN(Date.parse(iso)) ? iso : fmt().clock.format(new Date(iso)));

/**
 * How an instant reads in the window, the one way every view shows a time: recent ones relative
 * ("just now", "5 min ago", "3 h ago", "in 2 min"), yesterday's with its time, older ones as a local
 * date and time; `exact` is the full local time with the instant as the CRM sent it, for hovering.
 */
export function when(iso: string, now = Date.now()): { text: string; exact: string } {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return { text: iso, exact: iso };
  const d = new Date(at);
  const exact = `${fmt().full.format(d)} · ${iso}`;
  const ago = (now - at) / 1000;
  const time = fmt().time.format(d);
  const yesterday = new Date(now);
  yesterday.setDate(yesterday.getDate() - 1);
  let text: string;
  if (ago >= -45 && ago < 45) text = 'just now';
  else if (ago < 0 && ago > -3600) text = `in ${Math.round(-ago / 60)} min`;
  else if (ago > 0 && ago < 3600) text = `${Math.round(ago / 60)} min ago`;
  else if (ago > 0 && ago < 12 * 3600) text = `${Math.round(ago / 3600)} h ago`;
  else if (d.toDateString() === yesterday.toDateString()) text = `yesterday at ${time}`;
  else text = fmt().medium.format(d);
  return { text, exact };
}
