// The segment mirror driven by its durable queue: a segment of 3,000 readers goes to the fake
// Customer.io in calls of at most 1,000 identifiers, one call per alarm here (stepped by hand with
// runDurableObjectAlarm), and every object is aborted (a restart: memory gone, storage kept) in the
// middle. Readers removed mid-way leave Customer.io if they were sent, and are never sent if not.
// The fake's request log must show every identifier added once, nothing lost, nothing twice.
import { abortAllDurableObjects, env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { ReaderSummary } from '#shared/panel.ts';
import type { ReaderDirectory } from '#edge/panel/directory/reader-directory.ts';
import { createWorkspace, fake, resetFake } from './helpers.ts';

interface Call { method: string; path: string; query: Record<string, string>; body: { ids: string[] }; status: number; at: number }

const reader = (i: number, tagged: boolean): ReaderSummary => {
  const userId = i % 4 === 0 ? `mirror-user-${i}` : null;
  return {
    key: userId ? `u:${userId}` : `e:m${String(i).padStart(5, '0')}@example.com`, email: `m${String(i).padStart(5, '0')}@example.com`, userId,
    tags: tagged ? ['mirror_me'] : [], score: (i % 100) / 100, counters: {}, traits: {}, facts: {}, activeDays: [], lastSeen: null, signedUpAt: null, updatedAt: 0,
  };
};
const ident = (r: ReaderSummary) => r.userId ?? r.email!;

/** The directory's tuning for stepping: an hour-ahead clock (no alarm fires by itself) and one call per alarm. */
const stepByHand = (stub: DurableObjectStub<ReaderDirectory>) => runInDurableObject(stub, (o: ReaderDirectory) => {
  o.clock = { now: () => Date.now() + 3_600_000 };
  o.mirrorCallsPerAlarm = 1;
});

describe('segment mirror', () => {
  it('survives a restart mid-mirror: every member sent once in calls of ≤ 1,000, removals only for what was sent', async () => {
    await resetFake();
    const ws = await createWorkspace();
    let stub = env.DIRECTORY.get(env.DIRECTORY.idFromName(ws.id));
    await stepByHand(stub);
    const readers = Array.from({ length: 3300 }, (_, i) => reader(i, i < 3000));
    for (let i = 0; i < readers.length; i += 500) await stub.upsertReaders(ws.id, readers.slice(i, i + 500));
    await stub.createSegment(ws.id, { name: `Mirror ${ws.id}`, description: '', rule: { fact: 'tags', op: 'contains', value: 'mirror_me' } });
    const calls = async () => (await fake<{ requests: Call[] }>('/requests?workspace=demo&path_prefix=/api/v1/segments/')).requests;

    // Alarm 1 finishes the evaluation, creates the segment in Customer.io and sends the first call (the ids).
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await calls()).toHaveLength(1);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const beforeRestart = await calls();
    expect(beforeRestart).toHaveLength(2);
    const view = (await stub.listSegments())[0]!;
    expect(view).toMatchObject({ count: 3000, mirrored: 1750, pending: 1250, evaluating: null });

    // Restart: the object's memory is gone; the queue and what Customer.io holds are in storage.
    await abortAllDurableObjects();
    stub = env.DIRECTORY.get(env.DIRECTORY.idFromName(ws.id)); // the old stub is broken with its object
    await stepByHand(stub);
    // 100 readers already in Customer.io and 100 not yet sent leave (deleted, or merged away).
    const sentIds = new Set(beforeRestart.flatMap((c) => c.body.ids));
    const members = readers.slice(0, 3000);
    const goneSent = members.filter((r) => sentIds.has(ident(r))).slice(0, 100);
    const goneUnsent = members.filter((r) => !sentIds.has(ident(r))).slice(-100);
    expect(goneUnsent).toHaveLength(100);
    await stub.removeReaders([...goneSent, ...goneUnsent].map((r) => r.key));

    let alarms = 0;
    while ((await stub.listSegments())[0]!.pending > 0 && alarms < 20) {
      await runDurableObjectAlarm(stub);
      alarms++;
    }
    const log = await calls();
    const cioId = (await stub.listSegments())[0]!.cioSegmentId;
    expect(log.every((c) => c.path.startsWith(`/api/v1/segments/${cioId}/`) && c.status === 200)).toBe(true);
    expect(Math.max(...log.map((c) => c.body.ids.length))).toBeLessThanOrEqual(1000);
    const added = log.filter((c) => c.path.endsWith('/add_customers')).flatMap((c) => c.body.ids);
    const removed = log.filter((c) => c.path.endsWith('/remove_customers')).flatMap((c) => c.body.ids);
    // Nothing twice, nothing lost, nothing sent for a reader who left before their turn.
    expect(added.length).toBe(new Set(added).size);
    const stay = members.filter((r) => !goneSent.includes(r) && !goneUnsent.includes(r));
    expect(new Set(added)).toEqual(new Set([...stay, ...goneSent].map(ident)));
    expect(removed.sort()).toEqual(goneSent.map(ident).sort());
    // The ids went by id, the others by email.
    for (const c of log) expect(c.query.id_type).toBe(c.body.ids[0]!.startsWith('mirror-user-') ? 'id' : 'email');
    // Paced by the mirror's share (5 % of 100/s: one call per 200 ms), across the restart too. The
    // fake stamps each call as it arrives, and a call that arrives late (a busy machine) shortens the
    // gap after it, not the pace: every run of k calls spans at least (k - 1) × 200 ms, less that
    // lateness. Unpaced calls would be milliseconds apart.
    const ARRIVAL_JITTER_MS = 100;
    for (let i = 0; i < log.length; i++) {
      for (let j = i + 1; j < log.length; j++) expect(log[j]!.at - log[i]!.at).toBeGreaterThanOrEqual((j - i) * 200 - ARRIVAL_JITTER_MS);
    }
    expect((await stub.listSegments())[0]).toMatchObject({ count: 2800, mirrored: 2800, pending: 0, syncError: null });
  });

  it('re-sends nothing when the same readers sync again unchanged, and removes a reader who stops matching', async () => {
    await resetFake();
    const ws = await createWorkspace();
    const stub = env.DIRECTORY.get(env.DIRECTORY.idFromName(ws.id));
    await runInDurableObject(stub, (o: ReaderDirectory) => { o.clock = { now: () => Date.now() + 3_600_000 }; });
    const readers = Array.from({ length: 1200 }, (_, i) => reader(i, true));
    await stub.upsertReaders(ws.id, readers.slice(0, 600));
    await stub.upsertReaders(ws.id, readers.slice(600));
    await stub.createSegment(ws.id, { name: `Again ${ws.id}`, description: '', rule: { fact: 'tags', op: 'contains', value: 'mirror_me' } });
    await runDurableObjectAlarm(stub);
    const first = (await fake<{ requests: Call[] }>('/requests?workspace=demo&path_prefix=/api/v1/segments/')).requests;
    expect(first.flatMap((c) => c.body.ids)).toHaveLength(1200);

    await stub.upsertReaders(ws.id, readers.slice(0, 500)); // the same state again
    await stub.upsertReaders(ws.id, [{ ...readers[1]!, tags: [] }]); // one no longer matches
    expect((await stub.listSegments())[0]).toMatchObject({ count: 1199, pending: 1 });
    await runDurableObjectAlarm(stub);
    const after = (await fake<{ requests: Call[] }>('/requests?workspace=demo&path_prefix=/api/v1/segments/')).requests.slice(first.length);
    expect(after.map((c) => [c.path.split('/').at(-1), c.body.ids])).toEqual([['remove_customers', [ident(readers[1]!)]]]);

    // A narrower rule: walked again, and only the readers who leave are removed in Customer.io.
    const [segment] = await stub.listSegments();
    await stub.updateSegment(segment!.id, { name: segment!.name, description: '', rule: { all: [{ fact: 'tags', op: 'contains', value: 'mirror_me' }, { fact: 'score', op: 'gte', value: 0.5 }] } });
    await runDurableObjectAlarm(stub);
    const narrowed = (await fake<{ requests: Call[] }>('/requests?workspace=demo&path_prefix=/api/v1/segments/')).requests.slice(first.length + 1);
    const leaving = readers.filter((r, i) => i !== 1 && r.score < 0.5).map(ident).sort();
    expect(narrowed.every((c) => c.path.endsWith('/remove_customers'))).toBe(true);
    expect(narrowed.flatMap((c) => c.body.ids).sort()).toEqual(leaving);
    expect((await stub.listSegments())[0]).toMatchObject({ count: 1200 - 1 - leaving.length, mirrored: 1200 - 1 - leaving.length, pending: 0 });

    // Deleted: gone from Customer.io, and its rows purged from the directory.
    expect(await stub.deleteSegment(segment!.id)).toBe(true);
    await runDurableObjectAlarm(stub);
    const deletes = (await fake<{ requests: Call[] }>(`/requests?workspace=demo&path_prefix=/v1/segments/${segment!.cioSegmentId}`)).requests;
    expect(deletes.map((r) => r.method)).toEqual(['DELETE']);
    expect(await stub.listSegments()).toEqual([]);
    const left = await runInDurableObject(stub, (_o: ReaderDirectory, state) =>
      ['members', 'mirrored', 'mirror_queue', 'segments'].map((t) => state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`).one().n));
    expect(left).toEqual([0, 0, 0, 0]);
  });
});
