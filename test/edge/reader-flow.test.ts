// A reader's life: anonymous reads and picks, a sign-up, the backend's identify, and what the
// edge and the fake Customer.io hold afterwards.
import { abortAllDurableObjects, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createWorkspace, eventId, eventually, fake, fakeUrl, page, postEvents, resetFake, serverApi, QUICK_SYNC } from './helpers.ts';
import { directoryStub } from '#edge/platform/stubs.ts';

const DAY = 86_400_000;

async function personIn(email: string, until: (p: any) => boolean) {
  return eventually(async () => {
    const p = await fake(`/people/demo/${encodeURIComponent(email)}`).catch(() => null);
    return p && until(p) ? p : null;
  }, 20_000, `person ${email} in the fake`);
}

describe('reads, picks and a sign-up', () => {
  it('produce the documented counters, score and tags, and one person in Customer.io holding the anonymous history', async () => {
    await resetFake();
    const ws = await createWorkspace(QUICK_SYNC);
    const anon = 'anon-flow-000001';
    const now = Date.now();
    const reads = [
      page(anon, { ts: now - 2 * DAY, category: 'crypto', engagedMs: 180_000, scrollDepth: 1 }),
      page(anon, { ts: now - DAY, category: 'crypto', engagedMs: 180_000, scrollDepth: 1 }),
      page(anon, { ts: now - 1000, category: 'stocks', engagedMs: 60_000, scrollDepth: 0.5 }),
    ];
    expect(await (await postEvents({ workspace: ws.id, events: reads })).json()).toEqual({ accepted: 3, duplicates: 0 });
    const pick = { id: eventId(), type: 'preferences', anonymousId: anon, ts: now - 500, topics: ['crypto', 'options'] };
    const signup = { id: eventId(), type: 'signup', anonymousId: anon, ts: now, email: 'Flow.Reader@Example.com', topics: ['crypto'], consent: true };
    expect(await (await postEvents({ workspace: ws.id, events: [pick, signup] })).json()).toEqual({ accepted: 2, duplicates: 0 });

    // The edge: one known reader holding the anonymous history; the anonymous one points to it.
    const reader = (await (await serverApi(ws.secretKey, '/reader?email=flow.reader@example.com')).json()) as any;
    expect(reader).toMatchObject({
      key: 'e:flow.reader@example.com', known: true, email: 'flow.reader@example.com', anonymousIds: [anon],
      topics: ['crypto', 'options'], consent: true,
      counters: { reads: 3, 'reads.crypto': 2, 'reads.stocks': 1, engaged_ms: 420_000, 'engaged_ms.crypto': 360_000, picks: 1 },
    });
    expect(reader.activeDays).toHaveLength(3);
    // Score (README formula): reads 2.1 decayed 2 days + 2.1 decayed 1 day + 1.45, pick 1, sign-up 2.
    const activity = 2.1 * 2 ** (-2 / 14) + 2.1 * 2 ** (-1 / 14) + 1.45 + 1 + 2;
    expect(reader.score).toBeCloseTo(1 - Math.exp(-activity / 15), 2);
    expect(reader.tags).toEqual(['crypto_enthusiast', 'engaged_subscriber', 'new_subscriber', 'options_trader']);
    const viaAnon = (await (await serverApi(ws.secretKey, `/reader?anonymousId=${anon}`)).json()) as any;
    expect(viaAnon.key).toBe('e:flow.reader@example.com');

    // Customer.io: one person, its attributes, our events, and the anonymous event merged in.
    const person = await personIn('flow.reader@example.com', (p) => p.attributes.sharpsend_reads === 3);
    expect(person.attributes).toMatchObject({
      email: 'flow.reader@example.com',
      sharpsend_reads: 3, sharpsend_reads_crypto: 2, sharpsend_reads_stocks: 1, sharpsend_picks: 1,
      sharpsend_engaged_minutes: 7, sharpsend_preferred_content: 'crypto',
      sharpsend_tag_crypto_enthusiast: true, sharpsend_tag_new_subscriber: true,
      sharpsend_signed_up_at: Math.floor(now / 1000),
    });
    expect(person.attributes.sharpsend_tags).toEqual(['crypto_enthusiast', 'engaged_subscriber', 'new_subscriber', 'options_trader']);
    const names = person.events.map((e: any) => e.name);
    expect(names).toEqual(expect.arrayContaining(['sharpsend_signed_up', 'sharpsend_tag_added']));
    const people = (await fake('/people?workspace=demo')).people as any[];
    expect(people.filter((p) => p.email === 'flow.reader@example.com')).toHaveLength(1);
    const requests = (await fake('/requests?workspace=demo&api=track')).requests as any[];
    // No identify carries `anonymous_id`: the edge sends no anonymous activity for it to merge
    // (README "Identity"); the history arrived as the person's own counters above.
    const identifies = requests.flatMap((r) => (r.body?.batch ?? []).filter((op: any) => op.action === 'identify'));
    expect(identifies.length).toBeGreaterThan(0);
    expect(identifies.filter((op: any) => 'anonymous_id' in (op.attributes ?? {}))).toEqual([]);

    // Replaying the whole flow changes nothing.
    const replay = await postEvents({ workspace: ws.id, events: [...reads, pick, signup] });
    expect(await replay.json()).toEqual({ accepted: 0, duplicates: 5 });
    const after = (await (await serverApi(ws.secretKey, '/reader?email=flow.reader@example.com')).json()) as any;
    expect(after.counters).toEqual(reader.counters);
  });

  it('sends a known reader\'s reads to Customer.io as page views only in a workspace that forwards them', async () => {
    await resetFake();
    for (const forward of [true, false]) {
      const ws = await createWorkspace({ sync: { ...QUICK_SYNC.sync, forwardPageViews: forward } } as never);
      const anon = `anon-pages-${forward}`;
      const email = `pages.${forward}@example.com`;
      const signup = { id: eventId(), type: 'signup', anonymousId: anon, ts: Date.now(), email, topics: [], consent: true };
      expect((await postEvents({ workspace: ws.id, events: [signup] })).status).toBe(202);
      // After the sign-up, this browser's reads are the known reader's.
      expect((await postEvents({ workspace: ws.id, events: [page(anon, { url: 'https://news.example.com/markets/today?utm=x' })] })).status).toBe(202);
      const person = await eventually(async () => {
        const people = (await fake('/people?workspace=demo')).people as any[];
        const p = people.find((x) => x.email === email);
        return p && p.attributes.sharpsend_reads === 1 ? p : undefined;
      }, 20_000, `${email} synced with its read`);
      const ops = ((await fake('/requests?workspace=demo&api=track')).requests as any[])
        .flatMap((r) => r.body?.batch ?? []).filter((op: any) => op.action === 'page' && op.identifiers?.email === person.email);
      expect(ops.map((op: any) => op.name)).toEqual(forward ? ['/markets/today'] : []);
    }
  });

  it('counts each event of a batch once: an id twice in one batch, and a batch sent again', async () => {
    const ws = await createWorkspace();
    const anon = 'anon-batch-twice-01';
    const [a, b, c] = [page(anon), page(anon), page(anon)];
    expect(await (await postEvents({ workspace: ws.id, events: [a, b, a] })).json()).toEqual({ accepted: 2, duplicates: 1 });
    expect(await (await postEvents({ workspace: ws.id, events: [b, c, a] })).json()).toEqual({ accepted: 1, duplicates: 2 });
    const reader = (await (await serverApi(ws.secretKey, `/reader?anonymousId=${anon}`)).json()) as { counters: Record<string, number> };
    expect(reader.counters.reads).toBe(3);
  });

  it("counts each event once at a reader's size: hundreds of reads, the object restarted, every batch sent again", async () => {
    // Past what the reader's row keeps (readers/seen-ids.ts) and what its filter was first sized
    // for, so the ids are in the table, the filter was rebuilt, and the row holds the latest.
    const ws = await createWorkspace({ limits: { ingestPerClientPerSecond: 1000 } } as never);
    const anon = 'anon-many-reads-01';
    const batches = Array.from({ length: 30 }, () => Array.from({ length: 10 }, () => page(anon)));
    for (const events of batches) expect(await (await postEvents({ workspace: ws.id, events })).json()).toEqual({ accepted: 10, duplicates: 0 });
    await abortAllDurableObjects();
    let duplicates = 0;
    for (const events of batches) duplicates += ((await (await postEvents({ workspace: ws.id, events })).json()) as { duplicates: number }).duplicates;
    expect(duplicates).toBe(300);
    const mixed = [...batches[0]!.slice(0, 5), ...Array.from({ length: 5 }, () => page(anon)), ...batches[29]!.slice(5)];
    expect(await (await postEvents({ workspace: ws.id, events: mixed })).json()).toEqual({ accepted: 5, duplicates: 10 });
    const reader = (await (await serverApi(ws.secretKey, `/reader?anonymousId=${anon}`)).json()) as { counters: Record<string, number> };
    expect(reader.counters.reads).toBe(305);
  });

  it('removes a tag that stops holding, in Customer.io too', async () => {
    await resetFake();
    const ws = await createWorkspace(QUICK_SYNC);
    await serverApi(ws.secretKey, '/identify', { body: { userId: 'u-tier-1', traits: { email: 'tier@example.com', tier: 'premium' } } });
    await personIn('tier@example.com', (p) => p.attributes.sharpsend_tag_premium_subscriber === true);
    const res = await serverApi(ws.secretKey, '/identify', { body: { userId: 'u-tier-1', traits: { tier: 'free' } } });
    expect(((await res.json()) as any).tags).not.toContain('premium_subscriber');
    const person = await personIn('tier@example.com', (p) => p.attributes.sharpsend_tag_premium_subscriber === false);
    expect(person.id).toBe('u-tier-1');
    expect(person.attributes.sharpsend_tags).not.toContain('premium_subscriber');
    expect(person.events.map((e: any) => `${e.name}:${e.data?.tag}`)).toContain('sharpsend_tag_removed:premium_subscriber');
  });
});

