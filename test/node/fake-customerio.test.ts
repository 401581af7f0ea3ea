// Behaviour of the fake Customer.io server itself: the rules other tests rely on it to enforce.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFakeCustomerIo, type FakeCustomerIo } from '../fake-customerio/server.ts';
import { PeakRecorder, SlidingWindowLimiter } from '../fake-customerio/rate-limit.ts';

let fake: FakeCustomerIo;

const demoTrack = `Basic ${Buffer.from('demo_site:demo_track_key').toString('base64')}`;
const otherTrack = `Basic ${Buffer.from('other_site:other_track_key').toString('base64')}`;
const demoApp = 'Bearer demo_app_key';

interface Res { status: number; headers: Headers; json: any; text: string }

async function call(method: string, path: string, auth?: string, body?: unknown): Promise<Res> {
  const headers: Record<string, string> = {};
  if (auth) headers.authorization = auth;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${fake.url}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text === '' ? undefined : JSON.parse(text) };
}
const track = (method: string, path: string, body?: unknown, auth = demoTrack) => call(method, `/api/v1${path}`, auth, body);
const trackV2 = (path: string, body: unknown, auth = demoTrack) => call('POST', `/api/v2${path}`, auth, body);
const app = (method: string, path: string, body?: unknown, auth = demoApp) => call(method, `/v1${path}`, auth, body);
const control = (method: string, path: string, body?: unknown) => call(method, `/_fake${path}`, undefined, body);
const person = async (identifier: string, workspace = 'demo') => control('GET', `/people/${workspace}/${encodeURIComponent(identifier)}`);

beforeAll(async () => {
  fake = await createFakeCustomerIo({ port: 0 });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(async () => {
  await control('POST', '/reset');
});

describe('rate-limit.ts (pure)', () => {
  it('accepts up to the limit in a sliding window and says when to retry', () => {
    const limiter = new SlidingWindowLimiter(3, 1000);
    expect([0, 100, 200].map((t) => limiter.tryAcquire(t).ok)).toEqual([true, true, true]);
    expect(limiter.tryAcquire(300)).toEqual({ ok: false, retryAfterSeconds: 1 });
    // The first slot frees at 1000 ms, not at a fixed second boundary.
    expect(limiter.tryAcquire(999).ok).toBe(false);
    expect(limiter.tryAcquire(1000).ok).toBe(true);
    const slow = new SlidingWindowLimiter(1, 10_000);
    slow.tryAcquire(0);
    expect(slow.tryAcquire(500)).toEqual({ ok: false, retryAfterSeconds: 10 });
  });

  it('records the busiest 1000 ms window, not per calendar second', () => {
    const peak = new PeakRecorder();
    // 3 events late in one second and 3 early in the next fall in one 1000 ms window.
    for (const t of [700, 800, 900, 1100, 1200, 1300, 2500]) peak.record(t);
    expect(peak.peak).toBe(6);
    expect(peak.total).toBe(7);
  });
});

describe('auth', () => {
  it('answers 401 to missing or wrong Track credentials with an empty JSON object', async () => {
    for (const auth of [undefined, `Basic ${Buffer.from('demo_site:wrong').toString('base64')}`, demoApp]) {
      const res = await call('PUT', '/api/v1/customers/u1', auth, { a: 1 });
      expect(res.status).toBe(401);
      expect(res.json).toEqual({});
    }
    expect((await trackV2('/entity', { type: 'person', action: 'identify', identifiers: { id: 'u1' } }, 'Basic eDp5')).status).toBe(401);
    expect((await person('u1')).status).toBe(404);
  });

  it('answers 401 to missing or wrong App keys with a JSON:API error', async () => {
    for (const auth of [undefined, 'Bearer nope', demoTrack]) {
      const res = await call('GET', '/v1/segments', auth);
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ errors: [{ detail: 'unauthorized', status: '401' }] });
    }
  });

  it('keeps workspaces isolated', async () => {
    await track('PUT', '/customers/u1', { plan: 'pro' });
    await track('PUT', '/customers/u1', { plan: 'free' }, otherTrack);
    expect((await person('u1', 'demo')).json.attributes.plan).toBe('pro');
    expect((await person('u1', 'other')).json.attributes.plan).toBe('free');
    const log = await control('GET', '/requests?workspace=other');
    expect(log.json.requests).toHaveLength(1);
  });
});

