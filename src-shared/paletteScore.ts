// The command palette's ranking: pure, shared so that the fast tests read it without a browser.

/**
 * How well an entry answers what was typed (cmdk's filter; 0 hides it): the label whole, then its
 * start, a word's start, anywhere in it, a keyword, and last the letters in order (fuzzy). Every
 * word typed must be found.
 */
export function paletteScore(label: string, keywords: string[], typed: string): number {
  const words = typed.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return 1;
  const l = label.toLowerCase();
  const k = keywords.join(' ').toLowerCase();
  let total = 0;
  for (const w of words) {
    const s =
      l === w
        ? 1
        : l.startsWith(w)
          ? 0.9
          : new RegExp(`(^|[\\s_:·(-])${w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`).test(l)
            ? 0.8
            : l.includes(w)
              ? 0.6
              : k.includes(w)
                ? 0.4
                : subsequence(l, w)
                  ? 0.1
                  : 0;
    if (!s) return 0;
    total += s;
  }
  return total / words.length;
}

function subsequence(text: string, w: string): boolean {
  let i = 0;
  for (const c of text) if (c === w[i]) i++;
  return i === w.length;
}
