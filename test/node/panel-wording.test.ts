import { describe, expect, it } from 'vitest';
import { engagementLevel, tagLabel } from '../../widget/panel/wording.ts';

describe('panel wording', () => {
  it('reads tag names as words', () => {
    expect(tagLabel('crypto_enthusiast')).toBe('Crypto enthusiast');
    expect(tagLabel('high_engagement')).toBe('High engagement');
    expect(tagLabel('vip')).toBe('Vip');
    expect(tagLabel('__')).toBe('__');
  });

  it('gives the score as a level: low below 0.3, high from 0.7', () => {
    expect([0, 0.29, 0.3, 0.69, 0.7, 1].map(engagementLevel)).toEqual(['Low', 'Low', 'Medium', 'Medium', 'High', 'High']);
  });
});