describe('Track v1 validation', () => {
  const cases: Array<[string, string, string, unknown, string]> = [
    ['identifier over 150 bytes', 'PUT', `/customers/${'x'.repeat(151)}`, {}, 'identifier cannot be longer than 150 bytes'],
    ['blank identifier', 'PUT', '/customers/%20', {}, 'identifier cannot be blank'],
    ['millisecond event timestamp', 'POST', '/customers/u1/events', { name: 'x', timestamp: Date.now() }, 'timestamp must be a valid unix timestamp in seconds'],
    ['string event timestamp', 'POST', '/customers/u1/events', { name: 'x', timestamp: '1700000000' }, 'timestamp must be a valid unix timestamp in seconds'],
    ['millisecond created_at', 'PUT', '/customers/u1', { created_at: Date.now() }, 'created_at must be a valid unix timestamp in seconds'],
    ['missing event name', 'POST', '/customers/u1/events', { data: {} }, 'name cannot be blank'],
    ['missing anonymous event name', 'POST', '/events', { anonymous_id: 'a1' }, 'name cannot be blank'],
    ['event name over 100 bytes', 'POST', '/customers/u1/events', { name: 'e'.repeat(101) }, 'event name cannot be longer than 100 bytes'],
    ['non-object data', 'POST', '/customers/u1/events', { name: 'x', data: 'str' }, 'event data must be a hash'],
    ['more than 300 attributes', 'PUT', '/customers/u1', Object.fromEntries(Array.from({ length: 301 }, (_, i) => [`a${i}`, i])), 'cannot identify more than 300 attributes in one request'],
    ['attribute name over 150 bytes', 'PUT', '/customers/u1', { ['n'.repeat(151)]: 1 }, 'attribute name cannot be longer than 150 bytes'],
    ['attribute value over 1000 bytes', 'PUT', '/customers/u1', { bio: 'v'.repeat(1001) }, "value for attribute 'bio' cannot be longer than 1000 bytes"],
  ];
  it.each(cases)('400 for %s, naming the problem, and nothing applied', async (_label, method, path, body, message) => {
    const res = await track(method, path, body);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ meta: { errors: [message] } });
    expect((await control('GET', '/people')).json.people).toEqual([]);
  });

  it('accepts values at the limits exactly', async () => {
    const res = await track('PUT', `/customers/${'x'.repeat(150)}`, { ['n'.repeat(150)]: 'v'.repeat(1000), created_at: 1700000000 });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({});
    expect((await track('POST', `/customers/${'x'.repeat(150)}/events`, { name: 'e'.repeat(100) })).status).toBe(200);
  });

  it('rejects a body that is not JSON', async () => {
    const res = await track('PUT', '/customers/u1', '{not json');
    expect(res.status).toBe(400);
    expect(res.json.meta.errors[0]).toMatch(/JSON/);
  });
});

