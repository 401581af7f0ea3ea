/** The Overview's "Connection" card: an editor checks the Customer.io setup and reads what to fix. */
import { expect, test } from '@playwright/test';
import { FAKE, screenshot, seedReaders, signIn, run } from './panel-helpers.ts';

test('the connection card passes the keys and region, and the webhook once Customer.io has reported a delivery', async ({ page, request }) => {
  await seedReaders(request, [{ email: `connection-${run}@example.com`, reads: 1 }]);
  await signIn(page);
  const card = page.getByTestId('connection-card');
  await card.getByRole('button', { name: 'Check connection' }).click();
  await expect(card.locator('[data-check="track"]')).toHaveAttribute('data-ok', 'true', { timeout: 30_000 });
  await expect(card.locator('[data-check="region"]')).toHaveAttribute('data-ok', 'true');
  await expect(card.locator('[data-check="app"]')).toHaveAttribute('data-ok', 'true');
  // The demo's fake Customer.io reports what it delivers to the edge, signed (scripts/start.mjs):
  // a transactional email to the seeded reader, then the card sees the webhook.
  const sent = await request.post(`${FAKE}/v1/send/email`, {
    headers: { authorization: 'Bearer demo_app_key' },
    data: { transactional_message_id: 3, to: `connection-${run}@example.com`, identifiers: { email: `connection-${run}@example.com` } },
  });
  expect(sent.status()).toBe(200);
  await expect.poll(async () => ((await (await request.get(`${FAKE}/_fake/webhooks`)).json()).sent as Array<{ status: number }>)
    .filter((w) => w.status === 200).length, { timeout: 15_000 }).toBeGreaterThan(0);
  await card.getByRole('button', { name: 'Check again' }).click();
  await expect(card.locator('[data-check="webhook"]')).toHaveAttribute('data-ok', 'true', { timeout: 30_000 });
  await expect(card.locator('[data-check="webhook"]')).toContainText('last signed webhook');
  await card.scrollIntoViewIfNeeded();
  await screenshot(page, 'panel-connection');
  await page.setViewportSize({ width: 390, height: 844 });
  await card.scrollIntoViewIfNeeded();
  await screenshot(page, 'panel-connection-phone');
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
});
