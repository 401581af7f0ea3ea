/**
 * The editors' panel: what its API takes (zod) and the pure rules behind it: segment membership,
 * email variations and their preview, A/B arm assignment and the winner rule. Both the Worker and
 * the panel import this file (the panel only its types and pure functions, never the schemas).
 */
import * as z from './zod.ts';
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

/** A string of 1 to `max` characters. */
const text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));
/** Whitespace trimmed first, then 1 to `max` characters. */
const trimmed = (max: number) => z.string().check(z.trim(), z.minLength(1), z.maxLength(max));
const positiveInt = () => z.number().check(z.int(), z.positive());
const draftId = () => z.string().check(z.regex(/^[A-Za-z0-9_-]{8,64}$/, '8-64 letters, digits, "-" or "_"'));
const sendMode = () => z._default(z.enum(['broadcast', 'journey']), 'broadcast');

export const sessionRequestSchema = z.object({
  workspace: text(64),
  editorKey: text(200),
  /** `bearer`: a short-lived token in the body for a panel embedded in a CMS frame (no cookie). */
  mode: z._default(z.enum(['cookie', 'bearer']), 'cookie'),
});

export const segmentInputSchema = z.object({
  name: trimmed(100),
  description: z._default(z.string().check(z.maxLength(500)), ''),
  /** null: a manual segment (members added by hand only). */
  rule: z._default(z.nullable(segmentRuleSchema), null),
});
export type SegmentInput = z.infer<typeof segmentInputSchema>;

/** Add or remove readers: by email, by reader key, or every reader carrying all the given tags. */
export const membersChangeSchema = z
  .object({
    emails: z._default(z.array(z.email()).check(z.maxLength(1000)), []),
    keys: z._default(z.array(z.string().check(z.minLength(3), z.maxLength(300))).check(z.maxLength(1000)), []),
    tags: z._default(z.array(z.string().check(z.regex(/^[a-z0-9_]{1,64}$/))).check(z.maxLength(20)), []),
  })
  .check(z.refine((v) => v.emails.length + v.keys.length + v.tags.length > 0, { message: 'give emails, keys or tags', path: ['emails'] }));
export type MembersChange = z.infer<typeof membersChangeSchema>;

/**
 * Customer.io renders Liquid in the broadcast's template, never inside a trigger's data values: a
 * `{{ customer.first_name }}` in the data would reach readers as braces. Personalisation belongs in
 * the template (README: "A broadcast template"), so the composer's text is refused when it has any.
 */
const LIQUID = /\{\{|\{%/;
const NO_LIQUID = 'Liquid ({{ … }}) is not evaluated inside trigger data: put personalisation in the broadcast template';
const noLiquid = z.refine<string>((t) => !LIQUID.test(t), NO_LIQUID);
const plain = (max: number) => z.string().check(z.maxLength(max), noLiquid);

const blockSchema = z.object({ kind: z.enum(['heading', 'paragraph']), text: plain(5000) });

/** One email variation: the data the broadcast's Liquid template reads as `{{trigger.*}}`. */
export const variationSchema = z.object({
  id: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, "-" or "_"')),
  segmentId: text(40),
  subject: z.string().check(z.trim(), z.minLength(1), z.maxLength(200), noLiquid),
  preheader: z._default(plain(300), ''),
  blocks: z._default(z.array(blockSchema).check(z.maxLength(30)), []),
  cta: z._default(z.nullable(z.object({ label: plain(100), url: z.url({ protocol: /^https?$/ }) })), null),
});
export type Variation = z.infer<typeof variationSchema>;

export const sendRequestSchema = z
  .object({
    /** Made by the panel when a composition starts and kept with its draft: a retry or reload reuses it. */
    draftId: draftId(),
    broadcastId: positiveInt(),
    /** `journey`: a Customer.io event on each recipient (their campaign triggers on it) instead of a broadcast. */
    mode: sendMode(),
    eventName: z._default(z.string().check(z.regex(/^[a-z0-9_]{1,64}$/)), 'sharpsend_send'),
    variations: z.array(variationSchema).check(z.minLength(1), z.maxLength(10)),
  })
  .check(z.refine((v) => new Set(v.variations.map((x) => x.id)).size === v.variations.length, { message: 'variation ids must differ', path: ['variations'] }));
export type SendRequest = z.infer<typeof sendRequestSchema>;

/** POST /sends/preview: the variations in the editor's order (the first a reader is in wins); only their segments count. */
export const sendPreviewSchema = z.object({
  mode: sendMode(),
  variations: z.array(z.object({ id: variationSchema.shape.id, segmentId: variationSchema.shape.segmentId })).check(z.minLength(1), z.maxLength(10)),
});
export type SendPreviewRequest = z.infer<typeof sendPreviewSchema>;

/** POST /sends/test: one variation to one address (the editor's own), through the same broadcast. Never counts as the send. */
export const testSendSchema = z.object({
  broadcastId: positiveInt(),
  email: z.email(),
  variation: z.omit(variationSchema, { segmentId: true }),
});
export type TestSendRequest = z.infer<typeof testSendSchema>;

export const abTestInputSchema = z.object({
  /** Made by the panel per composition, like a send's: starting the same test twice starts it once. */
  draftId: draftId(),
  name: trimmed(100),
  segmentId: text(40),
  broadcastId: positiveInt(),
  mode: sendMode(),
  /** Share of the segment that gets the test arms (split evenly); the rest waits for the winner. */
  testShare: z._default(z.number().check(z.gte(0.05), z.lte(1)), 0.5),
  arms: z.array(z.omit(variationSchema, { segmentId: true })).check(z.minLength(2), z.maxLength(4)),
  /** Decide by itself this many hours after the arms went out (null: the editor decides). */
  autoDecideHours: z._default(z.nullable(z.number().check(z.gte(1), z.lte(24 * 14))), null),
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