describe('people: reads reflect writes', () => {
  it('identify then read attributes through the App API, by id and by email case-insensitively', async () => {
    await track('PUT', '/customers/u1', { email: 'Reader@Example.com', plan: 'pro', score: 7 });
    const byId = await app('GET', '/customers/u1/attributes');
    expect(byId.status).toBe(200);
    expect(byId.json.customer.id).toBe('u1');
    expect(byId.json.customer.attributes).toMatchObject({ plan: 'pro', score: '7', email: 'Reader@Example.com' });
    const byEmail = await app('GET', '/customers/reader%40example.com/attributes?id_type=email');
    expect(byEmail.json.customer.id).toBe('u1');
    expect((await app('GET', '/customers?email=READER%40example.com')).json.results).toEqual([{ id: 'u1', email: 'Reader@Example.com', cio_id: byId.json.customer.identifiers.cio_id }]);
    expect((await app('GET', '/customers/nobody/attributes')).status).toBe(404);
  });

  it('identify by a new id with a known email updates that person; _update never creates; null removes', async () => {
    await track('PUT', '/customers/old%40x.com', { plan: 'free' });
    await track('PUT', '/customers/u9', { email: 'OLD@x.com', plan: 'pro' });
    const people = (await control('GET', '/people')).json.people;
    expect(people).toHaveLength(1);
    expect(people[0]).toMatchObject({ id: 'u9', attributes: { plan: 'pro' } });
    await track('PUT', '/customers/u9', { plan: null });
    expect((await person('u9')).json.attributes.plan).toBeUndefined();
    await track('PUT', '/customers/ghost', { _update: true, plan: 'x' });
    expect((await person('ghost')).status).toBe(404);
  });

  it('merges anonymous events on identify with anonymous_id, once only', async () => {
    await track('POST', '/events', { name: 'article_read', anonymous_id: 'anon-1', data: { slug: 'a' } });
    await track('POST', '/events', { name: 'article_read', anonymous_id: 'anon-1', data: { slug: 'b' } });
    await track('POST', '/customers/u1/events', { name: 'subscribed' });
    await track('PUT', '/customers/u1', { anonymous_id: 'anon-1' });
    const events = (await person('u1')).json.events;
    expect(events.map((e: any) => [e.name, e.data.slug ?? null, e.mergedFromAnonymous])).toEqual([
      ['article_read', 'a', true], ['article_read', 'b', true], ['subscribed', null, false],
    ]);
    // The same anonymous id cannot attach later events to someone else.
    await track('POST', '/events', { name: 'late', anonymous_id: 'anon-1' });
    await track('PUT', '/customers/u2', { anonymous_id: 'anon-1' });
    expect((await person('u2')).json.events).toEqual([]);
    expect((await person('u1')).json.events).toHaveLength(3);
  });

  it('dedupes events by id and records page views with type page', async () => {
    for (let i = 0; i < 2; i++) expect((await track('POST', '/customers/u1/events', { name: 'opened', id: '01HULID' })).status).toBe(200);
    await track('POST', '/customers/u1/events', { type: 'page', name: 'https://news.example/a' });
    const events = (await person('u1')).json.events;
    expect(events.map((e: any) => [e.type, e.name])).toEqual([['event', 'opened'], ['page', 'https://news.example/a']]);
  });

  it('merge_customers moves data to the primary and deletes the secondary; bad sides are 400', async () => {
    await track('PUT', '/customers/p1', { plan: 'pro' });
    await track('PUT', '/customers/s%40x.com', { plan: 'free', city: 'Oslo' });
    await track('POST', '/customers/s%40x.com/events', { name: 'clicked' });
    expect((await track('POST', '/merge_customers', { primary: { id: 'p1' }, secondary: { email: 's@x.com' } })).status).toBe(200);
    const merged = (await person('p1')).json;
    expect(merged).toMatchObject({ email: 's@x.com', attributes: { plan: 'pro', city: 'Oslo' } });
    expect(merged.events.map((e: any) => e.name)).toEqual(['clicked']);
    expect((await control('GET', '/people')).json.people).toHaveLength(1);
    const bad = await track('POST', '/merge_customers', { primary: { id: 'p1', email: 'x@y' }, secondary: { id: 'z' } });
    expect(bad.status).toBe(400);
    expect(bad.json.meta.errors).toEqual(['primary must have exactly one identifier']);
  });

  it('suppress deletes and blocks the person until unsuppressed', async () => {
    await track('PUT', '/customers/u1', { plan: 'pro' });
    await track('POST', '/customers/u1/suppress');
    expect((await person('u1')).json).toMatchObject({ suppressed: true, deleted: true });
    await track('PUT', '/customers/u1', { plan: 'again' });
    expect((await person('u1')).json.attributes).toEqual({});
    await track('POST', '/customers/u1/unsuppress');
    await track('PUT', '/customers/u1', { plan: 'back' });
    expect((await person('u1')).json).toMatchObject({ suppressed: false, attributes: { plan: 'back' } });
    await track('DELETE', '/customers/u1');
    expect((await person('u1')).status).toBe(404);
  });

  it('segment add/remove is reflected in membership, count and the person', async () => {
    await control('POST', '/people', { workspace: 'demo', people: [{ id: 'a' }, { id: 'b' }, { id: 'c', email: 'c@x.com' }] });
    const seg = (await app('POST', '/segments', { segment: { name: 'Readers' } })).json.segment;
    expect(seg).toMatchObject({ name: 'Readers', type: 'manual' });
    expect((await track('POST', `/segments/${seg.id}/add_customers`, { ids: ['a', 'b', 'nobody'] })).status).toBe(200);
    expect((await track('POST', `/segments/${seg.id}/add_customers?id_type=email`, { ids: ['C@x.com'] })).status).toBe(200);
    expect((await app('GET', `/segments/${seg.id}/customer_count`)).json).toEqual({ segment_id: seg.id, count: 3 });
    await track('POST', `/segments/${seg.id}/remove_customers`, { ids: ['b'] });
    const members = (await app('GET', `/segments/${seg.id}/membership`)).json;
    expect(members.ids).toEqual(['a', 'c']);
    expect(members.next).toBe('');
    expect((await person('a')).json.segments).toEqual([seg.id]);
    expect((await app('GET', '/customers/a/segments')).json.segments.map((s: any) => s.id)).toEqual([seg.id]);
  });

  it('segment membership limits: ids 1-1000, manual only, unknown segment 404', async () => {
    const seg = (await app('POST', '/segments', { segment: { name: 'S' } })).json.segment;
    expect((await track('POST', `/segments/${seg.id}/add_customers`, { ids: [] })).json).toEqual({ meta: { errors: ['ids must be a non-empty array'] } });
    expect((await track('POST', `/segments/${seg.id}/add_customers`, { ids: Array.from({ length: 1001 }, (_, i) => `u${i}`) })).status).toBe(400);
    expect((await track('POST', `/segments/${seg.id}/add_customers?id_type=phone`, { ids: ['a'] })).status).toBe(400);
    expect((await track('POST', '/segments/999/add_customers', { ids: ['a'] })).status).toBe(404);
    const dynamic = (await control('POST', '/segments', { workspace: 'demo', name: 'Active', type: 'dynamic' })).json.segment;
    expect((await track('POST', `/segments/${dynamic.id}/add_customers`, { ids: ['a'] })).status).toBe(400);
  });
});

