import { describe, expect, it } from 'vitest';
import {
  WINNER_RULE, abArm, cioIdentifier, describeRule, fillTemplate, inSegment, pickWinner, segmentRuleSchema, sendKey, sendRequestSchema, variationData,
} from '#shared/panel.ts';

const reader = (key: string, tags: string[], score: number, facts: Record<string, unknown> = {}) =>
  ({ key, tags, score, facts: facts as Record<string, string | number | boolean> });

describe('segment rules', () => {
  const rule = segmentRuleSchema.parse({ all: [
    { fact: 'tags', op: 'contains', value: 'premium_subscriber' },
    { any: [{ fact: 'tags', op: 'contains', value: 'crypto_enthusiast' }, { fact: 'trait.lifetime_value', op: 'gt', value: 500 }] },
    { not: { fact: 'email', op: 'contains', value: '@competitor.com' } },
    { fact: 'score', op: 'gte', value: 0.3 },
  ] });

  it('combines and/or/not over tags, traits and the score', () => {
    const none = new Map<string, 'add' | 'remove'>();
    expect(inSegment(reader('e:a', ['premium_subscriber', 'crypto_enthusiast'], 0.5, { email: 'a@x.com' }), rule, none)).toBe(true);
    expect(inSegment(reader('e:b', ['premium_subscriber'], 0.5, { email: 'b@x.com', 'trait.lifetime_value': 900 }), rule, none)).toBe(true);
    expect(inSegment(reader('e:c', ['premium_subscriber'], 0.5, { email: 'c@x.com', 'trait.lifetime_value': 100 }), rule, none)).toBe(false);
    expect(inSegment(reader('e:d', ['premium_subscriber', 'crypto_enthusiast'], 0.29, {}), rule, none)).toBe(false);
    expect(inSegment(reader('e:e', ['premium_subscriber', 'crypto_enthusiast'], 0.9, { email: 'e@competitor.com' }), rule, none)).toBe(false);
  });

  it('lets manual additions and removals override the rule', () => {
    const manual = new Map<string, 'add' | 'remove'>([['e:in', 'remove'], ['e:out', 'add']]);
    expect(inSegment(reader('e:in', ['premium_subscriber', 'crypto_enthusiast'], 0.9), rule, manual)).toBe(false);
    expect(inSegment(reader('e:out', [], 0), rule, manual)).toBe(true);
    expect(inSegment(reader('e:x', [], 0), null, new Map())).toBe(false);
  });

  it('supports eq, ne, lt, lte and exists, and refuses a comparison without a value', () => {
    const facts = { 'trait.tier': 'pro', reads: 4 };
    const check = (r: unknown) => inSegment(reader('k', [], 0, facts), segmentRuleSchema.parse(r), new Map());
    expect(check({ fact: 'trait.tier', op: 'eq', value: 'pro' })).toBe(true);
    expect(check({ fact: 'trait.tier', op: 'ne', value: 'pro' })).toBe(false);
    expect(check({ fact: 'reads', op: 'lt', value: 5 })).toBe(true);
    expect(check({ fact: 'reads', op: 'lte', value: 3 })).toBe(false);
    expect(check({ fact: 'trait.company', op: 'exists' })).toBe(false);
    expect(segmentRuleSchema.safeParse({ fact: 'reads', op: 'gt' }).success).toBe(false);
  });

  it('reads as a sentence', () => {
    expect(describeRule(rule)).toBe('tag premium_subscriber and (tag crypto_enthusiast or trait.lifetime_value > 500) and not email contains @competitor.com and score ≥ 0.3');
    expect(describeRule(null)).toBe('manual only');
  });

  it('names a reader to Customer.io by id when the backend gave one, else by email', () => {
    expect(cioIdentifier({ userId: 'u1', email: 'a@x.com' })).toEqual({ idType: 'id', value: 'u1' });
    expect(cioIdentifier({ userId: null, email: 'a@x.com' })).toEqual({ idType: 'email', value: 'a@x.com' });
    expect(cioIdentifier({ userId: null, email: null })).toBeNull();
  });
});

describe('variations', () => {
  it('fills customer fields with defaults for the preview', () => {
    expect(fillTemplate('Hi {{ customer.first_name | default: "reader" }}, {{customer.email}}', { email: 'a@x.com' })).toBe('Hi reader, a@x.com');
    expect(fillTemplate('Hi {{ customer.first_name | default: "reader" }}', { first_name: 'Ada' })).toBe('Hi Ada');
  });

  it('turns a variation into trigger data and a stable idempotency key', () => {
    const v = { id: 'v1', subject: 'S', preheader: 'P', blocks: [{ kind: 'paragraph' as const, text: 'T' }], cta: { label: 'Go', url: 'https://x.com' } };
    expect(variationData(v)).toEqual({ variation: 'v1', subject: 'S', preheader: 'P', blocks: v.blocks, cta_label: 'Go', cta_url: 'https://x.com' });
    expect(sendKey(1, 'draft-1234', 'v1')).toBe(sendKey(1, 'draft-1234', 'v1'));
    expect(sendKey(1, 'draft-1234', 'v1')).not.toBe(sendKey(2, 'draft-1234', 'v1'));
    expect(sendRequestSchema.safeParse({ draftId: 'draft-1234', broadcastId: 1, variations: [{ ...v, segmentId: '1' }, { ...v, segmentId: '2' }] }).success).toBe(false);
  });
});

describe('A/B tests', () => {
  it('assigns each reader to the same arm every time, evenly, within the test share', () => {
    const keys = Array.from({ length: 4000 }, (_, i) => `e:reader${i}@example.com`);
    const arms = keys.map((k) => abArm('ab_test1', k, 2, 0.5));
    expect(keys.map((k) => abArm('ab_test1', k, 2, 0.5))).toEqual(arms);
    const count = (arm: number) => arms.filter((a) => a === arm).length;
    expect(count(-1) / keys.length).toBeCloseTo(0.5, 1);
    expect(count(0) / keys.length).toBeCloseTo(0.25, 1);
    expect(count(1) / keys.length).toBeCloseTo(0.25, 1);
    // Another test splits the same readers differently.
    expect(keys.map((k) => abArm('ab_test2', k, 2, 0.5))).not.toEqual(arms);
    expect(keys.every((k) => abArm('ab_x', k, 3, 1) >= 0)).toBe(true);
  });

  it('picks the highest human-open rate, then more clicks, then the first arm', () => {
    expect(WINNER_RULE).toMatch(/human-open rate/);
    expect(pickWinner([{ arm: 0, recipients: 10, humanOpens: 2, clicks: 5 }, { arm: 1, recipients: 10, humanOpens: 4, clicks: 0 }])).toBe(1);
    // A rate, not a raw count: 3 of 5 beats 4 of 10.
    expect(pickWinner([{ arm: 0, recipients: 10, humanOpens: 4, clicks: 0 }, { arm: 1, recipients: 5, humanOpens: 3, clicks: 0 }])).toBe(1);
    expect(pickWinner([{ arm: 0, recipients: 10, humanOpens: 4, clicks: 1 }, { arm: 1, recipients: 10, humanOpens: 4, clicks: 2 }])).toBe(1);
    expect(pickWinner([{ arm: 0, recipients: 10, humanOpens: 4, clicks: 2 }, { arm: 1, recipients: 10, humanOpens: 4, clicks: 2 }])).toBe(0);
    expect(pickWinner([{ arm: 0, recipients: 0, humanOpens: 0, clicks: 0 }])).toBeNull();
  });
});
