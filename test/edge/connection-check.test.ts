// The connection check against the fake Customer.io: each line passes when the setup is right, and
// fails with the fix in words when it is not (wrong key, wrong region, no webhook yet).
import { SELF, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { webhookSignature } from '#shared/email/webhook.ts';
import { directoryStub } from '#edge/platform/stubs.ts';
import { ADMIN, createWorkspace, eventually, fake, resetFake, serverApi } from './helpers.ts';

const EDGE = 'https://edge.test';
const SECRET = 'whsec-check-0123456789abcdef';

async function check(id: string) {
  const res = await SELF.fetch(`${EDGE}/v1/admin/workspaces/${id}/check`, { method: 'POST', headers: ADMIN });
  expect(res.status).toBe(200);
  const report = (await res.json()) as { ok: boolean; checks: Array<{ id: string; ok: boolean; detail: string; fix: string | null }> };
  return { ...report, line: (lineId: string) => report.checks.find((c) => c.id === lineId)! };
}

describe('connection check', () => {
  it('passes every line for a working setup once a signed webhook arrived, and names what is missing before', async () => {
    await resetFake();
    const ws = await createWorkspace();
    await serverApi(ws.secretKey, '/identify', { body: { userId: 'check-1', traits: { email: 'check@example.com' } } });
    await eventually(async () => (await fake('/people/demo/check-1').catch(() => null))?.attributes?.sharpsend_ptoken, 20_000, 'token in the fake');
    await eventually(async () => (await directoryStub(env, ws.id).reader('e:check@example.com')) !== null, 20_000, 'reader in the directory');

    const before = await check(ws.id);
    expect(before.line('track')).toMatchObject({ ok: true, fix: null });
    expect(before.line('region')).toMatchObject({ ok: true });
    expect(before.line('app')).toMatchObject({ ok: true });
    expect(before.line('token')).toMatchObject({ ok: true, detail: '1 of 1 sampled people carry sharpsend_ptoken' });
    expect(before.line('sync')).toMatchObject({ ok: true });
    expect(before.line('webhook').ok).toBe(false);
    expect(before.line('webhook').fix).toContain(`https://edge.test/v1/webhooks/customerio/${ws.id}`);
    expect(before.line('webhook').fix).toContain(`/v1/admin/workspaces/${ws.id}/webhook-secret`);
    expect(before.ok).toBe(false);

    await SELF.fetch(`${EDGE}/v1/admin/workspaces/${ws.id}/webhook-secret`, { method: 'PUT', headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify({ secret: SECRET }) });
    const body = JSON.stringify({ event_id: 'evt-check-1', object_type: 'email', metric: 'sent', timestamp: Math.floor(Date.now() / 1000), data: { identifiers: { id: 'check-1', email: 'check@example.com' }, customer_id: 'check-1' } });
    const ts = String(Math.floor(Date.now() / 1000));
    const hook = await SELF.fetch(`${EDGE}/v1/webhooks/customerio/${ws.id}`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-cio-timestamp': ts, 'x-cio-signature': await webhookSignature(SECRET, ts, body) }, body,
    });
    expect(hook.status).toBe(200);
    const after = await check(ws.id);
    expect(after.line('webhook')).toMatchObject({ ok: true, fix: null });
    expect(after.line('webhook').detail).toMatch(/last signed webhook 0 min ago/);
    expect(after.ok).toBe(true);
  });

  it('names a wrong region when the credentials are saved', async () => {
    await resetFake();
    const put = (id: string, region: 'us' | 'eu') => SELF.fetch(`${EDGE}/v1/admin/workspaces/${id}`, {
      method: 'PUT', headers: { ...ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ allowedOrigins: ['https://news.example.com'], customerio: { siteId: 'eu_site', trackKey: 'eu_track_key', appKey: 'eu_app_key', region } }),
    });
    const wrong = (await (await put('regionws1', 'us')).json()) as any;
    expect(wrong.warnings).toEqual([{ path: 'customerio.region', message: expect.stringMatching(/EU region.*set customerio.region to "eu"/) }]);
    const right = (await (await put('regionws2', 'eu')).json()) as any;
    expect(right.warnings).toBeUndefined();
  });

  it('names the wrong region and a refused key, each with its fix', async () => {
    await resetFake();
    const eu = await createWorkspace({ customerio: { siteId: 'eu_site', trackKey: 'eu_track_key', appKey: 'eu_app_key', region: 'us' } });
    const region = (await check(eu.id)).line('region');
    expect(region.ok).toBe(false);
    expect(region.detail).toMatch(/EU region/);
    expect(region.fix).toMatch(/customerio.region to "eu"/);

    const wrong = await createWorkspace({ customerio: { siteId: 'demo_site', trackKey: 'not-the-key', appKey: 'not-the-app-key' } });
    const report = await check(wrong.id);
    expect(report.line('track')).toMatchObject({ ok: false });
    expect(report.line('track').fix).toMatch(/refused the Track API key/);
    expect(report.line('app').fix).toMatch(/refused the App API key/);
    expect(report.ok).toBe(false);
  });
});
