/**
 * Customer.io reporting webhooks (customerio-api.md §4): the signature check and the mapping of a
 * delivery event onto the reader events the edge counts. Pure.
 *
 * Signature: X-CIO-Signature = hex(HMAC-SHA256(signing secret, "v0:" + X-CIO-Timestamp + ":" + raw body)).
 * Customer.io documents no replay window; we refuse timestamps more than 5 minutes away from now
 * (Customer.io retries with a fresh signature), and replays inside the window are deduplicated by
 * `event_id` in the reader object.
 */
import * as z from '../zod.ts';
import { hmacSha256, sameString } from '../crypto.ts';
import { hex } from '../encoding.ts';
import { normalizeEmail } from '../email-address.ts';
import { readerKeyOfId } from '../identity.ts';

export const WEBHOOK_MAX_SKEW_S = 300;

export async function webhookSignature(secret: string, timestamp: string | number, rawBody: string): Promise<string> {
  return hex(await hmacSha256(secret, `v0:${timestamp}:${rawBody}`));
}

export type SignatureCheck = 'ok' | 'missing' | 'stale' | 'bad_signature';

export async function checkWebhookSignature(
  secret: string, timestamp: string | null, signature: string | null, rawBody: string, nowMs = Date.now(),
): Promise<SignatureCheck> {
  if (!timestamp || !signature) return 'missing';
  if (!/^\d{1,12}$/.test(timestamp) || !/^[0-9a-f]{64}$/i.test(signature)) return 'bad_signature';
  const expected = await webhookSignature(secret, timestamp, rawBody);
  if (!sameString(expected, signature.toLowerCase())) return 'bad_signature';
  return Math.abs(nowMs / 1000 - Number(timestamp)) > WEBHOOK_MAX_SKEW_S ? 'stale' : 'ok';
}

// Customer.io sends `null` for an identifier or a message id the person or message does not have
// (customer_id, identifiers.id, identifiers.email, campaign_id, broadcast_id, newsletter_id; see the
// reporting-webhooks OpenAPI description): every field below may be null or absent.
const id = z.nullish(z.pipe(z.union([z.string(), z.number()]), z.transform(String)));
const flag = z.nullish(z.boolean());
const text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));
const upTo = (max: number) => z.nullish(z.string().check(z.maxLength(max)));

export const reportingEventSchema = z.object({
  event_id: text(200),
  object_type: text(50),
  metric: text(100),
  timestamp: z.number().check(z.int(), z.positive()),
  data: z.nullish(z.looseObject({
    delivery_id: upTo(200),
    customer_id: id,
    identifiers: z.nullish(z.partial(z.object({ id, email: upTo(254), cio_id: id }))),
    /** The address an email went to (email events). */
    recipient: upTo(254),
    campaign_id: id,
    broadcast_id: id,
    newsletter_id: id,
    transactional_message_id: id,
    href: upTo(4096),
    proxied: flag,
    prefetched: flag,
    synthetic: flag,
    machine: flag,
  })),
});
export type ReportingEvent = z.infer<typeof reportingEventSchema>;

export type EmailStatusMetric = 'sent' | 'delivered' | 'bounced' | 'failed' | 'unsubscribed' | 'spammed';

/** What one webhook event means for a reader; `null` for events the edge does not count. */
export type WebhookReaderEvent =
  | { type: 'open'; id: string; ts: number; human: boolean; kind: string; campaign?: string; delivery?: string; via: 'webhook' }
  | { type: 'click'; id: string; ts: number; human: boolean; kind: string; url?: string; campaign?: string; delivery?: string; via: 'webhook' }
  | { type: 'email'; id: string; ts: number; metric: EmailStatusMetric; campaign?: string; delivery?: string };

const STATUS: Record<string, EmailStatusMetric> = {
  sent: 'sent', delivered: 'delivered', bounced: 'bounced', dropped: 'failed', failed: 'failed', undeliverable: 'failed',
  unsubscribed: 'unsubscribed', spammed: 'spammed',
};

type EventData = NonNullable<ReportingEvent['data']>;

export function campaignOf(data: EventData): string | undefined {
  if (data.campaign_id) return data.campaign_id;
  if (data.broadcast_id) return data.broadcast_id;
  if (data.newsletter_id) return data.newsletter_id;
  if (data.transactional_message_id) return `t${data.transactional_message_id}`;
  return undefined;
}

export function webhookReaderEvent(evt: ReportingEvent): WebhookReaderEvent | null {
  const data: EventData = evt.data ?? {};
  const campaign = campaignOf(data);
  const base = {
    id: `cio-${evt.event_id}`.slice(0, 64),
    ts: evt.timestamp * 1000,
    ...(campaign ? { campaign } : {}),
    ...(data.delivery_id ? { delivery: data.delivery_id } : {}),
  };
  if (evt.object_type === 'customer') {
    return evt.metric === 'unsubscribed' ? { type: 'email', metric: 'unsubscribed', ...base } : null;
  }
  if (evt.object_type !== 'email') return null;
  if (evt.metric === 'opened') {
    // `synthetic`: Customer.io inferred the open from a click, which "does not necessarily mean that
    // the open was machine-oriented" (the spec): it stays a human open, of its own kind, unless a
    // proxy or prefetch flag says otherwise.
    const kind = data.proxied ? 'image_proxy' : data.prefetched ? 'prefetch' : data.synthetic ? 'synthetic' : 'human';
    return { type: 'open', human: kind === 'human' || kind === 'synthetic', kind, via: 'webhook', ...base };
  }
  if (evt.metric === 'clicked') {
    return { type: 'click', human: !data.machine, kind: data.machine ? 'scanner' : 'human', via: 'webhook',
      ...(data.href ? { url: data.href } : {}), ...base };
  }
  const status = STATUS[evt.metric];
  return status ? { type: 'email', metric: status, ...base } : null;
}

/** Reader keys this person may live under, most specific first (README "Identity"). */
export function readerKeysOf(evt: ReportingEvent): string[] {
  const keys: string[] = [];
  const data: EventData = evt.data ?? {};
  // A person known by email only has `customer_id` and `identifiers.id` null; the address the
  // email went to is the last resort for an email event.
  const email = (data.identifiers?.email ?? (evt.object_type === 'email' ? data.recipient : null));
  const userId = data.identifiers?.id || data.customer_id;
  if (email?.trim()) keys.push(`e:${normalizeEmail(email)}`);
  // In an id-only workspace an email-only reader's id is `email:<address>` (shared/identity.ts).
  if (userId && !keys.includes(readerKeyOfId(userId))) keys.push(readerKeyOfId(userId));
  return keys;
}
