// The Worker's Customer.io gateway, inside workerd: every call the edge makes round-trips through
// customerio-node to the fake, which recorded exactly what Customer.io would receive; failures come
// back classified with Customer.io's own words, however odd the answer.
import { describe, expect, it } from 'vitest';
import { customerIo } from '#edge/customerio/gateway.ts';
import { fake, fakeUrl, resetFake } from './helpers.ts';

const credentials = { siteId: 'demo_site', trackKey: 'demo_track_key', appKey: 'demo_app_key', region: 'us' as const };

async function lastRequest(api: 'track' | 'app') {
  const { requests } = await fake(`/requests?workspace=demo&api=${api}`);
  return requests.at(-1);
}

describe('the Customer.io gateway inside workerd, against the fake', () => {
  it('drives every Track and App call the edge uses, with typed answers', async () => {
    await resetFake();
    const cio = customerIo(credentials, fakeUrl());

    const batch = await cio.batch([
      { type: 'person', action: 'identify', identifiers: { email: 'adapter@example.com' }, attributes: { sharpsend_reads: 2 } },
      { type: 'person', action: 'event', identifiers: { email: 'adapter@example.com' }, name: 'sharpsend_signed_up', id: '01JADAPTER0000000000000000', timestamp: Math.floor(Date.now() / 1000) },
    ]);
    expect(batch).toEqual({ kind: 'ok' });
    expect(await lastRequest('track')).toMatchObject({ method: 'POST', path: '/api/v2/batch', status: 200 });
    expect((await fake('/people/demo/adapter@example.com')).attributes.sharpsend_reads).toBe(2);

    const created = await cio.createSegment('SharpSend: adapter', 'test');
    expect(created).toEqual({ kind: 'ok', value: { id: expect.any(Number) } });
    const segmentId = created.kind === 'ok' ? created.value.id : -1;
    expect(await lastRequest('app')).toMatchObject({ method: 'POST', path: '/v1/segments', body: { segment: { name: 'SharpSend: adapter' } } });

    expect((await cio.segmentMembers('add', segmentId, ['adapter@example.com'], 'email')).kind).toBe('ok');
    expect(await lastRequest('track')).toMatchObject({ path: `/api/v1/segments/${segmentId}/add_customers`, body: { ids: ['adapter@example.com'] } });
    expect(await cio.segmentCount(segmentId)).toEqual({ kind: 'ok', value: 1 });
    expect((await cio.segmentMembers('remove', segmentId, ['adapter@example.com'], 'email')).kind).toBe('ok');
    expect(await cio.segmentCount(segmentId)).toEqual({ kind: 'ok', value: 0 });

    const listed = await cio.listSegments();
    expect(listed.kind === 'ok' && listed.value.find((s) => s.id === segmentId)).toMatchObject({ name: 'SharpSend: adapter', type: expect.any(String) });
    expect((await cio.deleteSegment(segmentId)).kind).toBe('ok');
    expect(await lastRequest('app')).toMatchObject({ method: 'DELETE', path: `/v1/segments/${segmentId}` });

    const broadcasts = await cio.listBroadcasts();
    expect(broadcasts.kind === 'ok' && broadcasts.value).toContainEqual({ id: 1, name: 'Weekly digest', active: expect.any(Boolean) });
    const trigger = await cio.triggerBroadcast(1, { subject: 'Hi' }, { emails: ['adapter@example.com'], email_ignore_missing: true });
    expect(trigger).toEqual({ kind: 'ok', value: { triggerId: expect.any(Number) } });
    expect(await lastRequest('app')).toMatchObject({ path: '/v1/campaigns/1/triggers', body: { emails: ['adapter@example.com'], data: { subject: 'Hi' } } });

    const email = await cio.sendTransactional({ messageId: 7, to: 'adapter@example.com', identifiers: { email: 'adapter@example.com' }, data: { first: 'A' } });
    expect(email).toEqual({ kind: 'ok', value: { deliveryId: expect.any(String) } });
    expect((await fake('/deliveries?workspace=demo')).deliveries).toHaveLength(1);

    const search = await cio.searchPeople('', 10);
    expect(search.kind === 'ok' && search.value.people).toContainEqual(expect.objectContaining({ email: 'adapter@example.com' }));
  });

  it('classifies failures without throwing: 429 with and without Retry-After, 5xx, non-JSON pages, 4xx, a dropped connection, bad keys', async () => {
    await resetFake();
    const cio = customerIo(credentials, fakeUrl());
    const op = [{ type: 'person' as const, action: 'identify' as const, identifiers: { id: 'x-1' }, attributes: {} }];
    await fake('/failures', { body: { status: 429, count: 1, api: 'track' } });
    expect(await cio.batch(op)).toMatchObject({ kind: 'retry', status: 429, retryAfterMs: 1000 });
    await fake('/failures', { body: { status: 429, count: 1, api: 'track', noRetryAfter: true } });
    expect(await cio.batch(op)).toMatchObject({ kind: 'retry', status: 429, retryAfterMs: null });
    await fake('/failures', { body: { status: 503, count: 1, api: 'track' } });
    expect(await cio.batch(op)).toMatchObject({ kind: 'retry', status: 503 });
    // A load balancer's HTML page: still a 502 (customerio-node alone would lose the status).
    await fake('/failures', { body: { status: 502, count: 1, api: 'track', html: true } });
    expect(await cio.batch(op)).toEqual({ kind: 'retry', status: 502, retryAfterMs: null, message: '502 injected failure' });
    await fake('/failures', { body: { status: 429, count: 1, api: 'app', html: true, noRetryAfter: true } });
    expect(await cio.listBroadcasts()).toMatchObject({ kind: 'retry', status: 429 });
    // An HTML 401 from a proxy is not retryable.
    await fake('/failures', { body: { status: 401, count: 1, api: 'app', html: true } });
    expect(await cio.listSegments()).toMatchObject({ kind: 'reject', status: 401 });
    await fake('/failures', { body: { drop: true, count: 1, api: 'track' } });
    expect(await cio.batch(op)).toMatchObject({ kind: 'retry', status: null });
    expect(await cio.batch([{ type: 'person', action: 'fly', identifiers: { id: 'x-1' } }] as never)).toMatchObject({ kind: 'partial', errors: [expect.objectContaining({ batch_index: 0 })] });
    const wrong = customerIo({ ...credentials, trackKey: 'wrong' }, fakeUrl());
    expect(await wrong.batch(op)).toMatchObject({ kind: 'reject', status: 401 });
    // The App API's own words (errors[].detail) are kept.
    const refused = await cio.triggerBroadcast(999_999, {}, { emails: ['nobody@example.com'], email_ignore_missing: true });
    expect(refused).toMatchObject({ kind: 'reject', status: expect.any(Number), message: expect.not.stringMatching(/^Unknown error$/) });
    // customerio-node's own retries are off: each failure above was exactly one request (the
    // wrong-key call is not the demo workspace's).
    const { requests } = await fake('/requests?workspace=demo&api=track');
    expect(requests.filter((r: any) => r.path === '/api/v2/batch')).toHaveLength(6);
  });
});
