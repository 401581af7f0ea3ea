import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createWorkspace, eventually, fake, page, postEvents, resetFake, serverApi } from './helpers.ts';

describe('smoke', () => {
  it('answers /healthz', async () => {
    const res = await SELF.fetch('https://edge.test/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true });
  });

  it('takes a read and a sign-up and syncs the person to Customer.io', async () => {
    await resetFake();
    const ws = await createWorkspace();
    const anon = 'anon-smoke-0001';
    const res = await postEvents({ workspace: ws.id, events: [page(anon), { id: 'signup-smoke-1', type: 'signup', anonymousId: anon, ts: Date.now(), email: 'Smoke@Example.com', consent: true }] });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 2, duplicates: 0 });
    const reader = await (await serverApi(ws.secretKey, '/reader?email=smoke@example.com')).json() as any;
    expect(reader.counters.reads).toBe(1);
    const person = await eventually(async () => {
      const p = await fake(`/people/demo/smoke@example.com`).catch(() => null);
      return p?.attributes?.sharpsend_reads === 1 ? p : null;
    }, 20_000, 'person in fake');
    expect(person).toBeTruthy();
  });
});
