// Refused pixel and link hits arriving at once, as separate HTTP requests to the Worker under
// `wrangler dev`: every one is counted and nothing fails. (Inside vitest's workerd pool the calls
// share one request context, which hides the bug; real requests show it.) Before, each request
// awaited one shared flush promise and workerd failed most of them: "Promise will never complete".
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeCustomerIo, type FakeCustomerIo } from '../fake-customerio/server.ts';
import { startWranglerDev, type WranglerDev } from '../support/wrangler-dev.ts';

const ADMIN_SECRET = 'refusals-admin-secret';
const PORT = 18_950 + Math.floor(Math.random() * 40);

let fake: FakeCustomerIo;
let edge: WranglerDev | null = null;
let persistTo: string;

beforeAll(async () => {
  fake = await createFakeCustomerIo({ port: 0 });
  persistTo = mkdtempSync(join(tmpdir(), 'sharpsend-refusals-'));
  edge = await startWranglerDev({ port: PORT, persistTo, vars: {
    CUSTOMERIO_BASE_URL: fake.url, ADMIN_SECRET, CONFIG_ENCRYPTION_KEY: 'cmVmdXNhbHMtdGVzdC1rZXktMzItYnl0ZXMtbG9uZyE=',
  } });
}, 90_000);
afterAll(async () => {
  await edge?.stop('SIGKILL');
  await fake.close();
  rmSync(persistTo, { recursive: true, force: true });
});

describe('concurrent refused hits', () => {
  it('counts every refused click and forged open fired at once, with no uncaught error', async () => {
    const admin = { authorization: `Bearer ${ADMIN_SECRET}` };
    const put = await fetch(`${edge!.url}/v1/admin/workspaces/refusals`, {
      method: 'PUT', headers: admin,
      body: JSON.stringify({ allowedOrigins: ['https://refusals.example'], customerio: { siteId: 'demo_site', trackKey: 'demo_track_key', appKey: 'demo_app_key' } }),
    });
    expect(put.status).toBe(201);
    const clicks = Array.from({ length: 300 }, (_, i) => fetch(`${edge!.url}/c/refusals/tok?u=${encodeURIComponent(`https://elsewhere.example.net/${i}`)}`, { redirect: 'manual' }));
    const opens = Array.from({ length: 100 }, (_, i) => fetch(`${edge!.url}/o/refusals/k1.forged${i}.sig/42.gif`));
    const answers = await Promise.all([...clicks, ...opens]);
    await Promise.all(answers.map((r) => r.arrayBuffer()));
    expect(answers.filter((r) => r.status === 400)).toHaveLength(300);
    expect(answers.filter((r) => r.status === 200)).toHaveLength(100);

    let rejected: Record<string, number> = {};
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      rejected = ((await (await fetch(`${edge!.url}/v1/admin/workspaces/refusals/email`, { headers: admin })).json()) as { rejected: Record<string, number> }).rejected;
      if (Object.values(rejected).reduce((a, b) => a + b, 0) >= 400) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(rejected.click_bad_destination).toBe(300);
    expect(Object.entries(rejected).filter(([k]) => k.startsWith('open_')).reduce((a, [, n]) => a + n, 0)).toBe(100);
    expect(edge!.stderr()).not.toMatch(/never complete|Uncaught|could not count/i);
  }, 60_000);
});
