/** The same reader journey with the keyboard only: read, pick two topics, sign up, with focus and announcements right. */
import { expect, test } from '@playwright/test';
import { anonymousId, edgeReader, picker, screenshot, signup, tabTo, uniqueEmail } from './widget-helpers.ts';

test('keyboard only: read, pick two topics, sign up', async ({ page, request }) => {
  await page.goto('/demo/');
  await expect(picker(page).getByRole('checkbox', { name: 'Crypto' })).toBeVisible();

  // Read with the keyboard, then leave by a link reached with Tab.
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('PageDown');
    await page.waitForTimeout(250);
  }
  await page.keyboard.press('End');
  await page.waitForTimeout(1200);
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await tabTo(page, 'a[] Earnings season');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/demo\/stocks/);
  // Read the stocks page too: its script has run (load) and the page is seen for a moment, else
  // leaving at once records no read there (a read with no visible time sends nothing).
  await page.waitForLoadState('load');
  await page.keyboard.press('End');
  await page.waitForTimeout(600);
  await page.goto('/demo/');
  const aid = await anonymousId(page);
  expect(aid).toBeTruthy();

  // Pick two topics: Tab into the picker, Space toggles, each announced in the live region.
  await tabTo(page, 'input[checkbox] Crypto');
  await page.keyboard.press('Space');
  await tabTo(page, 'input[checkbox] Stocks');
  await page.keyboard.press('Space');
  const topics = picker(page);
  await expect(topics.getByRole('checkbox', { name: 'Crypto' })).toBeChecked();
  await expect(topics.getByRole('checkbox', { name: 'Stocks' })).toBeChecked();
  await expect(topics.getByRole('status')).toHaveText('Saved. You follow Crypto and Stocks.');
  await expect(topics.getByRole('status')).toHaveAttribute('aria-live', 'polite');
  await screenshot(page, 'keyboard-picker-focus', false);

  // Sign up. An empty submit puts focus back on the email field and says why.
  const form = signup(page);
  const email = form.getByLabel('Email address');
  await tabTo(page, 'button[submit] Sign up');
  await page.keyboard.press('Enter');
  await expect(form.getByRole('status')).toHaveText(/valid email address/);
  await expect(email).toBeFocused();
  await expect(email).toHaveAttribute('aria-invalid', 'true');

  const address = uniqueEmail('keys');
  await page.keyboard.type(address);
  await expect(email).toHaveAttribute('aria-invalid', 'false');
  await page.keyboard.press('Enter'); // consent not given yet: focus goes to the consent box
  await expect(form.getByRole('status')).toHaveText(/tick the box/);
  const consent = form.getByRole('checkbox', { name: /I agree/ });
  await expect(consent).toBeFocused();
  await page.keyboard.press('Space');
  await expect(consent).toBeChecked();
  await page.keyboard.press('Shift+Tab'); // back to the button
  await page.keyboard.press('Enter');
  await expect(form.getByRole('status')).toContainText('You are in!');
  await screenshot(page, 'keyboard-signed-up', false);

  await expect.poll(async () => (await edgeReader(request, { email: address })).body?.known, { timeout: 10_000 }).toBe(true);
  const reader = (await edgeReader(request, { email: address })).body;
  expect(reader.anonymousIds).toContain(aid);
  expect(reader.topics).toEqual(expect.arrayContaining(['crypto', 'stocks']));
  expect(reader.counters['reads.crypto']).toBeGreaterThanOrEqual(1);
  expect(reader.counters['reads.stocks']).toBeGreaterThanOrEqual(1);
});
