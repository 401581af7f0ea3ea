/**
 * Calls out of one invocation with a bound on how many are in flight. Many calls let go at once
 * (a shard asking a hundred readers for their state) are delivered together on the isolate's one
 * thread, and everything else that thread serves (a pixel's answer) queues behind them; a small
 * pool keeps the same work, spread. The pool belongs to the call that made it, never shared.
 */

/** `fn` over `items`, at most `limit` at a time; every outcome, in the items' order. */
export async function settleBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const outcomes = new Array<PromiseSettledResult<R>>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        outcomes[i] = { status: 'fulfilled', value: await fn(items[i]!) };
      } catch (reason) {
        outcomes[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return outcomes;
}
