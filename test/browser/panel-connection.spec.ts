/** The Overview's "Connection" card: an editor checks the Customer.io setup and reads what to fix. */
import { expect, test } from '@playwright/test';
import { screenshot, seedReaders, signIn, run } from './panel-helpers.ts';

test('the connection card passes the keys and region and says how to set up the webhook', async ({ page, request }) => {
  await seedReaders(request, [{ email: `connection-${run}@example.com`, reads: 1 }]);
  await signIn(page);
  const card = page.getByTestId('connection-card');
  await card.getByRole('button', { name: 'Check connection' }).click();
  await expect(card.locator('[data-check="track"]')).toHaveAttribute('data-ok', 'true', { timeout: 30_000 });
  await expect(card.locator('[data-check="region"]')).toHaveAttribute('data-ok', 'true');
  await expect(card.locator('[data-check="app"]')).toHaveAttribute('data-ok', 'true');
  // The local demo has no reporting webhook: the card says where to point one.
  await expect(card.locator('[data-check="webhook"]')).toHaveAttribute('data-ok', 'false');
  await expect(card.locator('[data-check="webhook"]')).toContainText('/v1/webhooks/customerio/');
  await card.scrollIntoViewIfNeeded();
  await screenshot(page, 'panel-connection');
  await page.setViewportSize({ width: 390, height: 844 });
  await card.scrollIntoViewIfNeeded();
  await screenshot(page, 'panel-connection-phone');
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
});
