import { describe, expect, it } from 'vitest';
import { BUDGET, MAX_TOTAL_SHARE, callIntervalMs } from './budget.ts';

describe('the Customer.io budget', () => {
  it('never gives away more than 90 % of any limit', () => {
    for (const [api, shares] of Object.entries(BUDGET)) {
      const total = Object.values(shares).reduce((a, b) => a + b, 0);
      expect(total, api).toBeLessThanOrEqual(MAX_TOTAL_SHARE + 1e-9);
    }
  });

  it('spaces each caller so that every share at full speed stays under the limit in any second', () => {
    const limits = { trackPerSecond: 100, appPerSecond: 10 };
    const shards = 4;
    const trackCalls = shards * (1000 / callIntervalMs(limits, 'track', 'sync', shards)) + 1000 / callIntervalMs(limits, 'track', 'segmentMirror');
    const appCalls = (['backfill', 'directory', 'sends'] as const).reduce((sum, s) => sum + 1000 / callIntervalMs(limits, 'app', s), 0);
    expect(trackCalls).toBeLessThanOrEqual(90);
    expect(appCalls).toBeLessThanOrEqual(9);
    expect(callIntervalMs(limits, 'track', 'sync', 4)).toBe(48);
    expect(callIntervalMs(limits, 'app', 'sends')).toBe(400);
  });
});
