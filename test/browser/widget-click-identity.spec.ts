/**
 * Click-through identity in Chromium: a tracked link in an email lands on the publisher's page
 * with a grant in the fragment; the widget takes it out of the address bar, redeems it, and the
 * reads that follow count on the known reader, all the way to Customer.io. A forwarded link is
 * bounded (the demo allows 3 browsers per email); a tampered grant is refused; GPC redeems nothing.
 */
import { expect, test, type Browser, type Page } from '@playwright/test';
import { EDGE, FAKE, anonymousId, edgeReader, readToBottom, syncedToken, uniqueEmail } from './widget-helpers.ts';

const ADMIN = { authorization: 'Bearer dev-admin-secret' };
const SECRET = { authorization: 'Bearer ss_sk_demo_localdemosecret' };
// Headless Chromium says "HeadlessChrome", which the click rules take for a scanner (no grant).
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
test.use({ userAgent: UA });

async function emailLink(request: import('@playwright/test').APIRequestContext, email: string, delivery: string): Promise<string> {
  expect((await request.post(`${EDGE}/v1/server/identify`, { headers: SECRET, data: { userId: `u-${email}`, traits: { email } } })).ok()).toBe(true);
  const token = await syncedToken(request, email);
  const made = await request.post(`${EDGE}/v1/admin/workspaces/demo/links`, { headers: ADMIN, data: { url: `${EDGE}/demo/`, category: 'crypto' } });
  expect(made.ok()).toBe(true);
  const { link } = await made.json();
  return link.replace("{{customer.sharpsend_ptoken | default: 'none'}}", token).replace('{{campaign.id}}', '7').replace('{{delivery_id}}', delivery)
    .replace("{{ 'now' | date: '%s' }}", String(Math.floor(Date.now() / 1000) - 600));
}

const redemption = (page: Page) => page.waitForResponse((res) => res.url() === `${EDGE}/v1/events` && (res.request().postData() ?? '').includes('"type":"grant"'));

async function freshBrowser(browser: Browser) {
  const context = await browser.newContext({ userAgent: UA });
  return { context, page: await context.newPage() };
}

