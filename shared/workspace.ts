/**
 * A workspace: one publisher's settings. The admin API takes `WorkspaceInput` (zod-validated);
 * the edge stores secrets encrypted or hashed and only ever returns `WorkspacePublic`.
 */
import * as z from './zod.ts';
import { ORIGIN_PATTERN, normalizeOrigin } from './origins.ts';
import { DEFAULT_ATTRIBUTE_PREFIX } from './constants.ts';
import { DEFAULT_TAG_RULES, tagRulesSchema } from './tag-rules.ts';
import type { IdentifierMode } from './identity.ts';

export const originSchema = z.pipe(
  z.string().check(z.regex(ORIGIN_PATTERN, 'must be an origin such as "https://news.example.com" or "https://*.example.com" (scheme and host, no path)')),
  z.transform(normalizeOrigin),
);

/** A bounded whole-number setting (zod/mini spells each bound as a check). */
const int = (min: number, max: number) => z.number().check(z.int(), z.gte(min), z.lte(max));

export const limitsSchema = z.object({
  /** Customer.io Track API calls per second for this workspace (v1 and v2 together). */
  trackPerSecond: z._default(z.number().check(z.positive(), z.lte(3000)), 100),
  appPerSecond: z._default(z.number().check(z.positive(), z.lte(100)), 10),
  broadcastIntervalMs: z._default(z.number().check(z.int(), z.gte(0)), 10_000),
  /** Ingest requests per second one client (IP) may make before it gets 429. */
  ingestPerClientPerSecond: z._default(z.number().check(z.positive()), 50),
});

export const syncOptionsSchema = z.object({
  /** People per v2 batch call (each call stays under 500 KB whatever this says). */
  batchSize: z._default(int(1, 1000), 100),
  /** Outbox shards: the Track limit is split evenly between them. Left out: `shardsFor(limits.trackPerSecond)`. */
  shards: z.optional(int(1, 64)),
  /** Attempts before a change goes to the dead-letter list. */
  maxAttempts: z._default(int(1, 1000), 30),
  /** How long a part-full batch waits for more people before it is sent anyway, from when its first reader came due. */
  lingerMs: z._default(int(0, 10_000), 1_000),
  /** A reader synced less than this ago waits before its next identify (its changes add up meanwhile). */
  minResyncMs: z._default(int(0, 600_000), 5_000),
  /**
   * A change that only moves a reader's engagement counters (an open, a click, a sent or delivered
   * email, a read whose page view is not forwarded) waits this long after its last sync: a newsletter's
   * repeat opens (a mail app's prefetch, the reader's own opens, a second device) add up in one
   * identify. Anything else (an event, a tag change, a sign-up, the backend's identify) keeps
   * `minResyncMs`, and moves a waiting reader up.
   */
  quietResyncMs: z._default(int(0, 3_600_000), 60_000),
  /** Forward every page read to Customer.io as a page view (known readers). */
  forwardPageViews: z._default(z.boolean(), false),
});

/**
 * Click-through identity (README "Readers who arrive from an email"): a tracked link's redirect
 * carries a grant in the URL fragment that links the browser to the reader who clicked.
 */
export const clickIdentitySchema = z.object({
  enabled: z._default(z.boolean(), true),
  /** Distinct browsers one email's grant may link; past this, redemptions are refused (a forwarded email). */
  maxBrowsers: z._default(int(1, 20), 3),
  /** How long after the click a grant can be redeemed. */
  ttlDays: z._default(int(1, 30), 7),
});

/**
 * Double opt-in (README "Double opt-in"): a widget sign-up stays pending until the reader opens
 * the link in a confirmation email (the transactional message `transactionalMessageId`, whose
 * template puts `{{trigger.confirm_url}}` in a link). Links expire after `expiresDays`; a sign-up
 * still pending after `forgetAfterDays` is forgotten here and deleted in Customer.io.
 */
export const doubleOptInSchema = z.object({
  enabled: z._default(z.boolean(), false),
  transactionalMessageId: z.optional(z.union([z.number().check(z.int(), z.positive()), z.string().check(z.minLength(1), z.maxLength(200))])),
  expiresDays: z._default(int(1, 30), 7),
  forgetAfterDays: z._default(int(1, 365), 30),
}).check(z.superRefine((d, ctx) => {
  if (d.enabled && d.transactionalMessageId === undefined) {
    ctx.addIssue({ code: 'custom', path: ['transactionalMessageId'], message: 'is required when double opt-in is enabled (the Customer.io transactional message that carries the confirm link)' });
  }
  if (d.expiresDays > d.forgetAfterDays) {
    ctx.addIssue({ code: 'custom', path: ['expiresDays'], message: `must be at most forgetAfterDays (${d.forgetAfterDays}): a link must not outlive the sign-up it confirms` });
  }
}));

