/** How `inTurns` runs a list of items. */
export interface Turns<T> {
  /** items run at once at most */
  width: number;
  /** the items an item waits for: those of them before it in the order must have ended first */
  waitsFor(item: T): T[];
  /** runs one item; `halt` is aborted when another item's failure ends the turns */
  run(item: T, halt: AbortSignal): Promise<void>;
  /** called as an item begins, with the items still waiting after it in the order, and `halt` */
  beginning?(item: T, waiting: readonly T[], halt: AbortSignal): void;
  /** a failure that ends the turns before the next item begins (a cancel), else null */
  stopped?(): unknown;
}

/**
 * Runs every item of `order`, `width` at a time, each once the items before it that it waits for
 * have ended; among the items ready, the first in the order begins first. The first failure (of an
 * item, or `stopped`) begins no other item and aborts `halt` for the ones running, which are
 * waited for. Answers the items begun, in the order, and that failure.
 */
export async function inTurns<T>(order: readonly T[], t: Turns<T>): Promise<{ begun: T[]; failure: { error: unknown } | null }> {
  const pending = [...order];
  const ended = new Set<T>();
  const begun = new Set<T>();
  const running = new Set<Promise<void>>();
  const halt = new AbortController();
  let failure: { error: unknown } | null = null;
  const fail = (error: unknown) => {
    failure ??= { error };
    halt.abort();
  };
  // an item waits only for items before it: a cycle in what waits for what cannot stop the turns
  const ready = (item: T) => t.waitsFor(item).every((w) => order.indexOf(w) >= order.indexOf(item) || ended.has(w));
  while ((pending.length && !failure) || running.size) {
    const stop = failure ? null : t.stopped?.();
    if (stop) fail(stop);
    while (!failure && running.size < t.width) {
      const next = pending.findIndex(ready);
      if (next < 0) break;
      const [item] = pending.splice(next, 1) as [T];
      t.beginning?.(item, pending, halt.signal);
      begun.add(item);
      const turn: Promise<void> = t
        .run(item, halt.signal)
        .catch(fail)
        .finally(() => {
          ended.add(item);
          running.delete(turn);
        });
      running.add(turn);
    }
    if (running.size) await Promise.race(running);
  }
  return { begun: order.filter((x) => begun.has(x)), failure };
}
