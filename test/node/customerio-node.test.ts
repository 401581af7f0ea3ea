// customerio-node 5.2 against the fake: every client method the edge may use goes over real HTTP,
// and the test checks what the fake received (request log) and what it now holds (state).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  APIClient, CustomerIORequestError, IdentifierType, RegionUS, SendEmailRequest, SendPushRequest, TrackClient,
} from 'customerio-node';
import { createFakeCustomerIo, type FakeCustomerIo } from '../fake-customerio/server.ts';

let fake: FakeCustomerIo;
let cio: TrackClient;
let api: APIClient;

async function control(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${fake.url}/_fake${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.json();
}
const lastRequest = async (prefix: string) => (await control('GET', `/requests?path_prefix=${encodeURIComponent(prefix)}`)).requests.at(-1);
const person = (id: string) => control('GET', `/people/demo/${encodeURIComponent(id)}`);

beforeAll(async () => {
  // Generous limits here: this file checks the wire protocol; the limits have their own tests.
  fake = await createFakeCustomerIo({ port: 0, trackPerSecond: 1000, appPerSecond: 1000 });
  cio = new TrackClient('demo_site', 'demo_track_key', { region: RegionUS, url: `${fake.url}/api/v1`, retry: { maxRetries: 0 } });
  api = new APIClient('demo_app_key', { region: RegionUS, url: `${fake.url}/v1`, retry: { maxRetries: 0 } });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(async () => {
  await control('POST', '/reset');
});

describe('TrackClient', () => {
  it('identify, track, trackPageView and destroy', async () => {
    expect(await cio.identify('u1', { email: 'u1@example.com', plan: 'pro', created_at: 1700000000 })).toEqual({});
    const put = await lastRequest('/api/v1/customers/u1');
    expect(put).toMatchObject({ method: 'PUT', workspace: 'demo', api: 'track', status: 200, body: { email: 'u1@example.com', plan: 'pro' } });

    await cio.track('u1', { name: 'article_read', data: { slug: 'a' } });
    await cio.trackPageView('u1', 'https://news.example/a');
    const p = await person('u1');
    expect(p.attributes).toMatchObject({ email: 'u1@example.com', plan: 'pro', created_at: 1700000000 });
    expect(p.events.map((e: any) => [e.type, e.name])).toEqual([['event', 'article_read'], ['page', 'https://news.example/a']]);

    await cio.destroy('u1');
    expect((await lastRequest('/api/v1/customers/u1')).method).toBe('DELETE');
    expect((await control('GET', '/people')).people).toEqual([]);
  });

  it('trackAnonymous then identify with anonymous_id merges the anonymous events', async () => {
    await cio.trackAnonymous('anon-7', { name: 'article_read', data: { slug: 'x' } });
    expect((await lastRequest('/api/v1/events')).body).toEqual({ name: 'article_read', data: { slug: 'x' }, anonymous_id: 'anon-7' });
    await cio.identify('u7', { anonymous_id: 'anon-7' });
    const events = (await person('u7')).events;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ name: 'article_read', anonymousId: 'anon-7', mergedFromAnonymous: true });
  });

  it('suppress and unsuppress', async () => {
    await cio.identify('u1', { plan: 'pro' });
    await cio.suppress('u1');
    expect(await person('u1')).toMatchObject({ suppressed: true });
    await cio.identify('u1', { plan: 'ignored' });
    expect((await control('GET', '/people')).people).toEqual([]);
    await cio.unsuppress('u1');
    await cio.identify('u1', { plan: 'back' });
    expect((await person('u1')).attributes.plan).toBe('back');
    expect((await control('GET', '/requests?path_prefix=/api/v1/customers/u1/')).requests.map((r: any) => r.path))
      .toEqual(['/api/v1/customers/u1/suppress', '/api/v1/customers/u1/unsuppress']);
  });

  it('mergeCustomers', async () => {
    await cio.identify('primary', { plan: 'pro' });
    await cio.identify('second@example.com', { city: 'Oslo' });
    await cio.mergeCustomers(IdentifierType.Id, 'primary', IdentifierType.Email, 'second@example.com');
    expect((await lastRequest('/api/v1/merge_customers')).body).toEqual({ primary: { id: 'primary' }, secondary: { email: 'second@example.com' } });
    expect(await person('primary')).toMatchObject({ email: 'second@example.com', attributes: { plan: 'pro', city: 'Oslo' } });
    expect((await control('GET', '/people')).people).toHaveLength(1);
    expect((await control('GET', '/merges')).merges[0].applied).toBe(true);
  });

  it('batch applies good items and surfaces a 207 partial result', async () => {
    const ok = await cio.batch([
      { type: 'person', action: 'identify', identifiers: { id: 'b1' }, attributes: { plan: 'pro' } },
      { type: 'person', action: 'event', identifiers: { id: 'b1' }, name: 'opened', id: '01HBATCH' },
    ]);
    expect(ok).toEqual({});
    expect((await lastRequest('/api/v2/batch')).status).toBe(200);
    const partial = await cio.batch([
      { type: 'person', action: 'event', identifiers: { id: 'b1' }, name: 'opened', id: '01HBATCH' },
      { type: 'person', action: 'event', identifiers: { id: 'b1' } },
    ]);
    expect(partial.errors).toEqual([{ batch_index: 1, reason: 'required', field: 'name', message: 'name cannot be blank' }]);
    // The repeated event id was recorded once.
    expect((await person('b1')).events.map((e: any) => e.name)).toEqual(['opened']);
  });

  it('addCustomersToSegment and removeCustomersFromSegment', async () => {
    await control('POST', '/people', { workspace: 'demo', people: [{ id: 'a', email: 'a@x.com' }, { id: 'b' }] });
    const { segment } = await api.createSegment({ name: 'Engaged' });
    await cio.addCustomersToSegment(segment.id, ['a', 'b']);
    await cio.removeCustomersFromSegment(segment.id, ['a@x.com'], IdentifierType.Email);
    expect((await lastRequest(`/api/v1/segments/${segment.id}/remove_customers`)).query).toEqual({ id_type: 'email' });
    const seg = (await control('GET', '/segments?workspace=demo')).segments[0];
    expect(seg.members.map((m: any) => m.id)).toEqual(['b']);
  });

  it('validation errors surface as CustomerIORequestError with the message', async () => {
    const err = await cio.track('u1', { name: 'x', timestamp: Date.now() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CustomerIORequestError);
    expect((err as CustomerIORequestError).statusCode).toBe(400);
    expect((err as CustomerIORequestError).message).toContain('timestamp must be a valid unix timestamp in seconds');
  });

  it('wrong credentials give 401', async () => {
    const bad = new TrackClient('demo_site', 'wrong', { url: `${fake.url}/api/v1`, retry: { maxRetries: 0 } });
    const err = await bad.identify('u1', {}).catch((e: unknown) => e);
    expect((err as CustomerIORequestError).statusCode).toBe(401);
    const badApp = new APIClient('wrong', { url: `${fake.url}/v1`, retry: { maxRetries: 0 } });
    expect(((await badApp.listSegments().catch((e: unknown) => e)) as CustomerIORequestError).statusCode).toBe(401);
  });

  it('a 429 carries Retry-After, and the client retries it when allowed', async () => {
    await control('POST', '/limits', { trackPerSecond: 1 });
    await cio.identify('u1', {});
    const err = (await cio.identify('u2', {}).catch((e: unknown) => e)) as CustomerIORequestError;
    expect(err.statusCode).toBe(429);
    expect(Number(err.response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const patient = new TrackClient('demo_site', 'demo_track_key', { url: `${fake.url}/api/v1`, retry: { maxRetries: 2 } });
    await patient.identify('u3', {});
    expect((await person('u3')).id).toBe('u3');
    const rates = (await control('GET', '/rates')).workspaces.demo.track;
    expect(rates.peakAccepted).toBe(1);
    expect(rates.rejected).toBeGreaterThanOrEqual(2);
  });
});

describe('APIClient', () => {
  it('sendEmail and sendPush record deliveries', async () => {
    const email = await api.sendEmail(new SendEmailRequest({
      to: 'u1@example.com', identifiers: { id: 'u1' }, transactional_message_id: 'welcome', message_data: { name: 'Ada' },
    }));
    expect(typeof email.delivery_id).toBe('string');
    expect(Number.isInteger(email.queued_at)).toBe(true);
    const push = await api.sendPush(new SendPushRequest({ identifiers: { id: 'u1' }, transactional_message_id: 7, title: 'Hi' }));
    const deliveries = (await control('GET', '/deliveries?workspace=demo')).deliveries;
    expect(deliveries.map((d: any) => [d.channel, d.deliveryId])).toEqual([['email', email.delivery_id], ['push', push.delivery_id]]);
    expect(deliveries[0].body.message_data).toEqual({ name: 'Ada' });
    const err = (await api.sendEmail(new SendEmailRequest({ to: 'x@y.z', identifiers: { id: 'u1' }, body: 'b', subject: '', from: 'f@x' } as any)).catch((e: unknown) => e)) as CustomerIORequestError;
    expect(err.statusCode).toBe(400);
    expect(err.message).toContain('transactional_message_id or from, subject and body are required');
  });

  it('triggerBroadcast, getBroadcastTriggerStatus, listBroadcasts, getBroadcastMetrics', async () => {
    await control('POST', '/people', { workspace: 'demo', people: [{ id: 'a', email: 'a@x.com' }, { id: 'b', email: 'b@x.com' }] });
    const { broadcasts } = await api.listBroadcasts();
    expect(broadcasts.map((b: any) => [b.id, b.name])).toEqual([[1, 'Weekly digest'], [2, 'Breaking news']]);
    const trigger = await api.triggerBroadcast(1, { headline: 'Big news' }, { emails: ['a@x.com', 'b@x.com'], email_ignore_missing: false });
    expect((await lastRequest('/v1/campaigns/1/triggers')).body).toEqual({ data: { headline: 'Big news' }, emails: ['a@x.com', 'b@x.com'] });
    expect(await api.getBroadcastTriggerStatus(1, trigger.id)).toMatchObject({ id: trigger.id, broadcast_id: 1 });
    expect((await api.getBroadcastMetrics(1)).metric.series.sent).toEqual([2]);
    const second = (await api.triggerBroadcast(1, { headline: 'Again' }).catch((e: unknown) => e)) as CustomerIORequestError;
    expect(second.statusCode).toBe(429);
    expect(second.response.headers['retry-after']).toBeDefined();
    const missing = (await api.triggerBroadcast(2, undefined, { ids: ['ghost'] }).catch((e: unknown) => e)) as CustomerIORequestError;
    expect(missing.statusCode).toBe(422);
    expect(((await api.triggerBroadcast(99, {}).catch((e: unknown) => e)) as CustomerIORequestError).statusCode).toBe(404);
    expect((await control('GET', '/broadcasts/triggers?workspace=demo')).triggers).toHaveLength(1);
  });

  it('segments: list, create, get, count, membership, delete', async () => {
    await control('POST', '/people', { workspace: 'demo', people: [{ id: 'a' }, { id: 'b' }, { id: 'c' }] });
    expect((await api.listSegments()).segments).toEqual([]);
    const { segment } = await api.createSegment({ name: 'Readers', description: 'weekly readers' });
    expect(segment).toMatchObject({ name: 'Readers', description: 'weekly readers', type: 'manual' });
    expect((await api.getSegment(segment.id)).segment.id).toBe(segment.id);
    await cio.addCustomersToSegment(segment.id, ['a', 'c']);
    expect((await api.getSegmentCustomerCount(segment.id)).count).toBe(2);
    const page1 = await api.getSegmentMembership(segment.id, { limit: 1 });
    const page2 = await api.getSegmentMembership(segment.id, { start: page1.next, limit: 1 });
    expect([...page1.ids, ...page2.ids]).toEqual(['a', 'c']);
    expect(page2.next).toBe('');
    await api.deleteSegment(segment.id);
    expect((await api.listSegments()).segments).toEqual([]);
    expect(((await api.getSegment(segment.id).catch((e: unknown) => e)) as CustomerIORequestError).statusCode).toBe(404);
  });

  it('customers: getCustomersByEmail, getAttributes, searchCustomers, getCustomersAttributes', async () => {
    await cio.identify('u1', { email: 'Ada@Example.com', plan: 'pro' });
    await cio.identify('u2', { email: 'bob@example.com', plan: 'free' });
    const found = await api.getCustomersByEmail('ada@example.com');
    expect(found.results.map((r: any) => r.id)).toEqual(['u1']);
    expect((await api.getCustomersByEmail('nobody@example.com')).results).toEqual([]);
    expect((await api.getAttributes('u1')).customer.attributes).toMatchObject({ plan: 'pro', email: 'Ada@Example.com' });
    expect((await api.getAttributes('bob@example.com', IdentifierType.Email)).customer.id).toBe('u2');
    const search = await api.searchCustomers({ attribute: { field: 'plan', operator: 'eq', value: 'free' } } as any, { limit: 10 });
    expect(search.ids).toEqual(['u2']);
    expect((await lastRequest('/v1/customers')).query).toEqual({ limit: '10' });
    const bulk = await api.getCustomersAttributes(['u1', 'u2', 'ghost']);
    expect(bulk.customers.map((c: any) => c.customer.id)).toEqual(['u1', 'u2']);
  });

  it('getCampaignMetrics', async () => {
    expect((await api.getCampaignMetrics(3)).metric.series).toBeDefined();
    expect((await lastRequest('/v1/campaigns/3/metrics')).status).toBe(200);
    expect(((await api.getCampaignMetrics(404).catch((e: unknown) => e)) as CustomerIORequestError).statusCode).toBe(404);
  });
});
