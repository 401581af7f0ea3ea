// Click-through identity in workerd: a tracked link's 302 carries a grant in the fragment; the
// widget's redemption merges the browser's anonymous reader into the one who clicked, bounded per
// email; tampered, expired, off-site, machine and switched-off cases give nothing.
import { SELF, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ADMIN, ORIGIN, createWorkspace, eventId, eventually, fake, page, postEvents, resetFake, serverApi, QUICK_SYNC } from './helpers.ts';
import { workspaceStub } from '#edge/platform/stubs.ts';
import { DAY_MS, signGrant, verifyGrant } from '#shared/email/grants.ts';

const HUMAN_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const EDGE = 'https://edge.test';
const sentAt = () => Math.floor(Date.now() / 1000) - 600;

async function syncedToken(secretKey: string, email: string): Promise<string> {
  expect((await serverApi(secretKey, '/identify', { body: { userId: `user-${email}`, traits: { email } } })).status).toBe(200);
  const person = await eventually(async () => {
    const p = await fake(`/people/demo/${encodeURIComponent(email)}`).catch(() => null);
    return p?.attributes?.sharpsend_ptoken ? p : null;
  }, 20_000, `token for ${email}`);
  return person.attributes.sharpsend_ptoken as string;
}

function click(ws: string, token: string, destination: string, delivery = 'dlv-1', init: RequestInit = {}) {
  return SELF.fetch(`${EDGE}/c/${ws}/${token}?u=${encodeURIComponent(destination)}&m=7&d=${delivery}&t=${sentAt()}`, { redirect: 'manual', headers: { 'user-agent': HUMAN_UA }, ...init });
}

