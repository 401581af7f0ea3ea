// A Customer.io outage and a hard restart of the runtime in the middle of it: the Worker under
// `wrangler dev` (workerd, Durable Objects persisted on disk) is killed and started again, and
// every reader still reaches Customer.io, each event once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeCustomerIo, type FakeCustomerIo } from '../fake-customerio/server.ts';
import { startWranglerDev, type WranglerDev } from '../support/wrangler-dev.ts';

const ADMIN_SECRET = 'restart-admin-secret';
const VARS = (fake: FakeCustomerIo) => ({
  CUSTOMERIO_BASE_URL: fake.url, ADMIN_SECRET, CONFIG_ENCRYPTION_KEY: 'cmVzdGFydC10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=',
});
const PORT = 18_700 + Math.floor(Math.random() * 200);
const ORIGIN = 'https://restart.example';

let fake: FakeCustomerIo;
let edge: WranglerDev | null = null;
let persistTo: string;

beforeAll(async () => {
  fake = await createFakeCustomerIo({ port: 0 });
  persistTo = mkdtempSync(join(tmpdir(), 'sharpsend-restart-'));
});
afterAll(async () => {
  await edge?.stop('SIGKILL');
  await fake.close();
  rmSync(persistTo, { recursive: true, force: true });
});

const control = (path: string, body?: unknown) => fetch(`${fake.url}/_fake${path}`, {
  method: body === undefined ? 'GET' : 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
}).then((r) => r.json() as Promise<any>);

describe('restart mid-outage', () => {
  it('loses nothing and sends each event once', async () => {
    edge = await startWranglerDev({ port: PORT, persistTo, vars: VARS(fake) });
    const put = await fetch(`${edge.url}/v1/admin/workspaces/restart`, {
      method: 'PUT', headers: { authorization: `Bearer ${ADMIN_SECRET}` },
      body: JSON.stringify({ allowedOrigins: [ORIGIN], customerio: { siteId: 'demo_site', trackKey: 'demo_track_key', appKey: 'demo_app_key' }, sync: { shards: 2, batchSize: 5 } }),
    });
    expect(put.status).toBe(201);
    // Customer.io is down.
    await control('/failures', { status: 503, count: 100_000, api: 'track' });
    const now = Date.now();
    const events = Array.from({ length: 12 }, (_, n) => [
      { id: `restart-read-${n}`, type: 'page', anonymousId: `anon-restart-${n}`, ts: now, url: `${ORIGIN}/a`, category: 'options', engagedMs: 5000, scrollDepth: 0.3 },
      { id: `restart-sign-${n}`, type: 'signup', anonymousId: `anon-restart-${n}`, ts: now, email: `restart${n}@example.com`, topics: [], consent: true },
    ]).flat();
    const res = await fetch(`${edge.url}/v1/events`, { method: 'POST', headers: { origin: ORIGIN, 'content-type': 'text/plain' }, body: JSON.stringify({ workspace: 'restart', events }) });
    expect(await res.json()).toEqual({ accepted: 24, duplicates: 0 });
    // The sync tried and failed at least once, then the runtime dies mid-outage.
    const deadline = Date.now() + 30_000;
    while ((await control('/requests?api=track')).requests.filter((r: any) => r.status === 503).length === 0) {
      if (Date.now() > deadline) throw new Error('the sync never tried');
      await new Promise((r) => setTimeout(r, 200));
    }
    await edge.stop('SIGKILL');
    edge = null;
    // Customer.io comes back; the runtime starts again on the same storage.
    await fetch(`${fake.url}/_fake/failures`, { method: 'DELETE' });
    edge = await startWranglerDev({ port: PORT, persistTo, vars: VARS(fake) });
    const people = await (async () => {
      const until = Date.now() + 90_000;
      while (Date.now() < until) {
        const list = ((await control('/people?workspace=demo')).people as any[]).filter((p) => /^restart\d+@/.test(p.email));
        if (list.length === 12 && list.every((p) => p.attributes.sharpsend_reads === 1)) return list;
        await new Promise((r) => setTimeout(r, 500));
      }
      throw new Error('not every reader reached Customer.io after the restart');
    })();
    for (const p of people) {
      expect(p.attributes.sharpsend_reads_options).toBe(1);
      expect(p.events.filter((e: any) => e.name === 'sharpsend_signed_up')).toHaveLength(1);
    }
    // The edge kept its own state too: replaying the batch is all duplicates.
    const replay = await fetch(`${edge.url}/v1/events`, { method: 'POST', headers: { origin: ORIGIN }, body: JSON.stringify({ workspace: 'restart', events }) });
    expect(await replay.json()).toEqual({ accepted: 0, duplicates: 24 });
  }, 180_000);
});
