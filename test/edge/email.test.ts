// Email opens and clicks at the edge: pixel and link URLs built from the attribute the sync
// writes, forged / expired / malformed tokens, machine opens, the redirect's refusals, Customer.io
// reporting webhooks (signature, replay, no double counting), and key rotation.
import { SELF, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ADMIN, QUICK_SYNC, createWorkspace, eventually, fake, resetFake, serverApi } from './helpers.ts';
import { webhookSignature } from '#shared/email/webhook.ts';
import { workspaceStub } from '#edge/platform/stubs.ts';

const HUMAN_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const EDGE = 'https://edge.test';

async function admin(path: string, init: { method?: string; body?: unknown } = {}) {
  return SELF.fetch(`${EDGE}/v1/admin/workspaces${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { ...ADMIN, 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
}

/** A known reader whose token reached the fake Customer.io through the sync. */
async function syncedReader(secretKey: string, email: string): Promise<string> {
  const res = await serverApi(secretKey, '/identify', { body: { userId: `user-${email}`, traits: { email } } });
  expect(res.status).toBe(200);
  const person = await eventually(async () => {
    const p = await fake(`/people/demo/${encodeURIComponent(email)}`).catch(() => null);
    return p?.attributes?.sharpsend_ptoken ? p : null;
  }, 20_000, `token attribute for ${email}`);
  return person.attributes.sharpsend_ptoken as string;
}

async function reader(secretKey: string, email: string) {
  return (await (await serverApi(secretKey, `/reader?email=${encodeURIComponent(email)}`)).json()) as { counters: Record<string, number>; emailLedger?: any; tags: string[] };
}

const pixel = (path: string, headers: Record<string, string> = { 'user-agent': HUMAN_UA }) => SELF.fetch(`${EDGE}/o/${path}`, { headers });
const settle = () => new Promise((r) => setTimeout(r, 400));

async function expectGif(res: Response) {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('image/gif');
  expect(res.headers.get('cache-control')).toContain('no-store');
  const bytes = new Uint8Array(await res.arrayBuffer());
  expect(bytes.byteLength).toBe(43);
  expect(String.fromCharCode(...bytes.slice(0, 6))).toBe('GIF89a');
}

describe('pixel', () => {
  it('counts one human open from a URL built with the synced attribute, per campaign unique and total', async () => {
    await resetFake();
    const ws = await createWorkspace(QUICK_SYNC);
    const email = 'pixel-reader@example.com';
    const token = await syncedReader(ws.secretKey, email);
    expect(token).toMatch(/^k1\.[A-Za-z0-9_-]+$/);
    // Opaque: the pixel URL Customer.io renders shows no address, in any encoding.
    for (const shown of [email, btoa(`e:${email}`).replace(/=+$/, ''), btoa(`e:${email}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')]) {
      expect(`${EDGE}/o/${ws.id}/${token}/42/dlv-1.gif`).not.toContain(shown);
    }

    await expectGif(await pixel(`${ws.id}/${token}/42/dlv-1.gif`));
    const first = await eventually(async () => { const r = await reader(ws.secretKey, email); return r.counters.opens === 1 ? r : null; }, 10_000, 'one open');
    expect(first.counters.opens_machine ?? 0).toBe(0);
    expect(first.counters.opens_unique).toBe(1);
    expect(first.emailLedger.campaigns['42']).toMatchObject({ opens: 1 });

    // The same reader opens the same email again: total grows, the campaign stays one unique open.
    await expectGif(await pixel(`${ws.id}/${token}/42/dlv-1.gif`));
    const second = await eventually(async () => { const r = await reader(ws.secretKey, email); return r.counters.opens === 2 ? r : null; }, 10_000, 'two opens');
    expect(second.counters.opens_unique).toBe(1);
    expect(second.emailLedger.campaigns['42']).toMatchObject({ opens: 2 });

    // The counters reach Customer.io through the same sync.
    await eventually(async () => (await fake(`/people/demo/${encodeURIComponent(email)}`)).attributes.sharpsend_opens === 2, 20_000, 'opens synced');
  });

  it('answers the GIF and counts nothing for forged, expired-key and malformed tokens', async () => {
    await resetFake();
    const ws = await createWorkspace(QUICK_SYNC);
    const email = 'forger-target@example.com';
    const token = await syncedReader(ws.secretKey, email);
    const [kid, payload] = token.split('.') as [string, string];
    const mid = Math.floor(payload.length / 2);
    const tampered = `${kid}.${payload.slice(0, mid)}${payload[mid] === 'A' ? 'B' : 'A'}${payload.slice(mid + 1)}`;
    // The old clear format ("o1") naming someone else, with a made-up signature.
    const otherReader = `${kid}.${btoa('e:someone-else@example.com').replace(/=+$/, '')}.${'A'.repeat(22)}`;
    for (const bad of [tampered, otherReader, 'not-a-token', '', 'k1..', `k9.${payload}`]) {
      await expectGif(await pixel(`${ws.id}/${bad}/42.gif`));
    }
    // The token is for this workspace only.
    const other = await createWorkspace(QUICK_SYNC);
    await expectGif(await pixel(`${other.id}/${token}/42.gif`));
    await settle();

    // Rotation keeps old tokens working; retiring the old key expires them.
    const rotated = await admin(`/${ws.id}/signing-keys`, { method: 'POST' });
    expect(rotated.status).toBe(201);
    expect((await rotated.json() as any).signingKeys.map((k: any) => k.kid)).toEqual(['k2', 'k1']);
    await expectGif(await pixel(`${ws.id}/${token}/43.gif`));
    await eventually(async () => (await reader(ws.secretKey, email)).counters.opens === 1, 10_000, 'old key still verifies after rotation');
    expect((await admin(`/${ws.id}/signing-keys/k2`, { method: 'DELETE' })).status).toBe(409);
    expect((await admin(`/${ws.id}/signing-keys/k1`, { method: 'DELETE' })).status).toBe(200);
    await expectGif(await pixel(`${ws.id}/${token}/44.gif`));
    await settle();

    const r = await reader(ws.secretKey, email);
    expect(r.counters.opens).toBe(1);
    expect(r.counters.opens_machine ?? 0).toBe(0);
    const stats = await eventually(async () => {
      const s = (await (await admin(`/${ws.id}/email`)).json()) as any;
      return Object.values(s.rejected as Record<string, number>).reduce((a, b) => a + b, 0) >= 6 ? s : null;
    }, 10_000, 'rejected hits counted');
    expect(stats.rejected.open_bad_signature).toBeGreaterThanOrEqual(2);
    expect(stats.rejected.open_malformed).toBeGreaterThanOrEqual(2);
    expect(stats.rejected.open_unknown_key).toBeGreaterThanOrEqual(2); // k9, then the retired k1

    // The snippet's default token (a person without the attribute): the GIF, and nothing counted,
    // not even as a refused hit.
    const before = JSON.stringify(stats.rejected);
    await expectGif(await pixel(`${ws.id}/none/45.gif`));
    await settle();
    expect(JSON.stringify(((await (await admin(`/${ws.id}/email`)).json()) as any).rejected)).toBe(before);
    expect((await reader(ws.secretKey, email)).counters.opens).toBe(1);
    // New syncs carry a k2 token, which verifies.
    await serverApi(ws.secretKey, '/identify', { body: { userId: `user-${email}`, traits: { email, plan: 'pro' } } });
    const fresh = await eventually(async () => {
      const p = await fake(`/people/demo/${encodeURIComponent(email)}`);
      return String(p.attributes.sharpsend_ptoken).startsWith('k2.') ? p.attributes.sharpsend_ptoken as string : null;
    }, 20_000, 'a k2 token synced');
    await expectGif(await pixel(`${ws.id}/${fresh}/45.gif`));
    await eventually(async () => (await reader(ws.secretKey, email)).counters.opens === 2, 10_000, 'k2 token counts');
  });

  it('counts Apple Mail Privacy Protection and image proxy opens apart from human ones', async () => {
    await resetFake();
    const ws = await createWorkspace(QUICK_SYNC);
    const email = 'machine-opens@example.com';
    const token = await syncedReader(ws.secretKey, email);
    await expectGif(await pixel(`${ws.id}/${token}/7/d-a.gif`, { 'user-agent': 'Mozilla/5.0', 'cf-connecting-ip': '17.58.101.5' }));
    await expectGif(await pixel(`${ws.id}/${token}/7/d-a.gif`, { 'user-agent': 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)' }));
    await expectGif(await pixel(`${ws.id}/${token}/7/d-a.gif`, { 'user-agent': 'Barracuda Sentinel (EE)' }));
    const r = await eventually(async () => { const x = await reader(ws.secretKey, email); return x.counters.opens_machine === 3 ? x : null; }, 10_000, 'machine opens');
    expect(r.counters.opens ?? 0).toBe(0);
    expect(r.counters['opens_machine.apple_mpp']).toBe(1);
    expect(r.counters['opens_machine.image_proxy']).toBe(1);
    expect(r.counters['opens_machine.scanner']).toBe(1);
    expect(r.counters.opens_unique ?? 0).toBe(0);
  });
});

