/**
 * The editors' panel: what its API takes (zod) and the pure rules behind it: segment membership,
 * email variations and their preview, A/B arm assignment and the winner rule. Both the Worker and
 * the panel import this file (the panel only its types and pure functions, never the schemas).
 */
import { z } from 'zod';
import { fnv1a } from './crypto.ts';
import { type Condition, type Facts, type FactValue, conditionSchema, matches } from './tag-rules.ts';

// ---- readers as the directory knows them --------------------------------------------------------

/** A known reader as the per-workspace directory holds it (written after each successful sync). */
export interface ReaderSummary {
  key: string;
  email: string | null;
  userId: string | null;
  tags: string[];
  score: number;
  counters: Record<string, number>;
  traits: Record<string, string | number | boolean | null>;
  /** The reader's facts when it was summarised (readerFacts): what segment rules see, with `tags`. */
  facts: Record<string, FactValue>;
  /** UTC day numbers the reader read on (the last 60): engagement over time. */
  activeDays: number[];
  lastSeen: number | null;
  /** When the reader signed up through the widget (the welcome email goes out once after it syncs). */
  signedUpAt: number | null;
  /** Double opt-in: since when the sign-up waits for its confirmation (null or absent: it does not). */
  pendingSince?: number | null;
  /** With `pendingSince`: the edge origin the confirm link points to (in the batch only, not stored). */
  confirmOrigin?: string | null;
  updatedAt: number;
}

/** The facts a segment rule is evaluated over: the reader's facts plus its tags (`tags contains x`). */
export function segmentFacts(reader: Pick<ReaderSummary, 'facts' | 'tags' | 'score'>): Facts {
  return { ...reader.facts, tags: reader.tags, score: reader.score };
}

export type SegmentRule = Condition;
export const segmentRuleSchema = conditionSchema;

/** Manual additions win over the rule; manual removals win over both (an editor said "not this one"). */
export function inSegment(reader: Pick<ReaderSummary, 'key' | 'facts' | 'tags' | 'score'>, rule: SegmentRule | null,
  manual: ReadonlyMap<string, 'add' | 'remove'>): boolean {
  const override = manual.get(reader.key);
  if (override === 'remove') return false;
  if (override === 'add') return true;
  return rule !== null && matches(rule, segmentFacts(reader));
}

/** How Customer.io knows a reader (one rule, shared/identity.ts). */
export { cioIdentifier } from './identity.ts';

/** Human wording of a rule, for lists and confirmations. */
export function describeRule(rule: SegmentRule | null): string {
  if (!rule) return 'manual only';
  if ('all' in rule) return rule.all.map(describeRule).join(' and ');
  if ('any' in rule) return `(${rule.any.map(describeRule).join(' or ')})`;
  if ('not' in rule) return `not ${describeRule(rule.not)}`;
  const value = Array.isArray(rule.value) ? rule.value.join(', ') : String(rule.value ?? '');
  if (rule.fact === 'tags' && rule.op === 'contains') return `tag ${value}`;
  const ops: Record<string, string> = { eq: '=', ne: '≠', gt: '>', gte: '≥', lt: '<', lte: '≤', contains: 'contains', in: 'in', exists: 'exists' };
  return rule.op === 'exists' ? `${rule.fact} exists` : `${rule.fact} ${ops[rule.op] ?? rule.op} ${value}`;
}

// ---- API inputs ----------------------------------------------------------------------------------

export const sessionRequestSchema = z.object({
  workspace: z.string().min(1).max(64),
  editorKey: z.string().min(1).max(200),
  /** `bearer`: a short-lived token in the body for a panel embedded in a CMS frame (no cookie). */
  mode: z.enum(['cookie', 'bearer']).default('cookie'),
});

export const segmentInputSchema = z.object({
  name: z.string().trim().min(1).max(100),
  description: z.string().max(500).default(''),
  /** null: a manual segment (members added by hand only). */
  rule: segmentRuleSchema.nullable().default(null),
});
export type SegmentInput = z.infer<typeof segmentInputSchema>;

/** Add or remove readers: by email, by reader key, or every reader carrying all the given tags. */
export const membersChangeSchema = z
  .object({
    emails: z.array(z.email()).max(1000).default([]),
    keys: z.array(z.string().min(3).max(300)).max(1000).default([]),
    tags: z.array(z.string().regex(/^[a-z0-9_]{1,64}$/)).max(20).default([]),
  })
  .refine((v) => v.emails.length + v.keys.length + v.tags.length > 0, { message: 'give emails, keys or tags', path: ['emails'] });
export type MembersChange = z.infer<typeof membersChangeSchema>;

/**
 * Customer.io renders Liquid in the broadcast's template, never inside a trigger's data values: a
 * `{{ customer.first_name }}` in the data would reach readers as braces. Personalisation belongs in
 * the template (README: "A broadcast template"), so the composer's text is refused when it has any.
 */
