import { describe, expect, it } from 'vitest';
import { settleBounded } from './bounded.ts';

describe('settleBounded', () => {
  it('runs at most `limit` at once and gives every outcome in the items\' order, failures included', async () => {
    let running = 0;
    let peak = 0;
    const outcomes = await settleBounded([30, 5, 20, 1, 10, 2, 8], 3, async (ms) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, ms));
      running--;
      if (ms === 20) throw new Error('twenty');
      return ms * 2;
    });
    expect(peak).toBe(3);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([60, 10, 'twenty', 2, 20, 4, 16]);
  });

  it('takes an empty list', async () => {
    expect(await settleBounded([], 4, async () => 1)).toEqual([]);
  });
});