describe('tracked links', () => {
  it('redirects a signed link, counts one click in its category, and refuses an unsigned destination', async () => {
    await resetFake();
    const ws = await createWorkspace(QUICK_SYNC);
    const email = 'clicker@example.com';
    const token = await syncedReader(ws.secretKey, email);
    const made = await admin(`/${ws.id}/links`, { body: { url: 'https://markets.example.org/btc?x=1&y=2', category: 'crypto' } });
    expect(made.status).toBe(200);
    const { link } = (await made.json()) as { link: string };
    expect(link).toContain("{{customer.sharpsend_ptoken | default: 'none'}}");
    const url = link.replace("{{customer.sharpsend_ptoken | default: 'none'}}", token).replace('{{campaign.id}}', '42').replace('{{delivery_id}}', 'dlv-9')
      .replace("{{ 'now' | date: '%s' }}", String(Math.floor(Date.now() / 1000) - 3600));

    const res = await SELF.fetch(url, { redirect: 'manual', headers: { 'user-agent': HUMAN_UA } });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://markets.example.org/btc?x=1&y=2');
    const r = await eventually(async () => { const x = await reader(ws.secretKey, email); return x.counters.clicks === 1 ? x : null; }, 10_000, 'one click');
    expect(r.counters['clicks.crypto']).toBe(1);

    // Same link, other destination: not followed.
    const tampered = url.replace(encodeURIComponent('https://markets.example.org/btc?x=1&y=2'), encodeURIComponent('https://evil.example.net/'));
    const refused = await SELF.fetch(tampered, { redirect: 'manual', headers: { 'user-agent': HUMAN_UA } });
    expect(refused.status).toBe(400);
    expect(refused.headers.get('location')).toBeNull();
    expect(refused.headers.get('content-type')).toContain('text/html');
    // No signature at all, or a changed category: refused too.
    for (const bad of [
      `${EDGE}/c/${ws.id}/${token}?u=${encodeURIComponent('https://evil.example.net/')}`,
      url.replace('k=crypto', 'k=stocks'),
      `${EDGE}/c/${ws.id}/${token}?u=javascript:alert(1)&s=k1.xxxxxxxxxxxxxxxxxxxxxx`,
    ]) {
      expect((await SELF.fetch(bad, { redirect: 'manual' })).status).toBe(400);
    }
    // The workspace's own site is on the allow-list: no signature needed.
    const own = await SELF.fetch(`${EDGE}/c/${ws.id}/${token}?u=${encodeURIComponent('https://news.example.com/a/2')}&k=stocks`, { redirect: 'manual', headers: { 'user-agent': HUMAN_UA } });
    expect(own.status).toBe(302);
    // A scanner's HEAD request and a click seconds after the send are counted apart.
    expect((await SELF.fetch(url, { method: 'HEAD', redirect: 'manual', headers: { 'user-agent': HUMAN_UA } })).status).toBe(302);
    const fast = url.replace(/t=\d+/, `t=${Math.floor(Date.now() / 1000)}`);
    expect((await SELF.fetch(fast, { redirect: 'manual', headers: { 'user-agent': HUMAN_UA } })).status).toBe(302);
    // A forged reader token still reaches the (signed) destination but counts nothing.
    const forged = url.replace(token, `${token.slice(0, -2)}AA`);
    expect((await SELF.fetch(forged, { redirect: 'manual', headers: { 'user-agent': HUMAN_UA } })).status).toBe(302);

    const after = await eventually(async () => { const x = await reader(ws.secretKey, email); return x.counters.clicks === 2 && x.counters.clicks_machine === 2 ? x : null; }, 10_000, 'clicks counted apart');
    expect(after.counters['clicks.crypto']).toBe(1);
    expect(after.counters['clicks.stocks']).toBe(1);
    expect(after.counters['clicks_machine.scanner']).toBe(2);
    await settle();
    expect((await reader(ws.secretKey, email)).counters.clicks).toBe(2);
  });

  it('answers an unknown workspace with an error page, not a redirect', async () => {
    const res = await SELF.fetch(`${EDGE}/c/no-such-ws/tok?u=${encodeURIComponent('https://example.org/')}`, { redirect: 'manual' });
    expect(res.status).toBe(404);
    expect(res.headers.get('location')).toBeNull();
  });
});

