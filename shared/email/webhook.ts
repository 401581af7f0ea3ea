/**
 * Customer.io reporting webhooks (customerio-api.md §4): the signature check and the mapping of a
 * delivery event onto the reader events the edge counts. Pure.
 *
 * Signature: X-CIO-Signature = hex(HMAC-SHA256(signing secret, "v0:" + X-CIO-Timestamp + ":" + raw body)).
 * Customer.io documents no replay window; we refuse timestamps more than 5 minutes away from now
 * (Customer.io retries with a fresh signature), and replays inside the window are deduplicated by
 * `event_id` in the reader object.
 */
import { z } from 'zod';
import { hmacSha256, sameString } from './tokens.ts';

export const WEBHOOK_MAX_SKEW_S = 300;

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');

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

const id = z.union([z.string(), z.number()]).transform(String);

export const reportingEventSchema = z.object({
  event_id: z.string().min(1).max(200),
  object_type: z.string().min(1).max(50),
  metric: z.string().min(1).max(100),
  timestamp: z.number().int().positive(),
  data: z.object({
    delivery_id: z.string().max(200).optional(),
    customer_id: id.optional(),
    identifiers: z.object({ id: id.optional(), email: z.string().max(254).optional(), cio_id: id.optional() }).partial().optional(),
    campaign_id: id.optional(),
    broadcast_id: id.optional(),
    newsletter_id: id.optional(),
    transactional_message_id: id.optional(),
    href: z.string().max(4096).optional(),
    proxied: z.boolean().optional(),
    prefetched: z.boolean().optional(),
    synthetic: z.boolean().optional(),
    machine: z.boolean().optional(),
  }).passthrough().default({}),
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

export function campaignOf(data: ReportingEvent['data']): string | undefined {
  if (data.campaign_id !== undefined) return data.campaign_id;
  if (data.broadcast_id !== undefined) return data.broadcast_id;
  if (data.newsletter_id !== undefined) return data.newsletter_id;
  if (data.transactional_message_id !== undefined) return `t${data.transactional_message_id}`;
  return undefined;
}

export function webhookReaderEvent(evt: ReportingEvent): WebhookReaderEvent | null {
  const base = {
    id: `cio-${evt.event_id}`.slice(0, 64),
    ts: evt.timestamp * 1000,
    ...(campaignOf(evt.data) ? { campaign: campaignOf(evt.data)! } : {}),
    ...(evt.data.delivery_id ? { delivery: evt.data.delivery_id } : {}),
  };
  if (evt.object_type === 'customer') {
    return evt.metric === 'unsubscribed' ? { type: 'email', metric: 'unsubscribed', ...base } : null;
  }
  if (evt.object_type !== 'email') return null;
  if (evt.metric === 'opened') {
    const d = evt.data;
    const kind = d.proxied ? 'image_proxy' : d.prefetched ? 'prefetch' : d.synthetic ? 'scanner' : 'human';
    return { type: 'open', human: kind === 'human', kind, via: 'webhook', ...base };
  }
  if (evt.metric === 'clicked') {
    return { type: 'click', human: !evt.data.machine, kind: evt.data.machine ? 'scanner' : 'human', via: 'webhook',
      ...(evt.data.href ? { url: evt.data.href } : {}), ...base };
  }
  const status = STATUS[evt.metric];
  return status ? { type: 'email', metric: status, ...base } : null;
}

/** Reader keys this person may live under, most specific first (README "Identity"). */
export function readerKeysOf(evt: ReportingEvent): string[] {
  const keys: string[] = [];
  const email = evt.data.identifiers?.email?.trim().toLowerCase();
  const userId = evt.data.identifiers?.id ?? evt.data.customer_id;
  if (email) keys.push(`e:${email}`);
  if (userId) keys.push(`u:${userId}`);
  return keys;
}