describe('identity: the backend meets the widget', () => {
  it('a userId identified with an email joins the widget reader; two Customer.io people become one', async () => {
    await resetFake();
    // Customer.io promises no order inside a batch call: the fake applies each one backwards.
    await fake('/batch-order', { body: { order: 'reverse' } });
    const ws = await createWorkspace(QUICK_SYNC);
    // The backend knows user u-42 (no email yet): Customer.io gets person id u-42.
    await serverApi(ws.secretKey, '/identify', { body: { userId: 'u-42', traits: { lifetime_value: 900 } } });
    await serverApi(ws.secretKey, '/track', { body: { userId: 'u-42', event: 'upgraded', properties: { plan: 'pro' } } });
    await personIn('u-42', (p) => p.attributes.sharpsend_tag_high_value === true && p.events.some((e: any) => e.name === 'upgraded'));
    // The widget: the same human signs up with an email: a second person in Customer.io.
    const anon = 'anon-ident-00001';
    await postEvents({ workspace: ws.id, events: [page(anon), { id: eventId(), type: 'signup', anonymousId: anon, ts: Date.now(), email: 'joiner@example.com', topics: [], consent: true }] });
    await personIn('joiner@example.com', (p) => p.attributes.sharpsend_reads === 1);
    // Now the backend says u-42 is joiner@example.com.
    const res = await serverApi(ws.secretKey, '/identify', { body: { userId: 'u-42', traits: { email: 'joiner@example.com' } } });
    const joined = (await res.json()) as any;
    expect(joined).toMatchObject({ key: 'e:joiner@example.com', userId: 'u-42', email: 'joiner@example.com', counters: { reads: 1 } });
    expect(joined.tags).toContain('high_value');
    // Track by userId now lands on the joined reader.
    await serverApi(ws.secretKey, '/track', { body: { userId: 'u-42', event: 'renewed' } });
    const person = await personIn('joiner@example.com', (p) => p.id === 'u-42' && p.events.some((e: any) => e.name === 'renewed'));
    expect(person.attributes.sharpsend_tag_high_value).toBe(true);
    const merges = (await fake('/merges?workspace=demo')).merges as any[];
    expect(merges).toHaveLength(1);
    expect(JSON.stringify(merges[0])).toContain('joiner@example.com');
    // The merge went alone in its call, and the joined person's identify came in a later one
    // (Customer.io applies one batch's operations in no promised order).
    const batches = ((await fake('/requests')).requests as any[]).filter((r) => r.path === '/api/v2/batch').map((r) => r.body.batch as any[]);
    const mergeCall = batches.findIndex((b) => b.some((op) => op.action === 'merge'));
    expect(mergeCall).toBeGreaterThanOrEqual(0);
    expect(batches[mergeCall]!.every((op) => op.action === 'merge')).toBe(true);
    expect(batches.slice(mergeCall + 1).some((b) => b.some((op) => op.action === 'identify' && op.identifiers.id === 'u-42'))).toBe(true);
    const people = ((await fake('/people?workspace=demo')).people as any[]).filter((p) => p.id === 'u-42' || p.email === 'joiner@example.com');
    expect(people).toHaveLength(1);
    // The panel's directory lists the one reader, not the merged-away userId reader.
    const directory = directoryStub(env, ws.id);
    await eventually(async () => (await directory.reader('e:joiner@example.com'))?.reader.userId === 'u-42', 20_000, 'joined reader in the directory');
    expect(await directory.reader('u:u-42')).toBeNull();
  });

  it('deletes a reader here and in Customer.io', async () => {
    await resetFake();
    const ws = await createWorkspace(QUICK_SYNC);
    await serverApi(ws.secretKey, '/identify', { body: { traits: { email: 'gone@example.com' } } });
    await personIn('gone@example.com', () => true);
    const directory = directoryStub(env, ws.id);
    await eventually(async () => (await directory.reader('e:gone@example.com')) !== null, 20_000, 'reader in the directory');
    const del = await serverApi(ws.secretKey, '/reader?email=gone@example.com', { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect((await serverApi(ws.secretKey, '/reader?email=gone@example.com')).status).toBe(404);
    expect(await directory.reader('e:gone@example.com')).toBeNull();
    await eventually(async () => (await fetch(`${fakeUrl()}/_fake/people/demo/gone@example.com`)).status === 404, 20_000, 'person deleted in the fake');
  });
});