test('email click → landing page: the grant leaves the address bar, the reads count on the known reader and reach Customer.io', async ({ page, request }) => {
  const email = uniqueEmail('clickthrough');
  const href = await emailLink(request, email, 'dlv-flow');

  // The "email", opened in the browser; the reader clicks the link.
  await page.goto(`${EDGE}/healthz`);
  await page.setContent(`<p>Bitcoin is up. <a id="go" href="${href.replace(/&/g, '&amp;')}">Read more</a></p>`);
  const hop = page.waitForResponse((res) => res.url().startsWith(`${EDGE}/c/demo/`));
  const redeemed = redemption(page);
  await page.click('#go');
  const target = (await hop).headers().location ?? '';
  expect(target).toMatch(/\/demo\/#ss_grant=k\d+\.[A-Za-z0-9_-]+$/);
  expect(target).not.toContain(email.split('@')[0]);
  const answer = await redeemed;
  expect(answer.status()).toBe(200);
  expect(await answer.json()).toEqual({ linked: true, already: false });
  // Gone from the address bar (and so from what the page's scripts and the read report).
  expect(page.url()).toBe(`${EDGE}/demo/`);
  expect(await page.evaluate(() => location.hash)).toBe('');

  // Read the article, then leave for another: the read goes as a beacon.
  await readToBottom(page, 150);
  await page.waitForTimeout(1500);
  await page.getByRole('link', { name: /Earnings season/ }).first().click();
  await expect(page).toHaveURL(/demo\/stocks/);
  await page.waitForTimeout(800);
  await page.goto('/demo/');

  // Counted on the known reader, with the browser linked to it.
  await expect.poll(async () => (await edgeReader(request, { email })).body?.counters?.['reads.crypto'] ?? 0, { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
  const known = (await edgeReader(request, { email })).body;
  expect(known.anonymousIds).toContain(await anonymousId(page));
  for (const e of (await edgeReader(request, { email })).body.recentPages ?? []) expect(JSON.stringify(e)).not.toContain('ss_grant');

  // ...and in Customer.io, on the same person.
  await expect.poll(async () => {
    const res = await request.get(`${FAKE}/_fake/people/demo/${encodeURIComponent(email)}`);
    return res.ok() ? ((await res.json()).attributes?.sharpsend_reads ?? 0) : 0;
  }, { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
  const people = await (await request.get(`${FAKE}/_fake/people?workspace=demo`)).json();
  const list: any[] = Array.isArray(people) ? people : people.people;
  expect(list.filter((p) => p.attributes?.email === email || p.email === email || p.id === email)).toHaveLength(1);
});

test('a forwarded link links at most 3 browsers; the 4th is refused and stays anonymous', async ({ browser, request }) => {
  const email = uniqueEmail('forwarded');
  const href = await emailLink(request, email, 'dlv-forward');
  const statuses: number[] = [];
  let refusal: any = null;
  let lastAid: string | null = null;
  for (let i = 0; i < 4; i++) {
    const { context, page } = await freshBrowser(browser);
    const redeemed = redemption(page);
    await page.goto(href); // the same email's link, clicked in another browser
    const res = await redeemed;
    statuses.push(res.status());
    if (res.status() !== 200) refusal = await res.json();
    expect(page.url()).toBe(`${EDGE}/demo/`);
    lastAid = await anonymousId(page);
    await context.close();
  }
  expect(statuses).toEqual([200, 200, 200, 403]);
  expect(refusal.error).toBe('Grant refused: browser limit reached');
  expect(refusal.issues[0].message).toContain('maxBrowsers = 3');
  // Nothing merged: the 4th browser's read (its beacon as the context closed) stays on an anonymous reader.
  await expect.poll(async () => (await edgeReader(request, { anonymousId: lastAid! })).body?.counters?.reads ?? 0, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
  const stranger = (await edgeReader(request, { anonymousId: lastAid! })).body;
  expect(stranger).toMatchObject({ key: `a:${lastAid}`, known: false, mergedInto: null });
  expect((await edgeReader(request, { email })).body.anonymousIds).not.toContain(lastAid);
});

test('a tampered grant is refused with its reason; with GPC on nothing is redeemed', async ({ browser, page, request }) => {
  const email = uniqueEmail('tampered');
  const href = await emailLink(request, email, 'dlv-tamper');
  const res = await request.get(href, { maxRedirects: 0, headers: { 'user-agent': UA } });
  const grant = /ss_grant=([^&]+)$/.exec(res.headers().location ?? '')![1]!;
  const [kid, sealed] = grant.split('.') as [string, string];
  const tampered = `${kid}.${sealed.slice(0, 12)}${sealed[12] === 'A' ? 'B' : 'A'}${sealed.slice(13)}`;

  const redeemed = redemption(page);
  await page.goto(`${EDGE}/demo/#ss_grant=${tampered}`);
  const answer = await redeemed;
  expect(answer.status()).toBe(400);
  expect(await answer.json()).toMatchObject({ error: 'Grant refused: bad_signature', issues: [{ path: 'events.0.grant' }] });
  expect(page.url()).toBe(`${EDGE}/demo/`);
  expect((await edgeReader(request, { anonymousId: (await anonymousId(page))! })).body.known ?? false).toBe(false);

  // Global Privacy Control: the grant still leaves the address bar, but no request is made.
  const { context, page: gpc } = await freshBrowser(browser);
  await gpc.addInitScript(() => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true, configurable: true }));
  const sent: string[] = [];
  gpc.on('request', (r) => r.url().includes('/v1/events') && sent.push(r.url()));
  await gpc.goto(`${EDGE}/demo/#intro&ss_grant=${grant}`);
  await expect.poll(() => gpc.url()).toBe(`${EDGE}/demo/#intro`);
  await gpc.waitForTimeout(800);
  expect(sent).toEqual([]);
  await context.close();
});
