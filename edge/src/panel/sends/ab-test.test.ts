import { describe, expect, it } from 'vitest';
import { armAt, armSendKey, isRestSendKey, restSendKey, testedCount } from './ab-test.ts';

describe('an A/B test\'s arms', () => {
  it('split exactly: testShare of the readers, arm sizes differing by at most one, at least one reader per arm', () => {
    const sizes = (total: number, arms: number, share: number) => {
      const tested = testedCount(total, arms, share);
      const perArm = Array.from({ length: arms }, () => 0);
      let rest = 0;
      for (let i = 0; i < total; i++) {
        const arm = armAt(i, arms, tested);
        if (arm < 0) rest++;
        else perArm[arm]!++;
      }
      return { perArm, rest };
    };
    expect(sizes(7, 2, 0.5)).toEqual({ perArm: [2, 2], rest: 3 }); // the 7 readers at 50 %: 4 tested, not 3 against 1
    expect(sizes(12, 2, 0.6)).toEqual({ perArm: [4, 3], rest: 5 });
    expect(sizes(3, 3, 0.1)).toEqual({ perArm: [1, 1, 1], rest: 0 });
    expect(sizes(1, 2, 0.5)).toEqual({ perArm: [1, 0], rest: 0 });
    const big = sizes(100_001, 3, 0.3);
    expect(Math.max(...big.perArm) - Math.min(...big.perArm)).toBeLessThanOrEqual(1);
    expect(big.perArm.reduce((a, b) => a + b, 0) + big.rest).toBe(100_001);
  });

  it('are keyed per test, arm and rest', () => {
    expect(armSendKey('ab_x', 1)).toBe('ab:ab_x:arm1');
    expect(isRestSendKey(restSendKey('ab_x'))).toBe(true);
    expect(isRestSendKey(armSendKey('ab_x', 0))).toBe(false);
  });
});
