// The sync under load and under failure: never over the limit, nothing lost, nothing doubled.
import { SELF, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ADMIN, createWorkspace, eventId, eventually, fake, page, postEvents, resetFake } from './helpers.ts';
import { directoryStub } from '#edge/platform/stubs.ts';

async function syncStats(ws: string) {
  return (await (await SELF.fetch(`https://edge.test/v1/admin/workspaces/${ws}/sync`, { headers: ADMIN })).json()) as any;
}

function readerEvents(n: number, reads: number) {
  const anon = `anon-load-${String(n).padStart(6, '0')}`;
  return [
    ...Array.from({ length: reads }, (_, i) => page(anon, { category: i % 2 ? 'stocks' : 'crypto', engagedMs: 10_000 + i })),
    { id: eventId(), type: 'signup', anonymousId: anon, ts: Date.now(), email: `load${n}@example.com`, topics: [], consent: true },
  ];
}

async function sendAll(ws: string, events: unknown[]) {
  const batches: unknown[][] = [];
  for (let i = 0; i < events.length; i += 50) batches.push(events.slice(i, i + 50));
  let accepted = 0;
  // A few requests in flight at a time, as many browsers would.
  for (let i = 0; i < batches.length; i += 8) {
    const results = await Promise.all(batches.slice(i, i + 8).map(async (events) => {
      const res = await postEvents({ workspace: ws, events });
      expect(res.status).toBe(202);
      return ((await res.json()) as { accepted: number }).accepted;
    }));
    accepted += results.reduce((a, b) => a + b, 0);
  }
  return accepted;
}

describe('a burst of 10,000 events across 1,000 readers', () => {
  it('reaches Customer.io with every reader\'s final state and the peak rate never above the limit', async () => {
    const LIMIT = 20; // Track calls a second: low, so the burst really leans on the limit
    await resetFake({ trackPerSecond: LIMIT });
    const ws = await createWorkspace({
      limits: { trackPerSecond: LIMIT, ingestPerClientPerSecond: 100_000 } as never,
      sync: { batchSize: 25, shards: 4 } as never,
    });
    const events = Array.from({ length: 1000 }, (_, n) => readerEvents(n, 9)).flat();
    expect(events).toHaveLength(10_000);
    expect(await sendAll(ws.id, events)).toBe(10_000);

    const people = await eventually(async () => {
      const list = ((await fake('/people?workspace=demo')).people as any[]).filter((p) => /^load\d+@/.test(p.email));
      return list.length === 1000 && list.every((p) => p.attributes.sharpsend_reads === 9) ? list : null;
    }, 120_000, 'all 1,000 readers synced with 9 reads');
    for (const p of people) {
      expect(p.attributes).toMatchObject({ sharpsend_reads_crypto: 5, sharpsend_reads_stocks: 4 });
      expect(p.events.filter((e: any) => e.name === 'sharpsend_signed_up')).toHaveLength(1);
    }
    const rates = (await fake('/rates')) as any;
    const peak = rates.workspaces.demo.track.peakReceived as number;
    expect(peak).toBeLessThanOrEqual(LIMIT);
    const requests = (await fake('/requests?workspace=demo&api=track')).requests as any[];
    expect(requests.filter((r) => r.status === 429)).toHaveLength(0);
    const stats = await syncStats(ws.id);
    expect(stats).toMatchObject({ pending: 0, deadLetters: 0 });
    // Coalescing: 10,000 events became a few dozen calls (1,000 people at 25 a call), not thousands.
    expect(stats.calls).toBeGreaterThanOrEqual(40);
    expect(stats.calls).toBeLessThan(120);
  }, 180_000);
});

describe('the reader directory', () => {
  it('learns every reader of a full batch, which it takes in parts (one call holds the thread while it writes)', async () => {
    await resetFake();
    const ws = await createWorkspace({ sync: { batchSize: 100, shards: 1, lingerMs: 2_000 } as never });
    const events = Array.from({ length: 60 }, (_, n) => readerEvents(7000 + n, 1)).flat();
    expect(await sendAll(ws.id, events)).toBe(120);
    await eventually(async () => ((await fake('/people?workspace=demo')).people as any[]).filter((p) => /^load7\d{3}@/.test(p.email)).length === 60, 30_000, 'all 60 readers synced');
    const calls = ((await fake('/requests?workspace=demo&api=track')).requests as any[]).filter((r) => r.status === 200 && r.path === '/api/v2/batch');
    // Most went in one call: more than one directory call's worth.
    expect(Math.max(...calls.map((r) => r.body.batch.filter((op: any) => op.type === 'person' && op.action === 'identify').length))).toBeGreaterThan(25);
    await eventually(async () => (await directoryStub(env, ws.id).usage()).readers === 60, 10_000, 'all 60 readers in the directory');
  }, 60_000);
});

