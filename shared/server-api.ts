/**
 * The publisher backend's API, in Segment-compatible shapes (`userId`/`anonymousId`, `traits`,
 * `event`/`properties`, `messageId`), so an existing Segment call site needs only a new URL and key.
 */
import { z } from 'zod';

const userId = z.string().min(1).max(150);
const anonymousId = z.string().min(1).max(64);
const traitValue = z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]);

export const identifyCallSchema = z
  .object({
    userId: userId.optional(),
    anonymousId: anonymousId.optional(),
    traits: z.record(z.string().min(1).max(150), traitValue).default({}),
    messageId: z.string().min(1).max(100).optional(),
  })
  .refine((v) => v.userId || typeof v.traits.email === 'string', { message: 'userId or traits.email is required', path: ['userId'] })
  .refine((v) => v.traits.email === undefined || z.email().safeParse(v.traits.email).success, { message: 'must be an email address', path: ['traits', 'email'] });

export const trackCallSchema = z
  .object({
    userId: userId.optional(),
    anonymousId: anonymousId.optional(),
    event: z.string().min(1).max(100),
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