describe('App API reads', () => {
  it('404 for unknown segments and broadcasts', async () => {
    for (const path of ['/segments/42', '/segments/42/customer_count', '/segments/42/membership', '/broadcasts/99', '/broadcasts/99/metrics', '/broadcasts/99/triggers', '/campaigns/99/metrics']) {
      const res = await app('GET', path);
      expect(res.status, path).toBe(404);
      expect(res.json.errors[0].status).toBe('404');
    }
    expect((await app('POST', '/campaigns/99/triggers', {})).status).toBe(404);
    expect((await app('DELETE', '/segments/42')).status).toBe(404);
  });

  it('search pages stably through thousands of people while people change', async () => {
    const people = Array.from({ length: 2500 }, (_, i) => ({ id: `r${i}`, attributes: { plan: i % 2 === 0 ? 'pro' : 'free' } }));
    expect((await control('POST', '/people', { workspace: 'demo', people })).json.total).toBe(2500);
    const seen: string[] = [];
    let start = '';
    let pages = 0;
    do {
      const res = await app('POST', `/customers?limit=1000${start ? `&start=${start}` : ''}`, { filter: { attribute: { field: 'plan', operator: 'eq', value: 'pro' } } });
      expect(res.status).toBe(200);
      seen.push(...res.json.ids);
      start = res.json.next;
      // A person added mid-walk must not shift the rest of the walk.
      if (pages++ === 0) await track('PUT', '/customers/late', { plan: 'pro' });
    } while (start);
    expect(seen.slice(0, 1250)).toEqual(people.filter((_, i) => i % 2 === 0).map((p) => p.id));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.at(-1)).toBe('late');
    expect((await app('POST', '/customers?limit=1001', { filter: { attribute: { field: 'plan', operator: 'exists' } } })).status).toBe(400);
    expect((await app('POST', '/customers', { filter: { attribute: { field: 'plan', operator: 'gt', value: 1 } } })).status).toBe(400);
  });

  it('search evaluates and/or/not/segment filters', async () => {
    await control('POST', '/people', { workspace: 'demo', people: [{ id: 'a', attributes: { plan: 'pro' } }, { id: 'b', attributes: { plan: 'free' } }, { id: 'c' }] });
    const seg = (await control('POST', '/segments', { workspace: 'demo', name: 'S', members: ['b', 'c'] })).json.segment;
    const ids = async (filter: unknown) => (await app('POST', '/customers', { filter })).json.ids;
    expect(await ids({ not: { attribute: { field: 'plan', operator: 'exists' } } })).toEqual(['c']);
    expect(await ids({ and: [{ segment: { id: seg.id } }, { attribute: { field: 'plan', operator: 'exists' } }] })).toEqual(['b']);
    expect(await ids({ or: [{ attribute: { field: 'plan', operator: 'eq', value: 'pro' } }, { segment: { id: seg.id } }] })).toEqual(['a', 'b', 'c']);
  });
});