describe('a Customer.io outage', () => {
  it('loses nothing and sends nothing twice: 500s and 429s are retried with backoff', async () => {
    await resetFake();
    const ws = await createWorkspace({ sync: { batchSize: 10, shards: 2 } as never });
    await fake('/failures', { body: { status: 500, count: 4, api: 'track' } });
    await fake('/failures', { body: { status: 429, count: 2, api: 'track' } });
    const events = Array.from({ length: 30 }, (_, n) => readerEvents(5000 + n, 2)).flat();
    expect(await sendAll(ws.id, events)).toBe(90);
    const people = await eventually(async () => {
      const list = ((await fake('/people?workspace=demo')).people as any[]).filter((p) => /^load5\d{3}@/.test(p.email));
      return list.length === 30 && list.every((p) => p.attributes.sharpsend_reads === 2) ? list : null;
    }, 60_000, 'all 30 readers synced after the outage');
    for (const p of people) expect(p.events.filter((e: any) => e.name === 'sharpsend_signed_up')).toHaveLength(1);
    const requests = (await fake('/requests?workspace=demo&api=track')).requests as any[];
    expect(requests.filter((r) => r.status === 500)).toHaveLength(4);
    expect(requests.filter((r) => r.status === 429)).toHaveLength(2);
    // Every signed_up event operation that Customer.io accepted was accepted once per reader, with one id.
    const accepted = requests.filter((r) => r.status === 200 && r.path === '/api/v2/batch').flatMap((r) => r.body.batch).filter((op: any) => op.name === 'sharpsend_signed_up');
    const ids = new Set(accepted.map((op: any) => op.id));
    expect(ids.size).toBe(30);
    expect(accepted.length).toBe(30);
    const stats = await syncStats(ws.id);
    expect(stats.retries).toBeGreaterThanOrEqual(6);
    expect(stats).toMatchObject({ pending: 0, deadLetters: 0 });
  }, 90_000);

  it('dead-letters operations Customer.io refuses (207), keeps the rest, and replays them', async () => {
    await resetFake();
    const ws = await createWorkspace();
    const anon = 'anon-dead-000001';
    await postEvents({ workspace: ws.id, events: [
      { id: eventId(), type: 'signup', anonymousId: anon, ts: Date.now(), email: 'dead@example.com', topics: [], consent: true },
    ] });
    await eventually(async () => (await fake('/people/demo/dead@example.com').catch(() => null))?.attributes?.email, 20_000, 'person synced');
    // Customer.io refuses one item of the next batch (207); our validation catches what it can
    // foresee (a 1,200-byte trait is a 400 naming it), so the fake injects the refusal.
    const tooBig = await SELF.fetch('https://edge.test/v1/server/identify', {
      method: 'POST', headers: { authorization: `Bearer ${ws.secretKey}` },
      body: JSON.stringify({ traits: { email: 'dead@example.com', bio: 'é'.repeat(600) } }),
    });
    expect(tooBig.status).toBe(400);
    expect(((await tooBig.json()) as any).issues[0].path).toBe('traits.bio');
    await fake('/failures', { body: { status: 207, count: 1, api: 'track' } });
    const identify = await SELF.fetch('https://edge.test/v1/server/identify', {
      method: 'POST', headers: { authorization: `Bearer ${ws.secretKey}` },
      body: JSON.stringify({ traits: { email: 'dead@example.com', plan: 'gold' } }),
    });
    expect(identify.status).toBe(200);
    const letters = await eventually(async () => {
      const body = (await (await SELF.fetch(`https://edge.test/v1/admin/workspaces/${ws.id}/dead-letters`, { headers: ADMIN })).json()) as any;
      return body.deadLetters.length ? body.deadLetters : null;
    }, 20_000, 'a dead letter');
    expect(letters[0].status).toBe(207);
    expect(letters[0].error).toMatch(/injected item failure/);
    expect(letters[0].key).toBe('e:dead@example.com');
    expect(letters[0].ops[0]).toMatchObject({ action: 'identify', attributes: { plan: 'gold' } });
    const person = await fake('/people/demo/dead@example.com');
    expect(person.attributes.plan).toBeUndefined();
    const replay = await SELF.fetch(`https://edge.test/v1/admin/workspaces/${ws.id}/dead-letters/replay`, { method: 'POST', headers: ADMIN });
    expect(await replay.json()).toEqual({ replayed: letters.length });
    // Customer.io takes it this time: the list empties and the person has the update.
    await eventually(async () => (await fake('/people/demo/dead@example.com')).attributes.plan === 'gold', 20_000, 'replayed identify applied');
    const after = (await (await SELF.fetch(`https://edge.test/v1/admin/workspaces/${ws.id}/dead-letters`, { headers: ADMIN })).json()) as any;
    expect(after.deadLetters).toEqual([]);
  }, 60_000);
});

describe('a reader who keeps changing', () => {
  it('is re-sent no sooner than the resync interval, with all of its changes in one identify', async () => {
    await resetFake();
    const ws = await createWorkspace({ sync: { minResyncMs: 3_000, lingerMs: 0 } as never });
    const identify = (traits: Record<string, unknown>) => SELF.fetch('https://edge.test/v1/server/identify', {
      method: 'POST', headers: { authorization: `Bearer ${ws.secretKey}` }, body: JSON.stringify({ traits: { email: 'busy@example.com', ...traits } }),
    });
    await identify({ step: 1 });
    await eventually(async () => (await fake('/people/demo/busy@example.com').catch(() => null))?.attributes?.step === 1, 20_000, 'first sync');
    await identify({ step: 2 });
    await identify({ step: 3, extra: 'yes' });
    await eventually(async () => (await fake('/people/demo/busy@example.com')).attributes.step === 3, 20_000, 'second sync');
    const identifies = ((await fake('/requests?workspace=demo&api=track')).requests as any[])
      .filter((r) => r.status === 200 && r.body?.batch?.some((op: any) => op.action === 'identify' && op.identifiers?.email === 'busy@example.com'));
    expect(identifies).toHaveLength(2);
    expect(identifies[1].at - identifies[0].at).toBeGreaterThanOrEqual(2_900);
    const second = identifies[1].body.batch.find((op: any) => op.action === 'identify');
    expect(second.attributes).toMatchObject({ step: 3, extra: 'yes' });
  }, 40_000);
});

