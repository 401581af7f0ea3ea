// The signature backfill: thousands of people already in (fake) Customer.io, walked through the
// App API page by page and written through the throttled sync, stopped half way and resumed.
import { SELF, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ADMIN, createWorkspace, eventually, fake, resetFake } from './helpers.ts';
import { verifyReaderToken } from '#shared/email/tokens.ts';
import { workspaceStub } from '#edge/platform/stubs.ts';

const PEOPLE = 3000;
const step = async (wsId: string, body: unknown = {}) => {
  const res = await SELF.fetch(`https://edge.test/v1/admin/workspaces/${wsId}/backfill`, {
    method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return res.json() as Promise<any>;
};

describe('signature backfill', () => {
  it('gives every person a valid token within the rate limits, and resumes after a stop', async () => {
    await resetFake();
    const people = Array.from({ length: PEOPLE }, (_, i) => (i % 5 === 0 ? { id: `cust-${i}` } : { id: `cust-${i}`, email: `Reader${i}@Example.com` }));
    for (let i = 0; i < people.length; i += 1000) await fake('/people', { body: { workspace: 'demo', people: people.slice(i, i + 1000) } });
    const ws = await createWorkspace();

    // First run: stopped after 12 of 30 pages.
    let state = await step(ws.id, { pageSize: 100, restart: true });
    for (let i = 1; i < 12; i++) state = await step(ws.id);
    expect(state).toMatchObject({ status: 'running', pages: 12, people: 1200 });
    const cursorAtStop = state.cursor;
    expect(cursorAtStop).not.toBe('');

    // Resume: a new run picks up at the stored cursor; nobody is walked twice.
    const resumed = (await (await SELF.fetch(`https://edge.test/v1/admin/workspaces/${ws.id}/backfill`, { headers: ADMIN })).json()) as any;
    expect(resumed).toMatchObject({ pages: 12, cursor: cursorAtStop });
    while (state.status !== 'done') state = await step(ws.id);
    expect(state).toMatchObject({ status: 'done', pages: 30, people: PEOPLE, enqueued: PEOPLE, skipped: 0 });
    expect((await step(ws.id)).pages).toBe(30); // done stays done

    // The sync drains the queued identifies.
    await eventually(async () => {
      const s = (await (await SELF.fetch(`https://edge.test/v1/admin/workspaces/${ws.id}/backfill`, { headers: ADMIN })).json()) as any;
      return s.pending.operations === 0;
    }, 60_000, 'backfill operations written');

    const keys = await workspaceStub(env, ws.id).signingKeys();
    const all = (await fake(`/people?workspace=demo`)).people as Array<{ id?: string; email?: string; attributes: Record<string, unknown> }>;
    expect(all.length).toBe(PEOPLE);
    let valid = 0;
    for (const person of all) {
      const token = person.attributes.sharpsend_ptoken;
      expect(typeof token, `${person.id} ${person.email}`).toBe('string');
      const check = await verifyReaderToken(ws.id, token as string, keys);
      const expected = person.email ? `e:${person.email.toLowerCase()}` : `u:${person.id}`;
      if (check.ok && check.readerKey === expected) valid++;
    }
    expect(valid).toBe(PEOPLE);

    // Never over Customer.io's limits: the App API walk at ≤ 10 req/s, the writes at ≤ 100 req/s, no 429.
    const rates = (await fake('/rates')).workspaces.demo;
    expect(rates.app.peakReceived).toBeLessThanOrEqual(10);
    expect(rates.app.rejected).toBe(0);
    expect(rates.track.peakReceived).toBeLessThanOrEqual(100);
    expect(rates.track.rejected).toBe(0);
    const searches = (await fake('/requests?workspace=demo&api=app')).requests.filter((r: any) => r.method === 'POST' && r.path === '/v1/customers');
    expect(searches.length).toBe(30);
  });
});
