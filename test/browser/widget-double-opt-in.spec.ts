/**
 * Double opt-in in Chromium: with the setting on, the sign-up form says "Check your inbox to
 * confirm"; the confirmation email (the fake Customer.io's recorded transactional send) carries a
 * link with no address in it; opening it shows a plain "You're confirmed" page, once, and the
 * reader is confirmed here and in Customer.io. The demo workspace gets its setting back afterwards.
 */
import { expect, test } from '@playwright/test';
import { EDGE, FAKE, edgeReader, screenshot, signup, uniqueEmail } from './widget-helpers.ts';
import { signIn } from './panel-helpers.ts';

const ADMIN = { authorization: 'Bearer dev-admin-secret' };
const setOptIn = (request: import('@playwright/test').APIRequestContext, enabled: boolean) =>
  request.patch(`${EDGE}/v1/admin/workspaces/demo`, { headers: ADMIN, data: { doubleOptIn: { enabled, transactionalMessageId: 'confirm-signup' } } });

test.afterEach(async ({ request }) => {
  expect((await setOptIn(request, false)).ok()).toBe(true);
});

test('sign-up → "check your inbox" → the emailed link → confirmed, once', async ({ page, request }) => {
  expect((await setOptIn(request, true)).ok()).toBe(true);
  const email = uniqueEmail('optin');
  await page.goto('/demo/');
  const form = signup(page);
  await form.getByLabel('Email address').fill(email);
  await form.getByRole('checkbox', { name: /I agree/ }).check();
  await form.getByRole('button', { name: 'Sign up' }).click();
  await expect(form.getByRole('status')).toHaveText('Check your inbox to confirm.');
  await expect(form.getByLabel('Email address')).toHaveCount(0);
  await form.scrollIntoViewIfNeeded();
  await screenshot(page, 'optin-check-inbox', false);

  // Pending until confirmed.
  await expect.poll(async () => (await edgeReader(request, { email })).body?.pendingSince ?? null, { timeout: 15_000 }).not.toBeNull();

  // The confirmation email, as the fake Customer.io received it.
  let url = '';
  await expect.poll(async () => {
    const { deliveries } = await (await request.get(`${FAKE}/_fake/deliveries?workspace=demo`)).json();
    url = deliveries.find((d: any) => d.to === email && d.transactionalMessageId === 'confirm-signup')?.body?.message_data?.confirm_url ?? '';
    return url;
  }, { timeout: 30_000 }).not.toBe('');
  // The panel shows it waiting, on the Overview.
  await signIn(page);
  await expect(page.getByTestId('stat-pending')).not.toHaveText('0');
  await expect(page.getByTestId('pending-signups').getByRole('cell', { name: email })).toBeVisible();
  await screenshot(page, 'optin-panel-pending');
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, 'optin-panel-pending-phone');

  expect(url.startsWith(`${EDGE}/confirm/demo/`)).toBe(true);
  expect(url).not.toContain(email.split('@')[0]);
  expect(url).not.toMatch(/@|%40/);

  const opened = await page.goto(url);
  expect(opened!.status()).toBe(200);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText("You're confirmed");
  await screenshot(page, 'optin-confirmed-phone', false);
  await page.setViewportSize({ width: 1280, height: 720 });
  const again = await page.reload();
  expect(again!.status()).toBe(200);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Already confirmed');

  const reader = (await edgeReader(request, { email })).body;
  expect(reader.pendingSince).toBeNull();
  expect(reader.confirmedAt).toBeGreaterThan(Date.now() - 120_000);
  await expect.poll(async () => {
    const res = await request.get(`${FAKE}/_fake/people/demo/${encodeURIComponent(email)}`);
    return res.ok() ? (await res.json()).attributes?.sharpsend_confirmed : null;
  }, { timeout: 20_000 }).toBe(true);

  // A changed link is a plain page too, not an error.
  const bad = await page.goto(`${url.slice(0, -3)}${url.endsWith('AAA') ? 'BBB' : 'AAA'}`);
  expect(bad!.status()).toBe(400);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('This link is no longer valid');
});
