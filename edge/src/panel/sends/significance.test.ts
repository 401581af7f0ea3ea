import { describe, expect, it } from 'vitest';
import { tooLittleData, twoProportionZ } from './significance.ts';

describe('A/B confidence', () => {
  it('gives a two-proportion z-test: a clear difference is near certain, an equal one is not', () => {
    // 30 % of 1,000 against 20 % of 1,000: z ≈ 5.16.
    const clear = twoProportionZ(300, 1000, 200, 1000)!;
    expect(clear.z).toBeCloseTo(5.16, 1);
    expect(clear.confidence).toBeGreaterThan(0.999);
    const same = twoProportionZ(50, 500, 50, 500)!;
    expect(same.z).toBe(0);
    expect(same.confidence).toBeCloseTo(0, 5);
    // 12 % of 200 against 8 % of 200: z ≈ 1.33, about 82 % confidence.
    const weak = twoProportionZ(24, 200, 16, 200)!;
    expect(weak.z).toBeCloseTo(1.33, 1);
    expect(weak.confidence).toBeCloseTo(0.817, 2);
    expect(twoProportionZ(3, 3, 0, 3)!.confidence).toBeLessThan(0.99); // the "3/3": not proof
  });

  it('has no figure for an empty arm or no variation at all', () => {
    expect(twoProportionZ(0, 0, 1, 10)).toBeNull();
    expect(twoProportionZ(0, 10, 0, 10)).toBeNull();
  });

  it('warns on small arms or few opens', () => {
    expect(tooLittleData([{ recipients: 4, humanOpens: 3 }, { recipients: 3, humanOpens: 0 }])).toMatch(/3 recipients/);
    expect(tooLittleData([{ recipients: 500, humanOpens: 5 }, { recipients: 500, humanOpens: 4 }])).toMatch(/only 9 human opens/);
    expect(tooLittleData([{ recipients: 500, humanOpens: 50 }, { recipients: 500, humanOpens: 40 }])).toBeNull();
  });
});
