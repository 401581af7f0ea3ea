/**
 * The sign-up form as a publisher shapes it: consent as fine print (the default) or a box to tick
 * (`data-consent-box="required"`); a device that signed up sees "You're subscribed" (or nothing,
 * `data-when-subscribed="hide"`) instead of an empty form; a pick the edge could not take (5xx)
 * is not shown as saved, stays in the outbox and arrives later.
 */
import { expect, test, type Page } from '@playwright/test';
import { EDGE, edgeReader, picker, recordEvents, signup, uniqueEmail } from './widget-helpers.ts';

/** A publisher page on the edge's origin (allowed for the demo workspace) with these placeholders. */
async function publisherPage(page: Page, placeholders: string) {
  await page.route(`${EDGE}/test-page.html`, (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test page</title></head><body><main>${placeholders}</main>` +
      `<script async src="/sharpsend.js" data-workspace="demo"></script></body></html>`,
  }));
  await page.goto(`${EDGE}/test-page.html`);
}

test('default: no box to tick, the consent text is fine print under the button; signed up, the device sees "You\'re subscribed"', async ({ page, request }) => {
  const sent = recordEvents(page);
  await publisherPage(page, '<div data-sharpsend="signup"></div>');
  const form = signup(page);
  await expect(form.getByRole('button', { name: 'Sign up' })).toBeVisible();
  await expect(form.getByRole('checkbox')).toHaveCount(0);
  await expect(form.getByText('By signing up you agree to receive this newsletter.')).toBeVisible();
  // Fine print sits under the button.
  const buttonBox = (await form.getByRole('button', { name: 'Sign up' }).boundingBox())!;
  const printBox = (await form.getByText(/By signing up/).boundingBox())!;
  expect(printBox.y).toBeGreaterThan(buttonBox.y + buttonBox.height - 1);

  const email = uniqueEmail('fineprint');
  await form.getByLabel('Email address').fill(email);
  await form.getByRole('button', { name: 'Sign up' }).click();
  await expect(form.getByRole('status')).toContainText('You are in!');
  expect(sent.events().filter((e) => e.type === 'signup')).toMatchObject([{ email, consent: true }]);
  await expect.poll(async () => (await edgeReader(request, { email })).body?.known ?? false, { timeout: 10_000 }).toBe(true);

  // Back on the site later: no empty form again.
  await page.reload();
  await expect(form.getByRole('status')).toHaveText("You're subscribed.");
  await expect(form.getByLabel('Email address')).toHaveCount(0);
  await expect(form.getByRole('button', { name: 'Sign up' })).toHaveCount(0);
  expect(await page.evaluate(() => Number(localStorage.getItem('sharpsend:subscribed')))).toBeGreaterThan(0);
});

test('data-consent-box="required": the box must be ticked; data-when-subscribed="hide" shows nothing once signed up', async ({ page }) => {
  await publisherPage(page, '<div data-sharpsend="signup" data-consent-box="required" data-when-subscribed="hide"></div>');
  const form = signup(page);
  const box = form.getByRole('checkbox', { name: /I agree to receive this newsletter/ });
  await expect(box).toBeVisible();
  await expect(form.getByText(/By signing up/)).toHaveCount(0);
  await form.getByLabel('Email address').fill(uniqueEmail('boxed'));
  await form.getByRole('button', { name: 'Sign up' }).click();
  await expect(form.getByRole('status')).toHaveText(/tick the box/);
  await expect(box).toBeFocused();
  await box.check();
  await form.getByRole('button', { name: 'Sign up' }).click();
  await expect(form.getByRole('status')).toContainText('You are in!');

  await page.reload();
  await page.waitForFunction(() => !!document.querySelector('[data-sharpsend="signup"]')?.shadowRoot);
  expect(await page.evaluate(() => document.querySelector('[data-sharpsend="signup"]')!.shadowRoot!.textContent)).toBe('');
  await expect(form.getByRole('heading')).toHaveCount(0);
});

test('a pick the edge could not take (5xx) is not shown as saved, stays queued and arrives on the next page', async ({ page, request }) => {
  let refused = 0;
  await page.route(`${EDGE}/v1/events`, (route) => {
    if ((route.request().postData() ?? '').includes('"type":"preferences"')) {
      refused++;
      return route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"Service unavailable","issues":[]}' });
    }
    return route.continue();
  });
  await publisherPage(page, '<div data-sharpsend="preferences" data-topics="crypto,stocks"></div>');
  const topics = picker(page);
  await topics.getByRole('checkbox', { name: 'Crypto' }).check();
  await expect(topics.getByRole('status')).toHaveText('Not sent yet: we will try again.');
  expect(refused).toBeGreaterThanOrEqual(1);
  const queue = await page.evaluate(() => JSON.parse(localStorage.getItem('sharpsend:queue') || '[]'));
  expect(queue.filter((e: any) => e.type === 'preferences')).toMatchObject([{ topics: ['crypto'] }]);
  // Kept on the device as the reader's choice all the same.
  await expect(topics.getByRole('checkbox', { name: 'Crypto' })).toBeChecked();

  // The edge is back: the next page sends what waited, and a new pick is "Saved".
  await page.unroute(`${EDGE}/v1/events`);
  await page.reload();
  await expect.poll(() => page.evaluate(() => localStorage.getItem('sharpsend:queue') ?? '[]'), { timeout: 10_000 }).toBe('[]');
  const aid = await page.evaluate(() => JSON.parse(localStorage.getItem('sharpsend:aid') || 'null'));
  await expect.poll(async () => (await edgeReader(request, { anonymousId: aid })).body?.topics, { timeout: 10_000 }).toEqual(['crypto']);
  await topics.getByRole('checkbox', { name: 'Stocks' }).check();
  await expect(topics.getByRole('status')).toHaveText('Saved. You follow Crypto and Stocks.');
});
