// The Worker's own Customer.io adapter, inside workerd: every customerio-node call the edge makes
// round-trips through the fake, and the fake recorded exactly what Customer.io would receive.
import { describe, expect, it } from 'vitest';
import { SendEmailRequest } from 'customerio-node';
import { call, customerIoClients, sendBatch } from '#edge/customerio/client.ts';
import { fake, fakeUrl, resetFake } from './helpers.ts';

const credentials = { siteId: 'demo_site', trackKey: 'demo_track_key', appKey: 'demo_app_key', region: 'us' as const };

async function lastRequest(api: 'track' | 'app') {
  const { requests } = await fake(`/requests?workspace=demo&api=${api}`);
  return requests.at(-1);
}

describe('customerio-node inside workerd, against the fake', () => {
  it('drives every Track and App call the edge uses and the fake records them', async () => {
    await resetFake();
    const { track, app } = customerIoClients(credentials, fakeUrl());

    const batch = await sendBatch({ track, app }, [
      { type: 'person', action: 'identify', identifiers: { email: 'adapter@example.com' }, attributes: { sharpsend_reads: 2 } },
      { type: 'person', action: 'event', identifiers: { email: 'adapter@example.com' }, name: 'sharpsend_signed_up', id: '01JADAPTER0000000000000000', timestamp: Math.floor(Date.now() / 1000) },
    ]);
    expect(batch.kind).toBe('ok');
    expect(await lastRequest('track')).toMatchObject({ method: 'POST', path: '/api/v2/batch', status: 200 });
    expect((await fake('/people/demo/adapter@example.com')).attributes.sharpsend_reads).toBe(2);

    const created = await call(() => app.createSegment({ name: 'SharpSend: adapter', description: 'test' }));
    expect(created.kind).toBe('ok');
    const segmentId = (created as { body: { segment: { id: number } } }).body.segment.id;
    expect(await lastRequest('app')).toMatchObject({ method: 'POST', path: '/v1/segments', body: { segment: { name: 'SharpSend: adapter' } } });

    expect((await call(() => track.addCustomersToSegment(segmentId, ['adapter@example.com'], 'email' as never))).kind).toBe('ok');
    expect(await lastRequest('track')).toMatchObject({ path: `/api/v1/segments/${segmentId}/add_customers`, body: { ids: ['adapter@example.com'] } });
    const count = await call(() => app.getSegmentCustomerCount(segmentId));
    expect(count).toMatchObject({ kind: 'ok', body: { count: 1 } });
    expect((await call(() => track.removeCustomersFromSegment(segmentId, ['adapter@example.com'], 'email' as never))).kind).toBe('ok');
    expect(await call(() => app.getSegmentCustomerCount(segmentId))).toMatchObject({ kind: 'ok', body: { count: 0 } });

    const listed = await call(() => app.listSegments());
    expect(JSON.stringify(listed)).toContain('SharpSend: adapter');
    expect((await call(() => app.deleteSegment(segmentId))).kind).toBe('ok');
    expect(await lastRequest('app')).toMatchObject({ method: 'DELETE', path: `/v1/segments/${segmentId}` });

    const broadcasts = await call(() => app.listBroadcasts());
    expect(JSON.stringify(broadcasts)).toContain('Weekly digest');
    const trigger = await call(() => app.triggerBroadcast(1, { subject: 'Hi' }, { emails: ['adapter@example.com'] } as never));
    expect(trigger).toMatchObject({ kind: 'ok', body: { id: expect.any(Number) } });
    expect(await lastRequest('app')).toMatchObject({ path: '/v1/campaigns/1/triggers', body: { emails: ['adapter@example.com'], data: { subject: 'Hi' } } });

    const email = await call(() => app.sendEmail(new SendEmailRequest({ to: 'adapter@example.com', transactional_message_id: 7, identifiers: { email: 'adapter@example.com' }, message_data: { first: 'A' } })));
    expect(email).toMatchObject({ kind: 'ok', body: { delivery_id: expect.any(String) } });
    expect((await fake('/deliveries?workspace=demo')).deliveries).toHaveLength(1);

    const search = await call(() => app.searchCustomers({ attribute: { field: 'email', operator: 'exists' } } as never, { limit: 10 }));
    expect(search).toMatchObject({ kind: 'ok', body: { identifiers: [expect.objectContaining({ email: 'adapter@example.com' })] } });
  });

  it('classifies failures without throwing: 429 with Retry-After, 5xx, 4xx, a dropped connection, bad keys', async () => {
    await resetFake();
    const { track } = customerIoClients(credentials, fakeUrl());
    const op = [{ type: 'person' as const, action: 'identify', identifiers: { id: 'x-1' }, attributes: {} }];
    await fake('/failures', { body: { status: 429, count: 1, api: 'track' } });
    expect(await sendBatch({ track } as never, op)).toMatchObject({ kind: 'retry', status: 429, retryAfterMs: 1000 });
    await fake('/failures', { body: { status: 503, count: 1, api: 'track' } });
    expect(await sendBatch({ track } as never, op)).toMatchObject({ kind: 'retry', status: 503 });
    await fake('/failures', { body: { drop: true, count: 1, api: 'track' } });
    expect(await sendBatch({ track } as never, op)).toMatchObject({ kind: 'retry', status: null });
    expect(await sendBatch({ track } as never, [{ type: 'person', action: 'fly', identifiers: { id: 'x-1' } }] as never)).toMatchObject({ kind: 'partial' });
    const wrong = customerIoClients({ ...credentials, trackKey: 'wrong' }, fakeUrl());
    expect(await sendBatch(wrong, op)).toMatchObject({ kind: 'reject', status: 401 });
    // customerio-node's own retries are off: each failure above was exactly one request.
    const { requests } = await fake('/requests?workspace=demo&api=track');
    expect(requests.filter((r: any) => r.path === '/api/v2/batch')).toHaveLength(4);
  });
});
