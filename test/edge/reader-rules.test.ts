// Tag rules are not copied into every reader call: a reader object keeps the rules it was given
// and their version, and a call that leaves them out is answered "needs rules" by an object that
// holds other ones (new, or the workspace's rules changed), having done nothing.
import { SELF, abortAllDurableObjects, env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ADMIN, createWorkspace, page, postEvents } from './helpers.ts';
import { readerStub } from '#edge/platform/stubs.ts';
import { anonymousKey } from '#edge/readers/names.ts';

const rule = (tag: string, reads: number) => ({ tag, description: `${reads}+ reads`, when: { fact: 'reads', op: 'gte' as const, value: reads } });

async function tagsOf(secretKey: string, anonymousId: string): Promise<string[]> {
  const res = await SELF.fetch(`https://edge.test/v1/server/reader?anonymousId=${anonymousId}`, { headers: { authorization: `Bearer ${secretKey}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { tags: string[] }).tags;
}

describe('tag rules in reader calls', () => {
  it('applies the workspace\'s new rules on the next event after they change', async () => {
    const ws = await createWorkspace({ tagRules: [rule('first_rules', 1)] } as never);
    const anon = 'anon-rules-000001';
    expect((await postEvents({ workspace: ws.id, events: [page(anon)] })).status).toBe(202);
    expect(await tagsOf(ws.secretKey, anon)).toEqual(['first_rules']);

    const patched = await SELF.fetch(`https://edge.test/v1/admin/workspaces/${ws.id}`, {
      method: 'PATCH', headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify({ tagRules: [rule('second_rules', 2)] }),
    });
    expect(patched.status).toBe(200);
    expect((await postEvents({ workspace: ws.id, events: [page(anon)] })).status).toBe(202);
    expect(await tagsOf(ws.secretKey, anon)).toEqual(['second_rules']);
  });

  it('does nothing for a call without rules that the object does not hold, and says so', async () => {
    const ws = await createWorkspace();
    const key = anonymousKey('anon-rules-000002');
    const stub = readerStub(env, ws.id, key);
    const lean = { workspace: ws.id, key, rulesVersion: 'not-these', attributePrefix: 'sharpsend_', shards: 4, forwardPageViews: false, doubleOptIn: null };
    const event = { ...page('anon-rules-000002'), id: 'evt-rules-1' } as never;
    expect(await stub.ingest(lean, [event])).toEqual({ accepted: 0, duplicates: 0, needsRules: true });
    expect(await stub.view()).toBeNull();
    // With the rules, the same event is new (nothing was marked seen before).
    expect(await stub.ingest({ ...lean, tagRules: [rule('held', 1)] }, [event])).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(await stub.ingest(lean, [{ ...page('anon-rules-000002'), id: 'evt-rules-2' } as never])).toMatchObject({ accepted: 1 });
    expect((await stub.view())?.tags).toEqual(['held']);
  });

  it('keeps the rules it was last given across a restart, and reads those of a row stored with them in its meta', async () => {
    const ws = await createWorkspace();
    const key = anonymousKey('anon-rules-000003');
    let stub = readerStub(env, ws.id, key);
    const lean = { workspace: ws.id, key, attributePrefix: 'sharpsend_', shards: 4, forwardPageViews: false, doubleOptIn: null };
    const event = (n: number) => ({ ...page('anon-rules-000003'), id: `evt-rules-3-${n}` }) as never;
    await stub.ingest({ ...lean, rulesVersion: 'v1', tagRules: [rule('old_rules', 1)] }, [event(1)]);
    await stub.ingest({ ...lean, rulesVersion: 'v2', tagRules: [rule('new_rules', 1)] }, [event(2)]);
    await abortAllDurableObjects();
    stub = readerStub(env, ws.id, key);
    expect(await stub.ingest({ ...lean, rulesVersion: 'v2' }, [event(3)])).toMatchObject({ accepted: 1 });
    expect((await stub.view())?.tags).toEqual(['new_rules']);

    // A row as objects stored it before the context had a column of its own.
    await runInDurableObject(stub, (_o, state) => {
      const sql = state.storage.sql;
      const { meta, context } = sql.exec<{ meta: string; context: string }>('SELECT meta, (SELECT context FROM reader_context) AS context FROM reader').one();
      sql.exec('UPDATE reader SET meta = ?', JSON.stringify({ ...JSON.parse(meta), ctx: { ...JSON.parse(context), rulesVersion: 'v3', tagRules: [rule('meta_rules', 1)] } }));
      sql.exec('DELETE FROM reader_context');
    });
    await abortAllDurableObjects();
    stub = readerStub(env, ws.id, key);
    expect(await stub.ingest({ ...lean, rulesVersion: 'v3' }, [event(4)])).toMatchObject({ accepted: 1 });
    expect((await stub.view())?.tags).toEqual(['meta_rules']);
    // Moved to its own row on that write, and out of the meta.
    const row = await runInDurableObject(stub, (_o, state) => state.storage.sql.exec<{ meta: string; context: string }>('SELECT meta, (SELECT context FROM reader_context) AS context FROM reader').one());
    expect(JSON.parse(row.meta)).not.toHaveProperty('ctx');
    expect(JSON.parse(row.context)).toMatchObject({ rulesVersion: 'v3' });
  });
  it('holds one copy of a workspace\'s rules for all its readers in the isolate, across a restart, and writes no extra row for it', async () => {
    const ws = await createWorkspace({ tagRules: [rule('shared_rules', 1)] } as never);
    const anons = ['anon-rules-000004', 'anon-rules-000005'];
    for (const anon of anons) expect((await postEvents({ workspace: ws.id, events: [page(anon)] })).status).toBe(202);
    const heldRules = (anon: string) => runInDurableObject(readerStub(env, ws.id, anonymousKey(anon)),
      (obj) => (obj as unknown as { context: { tagRules: unknown } }).context.tagRules);
    const first = await heldRules(anons[0]!);
    expect(first).toEqual([rule('shared_rules', 1)]);
    expect(await heldRules(anons[1]!)).toBe(first);
    await abortAllDurableObjects();
    expect(await heldRules(anons[0]!)).toBe(first);
    // The restarted object's store knows its context as the row's (a save compares by identity),
    // so the next event writes the state alone.
    const same = await runInDurableObject(readerStub(env, ws.id, anonymousKey(anons[0]!)), (obj) => {
      const o = obj as unknown as { context: unknown; store: { storedContext: unknown } };
      return o.store.storedContext === o.context;
    });
    expect(same).toBe(true);
    expect((await postEvents({ workspace: ws.id, events: [page(anons[0]!)] })).status).toBe(202);
    expect(await tagsOf(ws.secretKey, anons[0]!)).toEqual(['shared_rules']);
  });
});
