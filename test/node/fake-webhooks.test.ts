// The fake Customer.io's reporting webhooks: what it "delivers" is reported to the configured URL,
// signed as Customer.io signs, in shapes the edge's own parser (shared/email/webhook.ts) reads,
// nulls included (an email-only person has no id).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFakeCustomerIo, type FakeCustomerIo } from '../fake-customerio/server.ts';
import { createRequire } from 'node:module';
import { checkWebhookSignature, readerKeysOf, reportingEventSchema, webhookReaderEvent } from '#shared/email/webhook.ts';

// Required keys per metric and per message source, from Customer.io's reporting-webhooks spec.
const spec = createRequire(import.meta.url)('../fixtures/customerio-spec/reporting-webhook-required.json') as {
  metrics: Record<string, { required: string[]; dataRequired: string[] }>; sources: Record<string, string[]>;
};
function expectSpecShape(event: any, source: 'API triggered broadcast' | 'Transactional message') {
  const rule = spec.metrics[event.metric]!;
  for (const key of rule.required) expect(event, `${event.metric}: ${key}`).toHaveProperty(key);
  for (const key of [...rule.dataRequired, ...spec.sources[source]!]) expect(event.data, `${event.metric} data: ${key}`).toHaveProperty(key);
  expect(event.data.identifiers).toHaveProperty('id');
}

const SECRET = 'fake-webhook-secret-0123456789';
let fake: FakeCustomerIo;
let receiver: Server;
let receiverUrl: string;
const received: Array<{ signature: string; timestamp: string; body: string }> = [];

