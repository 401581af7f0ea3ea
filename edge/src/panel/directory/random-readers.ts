/**
 * Random readers and segment rules for the equivalence tests (Node and workerd): a seeded generator,
 * so a failure repeats. Test support only; nothing in the Worker imports it.
 */
import type { Condition } from '#shared/tag-rules.ts';
import type { ReaderSummary } from '#shared/panel.ts';

/** mulberry32: small, seeded, good enough to shuffle test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const TAGS = ['high_engagement', 'premium_subscriber', 'high_value', 'crypto_enthusiast', 'new_subscriber', 'stock_focused'];
const TIERS = ['premium', 'pro', 'basic', 'Premium', ''];
const TOPICS = ['crypto', 'stocks', 'options', 'bonds'];
const FACTS = ['trait.tier', 'reads', 'read_share.crypto', 'topics', 'known', 'email', 'days_since_signup', "it's", 'odd key', 'mixed', 'absent'];

const pick = <T>(random: () => number, list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
const round2 = (n: number) => Math.round(n * 100) / 100;

export function randomReader(random: () => number, i: number, today = 20_000): ReaderSummary {
  const facts: Record<string, unknown> = {};
  if (random() < 0.8) facts['trait.tier'] = pick(random, TIERS);
  if (random() < 0.9) facts.reads = Math.floor(random() * 8);
  if (random() < 0.6) facts['read_share.crypto'] = round2(random());
  if (random() < 0.7) facts.topics = TOPICS.filter(() => random() < 0.4);
  facts.known = random() < 0.7;
  if (random() < 0.7) facts.email = `r${i}@${pick(random, ['example.com', 'mail.test'])}`;
  if (random() < 0.5) facts.days_since_signup = Math.floor(random() * 30);
  if (random() < 0.3) facts["it's"] = pick(random, ['yes', 'no']);
  if (random() < 0.3) facts['odd key'] = round2(random() * 10);
  // A fact whose type varies between readers: what `ne` and `in` must not coerce.
  const mixed = random();
  if (mixed < 0.2) facts.mixed = 3; else if (mixed < 0.4) facts.mixed = '3'; else if (mixed < 0.5) facts.mixed = null;
  else if (mixed < 0.6) facts.mixed = [3, 'x']; else if (mixed < 0.7) facts.mixed = true;
  const userId = random() < 0.2 ? `user-${i}` : null;
  return {
    key: userId ? `u:${userId}` : `e:r${i}@example.com`,
    email: `r${i}@example.com`,
    userId,
    tags: TAGS.filter(() => random() < 0.35),
    score: round2(random()),
    counters: { reads: Math.floor(random() * 8) },
    traits: {},
    facts: facts as ReaderSummary['facts'],
    activeDays: Array.from({ length: 60 }, (_, d) => today - d).filter(() => random() < 0.15),
    lastSeen: null,
    signedUpAt: null,
    updatedAt: 0,
  };
}

function randomValue(random: () => number, fact: string): Condition extends infer _ ? unknown : never {
  const r = random();
  if (fact === 'tags') return r < 0.85 ? pick(random, TAGS) : r < 0.95 ? 3 : [pick(random, TAGS)];
  if (r < 0.3) return round2(random() * (fact === 'score' || fact.startsWith('read_share') ? 1 : 8));
  if (r < 0.55) return pick(random, [...TIERS, ...TOPICS, 'yes', '3', 'x', 'example', '@mail']);
  if (r < 0.65) return random() < 0.5;
  if (r < 0.85) return [pick(random, TIERS), pick(random, TOPICS), 3];
  return Math.floor(random() * 8);
}

export function randomRule(random: () => number, depth: number): Condition {
  const r = random();
  if (depth > 0 && r < 0.18) return { all: Array.from({ length: 1 + Math.floor(random() * 3) }, () => randomRule(random, depth - 1)) };
  if (depth > 0 && r < 0.33) return { any: Array.from({ length: 1 + Math.floor(random() * 3) }, () => randomRule(random, depth - 1)) };
  if (depth > 0 && r < 0.4) return { not: randomRule(random, depth - 1) };
  const fact = random() < 0.3 ? 'tags' : random() < 0.2 ? 'score' : pick(random, FACTS);
  const op = pick(random, ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'contains', 'in', 'exists'] as const);
  if (op === 'exists') return { fact, op };
  if (fact === 'tags' && random() < 0.7) return { fact, op: 'contains', value: pick(random, TAGS) };
  return { fact, op, value: randomValue(random, fact) as never };
}
