/**
 * Respecting the reader: Global Privacy Control (and Do Not Track) stop tracking, and
 * `sharpsend('consent', false)` stops it and forgets the anonymous id. Every send is counted in
 * the page itself, including the beacon on unload that Playwright cannot see.
 */
import { expect, test, type Page } from '@playwright/test';
import { countSends, picker, readToBottom } from './widget-helpers.ts';

async function readPickAndLeave(page: Page) {
  await page.goto('/demo/');
  await expect(picker(page).getByRole('checkbox', { name: 'Crypto' })).toBeVisible();
  await readToBottom(page, 100);
  await page.waitForTimeout(1200);
  await picker(page).getByRole('checkbox', { name: 'Crypto' }).check();
  await page.waitForTimeout(800); // longer than the outbox's batching delay
  await page.goto('/demo/stocks.html'); // leave: the read would go as a beacon now
  await page.waitForTimeout(500);
}

for (const signal of ['globalPrivacyControl', 'doNotTrack'] as const) {
  test(`with ${signal} on, nothing is sent and nothing is stored`, async ({ page }) => {
    await page.addInitScript((name) => {
      Object.defineProperty(Navigator.prototype, name, { get: () => (name === 'doNotTrack' ? '1' : true), configurable: true });
    }, signal);
    const sends = await countSends(page);
    const seen: string[] = [];
    page.on('request', (r) => r.url().includes('/v1/events') && seen.push(r.url()));

    await readPickAndLeave(page);
    expect(await sends()).toBe(0);
    expect(seen).toEqual([]);
    const stored = await page.evaluate(() => ({ aid: localStorage.getItem('sharpsend:aid'), queue: localStorage.getItem('sharpsend:queue') }));
    expect(stored).toEqual({ aid: null, queue: null });
    // The reader's own picks still work and are remembered on this device.
    await page.goto('/demo/');
    await expect(picker(page).getByRole('checkbox', { name: 'Crypto' })).toBeChecked();
  });
}

test('without a privacy signal the same journey does send (the counter above can see sends)', async ({ page }) => {
  const sends = await countSends(page);
  await readPickAndLeave(page);
  // The preferences fetch and the read's beacon on leaving.
  expect(await sends()).toBeGreaterThanOrEqual(2);
  expect(await page.evaluate(() => localStorage.getItem('sharpsend:aid'))).toBeTruthy();
});

test("sharpsend('consent', false) stops tracking and forgets the anonymous id; consent true resumes", async ({ page }) => {
  const sends = await countSends(page);
  await page.goto('/demo/');
  await expect(picker(page).getByRole('checkbox', { name: 'Crypto' })).toBeVisible();
  await page.evaluate(() => (window as any).sharpsend('track', 'warm_up'));
  await expect.poll(() => page.evaluate(() => localStorage.getItem('sharpsend:aid'))).toBeTruthy();
  await expect.poll(sends).toBe(1);
  const firstId = await page.evaluate(() => localStorage.getItem('sharpsend:aid'));

  await page.evaluate(() => (window as any).sharpsend('consent', false));
  expect(await page.evaluate(() => localStorage.getItem('sharpsend:aid'))).toBeNull();
  await page.evaluate(() => (window as any).sharpsend('track', 'after_opt_out'));
  await picker(page).getByRole('checkbox', { name: 'Stocks' }).check();
  await page.reload(); // the refusal is remembered across pages, and leaving sends no read
  await page.evaluate(() => (window as any).sharpsend('track', 'next_page'));
  await page.waitForTimeout(800);
  expect(await sends()).toBe(1);
  expect(await page.evaluate(() => localStorage.getItem('sharpsend:aid'))).toBeNull();

  await page.evaluate(() => (window as any).sharpsend('consent', true));
  await page.evaluate(() => (window as any).sharpsend('track', 'opted_in'));
  await expect.poll(sends).toBe(2);
  const newId = await page.evaluate(() => localStorage.getItem('sharpsend:aid'));
  expect(newId).toBeTruthy();
  expect(newId).not.toBe(firstId);
});
