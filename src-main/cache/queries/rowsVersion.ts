import type { OpenCache } from '../cacheDb.ts';

// Whether the cache's rows may have changed since a moment: what the Data view's position lists
// (data/positions.ts) are checked against. Writes the Data view makes for itself (an index made or
// marked used, a chunk of the search index) are not changes of the rows, and are run through
// ownWrite so that they do not throw those lists away.

type Raw = OpenCache['raw'];

const own = new WeakMap<Raw, number>();
const changesOf = (raw: Raw) => raw.prepare('SELECT total_changes()').pluck().get() as number;

/** Changes whenever this connection (but for ownWrite) or another process has written to the cache. */
export function rowsVersion(raw: Raw): string {
  return `${raw.pragma('data_version', { simple: true })}:${changesOf(raw) - (own.get(raw) ?? 0)}`;
}

/** Runs `write` without it counting as a change of the cache's rows. */
export function ownWrite<T>(raw: Raw, write: () => T): T {
  const before = changesOf(raw);
  try {
    return write();
  } finally {
    own.set(raw, (own.get(raw) ?? 0) + changesOf(raw) - before);
  }
}
