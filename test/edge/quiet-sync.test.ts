// Quiet changes: a synced reader's opens (engagement counters only) wait `quietResyncMs` and then
// go in one identify, with nothing lost; a change that matters (the backend's identify) and a new
// reader in the same shard do not wait behind them.
import { SELF, env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ADMIN, createWorkspace, eventually, fake, resetFake, serverApi } from './helpers.ts';
import { readerStub, shardStub } from '#edge/platform/stubs.ts';
import { emailKey } from '#edge/readers/names.ts';
import type { SyncSnapshot } from '#edge/sync/snapshot.ts';

const HUMAN_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

async function syncedToken(secretKey: string, email: string): Promise<string> {
  expect((await serverApi(secretKey, '/identify', { body: { userId: `user-${email}`, traits: { email } } })).status).toBe(200);
  const person = await eventually(async () => {
    const p = await fake(`/people/demo/${encodeURIComponent(email)}`).catch(() => null);
    return p?.attributes?.sharpsend_ptoken ? p : null;
  }, 20_000, `${email} synced`);
  return person.attributes.sharpsend_ptoken as string;
}

const open = async (ws: string, token: string, delivery: string) => {
  const res = await SELF.fetch(`https://edge.test/o/${ws}/${token}/7/${delivery}.gif`, { headers: { 'user-agent': HUMAN_UA } });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
};

async function identifiesOf(email: string): Promise<Array<{ at: number; attributes: Record<string, unknown> }>> {
  const requests = (await fake('/requests?workspace=demo&api=track')).requests as any[];
  return requests.filter((r) => r.status === 200).flatMap((r) => (r.body?.batch ?? [])
    .filter((op: any) => op.action === 'identify' && (op.identifiers?.email === email || op.identifiers?.id === `user-${email}`))
    .map((op: any) => ({ at: r.at as number, attributes: op.attributes })));
}

const opensHere = async (secretKey: string, email: string) =>
  ((await (await serverApi(secretKey, `/reader?email=${encodeURIComponent(email)}`)).json()) as { counters: Record<string, number> }).counters.opens ?? 0;

describe('quiet changes', () => {
  it('adds a synced reader\'s repeat opens up in one identify, sent no sooner than quietResyncMs after the last', async () => {
    await resetFake();
    const QUIET = 3_000;
    const ws = await createWorkspace({ sync: { shards: 1, minResyncMs: 200, quietResyncMs: QUIET, lingerMs: 0 } as never });
    const email = 'quiet-opens@example.com';
    const token = await syncedToken(ws.secretKey, email);
    for (const delivery of ['d1', 'd2', 'd3']) await open(ws.id, token, delivery);
    await eventually(async () => (await opensHere(ws.secretKey, email)) === 3, 10_000, 'three opens recorded here');
    await eventually(async () => (await fake(`/people/demo/${encodeURIComponent(email)}`)).attributes.sharpsend_opens === 3, 20_000, 'opens in Customer.io');
    const identifies = await identifiesOf(email);
    expect(identifies).toHaveLength(2);
    expect(identifies[1]!.at - identifies[0]!.at).toBeGreaterThanOrEqual(QUIET - 100);
    expect(identifies[1]!.attributes).toMatchObject({ sharpsend_opens: 3, sharpsend_opens_unique: 1 });
  }, 40_000);

  it('sends a change that matters at once, with the quiet ones waiting beside it', async () => {
    await resetFake();
    // Far longer than the waits below: were the identify held behind the open, these would time out.
    const ws = await createWorkspace({ sync: { shards: 1, minResyncMs: 200, quietResyncMs: 120_000, lingerMs: 0 } as never });
    const email = 'quiet-then-loud@example.com';
    const token = await syncedToken(ws.secretKey, email);
    await open(ws.id, token, 'd1');
    await eventually(async () => (await opensHere(ws.secretKey, email)) === 1, 10_000, 'the open recorded here');
    expect((await serverApi(ws.secretKey, '/identify', { body: { userId: `user-${email}`, traits: { email, plan: 'gold' } } })).status).toBe(200);
    const person = await eventually(async () => {
      const p = await fake(`/people/demo/${encodeURIComponent(email)}`);
      return p.attributes.plan === 'gold' ? p : null;
    }, 15_000, 'the identify in Customer.io');
    expect(person.attributes.sharpsend_opens).toBe(1);

    // A new reader in the same shard is not held behind the alarm set for a quiet reader either.
    await open(ws.id, token, 'd2');
    await eventually(async () => (await opensHere(ws.secretKey, email)) === 2, 10_000, 'the second open recorded here');
    await syncedToken(ws.secretKey, 'newcomer@example.com');
    expect((await fake(`/people/demo/${encodeURIComponent(email)}`)).attributes.sharpsend_opens).toBe(1);
  }, 60_000);
});

