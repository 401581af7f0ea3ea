/**
 * The publisher backend's API, in Segment-compatible shapes (`userId`/`anonymousId`, `traits`,
 * `event`/`properties`, `messageId`), so an existing Segment call site needs only a new URL and key.
 */
import * as z from './zod.ts';

const userId = z.string().check(z.minLength(1), z.maxLength(150));
const anonymousId = z.string().check(z.minLength(1), z.maxLength(64));
/** Customer.io's limits are in bytes (attribute value 1,000, name 150, event name 100): checked here, as a 400, not there as a refused sync. */
const maxBytes = (n: number) => (s: string) => new TextEncoder().encode(s).byteLength <= n;
const traitValue = z.union([z.string().check(z.refine(maxBytes(1000), 'must be at most 1000 bytes')), z.number(), z.boolean(), z.null()]);
const traitName = z.string().check(z.minLength(1), z.refine(maxBytes(150), 'must be at most 150 bytes'));
const messageId = z.optional(z.string().check(z.minLength(1), z.maxLength(100)));
const traitsOf = (max: number) => z._default(z.record(traitName, traitValue).check(z.refine((t) => Object.keys(t).length <= max, `at most ${max} traits`)), {});
const someoneIsNamed = z.refine<{ userId?: string; anonymousId?: string }>((v) => v.userId || v.anonymousId, { message: 'userId or anonymousId is required', path: ['userId'] });
const anEmail = z.email();

export const identifyCallSchema = z
  .object({
    userId: z.optional(userId),
    anonymousId: z.optional(anonymousId),
    traits: traitsOf(200),
    messageId,
  })
  .check(
    z.refine((v) => v.userId || typeof v.traits.email === 'string', { message: 'userId or traits.email is required', path: ['userId'] }),
    z.refine((v) => v.traits.email === undefined || anEmail.safeParse(v.traits.email).success, { message: 'must be an email address', path: ['traits', 'email'] }),
  );

export const trackCallSchema = z
  .object({
    userId: z.optional(userId),
    anonymousId: z.optional(anonymousId),
    event: z.string().check(z.minLength(1), z.refine(maxBytes(100), 'must be at most 100 bytes')),
    properties: z._default(z.record(z.string(), z.json()), {}),
    messageId,
    /** When it happened (ISO 8601, Segment's field); now when absent. */
    timestamp: z.optional(z.iso.datetime({ offset: true })),
  })
  .check(someoneIsNamed);

/**
 * Segment's group call: the reader belongs to a company (a Customer.io object). `objectTypeId` is
 * the Customer.io object type ("1" is a workspace's first type, usually Companies); `remove: true`
 * ends the reader's relation to the object (the object stays).
 */
export const groupCallSchema = z
  .object({
    userId: z.optional(userId),
    anonymousId: z.optional(anonymousId),
    groupId: z.string().check(z.minLength(1), z.refine(maxBytes(150), 'must be at most 150 bytes')),
    traits: traitsOf(100),
    objectTypeId: z._default(z.string().check(z.regex(/^[1-9][0-9]{0,8}$/, 'must be a Customer.io object type id such as "1"')), '1'),
    remove: z._default(z.boolean(), false),
    messageId,
  })
  .check(someoneIsNamed);

/** Exactly one way to name a reader. */
export const readerQuerySchema = z
  .object({ email: z.optional(z.email()), userId: z.optional(userId), anonymousId: z.optional(anonymousId) })
  .check(z.refine((q) => [q.email, q.userId, q.anonymousId].filter(Boolean).length === 1, {
    message: 'give exactly one of email, userId or anonymousId', path: ['email'],
  }));

/**
 * POST /v1/server/batch, Segment's batch shape: `{ batch: [{ type: 'identify' | 'track', …the
 * single call's fields }] }`. Each call is checked on its own (a bad one is refused by index, the
 * rest still count), so the envelope only requires the array; the limits match Segment's.
 */
export const MAX_BATCH_CALLS = 1000;
export const MAX_BATCH_BYTES = 500 * 1024;
export const serverBatchSchema = z.object({ batch: z.array(z.unknown()).check(z.minLength(1, 'must contain at least one call')) });
export const batchCallTypeSchema = z.object({
  type: z.enum(['identify', 'track'], { error: 'must be "identify" or "track"' }),
});

export interface BatchRejection { index: number; issues: { path: string; message: string }[] }
/** The 202 answer of POST /v1/server/batch. */
export interface BatchResult { accepted: number; duplicates: number; rejected: BatchRejection[] }

export type IdentifyCall = z.infer<typeof identifyCallSchema>;
export type TrackCall = z.infer<typeof trackCallSchema>;
export type GroupCall = z.infer<typeof groupCallSchema>;

/** Clocks drift, but a call from the far future is a bug; older than the dedupe window could count twice. */
const MAX_CLOCK_SKEW_MS = 24 * 3600 * 1000;
export const MAX_TRACK_AGE_MS = 30 * 24 * 3600 * 1000;

/** When a track call happened, or the issue with its `timestamp` (pure: `now` is given). */
export function trackTime(call: Pick<TrackCall, 'timestamp'>, now: number): { ts: number } | { issue: { path: string; message: string } } {
  if (call.timestamp === undefined) return { ts: now };
  const ts = Date.parse(call.timestamp);
  if (ts > now + MAX_CLOCK_SKEW_MS) return { issue: { path: 'timestamp', message: 'is more than 24 hours in the future' } };
  if (ts < now - MAX_TRACK_AGE_MS) return { issue: { path: 'timestamp', message: 'is older than 30 days (replays could not be told apart)' } };
  return { ts };
}
