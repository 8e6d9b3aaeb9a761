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