describe('a counter-only change', () => {
  it('is handed over with its snapshot (no ack) and the reader\'s next change tells the shard again, so every open reaches Customer.io', async () => {
    await resetFake();
    const ws = await createWorkspace({ sync: { shards: 1, minResyncMs: 100, quietResyncMs: 300, lingerMs: 0 } as never });
    const email = 'handed-over@example.com';
    const token = await syncedToken(ws.secretKey, email);
    for (const [n, delivery] of [[1, 'd1'], [2, 'd2'], [3, 'd3']] as const) {
      await open(ws.id, token, delivery);
      await eventually(async () => (await fake(`/people/demo/${encodeURIComponent(email)}`)).attributes.sharpsend_opens === n, 15_000, `open ${n} in Customer.io`);
    }
    const pending = await eventually(async () => {
      const stats = (await (await SELF.fetch(`https://edge.test/v1/admin/workspaces/${ws.id}/sync`, { headers: ADMIN })).json()) as { pending: number };
      return stats.pending === 0 ? stats : null;
    }, 10_000, 'the outbox empty');
    expect(pending.pending).toBe(0);
  }, 60_000);
});

describe('a part-full batch', () => {
  it('waits lingerMs from when its first reader came due, so readers whose waits end apart go together', async () => {
    await resetFake();
    const ws = await createWorkspace({ sync: { shards: 1, minResyncMs: 200, quietResyncMs: 120_000, lingerMs: 1_500 } as never });
    const [a, b] = ['linger-a@example.com', 'linger-b@example.com'];
    const tokens = [await syncedToken(ws.secretKey, a), await syncedToken(ws.secretKey, b)];
    // Both queued long before they come due: an open each waits the quiet interval...
    await open(ws.id, tokens[0]!, 'd1');
    await open(ws.id, tokens[1]!, 'd1');
    await eventually(async () => (await opensHere(ws.secretKey, b)) === 1, 10_000, 'the opens recorded here');
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    // ...until a change that matters brings each up, half a second apart.
    expect((await serverApi(ws.secretKey, '/identify', { body: { userId: `user-${a}`, traits: { email: a, plan: 'gold' } } })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await serverApi(ws.secretKey, '/identify', { body: { userId: `user-${b}`, traits: { email: b, plan: 'gold' } } })).status).toBe(200);
    const calls = await eventually(async () => {
      const requests = (await fake('/requests?workspace=demo&api=track')).requests as any[];
      const callOf = (email: string) => requests.findIndex((r) => r.status === 200 && (r.body?.batch ?? [])
        .some((op: any) => op.action === 'identify' && (op.identifiers?.email === email || op.identifiers?.id === `user-${email}`) && op.attributes?.plan === 'gold'));
      const both = [callOf(a), callOf(b)];
      return both.every((i) => i >= 0) ? both : null;
    }, 15_000, 'both identifies in Customer.io');
    expect(calls[0]).toBe(calls[1]);
  }, 40_000);
});