describe('broadcast triggers', () => {
  beforeEach(async () => {
    await control('POST', '/people', { workspace: 'demo', people: [{ id: 'a', email: 'a@x.com' }, { id: 'b' }] });
  });

  it('records a trigger and reads it back', async () => {
    const res = await app('POST', '/campaigns/1/triggers', { ids: ['a', 'b'], data: { headline: 'Hi' } });
    expect(res.status).toBe(200);
    expect(typeof res.json.id).toBe('number');
    expect((await app('GET', `/campaigns/1/triggers/${res.json.id}`)).json).toMatchObject({ id: res.json.id, broadcast_id: 1 });
    expect((await app('GET', '/broadcasts/1/triggers')).json.triggers).toHaveLength(1);
    const recorded = (await control('GET', '/broadcasts/triggers?workspace=demo')).json.triggers;
    expect(recorded[0]).toMatchObject({ broadcast_id: 1, audience: 'ids', data: { headline: 'Hi' } });
    expect(recorded[0].recipients).toHaveLength(2);
    expect((await app('GET', '/broadcasts/1/metrics')).json.metric.series.sent).toEqual([2]);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['mixed audience forms', { ids: ['a'], per_user_data: [{ id: 'a', data: {} }] }, /only one of/],
    ['ids naming nobody', { ids: ['a', 'ghost'] }, /ids not found: ghost/],
    ['emails naming nobody', { emails: ['ghost@x.com'] }, /emails not found/],
    ['empty recipients filter', { recipients: {} }, /empty recipients filter is not valid/],
  ];
  it.each(bad)('422 for %s', async (_label, body, message) => {
    await control('POST', '/limits', { broadcastIntervalMs: 1 });
    const res = await app('POST', '/campaigns/2/triggers', body);
    expect(res.status).toBe(422);
    expect(res.json.errors[0].detail).toMatch(message);
    expect((await control('GET', '/broadcasts/triggers')).json.triggers).toEqual([]);
  });

  it('missing people are allowed with *_ignore_missing', async () => {
    const res = await app('POST', '/campaigns/2/triggers', { ids: ['a', 'ghost'], id_ignore_missing: true });
    expect(res.status).toBe(200);
    expect((await control('GET', '/broadcasts/triggers')).json.triggers[0].recipients).toHaveLength(1);
  });

  it('allows one trigger per broadcast per interval: 429 + Retry-After, other broadcasts unaffected', async () => {
    expect((await app('POST', '/campaigns/1/triggers', { ids: ['a'] })).status).toBe(200);
    const again = await app('POST', '/campaigns/1/triggers', { ids: ['a'] });
    expect(again.status).toBe(429);
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThanOrEqual(9);
    expect((await app('POST', '/campaigns/2/triggers', { ids: ['a'] })).status).toBe(200);
    expect((await control('GET', '/broadcasts/triggers')).json.triggers).toHaveLength(2);

    await control('POST', '/reset', { broadcastIntervalMs: 200 });
    await control('POST', '/people', { workspace: 'demo', people: [{ id: 'a' }] });
    expect((await app('POST', '/campaigns/1/triggers', { ids: ['a'] })).status).toBe(200);
    expect((await app('POST', '/campaigns/1/triggers', { ids: ['a'] })).status).toBe(429);
    await new Promise((r) => setTimeout(r, 250));
    expect((await app('POST', '/campaigns/1/triggers', { ids: ['a'] })).status).toBe(200);
  });

  it('control surface adds broadcasts', async () => {
    const added = await control('POST', '/broadcasts', { workspace: 'demo', name: 'Evening edition' });
    expect(added.json.broadcast).toMatchObject({ id: 4, name: 'Evening edition' });
    expect((await app('GET', '/broadcasts')).json.broadcasts.map((b: any) => b.name)).toEqual(['Weekly digest', 'Breaking news', 'Evening edition']);
    expect((await app('POST', '/campaigns/4/triggers', {})).status).toBe(200);
  });
});

describe('rate limits', () => {
  it('Track: 429 past trackPerSecond, nothing applied, peaks recorded', async () => {
    await control('POST', '/limits', { trackPerSecond: 5 });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => track('PUT', `/customers/u${i}`, { n: i })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    for (const r of results.filter((x) => x.status === 429)) expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await control('GET', '/people')).json.people).toHaveLength(5);
    // v2 shares the Track budget.
    expect((await trackV2('/entity', { type: 'person', action: 'identify', identifiers: { id: 'v2' } })).status).toBe(429);
    const rates = (await control('GET', '/rates')).json;
    expect(rates.workspaces.demo.track).toMatchObject({ peakReceived: 9, peakAccepted: 5, rejected: 4, limitPerSecond: 5 });
    expect(rates.workspaces.other.track.peakReceived).toBe(0);
  });

  it('App: 429 past appPerSecond, broadcast triggers count toward it', async () => {
    await control('POST', '/reset', { appPerSecond: 3 });
    expect((await app('POST', '/campaigns/1/triggers', {})).status).toBe(200);
    const results = await Promise.all(Array.from({ length: 4 }, () => app('GET', '/segments')));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 429, 429]);
    expect(results.find((r) => r.status === 429)?.json.errors[0].status).toBe('429');
    const rates = (await control('GET', '/rates')).json.workspaces.demo.app;
    expect(rates).toMatchObject({ peakReceived: 5, peakAccepted: 3, limitPerSecond: 3 });
  });
});

