import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { checkWebhookSignature, readerKeysOf, reportingEventSchema, webhookReaderEvent, webhookSignature } from '#shared/email/webhook.ts';

const require = createRequire(import.meta.url);
const { verifyRequestSignature } = require('customerio-node') as {
  verifyRequestSignature: (o: { signingSecret: string; timestamp: string; body: string; signature: string }) => boolean;
};

const SECRET = 'whsec-node-test';
const body = JSON.stringify({ event_id: '01E4C4CT6YDC7Y5M7FE1GWWPQJ', object_type: 'email', metric: 'opened', timestamp: 1613063089,
  data: { campaign_id: 1, action_id: 42, delivery_id: 'RPILAgUBcRhIBqSfeiIwdIYJKxTY', customer_id: '42', identifiers: { id: '42', email: 'A@x.com', cio_id: 'd9c106000001' }, recipient: 'a@x.com', subject: 'Hi' } });

describe('reporting webhook signature', () => {
  it('matches customerio-node\'s verifyRequestSignature', async () => {
    const ts = '1700000000';
    const signature = await webhookSignature(SECRET, ts, body);
    expect(verifyRequestSignature({ signingSecret: SECRET, timestamp: ts, body, signature })).toBe(true);
    expect(await checkWebhookSignature(SECRET, ts, signature, body, 1700000000_000)).toBe('ok');
  });

  it('refuses missing, wrong, tampered and stale signatures', async () => {
    const ts = '1700000000';
    const signature = await webhookSignature(SECRET, ts, body);
    expect(await checkWebhookSignature(SECRET, null, signature, body, 1700000000_000)).toBe('missing');
    expect(await checkWebhookSignature(SECRET, ts, null, body, 1700000000_000)).toBe('missing');
    expect(await checkWebhookSignature('other', ts, signature, body, 1700000000_000)).toBe('bad_signature');
    expect(await checkWebhookSignature(SECRET, ts, signature, body.replace('opened', 'clicked'), 1700000000_000)).toBe('bad_signature');
    expect(await checkWebhookSignature(SECRET, ts, 'zz', body, 1700000000_000)).toBe('bad_signature');
    expect(await checkWebhookSignature(SECRET, ts, signature, body, 1700000000_000 + 301_000)).toBe('stale');
    expect(await checkWebhookSignature(SECRET, ts, signature.toUpperCase(), body, 1700000000_000 + 299_000)).toBe('ok');
  });
});

describe('reporting webhook events', () => {
  it('maps the documented example to an open tied to its delivery and campaign', () => {
    const evt = reportingEventSchema.parse(JSON.parse(body));
    expect(webhookReaderEvent(evt)).toEqual({ type: 'open', id: 'cio-01E4C4CT6YDC7Y5M7FE1GWWPQJ', ts: 1613063089_000, human: true, kind: 'human', via: 'webhook', campaign: '1', delivery: 'RPILAgUBcRhIBqSfeiIwdIYJKxTY' });
    expect(readerKeysOf(evt)).toEqual(['e:a@x.com', 'u:42']);
  });

  it('maps machine flags, broadcasts, bounces and customer unsubscribes; ignores the rest', () => {
    const base = { event_id: 'e1', timestamp: 1700000000, object_type: 'email' };
    const parse = (o: unknown) => webhookReaderEvent(reportingEventSchema.parse(o));
    expect(parse({ ...base, metric: 'opened', data: { proxied: true, broadcast_id: 5, delivery_id: 'd' } })).toMatchObject({ human: false, kind: 'image_proxy', campaign: '5' });
    expect(parse({ ...base, metric: 'opened', data: { prefetched: true } })).toMatchObject({ human: false, kind: 'prefetch' });
    expect(parse({ ...base, metric: 'clicked', data: { machine: true, href: 'https://x' } })).toMatchObject({ type: 'click', human: false, url: 'https://x' });
    expect(parse({ ...base, metric: 'bounced', data: { newsletter_id: 3 } })).toMatchObject({ type: 'email', metric: 'bounced', campaign: '3' });
    expect(parse({ ...base, metric: 'spammed', data: { transactional_message_id: 9 } })).toMatchObject({ metric: 'spammed', campaign: 't9' });
    expect(parse({ ...base, metric: 'dropped', data: {} })).toMatchObject({ metric: 'failed' });
    expect(parse({ ...base, object_type: 'customer', metric: 'unsubscribed', data: {} })).toMatchObject({ metric: 'unsubscribed' });
    expect(parse({ ...base, object_type: 'customer', metric: 'subscribed', data: {} })).toBeNull();
    expect(parse({ ...base, metric: 'drafted', data: {} })).toBeNull();
    expect(parse({ ...base, object_type: 'sms', metric: 'delivered', data: {} })).toBeNull();
    expect(reportingEventSchema.safeParse({ hello: 1 }).success).toBe(false);
  });

  it('takes null identifiers and message ids as the spec sends them', () => {
    const evt = reportingEventSchema.parse({ event_id: 'e2', timestamp: 1700000000, object_type: 'email', metric: 'opened',
      data: { customer_id: null, identifiers: { id: null, email: 'Only@Email.com ', cio_id: 'c1' }, campaign_id: null, broadcast_id: null, newsletter_id: null, delivery_id: 'd2', synthetic: true } });
    expect(readerKeysOf(evt)).toEqual(['e:only@email.com']);
    // "does not necessarily mean that the open was machine-oriented": a human open of its own kind.
    expect(webhookReaderEvent(evt)).toEqual({ type: 'open', id: 'cio-e2', ts: 1700000000_000, human: true, kind: 'synthetic', via: 'webhook', delivery: 'd2' });
    const noData = reportingEventSchema.parse({ event_id: 'e3', timestamp: 1700000000, object_type: 'customer', metric: 'unsubscribed', data: null });
    expect(readerKeysOf(noData)).toEqual([]);
    expect(webhookReaderEvent(noData)).toMatchObject({ type: 'email', metric: 'unsubscribed' });
  });
});

// Customer.io's own examples and schema shapes (test/fixtures/customerio-spec, copied from the
// published OpenAPI description of reporting webhooks, source named in the file).
describe('the published reporting-webhook examples', () => {
  const spec = require('../fixtures/customerio-spec/reporting-webhook-examples.json') as { examples: Record<string, unknown> };
  it('parse, and the ones the edge counts map to a reader event tied to a person', () => {
    const names = Object.keys(spec.examples);
    expect(names.length).toBeGreaterThanOrEqual(3);
    for (const name of names) {
      const parsed = reportingEventSchema.safeParse(spec.examples[name]);
      expect(parsed.success, name).toBe(true);
      const evt = parsed.data!;
      const mapped = webhookReaderEvent(evt);
      if (evt.object_type === 'email' && evt.metric === 'sent') expect(mapped, name).toMatchObject({ type: 'email', metric: 'sent' });
      if (mapped) expect(readerKeysOf(evt).length, name).toBeGreaterThan(0);
    }
  });
});