describe('a reader\'s ack', () => {
  it('tells the shard whether what changed during the sync was quiet, mattered, or nothing', async () => {
    // A workspace the edge does not hold: its shard never syncs this reader, so the test plays the shard.
    const ws = { id: 'ws-acks-unheld' };
    const key = emailKey('acks@example.com');
    const stub = readerStub(env, ws.id, key);
    const ctx = { workspace: ws.id, key, tagRules: [], rulesVersion: 'none', attributePrefix: 'sharpsend_', shards: 1, forwardPageViews: false, doubleOptIn: null };
    const ack = (snap: SyncSnapshot) => stub.syncAck(snap.version, snap.ops.reduce((m, op) => Math.max(m, op.seq), 0), snap.identifiers);
    const snapshot = async () => (await stub.syncSnapshot())!;
    let n = 0;
    const anOpen = () => ({ type: 'open' as const, id: `open-${n++}`, ts: Date.now(), human: true, campaign: '7', delivery: `d${n}`, via: 'edge' as const, fresh: true as const });

    await stub.identify(ctx, { email: 'acks@example.com', traits: {} });
    expect(await ack(await snapshot())).toBe('none');

    let inFlight = await snapshot();
    await stub.ingest(ctx, [anOpen()]);
    expect(await ack(inFlight)).toBe('quiet');

    inFlight = await snapshot();
    await stub.ingest(ctx, [anOpen()]);
    await stub.identify(ctx, { email: 'acks@example.com', traits: { plan: 'gold' } });
    await stub.ingest(ctx, [anOpen()]);
    expect(await ack(inFlight)).toBe('more');
    expect(await ack(await snapshot())).toBe('none');
  });

  it('is not needed for a snapshot that queued nothing and names the reader as Customer.io knows it: the reader hands it over', async () => {
    const ws = { id: 'ws-handover-unheld' };
    const key = emailKey('handover@example.com');
    const stub = readerStub(env, ws.id, key);
    const ctx = { workspace: ws.id, key, tagRules: [], rulesVersion: 'none', attributePrefix: 'sharpsend_', shards: 1, forwardPageViews: false, doubleOptIn: null };
    const anOpen = (n: number) => ({ type: 'open' as const, id: `open-${n}`, ts: Date.now(), human: true, campaign: '7', delivery: `d${n}`, via: 'edge' as const, fresh: true as const });
    const generation = () => runInDurableObject(shardStub(env, ws.id, 0), (_shard, state) =>
      state.storage.sql.exec<{ generation: number }>('SELECT generation FROM pending WHERE key = ?', key).toArray()[0]?.generation ?? null);
    // The stub's type of a snapshot does not survive RPC typing (its ops are unions): named here.
    const snapshotOf = async () => (await stub.syncSnapshot()) as unknown as SyncSnapshot;
    const storedMeta = () => runInDurableObject(stub, (_reader, state) => JSON.parse(state.storage.sql.exec<{ meta: string }>('SELECT meta FROM reader').one().meta));

    await stub.identify(ctx, { email: 'handover@example.com', traits: {} });
    const first = await snapshotOf();
    // Customer.io does not know the reader yet: the ack must tell it how it does.
    expect(first.handedOver).toBeUndefined();
    expect(await stub.syncAck(first.version, 0, first.identifiers)).toBe('none');

    await stub.ingest(ctx, [anOpen(1)]);
    const queuedAt = await generation();
    await stub.ingest(ctx, [anOpen(2)]); // queued already: the shard is not told again
    expect(await generation()).toBe(queuedAt);
    const quiet = await snapshotOf();
    expect(quiet).toMatchObject({ handedOver: true, ops: [] });
    // Written with the snapshot, so a restart does not leave the reader thinking it is queued.
    expect((await storedMeta()).queuedShard).toBeNull();
    await stub.ingest(ctx, [anOpen(3)]);
    expect(await generation()).toBe(queuedAt! + 1);

    // An operation queued (a company joined): the ack must clear it, so no hand-over.
    await stub.group(ctx, { objectTypeId: '1', groupId: 'acme', traits: {}, remove: false });
    const loud = await snapshotOf();
    expect(loud.handedOver).toBeUndefined();
    expect(loud.ops).toHaveLength(1);
  });
});