describe('Track v2', () => {
  it('207 partial batch: good items apply, bad ones are reported by index', async () => {
    const res = await trackV2('/batch', {
      batch: [
        { type: 'person', action: 'identify', identifiers: { id: 'u1' }, attributes: { plan: 'pro' } },
        { type: 'person', action: 'event', identifiers: { id: 'u1' } },
        { type: 'person', action: 'event', identifiers: { id: 'u1' }, name: 'clicked', id: 'e1' },
        { type: 'person', action: 'event', identifiers: { id: 'u1' }, name: 'clicked', id: 'e1' },
        { type: 'person', action: 'identify', identifiers: { id: 'u2', email: 'x@y' } },
        { type: 'person', action: 'identify', identifiers: { id: 'big' }, attributes: { blob: 'z'.repeat(33 * 1024) } },
      ],
    });
    expect(res.status).toBe(207);
    expect(res.json.errors.map((e: any) => [e.batch_index, e.field])).toEqual([[1, 'name'], [4, 'identifiers'], [5, 'batch']]);
    expect(res.json.errors[0]).toEqual({ batch_index: 1, reason: 'required', field: 'name', message: 'name cannot be blank' });
    const u1 = (await person('u1')).json;
    expect(u1.attributes.plan).toBe('pro');
    expect(u1.events.map((e: any) => e.name)).toEqual(['clicked']);
  });

  it('400 when the whole body is bad; entity applies one operation', async () => {
    expect((await trackV2('/batch', { nope: [] })).status).toBe(400);
    expect((await trackV2('/entity', { type: 'person', action: 'fly', identifiers: { id: 'u1' } })).json.errors[0].field).toBe('action');
    expect((await trackV2('/entity', { type: 'person', action: 'page', identifiers: { id: 'u1' }, name: '/a' })).status).toBe(200);
    expect((await person('u1')).json.events[0]).toMatchObject({ type: 'page', name: '/a' });
  });
});