const LIQUID = /\{\{|\{%/;
const NO_LIQUID = 'Liquid ({{ … }}) is not evaluated inside trigger data: put personalisation in the broadcast template';
const plain = (max: number) => z.string().max(max).refine((t) => !LIQUID.test(t), NO_LIQUID);

const blockSchema = z.object({ kind: z.enum(['heading', 'paragraph']), text: plain(5000) });

/** One email variation: the data the broadcast's Liquid template reads as `{{trigger.*}}`. */
export const variationSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, "-" or "_"'),
  segmentId: z.string().min(1).max(40),
  subject: z.string().trim().min(1).max(200).refine((t) => !LIQUID.test(t), NO_LIQUID),
  preheader: plain(300).default(''),
  blocks: z.array(blockSchema).max(30).default([]),
  cta: z.object({ label: plain(100), url: z.url({ protocol: /^https?$/ }) }).nullable().default(null),
});
export type Variation = z.infer<typeof variationSchema>;

export const sendRequestSchema = z
  .object({
    /** Made by the panel when a composition starts and kept with its draft: a retry or reload reuses it. */
    draftId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, '8-64 letters, digits, "-" or "_"'),
    broadcastId: z.number().int().positive(),
    /** `journey`: a Customer.io event on each recipient (their campaign triggers on it) instead of a broadcast. */
    mode: z.enum(['broadcast', 'journey']).default('broadcast'),
    eventName: z.string().regex(/^[a-z0-9_]{1,64}$/).default('sharpsend_send'),
    variations: z.array(variationSchema).min(1).max(10),
  })
  .refine((v) => new Set(v.variations.map((x) => x.id)).size === v.variations.length, { message: 'variation ids must differ', path: ['variations'] });
export type SendRequest = z.infer<typeof sendRequestSchema>;

/** POST /sends/preview: the variations in the editor's order (the first a reader is in wins); only their segments count. */
export const sendPreviewSchema = z.object({
  mode: z.enum(['broadcast', 'journey']).default('broadcast'),
  variations: z.array(z.object({ id: variationSchema.shape.id, segmentId: variationSchema.shape.segmentId })).min(1).max(10),
});
export type SendPreviewRequest = z.infer<typeof sendPreviewSchema>;

/** POST /sends/test: one variation to one address (the editor's own), through the same broadcast. Never counts as the send. */
export const testSendSchema = z.object({
  broadcastId: z.number().int().positive(),
  email: z.email(),
  variation: variationSchema.omit({ segmentId: true }),
});
export type TestSendRequest = z.infer<typeof testSendSchema>;

export const abTestInputSchema = z.object({
  /** Made by the panel per composition, like a send's: starting the same test twice starts it once. */
  draftId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, '8-64 letters, digits, "-" or "_"'),
  name: z.string().trim().min(1).max(100),
  segmentId: z.string().min(1).max(40),
  broadcastId: z.number().int().positive(),
  mode: z.enum(['broadcast', 'journey']).default('broadcast'),
  /** Share of the segment that gets the test arms (split evenly); the rest waits for the winner. */
  testShare: z.number().min(0.05).max(1).default(0.5),
  arms: z.array(variationSchema.omit({ segmentId: true })).min(2).max(4),
  /** Decide by itself this many hours after the arms went out (null: the editor decides). */
  autoDecideHours: z.number().min(1).max(24 * 14).nullable().default(null),
});
export type AbTestInput = z.infer<typeof abTestInputSchema>;

/** The idempotency key of one send: the same broadcast, draft and variation is sent once. */
export const sendKey = (broadcastId: number, draftId: string, variationId: string) => `b${broadcastId}:${draftId}:${variationId}`;

// ---- variations: trigger data and preview --------------------------------------------------------

/** What goes to Customer.io as the trigger's `data` (or the journey event's attributes). */
export function variationData(v: Omit<Variation, 'segmentId'>): Record<string, unknown> {
  return {
    variation: v.id,
    subject: v.subject,
    preheader: v.preheader,
    blocks: v.blocks,
    cta_label: v.cta?.label ?? null,
    cta_url: v.cta?.url ?? null,
  };
}

export { fillTemplate } from './liquid.ts';

// ---- A/B tests ------------------------------------------------------------------------------------

/** FNV-1a over `test:reader`, as a fraction in [0, 1): the same reader lands in the same arm every time. */
export const abBucket = (testId: string, key: string): number => fnv1a(`${testId}:${key}`) / 2 ** 32;

/** The arm (0-based) a reader belongs to, or -1 for the rest that later gets the winner. */
export function abArm(testId: string, key: string, arms: number, testShare: number): number {
  const bucket = abBucket(testId, key);
  if (bucket >= testShare) return -1;
  return Math.min(arms - 1, Math.floor((bucket / testShare) * arms));
}

/**
 * One arm's result: unique recipients who opened (clicked) the test's own email, human ones (the
 * winner rule's) and machine ones (proxies, scanners) apart. `recipients` is the arm's sample size.
 */
export interface ArmResult { arm: number; recipients: number; humanOpens: number; clicks: number; machineOpens?: number; machineClicks?: number }

export const WINNER_RULE = 'highest human-open rate (unique human openers / recipients); ties go to more clicks, then to the first arm';

/** The winner by WINNER_RULE; null when no arm has recipients. */
export function pickWinner(arms: readonly ArmResult[]): number | null {
  const rate = (a: ArmResult) => (a.recipients ? a.humanOpens / a.recipients : -1);
  let best: ArmResult | null = null;
  for (const arm of arms) {
    if (arm.recipients === 0) continue;
    if (!best || rate(arm) > rate(best) || (rate(arm) === rate(best) && arm.clicks > best.clicks)) best = arm;
  }
  return best ? best.arm : null;
}
