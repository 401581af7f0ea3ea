import { describe, expect, it } from 'vitest';
import { DEFAULT_TAG_RULES, evaluateTags, matches, tagRulesSchema } from '#shared/tag-rules.ts';

describe('tag rule conditions', () => {
  const facts = { score: 0.5, topics: ['crypto'], 'trait.tier': 'premium', reads: 4 };

  it('compares numbers, strings, arrays and existence', () => {
    expect(matches({ fact: 'score', op: 'gte', value: 0.5 }, facts)).toBe(true);
    expect(matches({ fact: 'score', op: 'gt', value: 0.5 }, facts)).toBe(false);
    expect(matches({ fact: 'score', op: 'lt', value: 0.6 }, facts)).toBe(true);
    expect(matches({ fact: 'score', op: 'lte', value: 0.4 }, facts)).toBe(false);
    expect(matches({ fact: 'topics', op: 'contains', value: 'crypto' }, facts)).toBe(true);
    expect(matches({ fact: 'topics', op: 'contains', value: 'stocks' }, facts)).toBe(false);
    expect(matches({ fact: 'trait.tier', op: 'in', value: ['premium', 'pro'] }, facts)).toBe(true);
    expect(matches({ fact: 'trait.tier', op: 'ne', value: 'premium' }, facts)).toBe(false);
    expect(matches({ fact: 'trait.missing', op: 'exists' }, facts)).toBe(false);
    expect(matches({ fact: 'reads', op: 'exists' }, facts)).toBe(true);
    // A number rule on a string fact never holds, rather than coercing.
    expect(matches({ fact: 'trait.tier', op: 'gt', value: 1 }, facts)).toBe(false);
  });

  it('combines with all/any/not', () => {
    expect(matches({ all: [{ fact: 'reads', op: 'gte', value: 4 }, { not: { fact: 'score', op: 'gte', value: 0.9 } }] }, facts)).toBe(true);
    expect(matches({ any: [{ fact: 'reads', op: 'gte', value: 10 }, { fact: 'score', op: 'gte', value: 0.9 }] }, facts)).toBe(false);
  });

  it('validates rules as data and names the bad field', () => {
    expect(tagRulesSchema.safeParse(DEFAULT_TAG_RULES).success).toBe(true);
    const bad = tagRulesSchema.safeParse([{ tag: 'Bad Tag', when: { fact: 'score', op: 'gte' } }]);
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toContain('0.tag');
    expect(bad.error!.issues.some((i) => i.message.includes('value is required') || i.path.join('.').startsWith('0.when'))).toBe(true);
  });
});

describe('default tag rules', () => {
  const base = { score: 0, known: false, topics: [], reads: 0, clicks: 0, active_days_30: 0 };
  const tags = (f: Record<string, unknown>) => evaluateTags(DEFAULT_TAG_RULES, { ...base, ...f } as never);

  it('covers every tag the product promises', () => {
    expect(DEFAULT_TAG_RULES.map((r) => r.tag).sort()).toEqual([
      'active_clicker', 'consistent_reader', 'crypto_enthusiast', 'engaged_subscriber', 'high_engagement',
      'high_value', 'new_subscriber', 'options_trader', 'premium_subscriber', 'stock_focused',
    ]);
  });

  it('tags by engagement, habits, interests and backend traits', () => {
    expect(tags({ score: 0.75 })).toEqual(['high_engagement']);
    expect(tags({ score: 0.75, known: true, days_since_signup: 3 })).toEqual(['engaged_subscriber', 'high_engagement', 'new_subscriber']);
    expect(tags({ known: true, days_since_signup: 15 })).toEqual([]);
    expect(tags({ active_days_30: 8 })).toEqual(['consistent_reader']);
    expect(tags({ clicks: 3 })).toEqual(['active_clicker']);
    expect(tags({ topics: ['crypto', 'options'] })).toEqual(['crypto_enthusiast', 'options_trader']);
    // By reading share: 3 of 5 reads are stocks (60%), 2 of 5 options is too few reads.
    expect(tags({ reads: 5, 'reads.stocks': 3, 'read_share.stocks': 0.6, 'reads.options': 2, 'read_share.options': 0.4 })).toEqual(['stock_focused']);
    expect(tags({ 'trait.tier': 'pro', 'trait.lifetime_value': 500 })).toEqual(['high_value', 'premium_subscriber']);
    expect(tags({ 'trait.tier': 'free', 'trait.lifetime_value': 499 })).toEqual([]);
  });
});
