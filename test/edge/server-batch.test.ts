// POST /v1/server/batch: a publisher's existing subscribers imported in Segment's batch shape. Each
// call means what the single identify/track call means (same readers, same Customer.io people, the
// panel's directory), bad calls are named by index and field, and a messageId counts once.
import { SELF, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createWorkspace, eventually, fake, resetFake, serverApi } from './helpers.ts';
import { directoryStub } from '#edge/platform/stubs.ts';

const batch = (secretKey: string, body: unknown) => serverApi(secretKey, '/batch', { body });
const rawBatch = (headers: Record<string, string>, body: string) =>
  SELF.fetch('https://edge.test/v1/server/batch', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

async function personIn(email: string, until: (p: any) => boolean = () => true) {
  return eventually(async () => {
    const p = await fake(`/people/demo/${encodeURIComponent(email)}`).catch(() => null);
    return p && until(p) ? p : null;
  }, 20_000, `person ${email} in the fake`);
}

const tag = () => Math.random().toString(36).slice(2, 8);

describe('POST /v1/server/batch', () => {
  it('makes every good call a reader, synced to Customer.io and the panel like a single identify', async () => {
    await resetFake();
    const ws = await createWorkspace();
    const t = tag();
    const calls = Array.from({ length: 40 }, (_, i) => ({
      type: 'identify', userId: `imp-${t}-${i}`, messageId: `m-${t}-${i}`,
      traits: { email: `Imported.${t}.${i}@Example.com`, plan: i % 2 ? 'pro' : 'free', seats: i },
    }));
    calls.push({ type: 'track', userId: `imp-${t}-3`, event: 'renewed', messageId: `m-${t}-track`, properties: { months: 12 } } as never);
    const res = await batch(ws.secretKey, { batch: calls });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 41, duplicates: 0, rejected: [] });

    // The same person through the single call, for comparison.
    const single = await serverApi(ws.secretKey, '/identify', { body: { userId: `one-${t}`, traits: { email: `single.${t}@example.com`, plan: 'pro', seats: 1 } } });
    expect(single.status).toBe(200);

    const reader = (await (await serverApi(ws.secretKey, `/reader?email=imported.${t}.3@example.com`)).json()) as any;
    expect(reader).toMatchObject({ key: `e:imported.${t}.3@example.com`, known: true, userId: `imp-${t}-3`, traits: { plan: 'pro', seats: 3 } });
    // The userId reader was merged into the email one, as a single identify does.
    expect(((await (await serverApi(ws.secretKey, `/reader?userId=imp-${t}-3`)).json()) as any).key).toBe(`e:imported.${t}.3@example.com`);

    const imported = await personIn(`imported.${t}.3@example.com`, (p) => p.events.some((e: any) => e.name === 'renewed'));
    const one = await personIn(`single.${t}@example.com`);
    expect(imported).toMatchObject({ id: `imp-${t}-3`, attributes: { plan: 'pro', seats: 3 } });
    expect(Object.keys(imported.attributes).sort()).toEqual(Object.keys(one.attributes).sort());
    for (let i = 0; i < 40; i += 13) await personIn(`imported.${t}.${i}@example.com`, (p) => p.attributes.seats === i);

    const directory = directoryStub(env, ws.id);
    await eventually(async () => (await directory.reader(`e:imported.${t}.39@example.com`))?.reader.userId === `imp-${t}-39`, 20_000, 'imported reader in the directory');
    expect(await directory.reader(`u:imp-${t}-39`)).toBeNull();
  });

  it('names bad calls by index and field, and still processes the rest', async () => {
    await resetFake();
    const ws = await createWorkspace();
    const t = tag();
    const res = await batch(ws.secretKey, { batch: [
      { type: 'identify', traits: { email: `ok.${t}@example.com` } },
      { type: 'identify', traits: { email: 'not an email' } },
      { type: 'alias', userId: 'x', previousId: 'y' },
      { type: 'identify', userId: `u-${t}`, traits: { note: 'x'.repeat(1001) } },
      'identify',
      { type: 'track', anonymousId: `anon-${t}-1`, event: 'viewed' },
      { type: 'track', event: 'nobody' },
      { type: 'identify', userId: `u2-${t}` },
    ] });
    expect(res.status).toBe(202);
    const body = (await res.json()) as any;
    expect(body.accepted).toBe(3);
    expect(body.duplicates).toBe(0);
    expect(body.rejected.map((r: any) => [r.index, r.issues.map((i: any) => i.path)])).toEqual([
      [1, ['traits.email']], [2, ['type']], [3, ['traits.note']], [4, ['(call)']], [6, ['userId']],
    ]);
    expect(body.rejected[0].issues[0].message).toBe('must be an email address');
    expect((await serverApi(ws.secretKey, `/reader?email=ok.${t}@example.com`)).status).toBe(200);
    expect((await serverApi(ws.secretKey, `/reader?userId=u2-${t}`)).status).toBe(200);
    expect((await serverApi(ws.secretKey, `/reader?userId=u-${t}`)).status).toBe(404);
  });

  it('counts a repeated messageId once, within a batch and across batches', async () => {
    await resetFake();
    const ws = await createWorkspace();
    const t = tag();
    const email = `dup.${t}@example.com`;
    // Segment's timestamp: when it happened (here two days ago), carried to Customer.io.
    const paidAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 2 * 86_400_000).toISOString();
    const calls = [
      { type: 'identify', userId: `d-${t}`, traits: { email, visits: 1 }, messageId: `id-${t}` },
      { type: 'track', userId: `d-${t}`, event: 'paid', messageId: `tr-${t}`, timestamp: paidAt },
      { type: 'identify', userId: `d-${t}`, traits: { email, visits: 2 }, messageId: `id-${t}` },
      { type: 'track', userId: `d-${t}`, event: 'paid', messageId: `tr-${t}` },
    ];
    expect(await (await batch(ws.secretKey, { batch: calls })).json()).toEqual({ accepted: 2, duplicates: 2, rejected: [] });
    // The whole batch again (a resumed import): nothing new.
    expect(await (await batch(ws.secretKey, { batch: calls })).json()).toEqual({ accepted: 0, duplicates: 4, rejected: [] });
    // Only the first identify's traits hold: the repeat (visits: 2) was not applied.
    expect(((await (await serverApi(ws.secretKey, `/reader?email=${email}`)).json()) as any).traits.visits).toBe(1);
    const person = await personIn(email, (p) => p.events.some((e: any) => e.name === 'paid'));
    const paid = person.events.filter((e: any) => e.name === 'paid');
    expect(paid).toHaveLength(1);
    expect(paid[0].timestamp).toBe(Date.parse(paidAt) / 1000);
    // The single identify call dedupes by messageId the same way.
    const again = await serverApi(ws.secretKey, '/identify', { body: { userId: `d-${t}`, traits: { email, visits: 9 }, messageId: `id-${t}` } });
    expect(((await again.json()) as any).traits.visits).toBe(1);
    // A new messageId is a new call.
    expect(await (await batch(ws.secretKey, { batch: [{ ...calls[0], messageId: `id2-${t}`, traits: { email, visits: 3 } }] })).json())
      .toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    expect(((await (await serverApi(ws.secretKey, `/reader?email=${email}`)).json()) as any).traits.visits).toBe(3);
  });

  it('refuses more than 1,000 calls or more than 500 KB with a 413 naming the limit', async () => {
    const ws = await createWorkspace();
    const many = Array.from({ length: 1001 }, (_, i) => ({ type: 'identify', userId: `n${i}` }));
    const tooMany = await batch(ws.secretKey, { batch: many });
    expect(tooMany.status).toBe(413);
    const manyBody = (await tooMany.json()) as any;
    expect(manyBody.error).toContain('1000');
    expect(manyBody.issues[0].path).toBe('batch');
    // Under 1,000 calls but over 500 KB.
    const big = Array.from({ length: 600 }, (_, i) => ({ type: 'identify', userId: `b${i}`, traits: { bio: 'x'.repeat(900) } }));
    const tooBig = await batch(ws.secretKey, { batch: big });
    expect(tooBig.status).toBe(413);
    expect(((await tooBig.json()) as any).error).toContain(String(500 * 1024));
    // Exactly 1,000 small calls is fine. One reader's calls, so the limit is what is tested, not
    // how fast a thousand new reader objects start (the import test covers many readers).
    const thousand = { batch: Array.from({ length: 1000 }, (_, i) => ({ type: 'track', userId: 'limit-reader', event: `e${i % 10}`, messageId: `m${i}` })) };
    const full = await batch(ws.secretKey, thousand);
    expect(full.status).toBe(202);
    expect(await full.json()).toEqual({ accepted: 1000, duplicates: 0, rejected: [] });
    // Every one of them was recorded: the same thousand again are all duplicates.
    expect(await (await batch(ws.secretKey, thousand)).json()).toEqual({ accepted: 0, duplicates: 1000, rejected: [] });
  }, 90_000);

  it('answers 400 naming the field for a body that is not a batch, and never a 500', async () => {
    const ws = await createWorkspace();
    const auth = { authorization: `Bearer ${ws.secretKey}` };
    const notJson = await rawBatch(auth, '{"batch": [');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as any).issues[0].path).toBe('(body)');
    for (const body of [{}, { batch: 'identify' }, { batch: {} }, { batch: [] }, []]) {
      const res = await batch(ws.secretKey, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const json = (await res.json()) as any;
      expect(json.issues.map((i: any) => i.path), JSON.stringify(body)).toContain(Array.isArray(body) ? '(body)' : 'batch');
    }
    const odd = [null, 1, [], { type: null }, { type: 'identify', traits: null }, { type: 'identify', userId: 5 },
      { type: 'track', userId: 'u', event: 'e', properties: 'x' }, { type: 'track', userId: 'u', event: 'e', timestamp: 'tomorrow' },
      { type: 'identify', userId: 'u', traits: { email: 42 } }, { type: 'identify', userId: 'u', messageId: '' }];
    const res = await batch(ws.secretKey, { batch: odd });
    expect(res.status).toBe(202);
    expect(((await res.json()) as any).rejected.map((r: any) => r.index)).toEqual(odd.map((_, i) => i));
    // The single track call takes the same timestamp rule.
    for (const timestamp of ['tomorrow', new Date(Date.now() - 40 * 86_400_000).toISOString(), new Date(Date.now() + 3 * 86_400_000).toISOString()]) {
      const single = await serverApi(ws.secretKey, '/track', { body: { userId: 'u', event: 'e', timestamp } });
      expect(single.status, timestamp).toBe(400);
      expect(((await single.json()) as any).issues[0].path).toBe('timestamp');
    }
  });

  it('needs the workspace secret key: 401 without one, 403 with a wrong one', async () => {
    const ws = await createWorkspace();
    const body = JSON.stringify({ batch: [{ type: 'identify', userId: 'x' }] });
    const none = await rawBatch({}, body);
    expect(none.status).toBe(401);
    const wrong = await rawBatch({ authorization: `Bearer ss_sk_${ws.id}_wrongwrongwrong` }, body);
    expect(wrong.status).toBe(403);
    const other = await createWorkspace();
    const foreign = await rawBatch({ authorization: `Bearer ${other.secretKey.replace(other.id, ws.id)}` }, body);
    expect(foreign.status).toBe(403);
  });
});
