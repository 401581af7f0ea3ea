// The anonymous reader's history moves into the known reader exactly once, however the sign-up
// arrives: twice at the same moment (two tabs, a double submit), replayed, or alongside the
// backend's identify naming the same anonymous id.
import { describe, expect, it } from 'vitest';
import { createWorkspace, eventId, page, postEvents, serverApi } from './helpers.ts';

describe('merging exactly once', () => {
  it('counts the anonymous history once under concurrent sign-ups, replays and a backend identify', async () => {
    const ws = await createWorkspace();
    const anon = 'anon-race-000001';
    const reads = [page(anon, { category: 'stocks' }), page(anon, { category: 'stocks' }), page(anon, { category: 'crypto' })];
    expect(await (await postEvents({ workspace: ws.id, events: reads })).json()).toEqual({ accepted: 3, duplicates: 0 });

    const signup = () => ({ id: eventId(), type: 'signup', anonymousId: anon, ts: Date.now(), email: 'race@example.com', topics: [], consent: true });
    const first = signup();
    const results = await Promise.all([
      postEvents({ workspace: ws.id, events: [first] }),
      postEvents({ workspace: ws.id, events: [signup()] }),
      postEvents({ workspace: ws.id, events: [first] }),
      serverApi(ws.secretKey, '/identify', { body: { anonymousId: anon, traits: { email: 'race@example.com', plan: 'gold' } } }),
    ]);
    expect(results.map((r) => r.status)).toEqual([202, 202, 202, 200]);

    const reader = (await (await serverApi(ws.secretKey, '/reader?email=race@example.com')).json()) as any;
    expect(reader.counters).toMatchObject({ reads: 3, 'reads.stocks': 2, 'reads.crypto': 1 });
    expect(reader.anonymousIds).toEqual([anon]);
    expect(reader.traits).toMatchObject({ plan: 'gold' });
    // Later events of the anonymous id, and a replay of the reads, land on the known reader once.
    const later = page(anon, { category: 'options' });
    expect(await (await postEvents({ workspace: ws.id, events: [...reads, later] })).json()).toEqual({ accepted: 1, duplicates: 3 });
    const after = (await (await serverApi(ws.secretKey, `/reader?anonymousId=${anon}`)).json()) as any;
    expect(after.key).toBe('e:race@example.com');
    expect(after.counters).toMatchObject({ reads: 4, 'reads.options': 1 });
  });
});
