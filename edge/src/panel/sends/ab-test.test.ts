import { describe, expect, it } from 'vitest';
import type { ReaderSummary } from '#shared/panel.ts';
import { type Baseline, armAt, armSendKey, countResults, decide, isRestSendKey, restSendKey, testedCount } from './ab-test.ts';

const reader = (key: string, opens = 0, clicks = 0) => ({ key, counters: { opens, clicks } }) as unknown as ReaderSummary;

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

describe('an A/B test\'s results', () => {
  const baselines: Baseline[] = [
    { key: 'a1', arm: 0, opens: 2, clicks: 0 }, { key: 'a2', arm: 0, opens: 0, clicks: 0 },
    { key: 'b1', arm: 1, opens: 1, clicks: 1 }, { key: 'b2', arm: 1, opens: 0, clicks: 0 },
  ];

  it('count recipients whose opens and clicks grew since the send, once each however much they grew', () => {
    const current = new Map([['a1', reader('a1', 2, 0)], ['a2', reader('a2', 5, 1)], ['b1', reader('b1', 2, 1)], ['b2', reader('b2', 1, 0)]]);
    expect(countResults(baselines, current, 2)).toEqual([
      { arm: 0, recipients: 2, humanOpens: 1, clicks: 1 },
      { arm: 1, recipients: 2, humanOpens: 2, clicks: 0 },
    ]);
  });

  it('count a recipient the directory no longer has as no change', () => {
    expect(countResults(baselines, new Map(), 2).map((r) => [r.recipients, r.humanOpens, r.clicks])).toEqual([[2, 0, 0], [2, 0, 0]]);
  });

  it('pick the arm with the higher human-open rate; no recipients, no winner', () => {
    const current = new Map([['b1', reader('b1', 3, 1)]]);
    expect(decide(baselines, current, 2).winner).toBe(1);
    expect(decide([], new Map(), 2)).toEqual({ results: [{ arm: 0, recipients: 0, humanOpens: 0, clicks: 0 }, { arm: 1, recipients: 0, humanOpens: 0, clicks: 0 }], winner: null });
  });
});
