/**
 * A per-isolate token bucket per workspace and client address: one browser or script flooding
 * the ingest gets 429 without costing a Durable Object call. (Cloudflare's WAF rate rules are the
 * global layer on a real deployment; this is the product's own floor.)
 */
interface Bucket { tokens: number; at: number }

const buckets = new Map<string, Bucket>();
const MAX_BUCKETS = 10_000;

/** Pure refill step: exported for tests. */
export function take(bucket: Bucket, perSecond: number, now: number, burst = perSecond * 2): { bucket: Bucket; allowed: boolean } {
  const tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
  return tokens >= 1 ? { bucket: { tokens: tokens - 1, at: now }, allowed: true } : { bucket: { tokens, at: now }, allowed: false };
}

export function allowRequest(key: string, perSecond: number, now = Date.now(), burst = perSecond * 2): boolean {
  if (buckets.size > MAX_BUCKETS) buckets.clear(); // bounded memory; a reset only forgives
  const { bucket, allowed } = take(buckets.get(key) ?? { tokens: burst, at: now }, perSecond, now, burst);
  buckets.set(key, bucket);
  return allowed;
}

/** Whether `key` has a token left, without spending it (for limits that only failures spend). */
export function hasAllowance(key: string, perSecond: number, now = Date.now(), burst = perSecond * 2): boolean {
  const bucket = buckets.get(key);
  return !bucket || take(bucket, perSecond, now, burst).allowed;
}