const grantOf = (location: string | null) => /[#&]ss_grant=([A-Za-z0-9_.-]+)/.exec(location ?? '')?.[1] ?? null;

const grantEvent = (grant: string, anonymousId: string) => ({ type: 'grant', id: eventId(), anonymousId, ts: Date.now(), grant });
function redeem(workspace: string, grant: string, anonymousId: string, origin = ORIGIN) {
  return SELF.fetch(`${EDGE}/v1/events`, { method: 'POST', headers: { 'content-type': 'text/plain', origin }, body: JSON.stringify({ workspace, events: [grantEvent(grant, anonymousId)] }) });
}

const readerBy = async (secretKey: string, query: string) => (await (await serverApi(secretKey, `/reader?${query}`)).json()) as any;

describe('click-through identity', () => {
  it('links the clicking browser to the reader, once, and bounds the browsers per email', async () => {
    await resetFake();
    const ws = await createWorkspace({ ...QUICK_SYNC, clickIdentity: { enabled: true, maxBrowsers: 2, ttlDays: 7 } });
    const email = 'clicker@example.com';
    const token = await syncedToken(ws.secretKey, email);

    const res = await click(ws.id, token, 'https://news.example.com/a/1#part-2');
    expect(res.status).toBe(302);
    const location = res.headers.get('location')!;
    expect(location.startsWith('https://news.example.com/a/1#part-2&ss_grant=')).toBe(true);
    expect(location).not.toContain('clicker');
    expect(decodeURIComponent(location)).not.toContain('example.com/a/1#part-2&ss_grant=e:');
    const grant = grantOf(location)!;

    // The browser read before the grant was redeemed: that read moves over with the merge.
    const browserA = 'browserAaaaaaaaa';
    expect((await postEvents({ workspace: ws.id, events: [page(browserA, { category: 'stocks' })] })).status).toBe(202);
    const first = await redeem(ws.id, grant, browserA);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ linked: true, already: false });
    // ...and a read after it goes to the known reader through the forward pointer.
    expect((await postEvents({ workspace: ws.id, events: [page(browserA, { category: 'stocks' })] })).status).toBe(202);
    const known = await readerBy(ws.secretKey, `email=${encodeURIComponent(email)}`);
    expect(known.counters['reads.stocks']).toBe(2);
    expect(known.anonymousIds).toContain(browserA);
    // The same browser again: fine, nothing new.
    expect(await (await redeem(ws.id, grant, browserA)).json()).toEqual({ linked: true, already: true });

    // Forwarded: a second browser is allowed (maxBrowsers 2), a third is not, even with a fresh click's grant.
    expect((await redeem(ws.id, grant, 'browserBbbbbbbbb')).status).toBe(200);
    const again = grantOf((await click(ws.id, token, 'https://news.example.com/a/2')).headers.get('location'))!;
    expect(again).not.toBe(grant);
    expect((await postEvents({ workspace: ws.id, events: [page('browserCccccccccc')] })).status).toBe(202);
    const refused = await redeem(ws.id, again, 'browserCccccccccc');
    expect(refused.status).toBe(403);
    const body = (await refused.json()) as any;
    expect(body.error).toBe('Grant refused: browser limit reached');
    expect(body.issues[0]).toMatchObject({ path: 'events.0.grant' });
    expect(body.issues[0].message).toContain('maxBrowsers = 2');
    const stranger = await readerBy(ws.secretKey, 'anonymousId=browserCccccccccc');
    expect(stranger.known).toBe(false);
    expect(stranger.mergedInto ?? null).toBeNull();
    // Another email (delivery) is another grant id with its own count.
    const other = grantOf((await click(ws.id, token, 'https://news.example.com/a/3', 'dlv-2')).headers.get('location'))!;
    expect((await redeem(ws.id, other, 'browserCccccccccc')).status).toBe(200);

    // The known reader reaches Customer.io with the reads.
    await eventually(async () => {
      const p = await fake(`/people/demo/${encodeURIComponent(email)}`).catch(() => null);
      return (p?.attributes?.sharpsend_reads ?? 0) >= 3 ? p : null;
    }, 20_000, 'reads synced');
  });

  it('does not take over a browser that already belongs to another reader', async () => {
    await resetFake();
    const ws = await createWorkspace(QUICK_SYNC);
    const token = await syncedToken(ws.secretKey, 'original@example.com');
    const grant = grantOf((await click(ws.id, token, 'https://news.example.com/a/1')).headers.get('location'))!;
    // Someone else signed up in this browser (the forwarded email's recipient, say).
    const browser = 'browserSsssssssss';
    const signup = { type: 'signup', id: eventId(), anonymousId: browser, ts: Date.now(), email: 'recipient@example.com', consent: true, topics: [] };
    expect((await postEvents({ workspace: ws.id, events: [signup as any] })).status).toBe(202);
    const res = await redeem(ws.id, grant, browser);
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: 'Grant refused: browser belongs to another reader', issues: [{ path: 'events.0.anonymousId' }] });
    expect((await readerBy(ws.secretKey, `anonymousId=${browser}`)).key).toBe('e:recipient@example.com');
    // No browser slot was spent on it: the original reader's own browser still links.
    expect((await redeem(ws.id, grant, 'browserOwnnnnnnnn')).status).toBe(200);
    // Linked once by the grant, the same browser redeeming again is fine (same reader).
    expect(await (await redeem(ws.id, grant, 'browserOwnnnnnnnn')).json()).toEqual({ linked: true, already: true });
  });

  it('refuses tampered, expired and junk grants with a 4xx naming the reason', async () => {
    await resetFake();
    const ws = await createWorkspace(QUICK_SYNC);
    const email = 'tamper@example.com';
    const token = await syncedToken(ws.secretKey, email);
    const grant = grantOf((await click(ws.id, token, 'https://news.example.com/a/1')).headers.get('location'))!;
    const [kid, sealed] = grant.split('.') as [string, string];
    const tampered = `${kid}.${sealed.slice(0, 10)}${sealed[10] === 'A' ? 'B' : 'A'}${sealed.slice(11)}`;
    const bad = await redeem(ws.id, tampered, 'browserTtttttttt');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'Grant refused: bad_signature', issues: [{ path: 'events.0.grant' }] });

    // Made as the click route makes it, with an expiry already past.
    const keys = await workspaceStub(env, ws.id).signingKeys();
    const ok = await verifyGrant(ws.id, grant, keys, Date.now());
    expect(ok.ok).toBe(true);
    const expired = await signGrant(ws.id, { readerKey: (ok as any).readerKey, grantId: (ok as any).grantId, expiresAt: Date.now() - DAY_MS }, keys[0]!);
    const old = await redeem(ws.id, expired, 'browserTtttttttt');
    expect(old.status).toBe(400);
    expect(await old.json()).toMatchObject({ error: 'Grant refused: expired', issues: [{ path: 'events.0.grant', message: expect.stringContaining('expired') }] });

    const junk = await redeem(ws.id, 'not-a-grant', 'browserTtttttttt');
    expect(junk.status).toBe(400);
    const missing = await postEvents({ workspace: ws.id, events: [{ type: 'grant', id: eventId(), anonymousId: 'x', ts: Date.now() }] });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as any).issues.map((i: any) => i.path).sort()).toEqual(['events.0.anonymousId', 'events.0.grant']);
    // A grant goes alone: with other events it is not a redemption.
    const mixed = await postEvents({ workspace: ws.id, events: [grantEvent(grant, 'browserTtttttttt'), page('browserTtttttttt')] });
    expect(mixed.status).toBe(400);
    expect(((await mixed.json()) as any).error).toBe('Invalid grant redemption');
    expect((await redeem(ws.id, grant, 'browserTtttttttt', 'https://evil.example.net')).status).toBe(403);
    expect((await readerBy(ws.secretKey, 'anonymousId=browserTtttttttt')).known ?? false).toBe(false);
  });

  it('gives no grant to machines, other sites or a workspace that turned it off', async () => {
    await resetFake();
    const ws = await createWorkspace(QUICK_SYNC);
    const token = await syncedToken(ws.secretKey, 'quiet@example.com');
    const grant = grantOf((await click(ws.id, token, 'https://news.example.com/a/1')).headers.get('location'))!;
    expect(grant).toBeTruthy();
    expect(grantOf((await click(ws.id, token, 'https://news.example.com/a/1', 'dlv-1', { method: 'HEAD' })).headers.get('location'))).toBeNull();
    expect(grantOf((await click(ws.id, token, 'https://news.example.com/a/1', 'dlv-1', { headers: { 'user-agent': 'HeadlessChrome/131' } })).headers.get('location'))).toBeNull();
    expect(grantOf((await click(ws.id, 'none', 'https://news.example.com/a/1')).headers.get('location'))).toBeNull();
    // A signed link to another site: the reader goes there, without a grant.
    const made = await SELF.fetch(`${EDGE}/v1/admin/workspaces/${ws.id}/links`, { method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify({ url: 'https://markets.example.org/x' }) });
    const { link } = (await made.json()) as { link: string };
    const offsite = await SELF.fetch(link.replace("{{customer.sharpsend_ptoken | default: 'none'}}", token).replace('{{campaign.id}}', '7').replace('{{delivery_id}}', 'd1').replace("{{ 'now' | date: '%s' }}", String(sentAt())), { redirect: 'manual', headers: { 'user-agent': HUMAN_UA } });
    expect(offsite.status).toBe(302);
    expect(offsite.headers.get('location')).toBe('https://markets.example.org/x');

    const off = await SELF.fetch(`${EDGE}/v1/admin/workspaces/${ws.id}`, { method: 'PATCH', headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify({ clickIdentity: { enabled: false } }) });
    expect(off.status).toBe(200);
    expect(((await off.json()) as any).workspace.clickIdentity).toEqual({ enabled: false, maxBrowsers: 3, ttlDays: 7 });
    expect((await click(ws.id, token, 'https://news.example.com/a/1')).headers.get('location')).toBe('https://news.example.com/a/1');
    const refused = await redeem(ws.id, grant, 'browserOooooooo');
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as any).issues[0].message).toContain('clickIdentity.enabled');
  });
});
