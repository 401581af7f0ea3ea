// Segment's group call: a reader joins a company (a Customer.io object), its traits feed tag rules
// as `group.<trait>`, and the relation is ended on request. Against the fake, which models objects.
import { describe, expect, it } from 'vitest';
import { createWorkspace, eventId, eventually, fake, page, postEvents, resetFake, serverApi, QUICK_SYNC } from './helpers.ts';
import { DEFAULT_TAG_RULES } from '#shared/tag-rules.ts';

const objects = async () => (await fake('/objects?workspace=demo')).objects as Array<{ objectTypeId: string; objectId: string; attributes: Record<string, unknown>; people: Array<{ id: string | null; email: string | null }> }>;
const ENTERPRISE = { tag: 'enterprise_reader', description: 'Reads for an enterprise customer', when: { fact: 'group.plan', op: 'eq' as const, value: 'enterprise' } };

describe('server API group call', () => {
  it('relates a known reader to a company object, tags by the company\'s traits, and ends the relation', async () => {
    await resetFake();
    const ws = await createWorkspace({ ...QUICK_SYNC, tagRules: [...DEFAULT_TAG_RULES, ENTERPRISE] });
    expect((await serverApi(ws.secretKey, '/identify', { body: { userId: 'g-1', traits: { email: 'g1@example.com' } } })).status).toBe(200);
    const joined = await serverApi(ws.secretKey, '/group', { body: { userId: 'g-1', groupId: 'acme', traits: { name: 'Acme Corp', plan: 'enterprise' } } });
    expect(joined.status).toBe(202);
    expect(await joined.json()).toEqual({ accepted: 1, duplicates: 0 });

    const reader = (await (await serverApi(ws.secretKey, '/reader?userId=g-1')).json()) as any;
    expect(reader.tags).toContain('enterprise_reader');
    const acme = await eventually(async () => (await objects()).find((o) => o.objectId === 'acme' && o.people.length === 1), 20_000, 'object with its person');
    expect(acme).toMatchObject({ objectTypeId: '1', attributes: { name: 'Acme Corp', plan: 'enterprise' }, people: [{ id: 'g-1' }] });
    await eventually(async () => (await fake('/people/demo/g-1')).attributes.sharpsend_tag_enterprise_reader === true, 20_000, 'tag in Customer.io');

    const left = await serverApi(ws.secretKey, '/group', { body: { userId: 'g-1', groupId: 'acme', remove: true } });
    expect(left.status).toBe(202);
    await eventually(async () => (await objects()).find((o) => o.objectId === 'acme' && o.people.length === 0), 20_000, 'relation ended');
    expect(((await (await serverApi(ws.secretKey, '/reader?userId=g-1')).json()) as any).tags).not.toContain('enterprise_reader');
  });

  it('keeps a company joined while anonymous and relates it when the reader signs up', async () => {
    await resetFake();
    const ws = await createWorkspace(QUICK_SYNC);
    const anon = 'anon-group-000001';
    await postEvents({ workspace: ws.id, events: [page(anon)] });
    expect((await serverApi(ws.secretKey, '/group', { body: { anonymousId: anon, groupId: 'globex', objectTypeId: '2', traits: { seats: 40 } } })).status).toBe(202);
    expect(await objects()).toEqual([]); // anonymous readers are not people in Customer.io
    await postEvents({ workspace: ws.id, events: [{ id: eventId(), type: 'signup', anonymousId: anon, ts: Date.now(), email: 'globex.reader@example.com', topics: [], consent: true }] });
    const globex = await eventually(async () => (await objects()).find((o) => o.objectId === 'globex' && o.people.length === 1), 20_000, 'object related after sign-up');
    expect(globex).toMatchObject({ objectTypeId: '2', attributes: { seats: 40 }, people: [{ email: 'globex.reader@example.com' }] });
  });

  it('refuses bad group calls naming the field, and counts a repeated messageId once', async () => {
    await resetFake();
    const ws = await createWorkspace(QUICK_SYNC);
    for (const [body, path] of [
      [{ userId: 'g-2' }, 'groupId'],
      [{ groupId: 'acme' }, 'userId'],
      [{ userId: 'g-2', groupId: 'acme', objectTypeId: 'companies' }, 'objectTypeId'],
      [{ userId: 'g-2', groupId: 'acme', traits: { nested: { no: 1 } } }, 'traits.nested'],
    ] as const) {
      const res = await serverApi(ws.secretKey, '/group', { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as any).issues.map((i: any) => i.path)).toContain(path);
    }
    const call = { userId: 'g-2', groupId: 'acme', messageId: 'grp-msg-1' };
    expect(await (await serverApi(ws.secretKey, '/group', { body: call })).json()).toEqual({ accepted: 1, duplicates: 0 });
    expect(await (await serverApi(ws.secretKey, '/group', { body: call })).json()).toEqual({ accepted: 0, duplicates: 1 });
  });
});