describe('failure injection', () => {
  it('answers the injected status for the next N matching calls only', async () => {
    await control('POST', '/failures', { status: 503, count: 2, api: 'track' });
    expect((await app('GET', '/segments')).status).toBe(200);
    expect((await track('PUT', '/customers/u1', {})).status).toBe(503);
    expect((await track('PUT', '/customers/u1', {})).status).toBe(503);
    expect((await track('PUT', '/customers/u1', {})).status).toBe(200);
    const log = (await control('GET', '/requests?api=track')).json.requests;
    expect(log.map((e: any) => e.status)).toEqual([503, 503, 200]);
  });

  it('delays calls by latencyMs, and DELETE clears pending failures', async () => {
    await control('POST', '/failures', { latencyMs: 300, count: 1 });
    const started = Date.now();
    expect((await track('PUT', '/customers/u1', {})).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    await control('POST', '/failures', { status: 500, count: 5, workspace: 'demo' });
    expect((await track('PUT', '/customers/u1', {}, otherTrack)).status).toBe(200);
    await control('DELETE', '/failures');
    expect((await track('PUT', '/customers/u1', {})).status).toBe(200);
  });

  it('drops the connection when asked', async () => {
    await control('POST', '/failures', { drop: true, count: 1, api: 'app' });
    await expect(app('GET', '/segments')).rejects.toThrow();
    expect((await app('GET', '/segments')).status).toBe(200);
  });

  it('targets calls by path prefix, and gives an injected 429 the Retry-After asked for', async () => {
    await control('POST', '/failures', { status: 429, count: 1, api: 'app', path: '/v1/campaigns/', retryAfter: 30 });
    expect((await app('GET', '/segments')).status).toBe(200);
    const refused = await app('POST', '/campaigns/1/triggers', { emails: ['nobody@x.com'], email_ignore_missing: true });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('30');
    expect((await control('POST', '/failures', { status: 500, path: 'campaigns' })).status).toBe(400);
    expect((await control('POST', '/failures', { status: 429, retryAfter: 0 })).status).toBe(400);
  });
});

describe('the fake\'s clock', () => {
  it('runs clockOffsetMs ahead of real time after a reset that asks, and back at real time after one that does not', async () => {
    const hour = 3_600_000;
    expect((await control('POST', '/reset', { clockOffsetMs: hour })).json.clockOffsetMs).toBe(hour);
    const { id } = (await app('POST', '/campaigns/1/triggers', { emails: ['nobody@x.com'], email_ignore_missing: true })).json;
    const created = (await app('GET', `/campaigns/1/triggers/${id}`)).json.created_at * 1000;
    expect(Math.abs(created - (Date.now() + hour))).toBeLessThan(2_000);
    const log = (await control('GET', '/requests?api=app')).json.requests;
    expect(log[0].at - Date.now()).toBeGreaterThan(hour - 2_000);
    await control('POST', '/reset');
    await app('POST', '/campaigns/1/triggers', { emails: ['nobody@x.com'], email_ignore_missing: true });
    expect(Math.abs((await control('GET', '/requests?api=app')).json.requests[0].at - Date.now())).toBeLessThan(2_000);
    expect((await control('POST', '/reset', { clockOffsetMs: 1.5 })).status).toBe(400);
  });
});

describe('control surface', () => {
  it('logs every request with workspace, api, body and status, filterable', async () => {
    await track('PUT', '/customers/u1?x=1', { plan: 'pro' });
    await app('GET', '/segments');
    await call('GET', '/elsewhere');
    const all = (await control('GET', '/requests')).json.requests;
    expect(all.slice(0, 3).map((e: any) => [e.api, e.method, e.path, e.workspace, e.status])).toEqual([
      ['track', 'PUT', '/api/v1/customers/u1', 'demo', 200], ['app', 'GET', '/v1/segments', 'demo', 200], ['unknown', 'GET', '/elsewhere', null, 404],
    ]);
    expect(all[0]).toMatchObject({ seq: 1, query: { x: '1' }, body: { plan: 'pro' } });
    expect((await control('GET', '/requests?path_prefix=/v1/')).json.requests).toHaveLength(1);
  });

  it('reset clears state and the log, restores seeds and limits', async () => {
    await control('POST', '/limits', { trackPerSecond: 1 });
    await track('PUT', '/customers/u1', {});
    await app('POST', '/segments', { segment: { name: 'S' } });
    expect((await control('POST', '/reset')).json.limits).toEqual({ trackPerSecond: 100, appPerSecond: 10, broadcastIntervalMs: 10000 });
    expect((await control('GET', '/people')).json.people).toEqual([]);
    expect((await control('GET', '/segments')).json.segments).toEqual([]);
    // The log restarts at the reset: only the control reads made since then are in it.
    const log = (await control('GET', '/requests')).json.requests;
    expect(log.map((e: any) => [e.seq, e.path])).toEqual([[1, '/_fake/people'], [2, '/_fake/segments'], [3, '/_fake/requests']]);
    expect((await app('GET', '/broadcasts')).json.broadcasts.map((b: any) => b.id)).toEqual([1, 2]);
    expect((await control('GET', '/healthz')).json).toEqual({ ok: true });
    expect((await control('POST', '/limits', { appPerSecond: 0 })).status).toBe(400);
  });
});