const call = async (method: string, path: string, auth?: string, body?: unknown) => {
  const res = await fetch(`${fake.url}${path}`, {
    method, headers: { ...(auth ? { authorization: auth } : {}), 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json().catch(() => null)) as any };
};
const track = `Basic ${Buffer.from('demo_site:demo_track_key').toString('base64')}`;
const app = 'Bearer demo_app_key';

async function settled() {
  for (let i = 0; i < 100; i++) {
    const { json } = await call('GET', '/_fake/webhooks');
    if (json.pending === 0) return json.sent as Array<{ metric: string; status: number | null; deliveryId: string }>;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('webhooks still pending');
}

beforeAll(async () => {
  fake = await createFakeCustomerIo({ port: 0 });
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      received.push({ signature: String(req.headers['x-cio-signature']), timestamp: String(req.headers['x-cio-timestamp']), body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  await fake.close();
  await new Promise((r) => receiver.close(r));
});
beforeEach(async () => {
  await call('POST', '/_fake/reset');
  received.length = 0;
});

describe('fake reporting webhooks', () => {
  it('reports sent and delivered for each broadcast recipient, signed, readable by the edge, with null ids for email-only people', async () => {
    expect((await call('PUT', '/_fake/webhooks/demo', undefined, { url: receiverUrl, secret: SECRET })).status).toBe(200);
    await call('POST', '/api/v2/batch', track, { batch: [
      { type: 'person', action: 'identify', identifiers: { email: 'only-email@example.com' }, attributes: {} },
      { type: 'person', action: 'identify', identifiers: { id: 'u-7' }, attributes: { email: 'u7@example.com' } },
    ] });
    await call('POST', '/_fake/limits', undefined, { broadcastIntervalMs: 1 });
    expect((await call('POST', '/v1/campaigns/1/triggers', app, { emails: ['only-email@example.com'] })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 5));
    expect((await call('POST', '/v1/campaigns/2/triggers', app, { ids: ['u-7'] })).status).toBe(200);
    const sent = await settled();
    expect(sent.map((s) => s.metric)).toEqual(['sent', 'delivered', 'sent', 'delivered']);
    expect(sent.every((s) => s.status === 200)).toBe(true);
    expect(received).toHaveLength(4);
    for (const r of received) expect(await checkWebhookSignature(SECRET, r.timestamp, r.signature, r.body)).toBe('ok');
    for (const r of received) expectSpecShape(JSON.parse(r.body), 'API triggered broadcast');
    const events = received.map((r) => reportingEventSchema.parse(JSON.parse(r.body)));
    // As the spec shows them: numeric ids, nulls where the person has no id.
    expect(JSON.parse(received[0]!.body).data).toMatchObject({ customer_id: null, identifiers: { id: null, email: 'only-email@example.com' }, broadcast_id: 1, trigger_id: expect.any(Number) });
    expect(readerKeysOf(events[0]!)).toEqual(['e:only-email@example.com']);
    expect(events[2]!.data).toMatchObject({ customer_id: 'u-7', identifiers: { id: 'u-7', email: 'u7@example.com' } });
    // The edge reads a "sent" as a delivery event, and an emitted open of the same delivery as an open.
    expect(webhookReaderEvent(events[0]!)).toMatchObject({ type: 'email', metric: 'sent', delivery: sent[0]!.deliveryId });
    expect((await call('POST', '/_fake/webhooks/emit', undefined, { deliveryId: sent[0]!.deliveryId, metric: 'opened' })).status).toBe(200);
    await settled();
    expectSpecShape(JSON.parse(received.at(-1)!.body), 'API triggered broadcast');
    expect((await call('POST', '/_fake/webhooks/emit', undefined, { deliveryId: sent[0]!.deliveryId, metric: 'clicked' })).status).toBe(200);
    await settled();
    expectSpecShape(JSON.parse(received.at(-1)!.body), 'API triggered broadcast');
    const opened = reportingEventSchema.parse(JSON.parse(received.at(-2)!.body));
    expect(opened).toMatchObject({ metric: 'opened', data: { delivery_id: sent[0]!.deliveryId } });
    expect(webhookReaderEvent(opened)).toMatchObject({ type: 'open', human: true, via: 'webhook' });
  });

  it('reports a transactional send, and nothing for a workspace without a webhook', async () => {
    await call('POST', '/api/v2/batch', track, { batch: [{ type: 'person', action: 'identify', identifiers: { email: 'tx@example.com' }, attributes: {} }] });
    await call('POST', '/v1/send/email', app, { transactional_message_id: 3, to: 'tx@example.com', identifiers: { email: 'tx@example.com' } });
    expect(await settled()).toEqual([]);
    await call('PUT', '/_fake/webhooks/demo', undefined, { url: receiverUrl, secret: SECRET });
    const tx = await call('POST', '/v1/send/email', app, { transactional_message_id: 3, to: 'tx@example.com', identifiers: { email: 'tx@example.com' } });
    const sent = await settled();
    expect(sent.map((s) => [s.metric, s.deliveryId])).toEqual([['sent', tx.json.delivery_id], ['delivered', tx.json.delivery_id]]);
    expect(JSON.parse(received[0]!.body).data).toMatchObject({ transactional_message_id: 3, recipient: 'tx@example.com' });
    for (const r of received) expectSpecShape(JSON.parse(r.body), 'Transactional message');
  });

  it('an id-only workspace reports identifiers with the id alone, as the spec says', async () => {
    const idonly = `Basic ${Buffer.from('idonly_site:idonly_track_key').toString('base64')}`;
    await call('PUT', '/_fake/webhooks/idonly', undefined, { url: receiverUrl, secret: SECRET });
    await call('POST', '/api/v2/batch', idonly, { batch: [{ type: 'person', action: 'identify', identifiers: { id: 'email:a@example.com' }, attributes: { email: 'a@example.com' } }] });
    expect((await call('POST', '/v1/campaigns/1/triggers', 'Bearer idonly_app_key', { ids: ['email:a@example.com'] })).status).toBe(200);
    expect((await call('POST', '/v1/campaigns/2/triggers', 'Bearer idonly_app_key', { emails: ['a@example.com'] })).status).toBe(422);
    await settled();
    const first = JSON.parse(received[0]!.body);
    expect(first.data.identifiers).toEqual({ id: 'email:a@example.com' });
    expect(readerKeysOf(reportingEventSchema.parse(first))).toEqual(['e:a@example.com']);
  });

  it('refuses a bad webhook target and an unknown delivery', async () => {
    expect((await call('PUT', '/_fake/webhooks/demo', undefined, { url: 'ftp://x', secret: SECRET })).status).toBe(400);
    expect((await call('PUT', '/_fake/webhooks/demo', undefined, { url: receiverUrl, secret: 'short' })).status).toBe(400);
    expect((await call('POST', '/_fake/webhooks/emit', undefined, { deliveryId: 'nope', metric: 'opened' })).status).toBe(404);
  });
});