export const customerIoCredentialsSchema = z.object({
  siteId: z.string().check(z.minLength(1), z.maxLength(200)),
  trackKey: z.string().check(z.minLength(1), z.maxLength(200)),
  appKey: z.string().check(z.minLength(1), z.maxLength(500)),
  region: z._default(z.enum(['us', 'eu']), 'us'),
});

/**
 * The outbox's size for a Track limit (README "Sizing the outbox"): one shard per 25 calls a second
 * of the limit, at least 4, at most 64. Each shard then sends at most ~21 calls a second (its share
 * of 85 %), and a newsletter's open peak (2,000 readers a second marking themselves dirty) puts at
 * most ~500 calls a second on any one shard: under the ~1,000 a second one object takes.
 */
export const shardsFor = (trackPerSecond: number): number => Math.min(64, Math.max(4, Math.ceil(trackPerSecond / 25)));

/** The sync settings a workspace gets when it gives none (and what a shard falls back to). */
export const DEFAULT_SYNC_OPTIONS = syncOptionsSchema.parse({});

const workspaceFields = z.object({
  allowedOrigins: z.array(originSchema).check(z.minLength(1), z.maxLength(100)),
  customerio: z.optional(customerIoCredentialsSchema),
  tagRules: z._default(tagRulesSchema, DEFAULT_TAG_RULES),
  attributePrefix: z._default(z.string().check(z.regex(/^[a-z0-9_]{0,32}$/, 'must be lowercase letters, digits or "_"')), DEFAULT_ATTRIBUTE_PREFIX),
  limits: z._default(limitsSchema, limitsSchema.parse({})),
  sync: z._default(syncOptionsSchema, DEFAULT_SYNC_OPTIONS),
  /** Leave out to keep the current one (or have one made on creation). */
  secretKey: z.optional(z.string().check(z.minLength(24), z.maxLength(200))),
  editorKey: z.optional(z.string().check(z.minLength(12), z.maxLength(200))),
  /** Transactional message id for the welcome email on sign-up (none: no welcome email). */
  welcomeMessageId: z.optional(z.union([z.number().check(z.int(), z.positive()), z.string().check(z.minLength(1))])),
  /**
   * Whether the Customer.io workspace takes `email` as an identifier. `auto`: yes, until the
   * connection check or a refused call shows it does not (then `id_only`, remembered).
   */
  identifiers: z._default(z.enum(['auto', 'email_or_id', 'id_only']), 'auto'),
  clickIdentity: z._default(clickIdentitySchema, clickIdentitySchema.parse({})),
  doubleOptIn: z._default(doubleOptInSchema, doubleOptInSchema.parse({})),
});

export const workspaceInputSchema = z.pipe(workspaceFields, z.transform((w: z.output<typeof workspaceFields>) => ({
  ...w, sync: { ...w.sync, shards: w.sync.shards ?? shardsFor(w.limits.trackPerSecond) },
})));

export type WorkspaceInput = z.input<typeof workspaceInputSchema>;
export type WorkspaceSettings = z.infer<typeof workspaceInputSchema>;
export type Limits = z.infer<typeof limitsSchema>;
/** Stored and served with the shard count settled (given, or `shardsFor` the Track limit). */
export type SyncOptions = Omit<z.infer<typeof syncOptionsSchema>, 'shards'> & { shards: number };
export type ClickIdentity = z.infer<typeof clickIdentitySchema>;
/** What a workspace stored before the setting existed gets. */
export const DEFAULT_CLICK_IDENTITY: ClickIdentity = clickIdentitySchema.parse({});
export type DoubleOptIn = z.infer<typeof doubleOptInSchema>;
/** What a workspace stored before the setting existed gets: off. */
export const DEFAULT_DOUBLE_OPT_IN: DoubleOptIn = doubleOptInSchema.parse({});
export type CustomerIoCredentials = z.infer<typeof customerIoCredentialsSchema>;

/** What the admin API returns: settings without any secret. */
export interface WorkspacePublic {
  id: string;
  allowedOrigins: string[];
  customerio: { siteId: string; region: 'us' | 'eu'; configured: boolean };
  tagRules: WorkspaceSettings['tagRules'];
  attributePrefix: string;
  limits: Limits;
  sync: SyncOptions;
  welcomeMessageId: number | string | null;
  identifiers: WorkspaceSettings['identifiers'];
  clickIdentity: ClickIdentity;
  doubleOptIn: DoubleOptIn;
  /** What the edge uses: the setting, or for `auto` what it found out (`email_or_id` until then). */
  identifierMode: IdentifierMode;
  /** When the edge found out that email is not an identifier there (null: it did not). */
  idOnlyDetectedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** A tag rule as the panel lists it. */
export interface TagRuleSummary { tag: string; description: string }
