/**
 * Tag rules are data: a workspace stores them as JSON and the reader object evaluates them with
 * `evaluateTags` over the reader's facts (see reader-facts.ts). Pure, so it is tested without a runtime.
 */
import * as z from './zod.ts';

const comparison = z.enum(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'contains', 'in', 'exists']);
const factValue = z.union([z.number(), z.string(), z.boolean(), z.array(z.union([z.string(), z.number()]))]);

export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { fact: string; op: z.infer<typeof comparison>; value?: z.infer<typeof factValue> };

export const conditionSchema: z.ZodMiniType<Condition> = z.lazy(() =>
  z.union([
    z.strictObject({ all: z.array(conditionSchema).check(z.minLength(1)) }),
    z.strictObject({ any: z.array(conditionSchema).check(z.minLength(1)) }),
    z.strictObject({ not: conditionSchema }),
    z
      .strictObject({ fact: z.string().check(z.minLength(1), z.maxLength(100)), op: comparison, value: z.optional(factValue) })
      .check(z.refine((c) => c.op === 'exists' || c.value !== undefined, { message: 'value is required unless op is "exists"' })),
  ]),
);

export const tagRuleSchema = z.object({
  tag: z.string().check(z.regex(/^[a-z0-9_]{1,64}$/, 'must be lowercase letters, digits or "_"')),
  description: z.optional(z.string().check(z.maxLength(300))),
  when: conditionSchema,
});
export const tagRulesSchema = z.array(tagRuleSchema).check(z.maxLength(200));

export type TagRule = z.infer<typeof tagRuleSchema>;
export type FactValue = number | string | boolean | Array<string | number> | undefined;
export type Facts = Readonly<Record<string, FactValue>>;

function compare(actual: FactValue, op: string, expected: FactValue): boolean {
  if (op === 'exists') return actual !== undefined && actual !== null;
  if (actual === undefined) return false;
  switch (op) {
    case 'eq': return actual === expected;
    case 'ne': return actual !== expected;
    case 'contains':
      return Array.isArray(actual)
        ? actual.includes(expected as string)
        : typeof actual === 'string' && actual.includes(String(expected));
    case 'in': return Array.isArray(expected) && !Array.isArray(actual) && expected.includes(actual as string);
  }
  if (typeof actual !== 'number' || typeof expected !== 'number') return false;
  switch (op) {
    case 'gt': return actual > expected;
    case 'gte': return actual >= expected;
    case 'lt': return actual < expected;
    case 'lte': return actual <= expected;
  }
  return false;
}

export function matches(condition: Condition, facts: Facts): boolean {
  if ('all' in condition) return condition.all.every((c) => matches(c, facts));
  if ('any' in condition) return condition.any.some((c) => matches(c, facts));
  if ('not' in condition) return !matches(condition.not, facts);
  return compare(facts[condition.fact], condition.op, condition.value);
}

/** The tags whose rule holds, sorted; a tag whose rule stops holding is simply absent. */
export function evaluateTags(rules: readonly TagRule[], facts: Facts): string[] {
  return [...new Set(rules.filter((r) => matches(r.when, facts)).map((r) => r.tag))].sort();
}

/** A topic counts as a reader's interest by explicit pick or by a real share of their reading. */
const interestIn = (topic: string): Condition => ({
  any: [
    { fact: 'topics', op: 'contains', value: topic },
    { all: [{ fact: `reads.${topic}`, op: 'gte', value: 3 }, { fact: `read_share.${topic}`, op: 'gte', value: 0.4 }] },
  ],
});

export const DEFAULT_TAG_RULES: TagRule[] = [
  { tag: 'high_engagement', description: 'Engagement score of 0.7 or more', when: { fact: 'score', op: 'gte', value: 0.7 } },
  { tag: 'consistent_reader', description: 'Read on 8 or more distinct days in the last 30', when: { fact: 'active_days_30', op: 'gte', value: 8 } },
  { tag: 'active_clicker', description: '3 or more human email clicks', when: { fact: 'clicks', op: 'gte', value: 3 } },
  { tag: 'crypto_enthusiast', description: 'Picked crypto, or 40%+ of 3+ reads are crypto', when: interestIn('crypto') },
  { tag: 'stock_focused', description: 'Picked stocks, or 40%+ of 3+ reads are stocks', when: interestIn('stocks') },
  { tag: 'options_trader', description: 'Picked options, or 40%+ of 3+ reads are options', when: interestIn('options') },
  { tag: 'premium_subscriber', description: 'Subscription tier premium or pro (from the publisher backend)', when: { fact: 'trait.tier', op: 'in', value: ['premium', 'pro'] } },
  { tag: 'high_value', description: 'Lifetime value of 500 or more (from the publisher backend)', when: { fact: 'trait.lifetime_value', op: 'gte', value: 500 } },
  { tag: 'new_subscriber', description: 'Signed up within the last 14 days', when: { all: [{ fact: 'known', op: 'eq', value: true }, { fact: 'days_since_signup', op: 'lte', value: 14 }] } },
  { tag: 'engaged_subscriber', description: 'Known reader with an engagement score of 0.4 or more', when: { all: [{ fact: 'known', op: 'eq', value: true }, { fact: 'score', op: 'gte', value: 0.4 }] } },
];
