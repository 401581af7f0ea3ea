/**
 * The wire protocol between the widget and the edge: what `POST /v1/events` takes and answers.
 * The widget imports only the inferred types (zod stays out of its bundle); the Worker validates
 * with the schemas. Unknown fields are stripped, not rejected, so older Workers accept newer widgets.
 */
import * as z from './zod.ts';
import { MAX_EVENTS_PER_BATCH } from './constants.ts';

/** A workspace id or a topic: a lowercase slug. */
export const SLUG_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
/** A client-made id (an event's, a browser's). */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9_-]+$/;

/**
 * The bounds the schemas below check, named once: the edge's zod-free check of the common page
 * batch (edge/src/ingest/page-batch.ts) checks the same ones.
 */
export const LIMITS = {
  workspaceId: 64,
  clientId: { min: 8, max: 64 },
  topic: 32,
  url: 2048,
  title: 300,
  engagedMs: 24 * 3600 * 1000,
} as const;

export const workspaceIdSchema = z
  .string()
  .check(z.minLength(1), z.maxLength(LIMITS.workspaceId), z.regex(SLUG_PATTERN, 'must be lowercase letters, digits, "-" or "_"'));

/** Client-made ids: unique per event (dedupe) and per browser (anonymous reader). */
const clientIdSchema = z
  .string()
  .check(
    z.minLength(LIMITS.clientId.min, `must be at least ${LIMITS.clientId.min} characters`),
    z.maxLength(LIMITS.clientId.max),
    z.regex(CLIENT_ID_PATTERN, 'must be letters, digits, "-" or "_"'),
  );

export const topicSchema = z
  .string()
  .check(z.minLength(1), z.maxLength(LIMITS.topic), z.regex(SLUG_PATTERN, 'must be a lowercase slug such as "crypto"'));

export const topicsSchema = z.array(topicSchema).check(z.maxLength(20));

const eventBase = {
  id: clientIdSchema,
  anonymousId: clientIdSchema,
  /** Milliseconds since the epoch, as the browser's clock saw it. */
  ts: z.number().check(z.int(), z.positive()),
};

export const pageEventSchema = z.object({
  ...eventBase,
  type: z.literal('page'),
  url: z.url({ protocol: /^https?$/ }).check(z.maxLength(LIMITS.url)),
  category: z.optional(topicSchema),
  engagedMs: z.number().check(z.int(), z.gte(0), z.lte(LIMITS.engagedMs)),
  scrollDepth: z.number().check(z.gte(0), z.lte(1)),
  title: z.optional(z.string().check(z.maxLength(LIMITS.title))),
});

export const preferencesEventSchema = z.object({
  ...eventBase,
  type: z.literal('preferences'),
  topics: topicsSchema,
});

export const signupEventSchema = z.object({
  ...eventBase,
  type: z.literal('signup'),
  email: z.email().check(z.maxLength(254)),
  topics: z._default(topicsSchema, []),
  consent: z.boolean(),
});

export const trackEventSchema = z.object({
  ...eventBase,
  type: z.literal('track'),
  name: z.string().check(z.minLength(1), z.maxLength(100)),
  properties: z._default(z.record(z.string(), z.json()), {}),
});

export const readerEventSchema = z.discriminatedUnion('type', [
  pageEventSchema,
  preferencesEventSchema,
  signupEventSchema,
  trackEventSchema,
]);

export const eventBatchSchema = z.object({
  workspace: workspaceIdSchema,
  events: z.array(readerEventSchema).check(z.minLength(1), z.maxLength(MAX_EVENTS_PER_BATCH)),
});

/**
 * A click grant's redemption, POSTed to /v1/events like a batch: the widget found the grant in the
 * URL fragment and sends it as one `grant` event from the browser's anonymous reader (README
 * "Readers who arrive from an email"). The edge answers 200 `grantRedeemedSchema` or a 4xx.
 */
export const grantEventSchema = z.object({
  ...eventBase,
  type: z.literal('grant'),
  grant: z.string().check(z.minLength(1), z.maxLength(1024)),
});

/** A batch of exactly one `grant` event (the loader sends it with the code that sends events). */
export const grantRedemptionSchema = z.object({
  workspace: workspaceIdSchema,
  events: z.tuple([grantEventSchema]),
});

/** 200: the browser is linked (`already`: it was, by this grant, before). */
export const grantRedeemedSchema = z.object({ linked: z.literal(true), already: z.boolean() });

export const ingestAcceptedSchema = z.object({
  accepted: z.number().check(z.int(), z.gte(0)),
  duplicates: z.number().check(z.int(), z.gte(0)),
  /** Events left out of an otherwise good batch: ones kept offline past the 30-day window. */
  rejected: z.optional(z.array(z.object({ path: z.string(), message: z.string() }))),
});

/** Every 4xx the edge answers has this body: `issues` names each bad field. */
export const errorBodySchema = z.object({
  error: z.string(),
  issues: z._default(z.array(z.object({ path: z.string(), message: z.string() })), []),
});

export type PageEvent = z.infer<typeof pageEventSchema>;
export type PreferencesEvent = z.infer<typeof preferencesEventSchema>;
export type SignupEvent = z.infer<typeof signupEventSchema>;
export type TrackEvent = z.infer<typeof trackEventSchema>;
export type ReaderEvent = z.infer<typeof readerEventSchema>;
/** What the widget builds: topics/properties may be left out and get their defaults. */
export type ReaderEventInput = z.input<typeof readerEventSchema>;
export type EventBatch = z.infer<typeof eventBatchSchema>;
export type EventBatchInput = z.input<typeof eventBatchSchema>;
export type GrantRedemption = z.infer<typeof grantRedemptionSchema>;
export type GrantEventInput = z.input<typeof grantEventSchema>;
export type GrantRedeemed = z.infer<typeof grantRedeemedSchema>;
export type IngestAccepted = z.infer<typeof ingestAcceptedSchema>;
export type ErrorBody = z.infer<typeof errorBodySchema>;
export type ErrorIssue = ErrorBody['issues'][number];