describe('Customer.io reporting webhooks', () => {
  const SECRET = 'whsec-test-0123456789abcdef';

  async function post(wsId: string, event: unknown, opts: { secret?: string; ts?: number } = {}) {
    const body = JSON.stringify(event);
    const ts = String(opts.ts ?? Math.floor(Date.now() / 1000));
    return SELF.fetch(`${EDGE}/v1/webhooks/customerio/${wsId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-cio-timestamp': ts, 'x-cio-signature': await webhookSignature(opts.secret ?? SECRET, ts, body) },
      body,
    });
  }

  const event = (metric: string, email: string, extra: Record<string, unknown> = {}, id = `${metric}-${Math.random().toString(36).slice(2)}`) => ({
    event_id: id, object_type: 'email', metric, timestamp: Math.floor(Date.now() / 1000),
    data: { campaign_id: 42, action_id: 1, delivery_id: 'dlv-wh-1', customer_id: `user-${email}`, identifiers: { id: `user-${email}`, email }, ...extra },
  });

  it('updates counters from a signed event without double counting the pixel, refuses bad signatures, ignores replays', async () => {
    await resetFake();
    const ws = await createWorkspace(QUICK_SYNC);
    const email = 'webhook-reader@example.com';
    const token = await syncedReader(ws.secretKey, email);
    expect((await post(ws.id, event('opened', email))).status).toBe(403); // no secret yet
    expect((await admin(`/${ws.id}/webhook-secret`, { method: 'PUT', body: { secret: SECRET } })).status).toBe(200);

    // The pixel saw the open of delivery dlv-wh-1 first…
    await expectGif(await pixel(`${ws.id}/${token}/42/dlv-wh-1.gif`));
    await eventually(async () => (await reader(ws.secretKey, email)).counters.opens === 1, 10_000, 'pixel open');
    // …so Customer.io's "opened" for the same delivery adds nothing.
    const opened = event('opened', email, {}, 'evt-open-1');
    const res = await post(ws.id, opened);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 1, duplicates: 0 });
    expect((await reader(ws.secretKey, email)).counters.opens).toBe(1);

    // A click the link never saw (another delivery) counts; its replay changes nothing.
    const clicked = event('clicked', email, { delivery_id: 'dlv-wh-2', href: 'https://news.example.com/x' }, 'evt-click-1');
    expect(await (await post(ws.id, clicked)).json()).toEqual({ accepted: 1, duplicates: 0 });
    expect(await (await post(ws.id, clicked)).json()).toEqual({ accepted: 0, duplicates: 1 });
    const mid = await reader(ws.secretKey, email);
    expect(mid.counters.clicks).toBe(1);

    // Bad signature, another secret, stale timestamp, missing headers: 401, nothing counted.
    expect((await post(ws.id, event('clicked', email, { delivery_id: 'x1' }), { secret: 'some-other-secret-123' })).status).toBe(401);
    expect((await post(ws.id, event('clicked', email, { delivery_id: 'x2' }), { ts: Math.floor(Date.now() / 1000) - 3600 })).status).toBe(401);
    const unsigned = await SELF.fetch(`${EDGE}/v1/webhooks/customerio/${ws.id}`, { method: 'POST', body: JSON.stringify(event('clicked', email)) });
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as any).error).toMatch(/X-CIO/);
    // A tampered body with the original signature.
    const body = JSON.stringify(event('clicked', email, { delivery_id: 'x3' }));
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = await webhookSignature(SECRET, ts, body);
    const tampered = await SELF.fetch(`${EDGE}/v1/webhooks/customerio/${ws.id}`, { method: 'POST', headers: { 'x-cio-timestamp': ts, 'x-cio-signature': sig }, body: body.replace('x3', 'x4') });
    expect(tampered.status).toBe(401);
    expect((await reader(ws.secretKey, email)).counters.clicks).toBe(1);

    // Bounces and unsubscribes mark the reader; customer-level unsubscribes too.
    await post(ws.id, event('bounced', email, { failure_message: 'mailbox full' }));
    await post(ws.id, { event_id: 'evt-unsub-1', object_type: 'customer', metric: 'unsubscribed', timestamp: Math.floor(Date.now() / 1000), data: { customer_id: `user-${email}`, identifiers: { id: `user-${email}`, email } } });
    const marked = await reader(ws.secretKey, email);
    expect(marked.counters.bounces).toBe(1);
    expect(marked.counters.unsubscribes).toBe(1);
    expect(marked.emailLedger.bouncedAt).toBeGreaterThan(0);
    expect(marked.emailLedger.unsubscribedAt).toBeGreaterThan(0);
    await eventually(async () => (await fake(`/people/demo/${encodeURIComponent(email)}`)).attributes.sharpsend_bounces === 1, 20_000, 'bounce synced');

    // Events the edge does not count are acknowledged (so Customer.io does not retry them).
    const ignored = await post(ws.id, { ...event('drafted', email), object_type: 'email' });
    expect(ignored.status).toBe(200);
    expect(await ignored.json()).toMatchObject({ ignored: true });
    // Anything authentic is taken with a 2xx, even a shape the edge cannot read: a 4xx would make
    // Customer.io hold every later webhook behind it. The answer says why it was ignored.
    const garbage = await post(ws.id, { hello: 'world' });
    expect(garbage.status).toBe(200);
    expect(await garbage.json()).toMatchObject({ ignored: true, reason: expect.stringMatching(/event_id/) });
  });

  it('takes events with null ids (a person known by email only, a message without a campaign) and counts them', async () => {
    await resetFake();
    const ws = await createWorkspace(QUICK_SYNC);
    const email = 'email-only-reader@example.com';
    await syncedReader(ws.secretKey, email);
    await admin(`/${ws.id}/webhook-secret`, { method: 'PUT', body: { secret: SECRET } });
    const nulls = { customer_id: null, identifiers: { id: null, email, cio_id: 'cio_1' }, campaign_id: null, broadcast_id: null, newsletter_id: null };

    const opened = await post(ws.id, event('opened', email, { ...nulls, delivery_id: 'dlv-null-1' }));
    expect(opened.status).toBe(200);
    expect(await opened.json()).toEqual({ accepted: 1, duplicates: 0 });
    // A synthetic open (inferred from a click) is not necessarily a machine's: it counts as human.
    const synthetic = await post(ws.id, event('opened', email, { ...nulls, delivery_id: 'dlv-null-2', synthetic: true }));
    expect(await synthetic.json()).toEqual({ accepted: 1, duplicates: 0 });
    // Only the recipient names the person: still counted on that reader.
    const byRecipient = await post(ws.id, event('clicked', email, { ...nulls, identifiers: { id: null, email: null }, recipient: email, delivery_id: 'dlv-null-3', href: 'https://news.example.com/y' }));
    expect(await byRecipient.json()).toEqual({ accepted: 1, duplicates: 0 });
    const after = await reader(ws.secretKey, email);
    expect(after.counters.opens).toBe(2);
    expect(after.counters.clicks).toBe(1);

    // Nobody to count it on, an unknown metric, a body that is not JSON: 200, ignored, with the reason.
    const nobody = await post(ws.id, { ...event('opened', email), data: { ...nulls, identifiers: { id: null, email: null } } });
    expect(nobody.status).toBe(200);
    expect(await nobody.json()).toEqual({ ignored: true, reason: expect.stringMatching(/no id or email/) });
    const unknownMetric = await post(ws.id, event('teleported', email, nulls));
    expect(await unknownMetric.json()).toEqual({ ignored: true, reason: expect.stringMatching(/teleported/) });
    const ts = String(Math.floor(Date.now() / 1000));
    const notJson = await SELF.fetch(`${EDGE}/v1/webhooks/customerio/${ws.id}`, { method: 'POST', headers: { 'x-cio-timestamp': ts, 'x-cio-signature': await webhookSignature(SECRET, ts, 'not json') }, body: 'not json' });
    expect(notJson.status).toBe(200);
    expect(await notJson.json()).toMatchObject({ ignored: true, reason: expect.stringMatching(/not JSON/) });
  });

  it('does not leak the webhook secret and keeps it across workspace updates', async () => {
    const ws = await createWorkspace(QUICK_SYNC);
    expect((await admin(`/${ws.id}/webhook-secret`, { method: 'PUT', body: { secret: 'short' } })).status).toBe(400);
    await admin(`/${ws.id}/webhook-secret`, { method: 'PUT', body: { secret: SECRET } });
    await createWorkspace({}, ws.id); // an update through PUT /v1/admin/workspaces/:id
    const info = (await (await admin(`/${ws.id}/email`)).json()) as any;
    expect(info.webhookSecretSet).toBe(true);
    expect(JSON.stringify(info)).not.toContain(SECRET);
    expect(info.pixel).toContain(`/o/${ws.id}/{{customer.sharpsend_ptoken | default: 'none'}}/{{campaign.id}}/{{delivery_id}}.gif`);
    expect((await SELF.fetch(`${EDGE}/v1/admin/workspaces/${ws.id}/email`)).status).toBe(401);
    const stored = await workspaceStub(env, ws.id).webhookSecret();
    expect(stored).toBe(SECRET);
  });
});
