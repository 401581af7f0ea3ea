/**
 * The publisher backend's API, in Segment-compatible shapes (`userId`/`anonymousId`, `traits`,
 * `event`/`properties`, `messageId`), so an existing Segment call site needs only a new URL and key.
 */
import { z } from 'zod';

const userId = z.string().min(1).max(150);
const anonymousId = z.string().min(1).max(64);
/** Customer.io's limits are in bytes (attribute value 1,000, name 150, event name 100): checked here, as a 400, not there as a refused sync. */
const maxBytes = (n: number) => (s: string) => new TextEncoder().encode(s).byteLength <= n;
const traitValue = z.union([z.string().refine(maxBytes(1000), 'must be at most 1000 bytes'), z.number(), z.boolean(), z.null()]);
const traitName = z.string().min(1).refine(maxBytes(150), 'must be at most 150 bytes');

export const identifyCallSchema = z
  .object({
    userId: userId.optional(),
    anonymousId: anonymousId.optional(),
    traits: z.record(traitName, traitValue).refine((t) => Object.keys(t).length <= 200, 'at most 200 traits').default({}),
    messageId: z.string().min(1).max(100).optional(),
  })
  .refine((v) => v.userId || typeof v.traits.email === 'string', { message: 'userId or traits.email is required', path: ['userId'] })
  .refine((v) => v.traits.email === undefined || z.email().safeParse(v.traits.email).success, { message: 'must be an email address', path: ['traits', 'email'] });

export const trackCallSchema = z
  .object({
    userId: userId.optional(),
    anonymousId: anonymousId.optional(),
    event: z.string().min(1).refine(maxBytes(100), 'must be at most 100 bytes'),
    properties: z.record(z.string(), z.json()).default({}),
    messageId: z.string().min(1).max(100).optional(),
  })
  .refine((v) => v.userId || v.anonymousId, { message: 'userId or anonymousId is required', path: ['userId'] });

/** Exactly one way to name a reader. */
export const readerQuerySchema = z
  .object({ email: z.email().optional(), userId: userId.optional(), anonymousId: anonymousId.optional() })
  .refine((q) => [q.email, q.userId, q.anonymousId].filter(Boolean).length === 1, {
    message: 'give exactly one of email, userId or anonymousId', path: ['email'],
  });

export type IdentifyCall = z.infer<typeof identifyCallSchema>;
export type TrackCall = z.infer<typeof trackCallSchema>;
