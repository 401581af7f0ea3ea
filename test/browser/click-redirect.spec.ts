// A tracked link in an email, clicked in Chromium: the 302 lands on the signed destination and the
// click is counted in its category; a changed destination gets a plain error page, no redirect.
import { expect, test } from '@playwright/test';
import { EDGE, FAKE, edgeReader, syncedToken, uniqueEmail } from './widget-helpers.ts';

const ADMIN = { authorization: 'Bearer dev-admin-secret' };

// Headless Chromium says "HeadlessChrome", which the machine rules rightly take for a scanner;
// a reader's browser says Chrome.
test.use({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36' });
const SECRET = { authorization: 'Bearer ss_sk_demo_localdemosecret' };

test('a tracked link redirects to its signed destination and counts one click', async ({ page, request }) => {
  const email = uniqueEmail('clicker');
  expect((await request.post(`${EDGE}/v1/server/identify`, { headers: SECRET, data: { userId: `u-${email}`, traits: { email } } })).ok()).toBe(true);
  // The token the sync wrote to Customer.io is what the email template reads.
  const token = await syncedToken(request, email);

  // A destination off the workspace's allow-list: only its signature lets it through.
  const destination = `${FAKE}/_fake/healthz?from=newsletter`;
  const made = await request.post(`${EDGE}/v1/admin/workspaces/demo/links`, { headers: ADMIN, data: { url: destination, category: 'crypto' } });
  expect(made.ok()).toBe(true);
  const { link } = await made.json();
  const href = link.replace("{{customer.sharpsend_ptoken | default: 'none'}}", token).replace('{{campaign.id}}', '7').replace('{{delivery_id}}', 'dlv-browser')
    .replace("{{ 'now' | date: '%s' }}", String(Math.floor(Date.now() / 1000) - 600));
  const tampered = href.replace(encodeURIComponent(destination), encodeURIComponent('https://example.com/'));

  // An "email" with the two links, opened on the edge's origin.
  await page.goto(`${EDGE}/healthz`);
  await page.setContent(`<p>Bitcoin is up. <a id="good" href="${href.replace(/&/g, '&amp;')}">Read more</a> · <a id="bad" href="${tampered.replace(/&/g, '&amp;')}">Tampered</a></p>`);

  const redirect = page.waitForResponse((res) => res.url().startsWith(`${EDGE}/c/demo/`));
  await page.click('#good');
  const hop = await redirect;
  expect(hop.status()).toBe(302);
  await page.waitForURL(destination);
  await expect(page.locator('body')).toContainText('"ok":true');

  await expect.poll(async () => (await edgeReader(request, { email })).body?.counters?.clicks ?? 0, { timeout: 10_000 }).toBe(1);
  const reader = (await edgeReader(request, { email })).body;
  expect(reader.counters['clicks.crypto']).toBe(1);
  expect(reader.counters.clicks_machine ?? 0).toBe(0);

  // The tampered link is refused with a page a reader understands, and nothing is counted.
  await page.goBack();
  await page.setContent(`<a id="bad" href="${tampered.replace(/&/g, '&amp;')}">Tampered</a>`);
  const refused = page.waitForResponse((res) => res.url().startsWith(`${EDGE}/c/demo/`));
  await page.click('#bad');
  expect((await refused).status()).toBe(400);
  await expect(page.getByRole('heading', { name: 'This link is not valid' })).toBeVisible();
  expect(page.url()).toContain('/c/demo/');
  await page.waitForTimeout(500);
  expect((await edgeReader(request, { email })).body.counters.clicks).toBe(1);
});
